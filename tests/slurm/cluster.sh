# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# A throwaway Slurm cluster for tests: munge + slurmctld + one or two slurmd,
# all in a fresh temp dir with their own key, sockets and free TCP ports, so
# several clusters can run side by side.  Source this file, as root:
#
#   . tests/slurm/cluster.sh
#   trap cluster_stop EXIT            # REQUIRED: no process or file left behind
#   cluster_start 1                   # or 2 to 4: emulated nodes n1,n2...
#   cluster_set_plugstack "required /abs/path/autozyme.so key=value"
#   as_user srun -n2 hostname         # jobs run as $AZ_USER, never root
#   cluster_assert_healthy            # no drained/down node
#   cluster_stop                      # optional: the trap does it too
#
# Functions
#   cluster_start [NNODES]     NNODES 1 (default; node named `hostname -s`) or 2
#                              to 4 (nodes n1..nN, `slurmd -N`).  Returns non-zero,
#                              with log tails on stderr and everything cleaned
#                              up, if the node(s) are not idle in time.
#   cluster_stop               Stop every process of this cluster (daemons,
#                              slurmstepds, the test user's tasks), remove its
#                              dir.  Idempotent; returns non-zero only if a
#                              process survived SIGKILL.
#   cluster_set_plugstack [LINE...]  Rewrite plugstack.conf (one LINE per
#                              argument; none = empty).  Takes effect on the next
#                              step, no restart.  Paths must be readable by the
#                              test user: srun loads the plugin as the user.
#   as_user CMD [ARG...]       (tests/lib.sh, which this file sources) Run CMD
#                              as $AZ_USER in $AZ_WORK_DIR, within
#                              AZ_JOB_TIMEOUT seconds (default 600: then it is
#                              killed, the user's jobs are cancelled and a
#                              TIMEOUT line goes to stderr and log/timeouts.log),
#                              with a clean
#                              environment: PATH=/usr/local/bin:/usr/bin:/bin,
#                              HOME, USER, LOGNAME, SHELL, LANG=C.UTF-8,
#                              SLURM_CONF, AZ_TEST_CLUSTER.  Pass more with
#                              `as_user env VAR=value CMD`.  Use absolute paths.
#   cluster_drained_nodes      Print "NODE STATE REASON" for each drained, down,
#                              failing or unresponsive node; nothing if healthy.
#   cluster_assert_healthy     Non-zero (and the list on stderr) if any such node.
#   cluster_restart_slurmd NODE  Restart that node's slurmd (its steps go on);
#                              wait until the node responds.
#   cluster_resume_nodes       scontrol update State=RESUME for those nodes,
#                              then wait (<= 10 s) until they respond again.
#   cluster_wait_job JOBID [TIMEOUT]  Wait (0.1 s polls) for a batch job to end,
#                              print its state, 0 iff COMPLETED.  Faster than
#                              `sbatch --wait` (2 s, then 8-10 s polls).
#   cluster_site               The site configuration clusters run here:
#                              AZ_SITE_CONFIG, with cgroup resolved to this
#                              host's cgroup version (see there).
#   cluster_log_tail [N]       Last N (20) lines of every daemon log, to stdout.
#   cluster_pids               "NAME PID" of each daemon (munged, slurmctld,
#                              slurmd-NODE) and of its reaper (NAME.reaper).
#   cluster_leftovers DIR      PIDs of live processes belonging to the cluster
#                              that used DIR (works after cluster_stop too).
#
# Variables set by cluster_start (and unset by cluster_stop)
#   AZ_CLUSTER_DIR   the temp dir: slurm.conf plugstack.conf log/ state/ spool/
#                    tmp/ work/ munge/ (log/slurmctld.log, log/slurmd-NODE.log)
#   SLURM_CONF       $AZ_CLUSTER_DIR/slurm.conf, exported for root's clients
#   AZ_WORK_DIR      a dir owned by the test user; as_user starts there
#   AZ_NODES         node names, space separated;  AZ_NNODES  their count
#   AZ_CTLD_PORT, AZ_SLURMD_PORTS (space separated)
# Inputs (environment)
#   AZ_USER               test user (default aztest; created with useradd -m)
#   AZ_SLURM_CONF_EXTRA   extra slurm.conf lines; a `Key=...` line replaces the
#                         default line of the same Key (e.g. TaskPlugin=task/none),
#                         an empty `Key=` just removes it (e.g. Epilog=)
#   AZ_PLUGSTACK          initial plugstack.conf content (default empty)
#   AZ_SITE_CONFIG        affinity (default: task/affinity, proctrack/linuxproc),
#                         cgroup (task/cgroup,task/affinity, proctrack/cgroup,
#                         cgroup.conf ConstrainCores=yes on the host's cgroup
#                         version), cgroup2 or cgroup2-nosystemd (see cluster_site)
#   AZ_CGROUP_CONF        if set, written as cgroup.conf next to slurm.conf
#   AZ_JOB_CONTAINER_CONF, AZ_OCI_CONF  if set, written as job_container.conf
#                         (for job_container/tmpfs) or oci.conf (srun
#                         --container) next to slurm.conf, with
#                         @CLUSTER_DIR@ replaced by the cluster's dir
#   AZ_CRED_EXPIRE        AuthInfo's cred_expire (seconds; Slurm's default is
#                         120), which is also how long a requeued job waits
#   AZ_CLUSTER_TMP        parent of the temp dir (default /tmp; must be
#                         traversable by the test user)
#   AZ_START_TIMEOUT      seconds to wait for idle nodes (default 300: an
#                         emulated node on a busy machine needs minutes)
#   AZ_KEEP_LOGS          if set to a dir, cluster_stop first copies log/,
#                         slurm.conf, plugstack.conf to AZ_KEEP_LOGS/azslurm.XXXXXX/
#
# How it works: every daemon runs with AZ_TEST_CLUSTER=$AZ_CLUSTER_DIR in its
# environment and its cwd in $AZ_CLUSTER_DIR/run; as_user passes the marker
# to the user's commands, and srun to the tasks.  cluster_leftovers finds the
# cluster's processes by that marker, by cwd/open files under the dir
# (slurmstepd overwrites its environment with its process title) and by
# descent from the daemons, so cluster_stop never touches another cluster's
# processes.  Each daemon runs under reaper.py (a PR_SET_CHILD_SUBREAPER
# parent, which puts the daemon in a session of its own): slurmstepds stay in
# the daemon's tree and are reaped at once (PID 1 on these machines reaps
# orphans only seconds later), and a Ctrl-C at the terminal reaches the test,
# whose EXIT trap stops the cluster, not the daemons.  The reapers are
# background children of the shell that ran cluster_start: call cluster_start
# and cluster_stop in the same shell (a subshell may run a cluster of its own
# if it stops it before it ends; cluster_start inside `check` or a pipeline
# would lose AZ_CLUSTER_DIR), and do not use a bare `wait` while a cluster runs.
# A second cluster in the same script: start it in a subshell, e.g.
#   out=$(trap cluster_stop EXIT; cluster_start 1 >&2 && as_user srun hostname)
# cluster_start also runs a warm-up job (`srun -N<n> -n<n> true` as the user,
# JobId 1, before AZ_PLUGSTACK is written, with a temporary Epilog=/bin/true)
# and then `scontrol reconfigure`; with SchedulerParameters=batch_sched_delay=0
# batch jobs then start within 1 s instead of 3 s (see cluster_start).
# `sbatch --wait` still polls every 2 s at best; cluster_wait_job every 0.1 s.
# Works under `set -u`, and under `set -e`/pipefail.

_AZ_SLURM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# as_user, _az_user_setup and the checks: the tests' one library.
. "$_AZ_SLURM_DIR/../lib.sh"
_AZ_PY=/usr/bin/python3
_AZ_PATH_DAEMON=/usr/sbin:/usr/bin:/sbin:/bin

_AZ_REAPER=$_AZ_SLURM_DIR/reaper.py

# N distinct ports, free for a listener now, outside the ephemeral range.
_az_free_ports() {
	"$_AZ_PY" - "$1" <<'EOF'
import random, socket, sys
n, ports, held = int(sys.argv[1]), [], []
while len(ports) < n:
    p = random.randint(20000, 32000)
    if p in ports:
        continue
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p))   # fails if anything uses p, even in TIME_WAIT
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(p)
print(" ".join(map(str, ports)))
EOF
}

# Is anything listening on TCP port $1?
_az_listening() {
	local hex
	printf -v hex '%04X' "$1"
	grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Is pid $1 a live (non-zombie) process?
_az_alive() {
	local stat
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ -n $stat && ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# Does pid $1 belong to the cluster in dir $2 (marker in its environment)?
_az_is_ours() {
	grep -qzxF "AZ_TEST_CLUSTER=$2" "/proc/$1/environ" 2>/dev/null
}

# PIDs of live processes of the cluster that used dir $1 (never this shell
# or its ancestors):
#  - processes with AZ_TEST_CLUSTER=$1 in their environment: the daemons,
#    the user's commands run by as_user and their tasks;
#  - processes with their cwd or an open file under $1: slurmstepd (it
#    rewrites its environment area with its process title), tasks;
#  - the test user's processes with SLURM_CONF=$1/slurm.conf (--export=NONE);
#  - while the cluster runs, every descendant of its reapers.
cluster_leftovers() (
	dir=${1:-${AZ_CLUSTER_DIR:-}}
	[[ -n $dir && $dir == /* ]] || exit 0
	cd / || exit 0
	declare -A skip=()
	p=$BASHPID
	while [[ $p =~ ^[0-9]+$ && $p -gt 1 ]]; do
		skip[$p]=1
		p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null)
	done
	skip[$$]=1
	uid=$(id -u "${AZ_USER:-aztest}" 2>/dev/null) || uid=-1
	reapers=""
	for f in "$dir"/pids/*.reaper; do
		[[ -e $f ]] || continue
		p=$(cat "$f" 2>/dev/null) || continue
		_az_is_ours "$p" "$dir" && reapers+=" $p"
	done
	{
		grep -lzxF "AZ_TEST_CLUSTER=$dir" /proc/[0-9]*/environ 2>/dev/null || true
		grep -lzxF "SLURM_CONF=$dir/slurm.conf" /proc/[0-9]*/environ 2>/dev/null |
			while read -r f; do
				if [[ $(stat -c %u "${f%/environ}" 2>/dev/null) == "$uid" ]]; then
					echo "$f"
				fi
			done || true
		find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 \
			\( -lname "$dir" -o -lname "$dir/*" \) 2>/dev/null || true
		if [[ -n $reapers ]]; then
			# descendants: pid -> ppid from /proc/*/stat (comm may hold spaces)
			cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$reapers" '
				{ pid = $1; s = $0; sub(/.*\) /, "", s); split(s, a, " ");
				  kids[a[2]] = kids[a[2]] " " pid }
				END { n = split(roots, q, " ");
				      for (i = 1; i <= n; i++) { print "/proc/" q[i] "/";
				        m = split(kids[q[i]], k, " ");
				        for (j = 1; j <= m; j++) q[++n] = k[j] } }' || true
		fi
	} | sed -n 's|^/proc/\([0-9][0-9]*\)/.*|\1|p' | sort -un | while read -r pid; do
		if [[ -z ${skip[$pid]:-} ]] && _az_alive "$pid"; then echo "$pid"; fi
	done
	exit 0
)

# Wait up to $1 seconds until none of the pids $2... is alive.
_az_wait_dead() {
	local t=$1 i p left
	shift
	for ((i = 0; i < t * 20; i++)); do
		left=0
		for p in "$@"; do _az_alive "$p" && left=1 && break; done
		((left)) || return 0
		sleep 0.05
	done
	return 1
}

# Start "$@" under a reaper, with a clean environment carrying the marker.
# $1 = name; pid in pids/NAME.pid, reaper pid in pids/NAME.reaper.
_az_spawn() {
	local name=$1 d=$AZ_CLUSTER_DIR i
	shift
	(
		# the port lock (if held) must not leak into the daemons; cwd in
		# $d so that cluster_leftovers finds slurmstepd by its cwd
		[[ -n ${_az_lockfd:-} ]] && exec {_az_lockfd}<&-
		cd "$d/run" || exit 1
		local -a run=(env -i PATH="$_AZ_PATH_DAEMON" LANG=C.UTF-8 AZ_TEST_CLUSTER="$d"
			"$_AZ_PY" "$_AZ_REAPER" "$d/pids/$name.pid" "$@")
		# Under cgroup2, slurmd is a systemd service, as a site's is: its
		# reaper runs in the unit, and systemd-run (the pid in .reaper)
		# returns when the unit ends.  A restarted slurmd gets a unit of
		# its own: the old one lasts while its slurmstepds do.
		if [[ $name == slurmd-* && $(cluster_site) == cgroup2 ]]; then
			run=(systemd-run --quiet --wait --pipe --collect --unit="az-${d##*.}-$name-$BASHPID.service"
				--property=Delegate=yes --working-directory="$d/run" "${run[@]}")
		fi
		exec "${run[@]}" </dev/null >>"$d/log/$name.out" 2>&1
	) &
	echo "$!" >"$d/pids/$name.reaper"
	for ((i = 0; i < 200; i++)); do
		[[ -s $d/pids/$name.pid ]] && return 0
		sleep 0.01
	done
	_az_err "$name did not start"
	return 1
}

_az_pid_of() { cat "$AZ_CLUSTER_DIR/pids/$1.pid" 2>/dev/null || true; }

# Print the name of the first daemon of this cluster that is not alive.
_az_dead_daemon() {
	local name
	for name in munged slurmctld ${AZ_NODES:-}; do
		[[ $name == munged || $name == slurmctld ]] || name=slurmd-$name
		_az_alive "$(_az_pid_of "$name")" || {
			echo "$name"
			return 0
		}
	done
}

cluster_pids() {
	local f n
	[[ -n ${AZ_CLUSTER_DIR:-} && -d $AZ_CLUSTER_DIR/pids ]] || return 0
	for f in "$AZ_CLUSTER_DIR"/pids/*.pid "$AZ_CLUSTER_DIR"/pids/*.reaper; do
		[[ -e $f ]] || continue
		n=${f##*/}
		n=${n%.pid}
		echo "$n $(cat "$f")"
	done
}

cluster_log_tail() {
	local n=${1:-20} f
	[[ -n ${AZ_CLUSTER_DIR:-} ]] || return 0
	# *.log are the daemons' logs; *.out their stdout/stderr, where slurmctld
	# and slurmd (-D) repeat their log (shown only when the .log is empty:
	# an early fatal error) and munged (-F) writes its own.
	for f in "$AZ_CLUSTER_DIR"/log/*.log "$AZ_CLUSTER_DIR"/log/*.out; do
		[[ -s $f ]] || continue
		[[ $f == *.out && -s ${f%.out}.log ]] && continue
		echo "----- ${f#"$AZ_CLUSTER_DIR"/} (last $n lines)"
		tail -n "$n" "$f"
	done
}

cluster_set_plugstack() {
	local f=${AZ_CLUSTER_DIR:?cluster_set_plugstack: no cluster}/plugstack.conf
	if (($#)); then printf '%s\n' "$@" >"$f.tmp"; else : >"$f.tmp"; fi
	chmod 0644 "$f.tmp" && mv -f "$f.tmp" "$f"
}

# The site configurations the scenarios run under (AZ_SITE_CONFIG):
#   affinity  task/affinity + proctrack/linuxproc;
#   cgroup    what slurm.conf(5) recommends and most sites run:
#             task/cgroup,task/affinity + proctrack/cgroup + ConstrainCores=yes
#             on the cgroup version the host runs: cgroup/v1 on a hybrid
#             layout (these machines; slurmd refuses v2 there: "Hybrid mode is
#             not supported"), cgroup/v2 on a host with only the unified
#             hierarchy (a stock Debian 12), as cgroup2 or cgroup2-nosystemd;
#   cgroup2   cgroup/v2 under systemd: slurmd runs as a systemd service
#             (systemd-run, Delegate=yes) and Slurm asks systemd over dbus for
#             its <node>_slurmstepd.scope.  Needs systemd as init and only the
#             unified hierarchy: the qemu guests of tests/releases/guest.sh;
#   cgroup2-nosystemd  cgroup/v2 with IgnoreSystemd=yes, as on a node
#             without a system bus: slurmd is started directly and makes the
#             scope's directory under system.slice itself.  As Slurm asks of
#             such sites, the cpu and cpuset controllers are enabled down to
#             system.slice first (_az_cgroup2_controllers; slurmd says
#             "Controller cpuset is not enabled!" otherwise).
# True where /sys/fs/cgroup is the unified hierarchy alone (no v1 layout).
_az_unified_cgroups() { [[ $(stat -fc %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; }

# cluster_site: the one a cluster runs here (cgroup resolved for this host).
cluster_site() {
	local site=${AZ_SITE_CONFIG:-affinity}
	if [[ $site == cgroup ]] && _az_unified_cgroups; then
		if [[ -d /run/systemd/system && -S /run/dbus/system_bus_socket ]]; then
			site=cgroup2
		else
			site=cgroup2-nosystemd
		fi
	fi
	echo "$site"
}

# Why the host cannot run site configuration $1; nothing when it can.
_az_site_unfit() {
	case $1 in
	affinity | cgroup) ;;
	cgroup2 | cgroup2-nosystemd)
		_az_unified_cgroups ||
			echo "$1 needs only the unified cgroup hierarchy at /sys/fs/cgroup (a qemu guest of tests/releases/guest.sh)"
		[[ $1 == cgroup2-nosystemd || -d /run/systemd/system ]] ||
			echo "$1 needs systemd as init (a qemu guest of tests/releases/guest.sh)"
		;;
	*) echo "AZ_SITE_CONFIG must be affinity, cgroup, cgroup2 or cgroup2-nosystemd, not '$1'" ;;
	esac
}

# What an IgnoreSystemd site does for slurmd: the cpu and cpuset controllers
# enabled in the root's and system.slice's subtree_control.
_az_cgroup2_controllers() {
	local c=/sys/fs/cgroup
	mkdir -p "$c/system.slice" &&
		echo "+cpuset +cpu" >"$c/cgroup.subtree_control" &&
		echo "+cpuset +cpu" >"$c/system.slice/cgroup.subtree_control"
}

_az_site_proctrack() {
	case $(cluster_site) in
	cgroup*) echo proctrack/cgroup ;;
	*) echo proctrack/linuxproc ;;
	esac
}

_az_site_task_plugin() {
	case $(cluster_site) in
	cgroup*) echo task/cgroup,task/affinity ;;
	*) echo task/affinity ;;
	esac
}

_az_site_cgroup_conf() {
	if [[ -n ${AZ_CGROUP_CONF:-} ]]; then
		printf '%s\n' "$AZ_CGROUP_CONF"
		return
	fi
	case $(cluster_site) in
	cgroup) printf '%s\n' CgroupPlugin=cgroup/v1 ConstrainCores=yes ;;
	cgroup2) printf '%s\n' CgroupPlugin=cgroup/v2 ConstrainCores=yes ;;
	cgroup2-nosystemd) printf '%s\n' CgroupPlugin=cgroup/v2 ConstrainCores=yes IgnoreSystemd=yes ;;
	esac
}

# _az_conf_file NAME CONTENT DIR: CONTENT (if any) as DIR/NAME, readable by
# all, with @CLUSTER_DIR@ replaced by DIR.
_az_conf_file() {
	[[ -n $2 ]] || return 0
	printf '%s\n' "${2//@CLUSTER_DIR@/$3}" >"$3/$1" && chmod 0644 "$3/$1"
}

# Write slurm.conf: defaults, minus any key that AZ_SLURM_CONF_EXTRA sets.
_az_write_slurm_conf() {
	local d=$AZ_CLUSTER_DIR host=$1 ncpu line key skip
	local -a defaults nodes
	local -A override=()
	ncpu=$(nproc)
	defaults=(
		"ClusterName=$2"
		"SlurmctldHost=$host(127.0.0.1)"
		"SlurmctldPort=$AZ_CTLD_PORT"
		"SlurmdPort=${AZ_SLURMD_PORTS%% *}"
		"SlurmUser=root"
		"SlurmdUser=root"
		"AuthType=auth/munge"
		"AuthInfo=socket=$d/munge/munge.socket${AZ_CRED_EXPIRE:+,cred_expire=$AZ_CRED_EXPIRE}"
		"CredType=cred/munge"
		"StateSaveLocation=$d/state"
		"SlurmdSpoolDir=$d/spool/%n"
		"SlurmctldPidFile=$d/run/slurmctld.pid"
		"SlurmdPidFile=$d/run/slurmd-%n.pid"
		"SlurmctldLogFile=$d/log/slurmctld.log"
		"SlurmdLogFile=$d/log/slurmd-%n.log"
		"SlurmctldDebug=info"
		"SlurmdDebug=info"
		"TmpFS=$d/tmp/%n"
		"PlugStackConfig=$d/plugstack.conf"
		"ProctrackType=$(_az_site_proctrack)"
		"TaskPlugin=$(_az_site_task_plugin)"
		# Concurrent clusters share the machine's cgroup tree, where
		# task/cgroup names a job's directory by its id: start every
		# cluster at a different one.
		"FirstJobId=$_AZ_FIRST_JOB_ID"
		"SelectType=select/cons_tres"
		"SelectTypeParameters=CR_Core"
		"ReturnToService=2"
		"MpiDefault=none"
		"SwitchType=switch/none"
		"AccountingStorageType=accounting_storage/none"
		"JobAcctGatherType=jobacct_gather/none"
		"JobCompType=jobcomp/none"
		"MailProg=/bin/true"
		"KillWait=5"
		# Batch jobs start at the scheduler's next pass (<= 1 s) instead
		# of every 3 s; see also the warm-up in cluster_start.
		"SchedulerParameters=batch_sched_delay=0"
	)
	local nodeparams="CPUs=$ncpu CoresPerSocket=$ncpu ThreadsPerCore=1 RealMemory=1000"
	local -a ports
	read -r -a ports <<<"$AZ_SLURMD_PORTS"
	if ((AZ_NNODES == 1)); then
		nodes=("NodeName=$host NodeAddr=127.0.0.1 Port=${ports[0]} $nodeparams")
	else
		local i
		for ((i = 1; i <= AZ_NNODES; i++)); do
			nodes+=("NodeName=n$i NodeHostname=$host NodeAddr=127.0.0.1 Port=${ports[i - 1]} $nodeparams")
		done
	fi
	# Extra lines: `Key=value` replaces the default Key line; `Key=` (empty)
	# only removes it (Slurm itself rejects some empty values, e.g. Epilog=).
	local -a extra=()
	while IFS= read -r line; do
		if [[ $line =~ ^[[:space:]]*([A-Za-z]+)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
			key=${BASH_REMATCH[1],,}
			case $key in nodename | partitionname | nodeset | downnodes) ;; *) override[$key]=1 ;; esac
			[[ -z ${BASH_REMATCH[2]} ]] && continue
		fi
		extra+=("$line")
	done <<<"${AZ_SLURM_CONF_EXTRA:-}"
	{
		echo "# generated by tests/slurm/cluster.sh"
		for line in "${defaults[@]}"; do
			key=${line%%=*}
			skip=${override[${key,,}]:-}
			[[ -z $skip ]] && echo "$line"
		done
		# only until cluster_start's warm-up job has ended (see there)
		[[ ${3:-} == warm-up && -z ${override[epilog]:-} ]] && echo "Epilog=/bin/true"
		printf '%s\n' "${nodes[@]}"
		echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
		if ((${#extra[@]})); then
			echo "# AZ_SLURM_CONF_EXTRA"
			printf '%s\n' "${extra[@]}"
		fi
	} >"$d/slurm.conf.tmp"
	chmod 0644 "$d/slurm.conf.tmp"
	mv -f "$d/slurm.conf.tmp" "$d/slurm.conf"
}

# Print "NODE STATE REASON" for unhealthy nodes.
cluster_drained_nodes() {
	[[ -n ${AZ_CLUSTER_DIR:-} ]] || {
		_az_err "cluster_drained_nodes: no cluster"
		return 2
	}
	local out
	out=$(SLURM_CONF=$AZ_CLUSTER_DIR/slurm.conf sinfo -h -N -o '%N %T %E' 2>&1) || {
		_az_err "sinfo failed: $out"
		return 2
	}
	awk '$2 ~ /drain|down|fail|not_responding|unknown|\*/' <<<"$out" | sort -u
}

cluster_assert_healthy() {
	local bad
	bad=$(cluster_drained_nodes) || return 1
	[[ -z $bad ]] && return 0
	_az_err "unhealthy nodes:"
	echo "$bad" >&2
	return 1
}

cluster_resume_nodes() {
	local node i
	cluster_drained_nodes | while read -r node _; do
		SLURM_CONF=$AZ_CLUSTER_DIR/slurm.conf scontrol update NodeName="$node" State=RESUME
	done
	# RESUME marks the node not responding ("idle*") until slurmctld's next
	# ping, about a second later: wait for that.
	for ((i = 0; i < 200; i++)); do
		[[ -z $(cluster_drained_nodes) ]] && return 0
		sleep 0.05
	done
	cluster_assert_healthy
}

# cluster_wait_job JOBID [TIMEOUT]: wait (polling every 0.1 s, unlike
# `sbatch --wait` which polls after 2 s then every 8-10 s) until the job ends;
# print its final state; return 0 only for COMPLETED.
cluster_wait_job() {
	local id=${1:-} timeout=${2:-60} state="" deadline
	if [[ -z $id || -z ${AZ_CLUSTER_DIR:-} ]]; then
		_az_err "cluster_wait_job: no job id or no cluster"
		echo "NO_JOB"
		return 2
	fi
	deadline=$(($(date +%s) + timeout))
	while (($(date +%s) < deadline)); do
		state=$(SLURM_CONF=$AZ_CLUSTER_DIR/slurm.conf scontrol show job -o "$id" 2>/dev/null |
			grep -o 'JobState=[A-Z_]*' | head -n1)
		state=${state#JobState=}
		case $state in
		PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | REQUEUED | RESIZING | "") ;;
		*)
			echo "$state"
			[[ $state == COMPLETED ]]
			return
			;;
		esac
		sleep 0.1
	done
	echo "TIMEOUT(${state:-unknown})"
	return 1
}

# Wait until every node is idle (or the time $1 passes, or a daemon dies);
# print nothing on success, else the reason.
_az_wait_idle() {
	local deadline=$1 out name
	while :; do
		out=$(sinfo -h -N -o '%N %T %E' 2>/dev/null) || out=""
		[[ $(grep -c '^[^ ]* idle ' <<<"$out") -eq $AZ_NNODES ]] && return 0
		# a drained node stays so: fail at once (e.g. a bad Epilog)
		if grep -qE '^[^ ]* (drain|fail)' <<<"$out"; then
			echo "node drained (sinfo: ${out//$'\n'/; })"
			return 0
		fi
		name=$(_az_dead_daemon)
		if [[ -n $name ]]; then
			echo "$name exited"
			return 0
		fi
		if (($(date +%s) >= deadline)); then
			echo "nodes not idle in time (sinfo: ${out//$'\n'/; })"
			return 0
		fi
		sleep 0.05
	done
}

cluster_start() {
	local nnodes=${1:-1} host d name i t0 timeout=${AZ_START_TIMEOUT:-300}
	# A subshell may start its own cluster (the parent's variables are only
	# shadowed there); one shell cannot run two.
	if [[ -n ${AZ_CLUSTER_DIR:-} && ${_AZ_OWNER:-} == "$BASHPID" ]]; then
		_az_err "cluster_start: a cluster already runs in this shell ($AZ_CLUSTER_DIR)"
		return 1
	fi
	unset AZ_CLUSTER_DIR
	if [[ $EUID -ne 0 ]]; then
		_az_err "cluster_start: must run as root"
		return 1
	fi
	[[ $nnodes =~ ^[1-4]$ ]] || {
		_az_err "cluster_start: NNODES must be 1 to 4"
		return 1
	}
	_az_user_setup || return 1
	host=$(hostname -s)
	t0=$EPOCHREALTIME

	d=$(mktemp -d "${AZ_CLUSTER_TMP:-/tmp}/azslurm.XXXXXX") || return 1
	_AZ_OWNER=$BASHPID
	export AZ_CLUSTER_DIR=$d SLURM_CONF=$d/slurm.conf AZ_WORK_DIR=$d/work AZ_NNODES=$nnodes
	if ((nnodes == 1)); then AZ_NODES=$host; else AZ_NODES=$(seq -f 'n%g' -s ' ' "$nnodes"); fi
	export AZ_NODES

	# Layout: the user may traverse $d and read the confs, spool and tmp;
	# munge's key, state and logs stay private.
	chmod 0711 "$d"
	mkdir -m 0700 "$d/state" "$d/run" "$d/pids"
	mkdir -m 0755 "$d/log" "$d/spool" "$d/tmp" "$d/work"
	for name in $AZ_NODES; do
		mkdir -m 0755 "$d/spool/$name"
		mkdir -m 1777 "$d/tmp/$name"
	done
	chown "$AZ_USER_UID:$AZ_USER_GID" "$d/work"
	mkdir -m 0711 "$d/munge"
	local unfit
	unfit=$(_az_site_unfit "$(cluster_site)")
	if [[ -n $unfit ]]; then
		_az_err "cluster_start: $unfit"
		rm -rf "$d"
		return 1
	fi
	_AZ_FIRST_JOB_ID=$((1000 + (RANDOM * 32768 + RANDOM) % 60000000))
	if [[ $(cluster_site) == cgroup2-nosystemd ]] && ! _az_cgroup2_controllers; then
		_az_err "cluster_start: cannot enable the cpu and cpuset controllers in /sys/fs/cgroup/system.slice"
		rm -rf "$d"
		return 1
	fi
	_az_conf_file cgroup.conf "$(_az_site_cgroup_conf)" "$d"
	_az_conf_file job_container.conf "${AZ_JOB_CONTAINER_CONF:-}" "$d"
	_az_conf_file oci.conf "${AZ_OCI_CONF:-}" "$d"
	cluster_set_plugstack # AZ_PLUGSTACK goes in after the warm-up job

	# munge with its own key and socket
	mungekey -c -k "$d/munge/munge.key" >/dev/null 2>&1 || {
		_az_err "mungekey failed"
		cluster_stop
		return 1
	}
	chown -R munge:munge "$d/munge"
	chmod 0400 "$d/munge/munge.key"
	_az_spawn munged setpriv --reuid=munge --regid=munge --init-groups -- \
		munged -F --key-file="$d/munge/munge.key" --socket="$d/munge/munge.socket" \
		--pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" \
		--seed-file="$d/munge/munged.seed" || {
		cluster_stop
		return 1
	}

	# Ports: serialise the choice of ports among concurrent cluster_start
	# calls until our daemons hold them (flock on the slurmctld binary: a
	# file every cluster sees and nothing else locks).
	local _az_lockfd
	exec {_az_lockfd}</usr/sbin/slurmctld
	flock -w 120 "$_az_lockfd" || _az_err "port lock timed out; going on"
	local -a ports
	read -r -a ports <<<"$(_az_free_ports $((nnodes + 1)))"
	if ((${#ports[@]} != nnodes + 1)); then
		exec {_az_lockfd}<&-
		_az_err "cannot find free ports"
		cluster_stop
		return 1
	fi
	export AZ_CTLD_PORT=${ports[0]} AZ_SLURMD_PORTS="${ports[*]:1}"
	name=${d##*.}
	name=${name,,}
	_az_write_slurm_conf "$host" "az${name//[^a-z0-9]/}" warm-up

	local fail=""
	for ((i = 0; i < 100; i++)); do
		[[ -S $d/munge/munge.socket ]] && break
		_az_alive "$(_az_pid_of munged)" || break
		sleep 0.05
	done
	[[ -S $d/munge/munge.socket ]] || fail="munged did not create its socket"

	if [[ -z $fail ]]; then
		_az_spawn slurmctld slurmctld -D -f "$d/slurm.conf" || fail="slurmctld did not start"
	fi
	if [[ -z $fail ]]; then
		for name in $AZ_NODES; do
			_az_spawn "slurmd-$name" slurmd -D -N "$name" -f "$d/slurm.conf" ||
				fail="slurmd $name did not start"
		done
	fi

	# Wait for the listeners (then release the port lock), then idle nodes.
	local deadline p ready out
	deadline=$(($(date +%s) + timeout))
	while [[ -z $fail ]]; do
		ready=1
		for p in "$AZ_CTLD_PORT" "${ports[@]:1}"; do
			_az_listening "$p" || ready=0
		done
		((ready)) && break
		name=$(_az_dead_daemon)
		[[ -n $name ]] && fail="$name exited"
		(($(date +%s) >= deadline)) && fail="daemons not listening after ${timeout}s"
		sleep 0.05
	done
	exec {_az_lockfd}<&-

	[[ -n $fail ]] || fail=$(_az_wait_idle "$deadline")

	# Warm-up job, as the test user on every node.  It proves that jobs run,
	# and it makes slurmctld read SchedulerParameters now: slurmctld reads
	# them only when its scheduler first runs, which is at once only when a
	# job's epilog completes, else >= 3 s after its start.  Until then batch
	# jobs wait the built-in batch_sched_delay of 3 s, and an `sbatch --wait`
	# right after cluster_start would miss its first poll (2 s) and return
	# only after 10 s.  Hence Epilog=/bin/true during the warm-up, removed
	# afterwards (scontrol reconfigure): while a node runs an epilog it is
	# COMPLETING, so each back-to-back srun would print "queued and waiting
	# for resources".
	if [[ -z $fail ]]; then
		out=$(as_user timeout "$timeout" srun -N"$nnodes" -n"$nnodes" true 2>&1 </dev/null) ||
			fail="warm-up job (srun -N$nnodes -n$nnodes true) failed: $out"
	fi
	[[ -n $fail ]] || fail=$(_az_wait_idle "$deadline")
	if [[ -z $fail ]]; then
		for ((i = 0; i < 40; i++)); do
			grep -q 'SchedulerParameters=' "$d/log/slurmctld.log" 2>/dev/null && break
			sleep 0.05
		done
		_az_write_slurm_conf "$host" "$(sed -n 's/^ClusterName=//p' "$d/slurm.conf")" final
		out=$(scontrol reconfigure 2>&1) || fail="scontrol reconfigure failed: $out"
	fi
	[[ -n $fail ]] || fail=$(_az_wait_idle "$deadline")
	if [[ -z $fail && -n ${AZ_PLUGSTACK:-} ]]; then
		cluster_set_plugstack "$AZ_PLUGSTACK"
	fi

	if [[ -n $fail ]]; then
		_az_err "cluster_start failed: $fail"
		cluster_log_tail 30 >&2
		cluster_stop
		return 1
	fi
	export AZ_START_SECONDS
	AZ_START_SECONDS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	return 0
}

# cluster_restart_slurmd NODE: stop that slurmd (SIGTERM; its slurmstepds
# and their tasks go on), start it again, and wait (<= 60 s) until the node
# responds.  The old daemon's pid files are kept as *.N.pid/*.N.reaper, so
# that cluster_stop still finds its reaper and what it holds.
cluster_restart_slurmd() {
	local node=$1 d=${AZ_CLUSTER_DIR:?cluster_restart_slurmd: no cluster} pid n=1 i
	pid=$(_az_pid_of "slurmd-$node")
	_az_alive "$pid" || {
		_az_err "cluster_restart_slurmd: slurmd $node is not running"
		return 1
	}
	kill -TERM "$pid"
	_az_wait_dead 30 "$pid" || {
		_az_err "cluster_restart_slurmd: slurmd $node did not stop"
		return 1
	}
	while [[ -e $d/pids/slurmd-$node.$n.reaper ]]; do n=$((n + 1)); done
	mv "$d/pids/slurmd-$node.pid" "$d/pids/slurmd-$node.$n.pid"
	mv "$d/pids/slurmd-$node.reaper" "$d/pids/slurmd-$node.$n.reaper"
	_az_spawn "slurmd-$node" slurmd -D -N "$node" -f "$d/slurm.conf" || return 1
	for ((i = 0; i < 1200; i++)); do
		[[ $(sinfo -h -n "$node" -o %T 2>/dev/null) =~ ^(idle|mixed|allocated|completing)$ ]] && return 0
		sleep 0.05
	done
	_az_err "cluster_restart_slurmd: $node not responding after 60 s"
	return 1
}

cluster_stop() {
	local d=${AZ_CLUSTER_DIR:-} f p status=0
	[[ -n $d ]] || return 0
	local -a slurm=() munge=() reapers=() left=()
	if [[ -d $d ]]; then
		# 1. slurmctld and slurmd: SIGTERM (our pid files and theirs)
		for f in "$d"/pids/slurm*.pid "$d"/run/*.pid; do
			[[ -e $f ]] || continue
			p=$(cat "$f" 2>/dev/null) || continue
			if _az_alive "$p" && _az_is_ours "$p" "$d"; then slurm+=("$p"); fi
		done
		for f in "$d"/pids/*.reaper; do
			[[ -e $f ]] && reapers+=("$(cat "$f")")
		done
		p=$(_az_pid_of munged)
		if _az_alive "$p"; then munge+=("$p"); fi
		if ((${#slurm[@]})); then
			kill -TERM "${slurm[@]}" 2>/dev/null || true
			_az_wait_dead 5 "${slurm[@]}" || true
		fi
		# 2. anything else of ours (slurmstepd, tasks, stubborn daemons),
		# munged and the reapers excepted: SIGKILL
		for p in $(cluster_leftovers "$d"); do
			[[ " ${munge[*]} ${reapers[*]} " == *" $p "* ]] || left+=("$p")
		done
		if ((${#left[@]})); then
			kill -KILL "${left[@]}" 2>/dev/null || true
			_az_wait_dead 3 "${left[@]}" || true
		fi
		# 3. munged, then the reapers (they exit once their children are gone)
		if ((${#munge[@]})); then
			kill -TERM "${munge[@]}" 2>/dev/null || true
			_az_wait_dead 3 "${munge[@]}" || kill -KILL "${munge[@]}" 2>/dev/null || true
		fi
		if ! _az_wait_dead 3 "${reapers[@]}"; then
			for p in "${reapers[@]}"; do
				if _az_alive "$p" && _az_is_ours "$p" "$d"; then
					kill -KILL "$p" 2>/dev/null || true
				fi
			done
		fi
		for p in "${reapers[@]}"; do wait "$p" 2>/dev/null || true; done
		# 4. verify
		mapfile -t left < <(cluster_leftovers "$d")
		if ((${#left[@]})); then
			kill -KILL "${left[@]}" 2>/dev/null || true
			_az_wait_dead 3 "${left[@]}" || true
			mapfile -t left < <(cluster_leftovers "$d")
			if ((${#left[@]})); then
				_az_err "cluster_stop: processes survive: ${left[*]}"
				ps -o pid,user,stat,args -p "$(
					IFS=,
					echo "${left[*]}"
				)" >&2 2>/dev/null || true
				status=1
			fi
		fi
		f=${AZ_KEEP_LOGS:-}/${d##*/}
		if [[ -n ${AZ_KEEP_LOGS:-} ]] && mkdir -p "$f"; then
			cp -r "$d/log" "$d/slurm.conf" "$d/plugstack.conf" "$f/" || true
		fi
		rm -rf "$d" || status=1
	fi
	unset AZ_CLUSTER_DIR SLURM_CONF AZ_WORK_DIR AZ_NODES AZ_NNODES AZ_CTLD_PORT \
		AZ_SLURMD_PORTS
	return $status
}

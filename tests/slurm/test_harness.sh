#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Self-test of the throwaway Slurm cluster (cluster.sh).  Run as root:
#   bash tests/slurm/test_harness.sh
# Prints `ok - ...` / `not ok - ...` per check and a last line
# `N passed, M failed`; exits non-zero on any failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/cluster.sh"
trap cluster_stop EXIT

dirs=()     # every cluster dir used, to check they are gone at the end
daemons=()  # every daemon and reaper pid, to check none survives

elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# Stop the running cluster and check that it left nothing behind.
stop_and_check() {
	local d=$AZ_CLUSTER_DIR pids t p alive="" rc
	pids=$(cluster_pids | awk '{print $2}' | xargs)
	read -r -a daemons <<<"${daemons[*]} $pids"
	t=$EPOCHREALTIME
	cluster_stop # directly: `check` would run it in a subshell
	rc=$?
	check_eq "cluster_stop ($1) succeeds" 0 "$rc"
	diag "stop took $(elapsed "$t") s"
	for p in $pids; do
		_az_alive "$p" && alive+=" $p"
	done
	check_eq "no daemon of the $1 cluster alive" "" "$alive"
	check_eq "no process of the $1 cluster left" "" "$(cluster_leftovers "$d" | tr '\n' ' ')"
	check "dir of the $1 cluster removed" test ! -e "$d"
	check "cluster_stop is safe to call twice" cluster_stop
}

if [[ $EUID -ne 0 ]]; then
	not_ok "must run as root"
	summary
	exit 1
fi

# ---- the polling helper every scenario waits with
check "wait_until: a condition that holds returns at once" wait_until 1 true
out=$(wait_until 1 test -e /nonexistent/az-harness)
check_eq "wait_until: a condition that never holds fails after its limit, naming it" \
	"not so after 1 s: test -e /nonexistent/az-harness" "$out"

# ---- one node
# (not through `check`: that runs its command in a subshell)
t=$EPOCHREALTIME
cluster_start 1
check_eq "cluster_start 1" 0 $?
if [[ -z ${AZ_CLUSTER_DIR:-} ]]; then
	summary
	exit 1
fi
diag "start took $(elapsed "$t") s (dir $AZ_CLUSTER_DIR, slurmctld port $AZ_CTLD_PORT)"
dirs+=("$AZ_CLUSTER_DIR")
check_eq "SLURM_CONF exported" "$AZ_CLUSTER_DIR/slurm.conf" "${SLURM_CONF:-}"
check "sinfo shows the node idle" bash -c '[[ $(sinfo -h -N -o "%N %T") == "$1 idle" ]]' _ "$AZ_NODES"
check "slurm.conf readable by $AZ_USER" as_user test -r "$SLURM_CONF"
check "munge key not readable by $AZ_USER" as_user test ! -r "$AZ_CLUSTER_DIR/munge/munge.key"
check_eq "as_user runs as $AZ_USER" "$AZ_USER" "$(as_user id -un)"

out=$(as_user srun -n2 -c1 bash -c \
	'echo $SLURM_PROCID $(id -un) $(grep Cpus_allowed_list /proc/self/status)' 2>&1)
rc=$?
check_eq "srun -n2 -c1 exits 0" 0 "$rc"
[[ $rc -eq 0 ]] || diag "$out"
check_eq "two tasks, ranks 0 and 1" "0 1" "$(awk '{print $1}' <<<"$out" | sort -n | xargs)"
check_eq "both tasks ran as $AZ_USER" "$AZ_USER $AZ_USER" "$(awk '{print $2}' <<<"$out" | xargs)"
cpus=$(awk '{print $4}' <<<"$out" | sort | xargs)
if (($(nproc) >= 2)); then
	check_match "task/affinity binds each task to its own CPU" '^[0-9]+ [0-9]+$' "$cpus"
	check "the two CPUs differ" test "${cpus% *}" != "${cpus#* }"
fi

cat >"$AZ_WORK_DIR/job.sh" <<'EOF'
#!/bin/bash
echo "batch $(id -un) $SLURM_JOB_ID"
srun -n1 bash -c 'echo "step $SLURM_STEP_ID"'
EOF
chown "$AZ_USER" "$AZ_WORK_DIR/job.sh"
check "sbatch --wait succeeds" as_user sbatch --wait -o "$AZ_WORK_DIR/job.out" "$AZ_WORK_DIR/job.sh"
check_match "batch output file is right" "^batch $AZ_USER [0-9]+"$'\n'"step 0$" \
	"$(cat "$AZ_WORK_DIR/job.out" 2>&1)"

jid=$(as_user sbatch --parsable -o /dev/null --wrap true)
check_eq "cluster_wait_job: a good job is COMPLETED" COMPLETED "$(cluster_wait_job "$jid" 30)"
jid=$(as_user sbatch --parsable -o /dev/null --wrap false)
check_eq "cluster_wait_job: a failing job is FAILED" FAILED "$(cluster_wait_job "$jid" 30)"

cluster_set_plugstack "required /nonexistent/azplugin.so"
check_fails "plugstack.conf takes effect at once: a missing required plugin fails srun" \
	as_user srun -n1 true
cluster_set_plugstack
check "an empty plugstack.conf: srun works again" as_user srun -n1 true

scontrol update NodeName="${AZ_NODES%% *}" State=DRAIN Reason=harness-test
check_match "cluster_drained_nodes lists a drained node" "^${AZ_NODES%% *} drain.* harness-test$" \
	"$(cluster_drained_nodes)"
check_fails "cluster_assert_healthy fails then" cluster_assert_healthy
cluster_resume_nodes
check_eq "cluster_resume_nodes resumes it" "" "$(cluster_drained_nodes)"

# A second cluster alongside (in a subshell with its own trap): distinct
# dir and ports, works, and stopping it leaves the first one alone.
second=$(
	trap cluster_stop EXIT
	cluster_start 1 >&2 || exit 1
	echo "$AZ_CLUSTER_DIR $AZ_CTLD_PORT $(as_user srun -n1 bash -c 'echo $SLURM_CONF')"
	cluster_stop
)
read -r d2 port2 conf2 <<<"$second"
check "a second cluster runs alongside" test -n "$second" -a "$conf2" = "${d2:-x}/slurm.conf"
check "with its own dir and port" test "${d2:-}" != "$AZ_CLUSTER_DIR" -a "${port2:-}" != "$AZ_CTLD_PORT"
[[ -n ${d2:-} ]] && dirs+=("$d2")
check "the first cluster still works after the second stops" as_user srun -n1 true
check "cluster_assert_healthy" cluster_assert_healthy
check_eq "cluster_drained_nodes prints nothing" "" "$(cluster_drained_nodes)"

stop_and_check 1-node

# ---- two emulated nodes
t=$EPOCHREALTIME
cluster_start 2
check_eq "cluster_start 2" 0 $?
if [[ -n ${AZ_CLUSTER_DIR:-} ]]; then
	diag "start took $(elapsed "$t") s (dir $AZ_CLUSTER_DIR)"
	dirs+=("$AZ_CLUSTER_DIR")
	check_eq "nodes n1 n2" "n1 n2" "$AZ_NODES"
	out=$(as_user srun -N2 -n2 bash -c 'echo $SLURM_NODEID $SLURMD_NODENAME $(id -un)' 2>&1)
	check_eq "srun -N2 -n2: one task per node" "0 n1 $AZ_USER|1 n2 $AZ_USER" "$(sort <<<"$out" | paste -sd'|')"
	check "cluster_assert_healthy (2 nodes)" cluster_assert_healthy
	stop_and_check 2-node
else
	not_ok "2-node cluster is up"
fi

# ---- nothing left behind
alive=""
for p in "${daemons[@]}"; do
	_az_alive "$p" && alive+=" $p"
done
for d in "${dirs[@]}"; do
	alive+=" $(cluster_leftovers "$d" | xargs)"
	alive+=" $(pgrep -f "$d" | xargs)"
done
check_eq "no slurmctld/slurmd/munged/slurmstepd of these clusters alive" "" "$(xargs <<<"$alive")"
gone=1
for d in "${dirs[@]}"; do
	[[ -e $d ]] && gone=0 && diag "still there: $d"
done
check_eq "all ${#dirs[@]} cluster dirs removed" 1 "$gone"

summary

# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# The one shell test library: every scenario file, suite runner (run-all.sh),
# release root (releases/inside.sh, run.sh) and qemu guest
# (releases/guest-inside.sh) sources it, and so do tests/slurm/cluster.sh,
# tests/pkg, tests/fuzz and tests/r/user-library.sh.  Sourcing it twice
# keeps the counts.
#
# Checks (a scenario file, or any test script):
#   check    "srun works"     as_user srun -n1 true     # passes if exit 0
#   check_fails "bad value"   as_user srun --x=abc true # passes if exit != 0
#   check_eq "two tasks"      "0 1" "$ids"              # exact string match
#   check_match "bound"       '^0-1$' "$cpus"           # bash ERE match
#   ok "something"  /  not_ok "something"               # record by hand
#   skip "part" "the reason"                            # a part not run, counted
#   part test_name                                      # run it unless AZ_PARTS leaves it out
#   diag "free text"                                    # "# " comment lines
#   check "job ends" wait_until 60 job_gone "$job"      # a condition, polled
#   summary [PREFIX]                                    # last line; status
# Users (root only; every command within AZ_JOB_TIMEOUT seconds):
#   as_user CMD...     as the test user AZ_USER (default aztest)
#   as_other CMD...    as a second user (other_user: AZ_OTHER_USER, aztest2)
#   run_as USER DIR CMD...  as USER, from DIR (what both are made of)
# Runners (their counts are suites, not checks):
#   suite NAME CMD...                 one suite: `=== NAME: ok|FAILED (N s)`
#   scenario_files SITE BUILD FILE... the one scenario loop, with the manifest
#   scenario_files_not_run SITE REASON FILE...  counted skips, same lines
#
# `check` runs CMD in a subshell (to capture its output): call functions that
# change the shell's state (cluster_start, cluster_stop, cd, assignments)
# directly, then record with `check_eq NAME 0 $?`.  Each check returns its
# result (0 or 1), so do not run test scripts under `set -e`.
#
# Each check prints `ok - NAME` or `not ok - NAME` (then `# ...` details), a
# skip `skip - PART: REASON`; summary prints exactly `N passed, M failed, K
# skipped` (after PREFIX and ": " if given) and returns 1 if anything failed
# or nothing passed, so a script can end with `summary; exit`.

if [[ -z ${_AZ_LIB_LOADED:-} ]]; then
	_AZ_LIB_LOADED=1
	AZ_PASSED=0
	AZ_FAILED=0
	AZ_SKIPPED=0
fi
_AZ_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AZ_USER=${AZ_USER:-aztest}

# Print each line of "$*" prefixed with "# ".
diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

ok() {
	AZ_PASSED=$((AZ_PASSED + 1))
	echo "ok - $*"
}

not_ok() {
	AZ_FAILED=$((AZ_FAILED + 1))
	echo "not ok - $*"
}

# skip PART REASON: a part that does not run here, and why.  Decide it from
# a fact (tests/slurm/release.sh, AZ_PARTS), never from a probe of the
# environment: what cannot be set up is a failure (not_ok).
skip() {
	AZ_SKIPPED=$((AZ_SKIPPED + 1))
	echo "skip - $1: $2"
}

# part NAME: run the scenario file's test function NAME, unless AZ_PARTS
# (function names, space separated) is set and leaves it out: then it is a
# counted skip.  The qemu guests set it: emulated, whole files take too long.
part() {
	if [[ -z ${AZ_PARTS:-} || " $AZ_PARTS " == *" $1 "* ]]; then
		"$1"
	else
		skip "$1" "not in AZ_PARTS"
	fi
}

# flock_held PATH: some process holds a flock(2) on PATH.  /proc/locks is the
# whole machine's (the release roots share it), so the device is matched as
# well as the inode: another file system's file with the same inode number
# is not PATH.
flock_held() {
	local dev ino key
	read -r dev ino < <(stat -c '%d %i' "$1") || return 1
	printf -v key '%02x:%02x:%d ' $(((dev >> 8) & 0xfff)) \
		$(((dev & 0xff) | ((dev >> 12) & 0xfff00))) "$ino"
	grep -q " FLOCK .* $key" /proc/locks
}

# wait_until SECONDS CMD [ARG...]: until CMD succeeds, polled every 0.1 s.
# The limit is generous on purpose: a busy machine is slow, never wrong, and
# a condition that already holds costs one call.  On timeout it says which
# condition never held (check shows that line when the check fails).
wait_until() {
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 10; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "not so after $seconds s: $*"
	return 1
}

# job_gone JOB: squeue no longer lists JOB (nor, for an array, any element).
job_gone() { [[ -z $(squeue -h -j "$1" 2>/dev/null) ]]; }

# check NAME CMD [ARG...]: passes if CMD exits 0; shows its output if not.
check() { _az_check_exit 0 "$@"; }

# check_fails NAME CMD [ARG...]: passes if CMD exits non-zero.
check_fails() { _az_check_exit 1 "$@"; }

# _az_check_exit FAILS NAME CMD [ARG...]: CMD must succeed (FAILS 0) or fail (1).
_az_check_exit() {
	local fails=$1 name=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if (((rc != 0) == fails)); then
		ok "$name"
		return 0
	fi
	not_ok "$name"
	diag "command: $*"
	if ((fails)); then diag "exit status: 0, expected non-zero"; else diag "exit status: $rc"; fi
	[[ -n $out ]] && diag "$out"
	return 1
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [[ $2 == "$3" ]]; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	diag "expected: $2"
	diag "actual:   $3"
	return 1
}

# check_match NAME REGEX ACTUAL (extended regex, bash =~)
check_match() {
	if [[ $3 =~ $2 ]]; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	diag "expected to match: $2"
	diag "actual: $3"
	return 1
}

# summary [PREFIX]: the last line, `[PREFIX: ]N passed, M failed, K skipped`.
summary() {
	echo "${1:+$1: }$AZ_PASSED passed, $AZ_FAILED failed, $AZ_SKIPPED skipped"
	((AZ_FAILED == 0 && AZ_PASSED > 0))
}

# ------------------------------------------------------------------ users

_az_err() { echo "cluster: $*" >&2; }

# Create the test user AZ_USER if missing (with a home); set
# AZ_USER_UID/GID/HOME.
_az_user_setup() {
	if ! id -u "$AZ_USER" >/dev/null 2>&1; then
		# A concurrent cluster may create it at the same moment: re-check.
		useradd -m -s /bin/bash "$AZ_USER" >/dev/null 2>&1 ||
			id -u "$AZ_USER" >/dev/null 2>&1 || {
			_az_err "cannot create user $AZ_USER"
			return 1
		}
	fi
	AZ_USER_UID=$(id -u "$AZ_USER") && AZ_USER_GID=$(id -g "$AZ_USER") || return 1
	AZ_USER_HOME=$(getent passwd "$AZ_USER" | cut -d: -f6)
	[[ -n $AZ_USER_HOME ]] || AZ_USER_HOME=/
}

# other_user: a second ordinary user (AZ_OTHER_USER, default aztest2),
# created without a home if missing; prints its name, non-zero if it cannot be.
other_user() {
	local name=${AZ_OTHER_USER:-aztest2}
	id -u "$name" >/dev/null 2>&1 || useradd -M -s /bin/bash "$name" >/dev/null 2>&1 ||
		id -u "$name" >/dev/null 2>&1 || return 1
	echo "$name"
}

# run_as USER DIR CMD [ARG...]: CMD as USER (when root; anyone else runs it
# as themself) from DIR, within AZ_JOB_TIMEOUT seconds (default 600: then
# it is killed and a TIMEOUT line goes to stderr; with a cluster running,
# also to its log/timeouts.log, and the test user's jobs are cancelled),
# with a clean environment: PATH=/usr/local/bin:/usr/bin:/bin, HOME (the
# user's), USER, LOGNAME, SHELL, LANG=C.UTF-8 and, with a cluster,
# SLURM_CONF and AZ_TEST_CLUSTER.  Pass more (or other values) with
# `run_as USER DIR env VAR=value CMD`.  Use absolute paths.
run_as() {
	local user=$1 dir=$2 home uid gid
	shift 2
	(($#)) || {
		_az_err "run_as: no command"
		return 2
	}
	uid=$(id -u "$user" 2>/dev/null) && gid=$(id -g "$user") || {
		_az_err "run_as: no user $user"
		return 2
	}
	home=$(getent passwd "$user" | cut -d: -f6)
	local -a envv=(PATH=/usr/local/bin:/usr/bin:/bin HOME="${home:-/}" USER="$user"
		LOGNAME="$user" SHELL=/bin/bash LANG=C.UTF-8) who=()
	if [[ -n ${AZ_CLUSTER_DIR:-} ]]; then
		envv+=(SLURM_CONF="$AZ_CLUSTER_DIR/slurm.conf" AZ_TEST_CLUSTER="$AZ_CLUSTER_DIR")
	fi
	((EUID != 0)) || who=(setpriv --reuid="$uid" --regid="$gid" --init-groups --)
	local rc=0 limit=${AZ_JOB_TIMEOUT:-600} start=$SECONDS
	(cd "$dir" && exec "${who[@]}" env -i "${envv[@]}" timeout -k 10 "$limit" "$@") || rc=$?
	# 124 (TERM) or 137 (KILL) from timeout; a task killed by SIGKILL also
	# makes srun exit 137, so the time tells them apart.
	if ((rc == 124 || rc == 137)) && ((SECONDS - start >= limit)); then
		_az_timed_out "$limit" "$user: $*"
	fi
	return $rc
}

# as_user CMD [ARG...]: run_as the test user, from AZ_WORK_DIR (a cluster's,
# the user's) or else the user's home.
as_user() {
	[[ -n ${AZ_USER_UID:-} ]] || _az_user_setup || return 2
	run_as "$AZ_USER" "${AZ_WORK_DIR:-$AZ_USER_HOME}" "$@"
}

# as_other CMD [ARG...]: run_as the second user (other_user), from /.
as_other() {
	local other
	other=$(other_user) || {
		_az_err "as_other: cannot create ${AZ_OTHER_USER:-aztest2}"
		return 2
	}
	run_as "$other" / "$@"
}

# A command of a test user ran out of time (a job that can never start, a
# hang): say so where the test's log shows it, and, with a cluster, cancel
# the test user's jobs so that the next check starts on an idle cluster.
_az_timed_out() {
	local jobs=""
	if [[ -z ${AZ_CLUSTER_DIR:-} ]]; then
		echo "TIMEOUT after $1 s: $2" >&2
		return
	fi
	jobs=$(squeue -h -u "$AZ_USER" -o '%i %T %r' 2>/dev/null | xargs)
	echo "cluster: TIMEOUT after $1 s: $2${jobs:+ (jobs: $jobs)}; cancelling $AZ_USER's jobs" |
		tee -a "$AZ_CLUSTER_DIR/log/timeouts.log" >&2
	scancel -u "$AZ_USER" 2>/dev/null || true
}

# ---------------------------------------------------------------- runners

# The skipped count of the last summary line (`[...: ]N passed, M failed,
# K skipped`) in file $1; 0 without one.
_az_skipped_in() {
	sed -nE 's/^(.*: )?[0-9]+ passed, [0-9]+ failed, ([0-9]+) skipped$/\2/p' "$1" | tail -1 | grep . || echo 0
}

# suite NAME CMD [ARG...]: one suite's outcome, counted in AZ_PASSED and
# AZ_FAILED; the skipped parts its output's last summary line reports are
# added to AZ_SKIPPED.  Its output (stderr too) goes on to stdout as it
# comes.  CMD runs in this shell (a function may wait for this shell's
# background jobs).
suite() {
	local name=$1 start=$SECONDS out fd tee_pid rc=0
	shift
	echo "=== $name"
	out=$(mktemp)
	exec {fd}> >(tee "$out")
	tee_pid=$!
	"$@" >&"$fd" 2>&1 || rc=$?
	exec {fd}>&-
	wait "$tee_pid" 2>/dev/null || true # (run-all.sh runs under set -e)
	AZ_SKIPPED=$((AZ_SKIPPED + $(_az_skipped_in "$out")))
	rm -f "$out"
	if ((rc == 0)); then
		AZ_PASSED=$((AZ_PASSED + 1))
		echo "=== $name: ok ($((SECONDS - start)) s)"
	else
		AZ_FAILED=$((AZ_FAILED + 1))
		echo "=== $name: FAILED ($((SECONDS - start)) s)"
	fi
}

# The manifest: how many checks each scenario file runs (passed in a green
# run) and how many parts it skips, per Slurm release and site
# configuration (cluster_site's, so `cgroup` on a unified host is cgroup2).
AZ_MANIFEST=$_AZ_TESTS/checks.manifest

# _az_release: the installed Slurm release as MM.mm (release.sh's).
_az_release() { bash -c '. "$1"; release_series' _ "$_AZ_TESTS/slurm/release.sh"; }

# _az_site SITE: the site configuration a cluster runs here for SITE.
_az_site() { AZ_SITE_CONFIG=$1 bash -c '. "$1"; cluster_site' _ "$_AZ_TESTS/slurm/cluster.sh"; }

# _az_manifest_check FILE RELEASE SITE PASSED FAILED SKIPPED: compare one
# scenario file's counts with the manifest's line; checks run are passed +
# failed.  Prints a `manifest:` line; non-zero when they differ or no line.
_az_manifest_check() {
	local file=$1 release=$2 site=$3 checks=$(($4 + $5)) skipped=$6 line
	local fix="if that is meant, make its line in tests/checks.manifest: $file $release $site $checks $skipped"
	line=$(awk -v f="$file" -v r="$release" -v s="$site" \
		'$1 == f && $2 == r && $3 == s { print $4, $5; exit }' "$AZ_MANIFEST" 2>/dev/null)
	if [[ -z $line ]]; then
		echo "not ok - manifest: $file on Slurm $release under $site has no line ($checks checks, $skipped skipped ran); $fix"
		return 1
	fi
	if [[ $line != "$checks $skipped" ]]; then
		echo "not ok - manifest: $file on Slurm $release under $site ran $checks checks and skipped $skipped parts; the manifest expects ${line% *} checks and ${line#* } skipped; $fix"
		return 1
	fi
	echo "manifest: $file on Slurm $release under $site: $checks checks, $skipped skipped, as expected"
}

# scenario_files SITE BUILDDIR FILE...: the one scenario loop.  Each file
# runs under site configuration SITE (tests/slurm/cluster.sh) within a time
# limit on top of cluster.sh's per-command one, its output shown as it
# comes between `--- SITE: NAME` and `--- SITE: NAME done in N s`
# (tests/releases/run.sh's table reads them); then its summary line is
# compared with the manifest.  A file that fails, prints no summary line or
# differs from the manifest fails the loop.  Ends with `scenarios, SITE: N
# passed, M failed, K skipped` (checks and skipped parts, summed).
scenario_files() {
	local site=$1 build=$2 script name out status=0 line release where
	local -i p=0 f=0 k=0 sp=0 sf=0 sk=0 rc
	shift 2
	release=$(_az_release)
	where=$(_az_site "$site")
	out=$(mktemp)
	for script in "$@"; do
		local start=$SECONDS
		name=${script##*/}
		echo "--- $site: $name"
		AZ_SITE_CONFIG=$site AZ_BUILDDIR=$build timeout -k 30 1500 bash "$script" 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$out" | tail -1)
		if [[ -z $line ]]; then
			echo "not ok - $name: no summary line (exit status $rc)"
			line="0 passed, 1 failed"
		fi
		read -r p _ f _ k _ <<<"${line//,/}"
		((rc == 0)) || status=1
		_az_manifest_check "$name" "$release" "$where" "$p" "$f" "$k" || {
			status=1
			f+=1
		}
		sp+=p sf+=f sk+=k
		echo "--- $site: $name done in $((SECONDS - start)) s"
	done
	rm -f "$out"
	echo "scenarios, $site: $sp passed, $sf failed, $sk skipped"
	return $status
}

# scenario_files_not_run SITE REASON FILE...: a counted skip, with its
# reason, for every tests/slurm/test_*.sh not among FILE, in the same lines
# as scenario_files, each compared with the manifest too (so that a file
# leaving a plan shows); non-zero if one differs.
scenario_files_not_run() {
	local site=$1 reason=$2 script name release where status=0 n=0
	shift 2
	release=$(_az_release)
	where=$(_az_site "$site")
	for script in "$_AZ_TESTS"/slurm/test_*.sh; do
		name=${script##*/}
		[[ " ${*##*/} " == *" $name "* ]] && continue
		echo "--- $site: $name"
		echo "skip - $name: $reason"
		echo "0 passed, 0 failed, 1 skipped"
		_az_manifest_check "$name" "$release" "$where" 0 0 1 || status=1
		echo "--- $site: $name done in 0 s"
		n=$((n + 1))
	done
	echo "scenarios not run, $site: 0 passed, $status failed, $n skipped"
	return $status
}

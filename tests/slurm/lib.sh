# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Tiny assertion helpers shared by the Slurm scenario tests.  Source it:
#
#   . tests/slurm/lib.sh
#   check    "srun works"     as_user srun -n1 true     # passes if exit 0
#   check_fails "bad value"   as_user srun --x=abc true # passes if exit != 0
#   check_eq "two tasks"      "0 1" "$ids"              # exact string match
#   check_match "bound"       '^0-1$' "$cpus"           # bash ERE match
#   ok "something"  /  not_ok "something"               # record by hand
#   skip "part" "the reason"                            # a part not run, counted
#   part test_name                                      # run it unless AZ_PARTS leaves it out
#   diag "free text"                                    # "# " comment lines
#   check "job ends" wait_until 60 job_gone "$job"        # a condition, polled
#   summary                                             # last line; status
#
# `check` runs CMD in a subshell (to capture its output): call functions that
# change the shell's state (cluster_start, cluster_stop, cd, assignments)
# directly, then record with `check_eq NAME 0 $?`.  Each check returns its
# result (0 or 1), so do not run test scripts under `set -e`.
#
# Each check prints `ok - NAME` or `not ok - NAME` (then `# ...` details);
# summary prints exactly `N passed, M failed` (then `, K skipped` when a part
# was skipped) and returns 1 if anything failed or nothing was checked, so a
# script can end with `summary; exit`.

AZ_PASSED=0
AZ_FAILED=0
AZ_SKIPPED=0

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

# skip PART REASON: a part of a scenario that does not run here, and why.
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
check() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then
		ok "$name"
		return 0
	fi
	not_ok "$name"
	diag "command: $*"
	diag "exit status: $rc"
	[[ -n $out ]] && diag "$out"
	return 1
}

# check_fails NAME CMD [ARG...]: passes if CMD exits non-zero.
check_fails() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc != 0)); then
		ok "$name"
		return 0
	fi
	not_ok "$name"
	diag "command: $*"
	diag "exit status: 0, expected non-zero"
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

summary() {
	local skipped=""
	((AZ_SKIPPED == 0)) || skipped=", $AZ_SKIPPED skipped"
	echo "$AZ_PASSED passed, $AZ_FAILED failed$skipped"
	((AZ_FAILED == 0 && AZ_PASSED > 0))
}

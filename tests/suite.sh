# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Shared by tests/run-all.sh, tests/releases/inside.sh and
# guest-inside.sh: one suite's outcome, counted in $passed and $failed; its
# output stays on the terminal.
passed=0
failed=0

suite() {
	local name=$1 start=$SECONDS
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		echo "=== $name: FAILED ($((SECONDS - start)) s)"
	fi
}

# scenario_files SITE BUILDDIR SCRIPT...: each scenario file under site
# configuration SITE (tests/slurm/cluster.sh), within a time limit on top of
# cluster.sh's per-command one.  Prints `--- SITE: NAME` before and `--- SITE:
# NAME done in N s` after each (tests/releases/run.sh's table reads them),
# and of its output every line but the passing checks.
scenario_files() {
	local site=$1 build=$2 script out status=0
	shift 2
	out=$(mktemp)
	for script in "$@"; do
		local start=$SECONDS
		echo "--- $site: ${script##*/}"
		AZ_SITE_CONFIG=$site AZ_BUILDDIR=$build timeout -k 30 1500 bash "$script" >"$out" 2>&1 ||
			status=1
		grep -v '^ok - ' "$out"
		echo "--- $site: ${script##*/} done in $((SECONDS - start)) s"
	done
	rm -f "$out"
	return $status
}

# scenario_files_not_run SITE REASON SCRIPT...: a counted skip, with its
# reason, for every tests/slurm/test_*.sh not among SCRIPT, in the same
# lines as scenario_files (tests/releases/run.sh's table shows them).
scenario_files_not_run() {
	local site=$1 reason=$2 script name
	shift 2
	for script in "$top"/tests/slurm/test_*.sh; do
		name=${script##*/}
		[[ " ${*##*/} " == *" $name "* ]] && continue
		echo "--- $site: $name"
		echo "skip - $name: $reason"
		echo "0 passed, 0 failed, 1 skipped"
		echo "--- $site: $name done in 0 s"
	done
}

# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Shared by tests/run-all.sh and tests/releases/inside.sh: one suite's
# outcome, counted in $passed and $failed; its output stays on the terminal.
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

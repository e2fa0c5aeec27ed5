#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every benchmark, full size: the tables of the README's Performance section.
#
#   bench/run-all.sh BUILDDIR [--quick]          (as root; about 6 minutes on 2 CPUs)
#
# Each benchmark prints its tables; a benchmark that fails (a variant whose
# command failed, a check that the variants really differ) is counted as
# failed.  Nothing judges the numbers.  The last line is "N passed, M failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 1 || $# -gt 2 || ( $# -eq 2 && $2 != --quick ) ]]; then
	echo "usage: $0 BUILDDIR [--quick]" >&2
	exit 2
fi
passed=0
failed=0
for bench in launch taskinit runtime saves batch; do
	echo "=== bench/$bench.sh $*"
	if bash "$here/$bench.sh" "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "=== bench/$bench.sh: FAILED"
	fi
done
echo "$passed passed, $failed failed"
((failed == 0))

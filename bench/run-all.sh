#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every benchmark, full size: the tables of the README's Performance section.
#
#   bench/run-all.sh BUILDDIR [--quick]          (as root)
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
start=$SECONDS
# What the README must say beside every table: the machine, the software,
# the commit, the date and this command.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
os=$(. /etc/os-release && echo "$PRETTY_NAME")
commit=$(git -C "$here/.." describe --always --dirty 2>/dev/null || echo "not a git tree")
echo "# machine: $(nproc) CPUs ($cpu), $os, $(uname -r), $(slurmd -V 2>/dev/null)"
echo "# commit $commit, $(date -u '+%Y-%m-%d %H:%M UTC'), command: bench/run-all.sh $*"
for bench in launch taskinit runtime saves batch; do
	echo "=== bench/$bench.sh $*"
	if bash "$here/$bench.sh" "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "=== bench/$bench.sh: FAILED"
	fi
	echo "# load average after bench/$bench.sh: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "# bench/run-all.sh took $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
echo "$passed passed, $failed failed"
((failed == 0))

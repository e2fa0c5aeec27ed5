#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every benchmark, full size: the tables of the README's Performance section.
#
#   bench/run-all.sh BUILDDIR [--quick]          (as root)
#
# Each benchmark prints its tables; a benchmark that fails (a variant whose
# command failed, a check that the variants really differ) is counted as
# failed, by tests/lib.sh's suite like every suite of the test command.
# Nothing judges the numbers.  The last line is "benchmarks: N passed, M
# failed, K skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/lib.sh"
if [[ $# -lt 1 || $# -gt 2 || ( $# -eq 2 && $2 != --quick ) ]]; then
	echo "usage: $0 BUILDDIR [--quick]" >&2
	exit 2
fi
start=$SECONDS
# What the README must say beside every table: the machine, the software,
# the commit, the date and this command.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
os=$(. /etc/os-release && echo "$PRETTY_NAME")
commit=$(git -C "$here/.." describe --always --dirty 2>/dev/null || echo "not a git tree")
echo "# machine: $(nproc) CPUs ($cpu), $os, $(uname -r), $(slurmd -V 2>/dev/null)"
echo "# commit $commit, $(date -u '+%Y-%m-%d %H:%M UTC'), command: bench/run-all.sh $*"
for bench in launch taskinit runtime saves batch; do
	suite "bench/$bench.sh $*" bash "$here/$bench.sh" "$@"
	echo "# load average after bench/$bench.sh: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "# bench/run-all.sh took $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
summary benchmarks

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/launch.sh on every Slurm release of the matrix, one after another so
# that they never share the CPUs: the machine's own Slurm with BUILDDIR, then
# each release root's build (left there by tests/releases/run.sh) inside it.
#
#   bench/releases.sh BUILDDIR [--quick]          (as root; about 3 minutes a release)
#
# The last line is "N passed, M failed" (releases whose benchmark ran).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/releases/roots.sh"
if [[ $# -lt 1 || $# -gt 2 || ($# -eq 2 && $2 != --quick) ]]; then
	echo "usage: $0 BUILDDIR [--quick]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
shift
passed=0
failed=0

record() {
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "=== FAILED: $*"
	fi
}

echo "=== Slurm $(slurmd -V) on this machine"
record bash "$here/launch.sh" "$build" "$@"
for name in ${AZ_RELEASES:-trixie sid}; do
	if [[ ! -r $(root_dir "$name")/work/autozyme/build/spank/.libs/autozyme.so ]]; then
		echo "=== $name: no build in its root (run tests/releases/run.sh $name first)"
		failed=$((failed + 1))
		continue
	fi
	echo "=== Slurm $(root_run "$name" slurmd -V) in the $name root"
	record root_run "$name" /bin/bash /work/autozyme/bench/launch.sh /work/autozyme/build "$@"
done
echo "$passed passed, $failed failed"
((failed == 0))

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# bench/launch.sh on every Slurm release of the matrix, one after another so
# that they never share the CPUs: the machine's own Slurm with BUILDDIR, then
# each release root's build (left there by tests/releases/run.sh) inside it.
#
#   bench/releases.sh BUILDDIR [--quick]          (as root; about 3 minutes a release)
#
# Each release is a suite of tests/lib.sh; the last line is "releases: N
# passed, M failed, K skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/lib.sh"
. "$here/../tests/releases/roots.sh"
if [[ $# -lt 1 || $# -gt 2 || ($# -eq 2 && $2 != --quick) ]]; then
	echo "usage: $0 BUILDDIR [--quick]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
shift

suite "Slurm $(slurmd -V) on this machine" bash "$here/launch.sh" "$build" "$@"
for name in ${AZ_RELEASES:-trixie sid}; do
	if [[ ! -r $(root_dir "$name")/work/autozyme/build/spank/.libs/autozyme.so ]]; then
		suite "$name: no build in its root (run tests/releases/run.sh $name first)" false
		continue
	fi
	suite "Slurm $(root_run "$name" slurmd -V) in the $name root" \
		root_run "$name" /bin/bash /work/autozyme/bench/launch.sh /work/autozyme/build "$@"
done
summary releases

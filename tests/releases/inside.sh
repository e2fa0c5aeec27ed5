#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run inside a release root by tests/releases/run.sh, from a copy of the tree:
# build as a site admin would (`./configure && make && make check`, no
# option), then every Slurm scenario under both site configurations, then
# the Debian packages of this release on a cluster.  AZ_SCENARIOS (a glob
# under tests/slurm, e.g. test_mpi.sh) runs only those scenarios and no
# packages; AZ_SITE_CONFIGS (default "affinity cgroup") the configurations.
# Prints one
# `=== NAME: ok|FAILED` line per suite and ends with `N passed, M failed`.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
jobs=$(nproc)
. "$top/tests/suite.sh"

build() (
	autoreconf -fi >/dev/null 2>&1 &&
		mkdir -p build && cd build &&
		../configure -q >configure.out 2>&1 &&
		make -j"$jobs" >make.out 2>&1 || {
		tail -30 configure.out make.out 2>/dev/null
		exit 1
	}
)

unit_tests() {
	local status=0
	make -C build -j"$jobs" check >build/check.out 2>&1 || status=$?
	grep -h "Synthesis" build/tests/unit/*.log || true
	[ $status -eq 0 ] || cat build/tests/unit/*.log
	return $status
}

# Each scenario file under one site configuration; the whole file gets a
# time limit on top of the per-command one in cluster.sh.
scenarios() {
	local site=$1 script status=0
	ls tests/slurm/test_*.sh >/dev/null || return 1
	for script in tests/slurm/${AZ_SCENARIOS:-test_*.sh}; do
		local start=$SECONDS
		echo "--- $site: ${script##*/}"
		AZ_SITE_CONFIG=$site AZ_BUILDDIR=$top/build timeout -k 30 1500 bash "$script" >build/scenario.out 2>&1 ||
			status=1
		grep -v '^ok - ' build/scenario.out
		echo "--- $site: ${script##*/} done in $((SECONDS - start)) s"
	done
	return $status
}

echo "release: $(slurmd -V), $(pkg-config --modversion pmix 2>/dev/null | sed 's/^/PMIx /'), $(. /etc/os-release && echo "$PRETTY_NAME")"
suite "build: ./configure && make (-Werror)" build || {
	echo "$passed passed, $failed failed"
	exit 1
}
suite "unit tests (make check)" unit_tests
for site in ${AZ_SITE_CONFIGS:-affinity cgroup}; do
	suite "slurm scenarios, $site" scenarios "$site"
done
[ -n "${AZ_SCENARIOS:-}" ] ||
	suite "packages (make deb, make rpm) and the installed plugin on a cluster" bash tests/pkg/run.sh "$top/build"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

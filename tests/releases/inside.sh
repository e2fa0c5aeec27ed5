#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run inside a release root by tests/releases/run.sh, from a copy of the tree:
# build as a site admin would (`./configure && make && make check`, no
# option), then every Slurm scenario under task/affinity and those the task
# plugin changes under task/cgroup (cgroup v1), then the Debian packages of
# this release on a cluster.  AZ_SCENARIOS (a glob
# under tests/slurm, e.g. test_mpi.sh) runs only those scenarios and no
# packages; AZ_SITE_CONFIGS (default "affinity cgroup") the configurations;
# AZ_BUILD_ONLY=1 only builds, AZ_SKIP_BUILD=1 tests what is built (the
# matrix builds first, then tests here and in the root's guest side by side).
# Prints one
# `=== NAME: ok|FAILED` line per suite and ends with `suites: N passed, M
# failed, K skipped` (K: the skipped parts, which run.sh sums).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
jobs=$(nproc)
. "$top/tests/lib.sh"

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

echo "release: $(slurmd -V), $(pkg-config --modversion pmix 2>/dev/null | sed 's/^/PMIx /'), $(. /etc/os-release && echo "$PRETTY_NAME")"
if [[ -z ${AZ_SKIP_BUILD:-} ]]; then
	suite "build: ./configure && make (-Werror)" build
	((AZ_FAILED == 0)) || {
		summary suites
		exit 1
	}
fi
if [[ -n ${AZ_BUILD_ONLY:-} ]]; then
	summary suites
	exit
fi
suite "unit tests (make check)" unit_tests
# Under cgroup v1, the files where the task plugin changes what a task sees
# (its cpuset, binding, cgroup); the rest once, under affinity.  Sites on
# these releases run cgroup v2, which the release's qemu guest tests.
# The sweep's array at scale (500 tasks) runs on the machine's own release;
# here 100 tasks over the same 4 nodes exercise the release's job ends.
export AZ_SWEEP_ARRAY_TASKS=${AZ_SWEEP_ARRAY_TASKS:-100}
declare -A site_scenarios=([affinity]='test_*.sh' [cgroup]='test_cgroups.sh test_plugin.sh test_mpi.sh')
for site in ${AZ_SITE_CONFIGS:-affinity cgroup}; do
	files=()
	for glob in ${AZ_SCENARIOS:-${site_scenarios[$site]:-test_*.sh}}; do
		files+=(tests/slurm/$glob)
	done
	suite "slurm scenarios, $site" scenario_files "$site" "$top/build" "${files[@]}"
	[[ -n ${AZ_SCENARIOS:-} ]] ||
		suite "slurm scenarios not run, $site" \
			scenario_files_not_run "$site" "runs under task/affinity on this release" "${files[@]}"
done
[ -n "${AZ_SCENARIOS:-}" ] ||
	suite "packages (make deb, make rpm) and the installed plugin on a cluster" bash tests/pkg/run.sh "$top/build"
summary suites

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The project's one test command: installs the Debian packages it needs when
# missing, builds (normal, ASan+UBSan, without PMIx), and runs every test
# suite: Criterion unit tests (plain, sanitizers, valgrind, without PMIx),
# make distcheck, fuzzing, Python, R, packages, the Slurm scenarios on a
# throwaway cluster and the benchmarks' quick mode.  Run as root from the
# source tree.  The last line is `suites: N passed, M failed, K skipped`, K
# the skipped parts of every suite (scenario files, release roots, guests).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
. "$top/tests/deps.sh"
. "$top/tests/lib.sh"

slurm_release() { slurmd -V | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1; }

# Criterion writes its Synthesis line to each test's log; show them all.
# It says nothing of a skipped test unless verbose: at level 1 each log
# holds a `[SKIP] suite::test: reason` line, shown here and counted.
unit_tests() {
	local dir=$1 status=0
	CRITERION_VERBOSITY_LEVEL=1 make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1 || status=$?
	grep -h "Synthesis" "$dir"/tests/unit/*.log || true
	grep -E '^(# |FAIL|ERROR)' "$dir/check.out" || true
	if [ $status -ne 0 ]; then
		cat "$dir"/tests/unit/*.log
	fi
	unit_test_counts "$dir"/tests/unit/*.log
	return $status
}

# unit_test_counts LOG...: every skip with its reason, then `unit tests: N
# passed, M failed, K skipped` over the Criterion tests and the scripts.
unit_test_counts() {
	local log passed=0 failed=0 skipped=0 p f c
	for log in "$@"; do
		if read -r p f c < <(sed -nE 's/.*Synthesis: Tested: [0-9]+ \| Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2 \3/p' "$log"); then
			passed=$((passed + p)) failed=$((failed + f + c))
			skipped=$((skipped + $(grep -c '^\[SKIP\]' "$log")))
			sed -nE "s|^\[SKIP\] (.*)|skip - $(basename "$log" .log): \1|p" "$log"
		else
			case $(sed -n 's/^:test-result: //p' "${log%.log}.trs" 2>/dev/null) in
			PASS) passed=$((passed + 1)) ;;
			SKIP) skipped=$((skipped + 1)) && echo "skip - $(basename "$log" .log): $(tail -1 "$log")" ;;
			*) failed=$((failed + 1)) ;;
			esac
		fi
	done
	echo "unit tests: $passed passed, $failed failed, $skipped skipped"
}

# Criterion runs each test in a child process whose valgrind exit code it
# ignores, so every process logs to its own file and any report is a failure.
valgrind_unit_tests() {
	local dir=$1 test logs status=0 start=$SECONDS
	logs=$(mktemp -d)
	for test in "$dir"/tests/unit/test_*; do
		case $test in *.log | *.trs | *.o) continue ;; esac
		[ -x "$test" ] || continue
		AZ_TEST_SRCDIR=$top AZ_TEST_BUILDDIR=$dir \
			"$dir/libtool" --mode=execute valgrind -q --trace-children=yes \
			--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --vgdb=no \
			--log-file="$logs/$(basename "$test").%p" "$test" -j1 >"$logs/out" 2>&1 || {
			status=1
			echo "valgrind: $(basename "$test") failed:"
			cat "$logs/out"
		}
		rm -f "$logs/out"
	done
	if [ -n "$(find "$logs" -type f -size +0)" ]; then
		find "$logs" -type f -size +0 -exec cat {} +
		status=1
	fi
	rm -rf "$logs"
	[ $status -eq 0 ] && echo "valgrind: every unit test process clean ($((SECONDS - start)) s)"
	return $status
}

# make distcheck builds and tests the tarball in a directory of its own: it
# needs only a configured tree, apart from build/ (whose tarball the
# packages suite makes meanwhile), and runs beside the suites after it.
distcheck() {
	mkdir -p "$1"
	[ -f "$1/Makefile" ] || (cd "$1" && "$top/configure" -q) || return 1
	make -C "$1" -j"$jobs" distcheck >"$1/distcheck.out" 2>&1 || {
		tail -40 "$1/distcheck.out"
		return 1
	}
	grep -A1 "archives ready" "$1/distcheck.out"
}

# background_start NAME CMD...: CMD runs in the background, its output kept
# in build-background/NAME.out; background_wait NAME waits for it, shows
# that output and returns CMD's status.
declare -A background_pid=()
background_start() {
	local name=$1
	shift
	mkdir -p "$top/build-background"
	"$@" >"$top/build-background/$name.out" 2>&1 &
	background_pid[$name]=$!
}

background_wait() {
	local status=0
	wait "${background_pid[$1]}" || status=$?
	cat "$top/build-background/$1.out"
	return $status
}

# The release roots come first: created on a new machine, they take minutes
# of downloading that overlap the machine's own installs and builds.
az_install_missing_packages debootstrap util-linux
# The release matrix runs in the background from the start (its roots take
# minutes to create on a new machine).
background_start matrix bash "$top/tests/releases/run.sh"
az_install_missing_packages
# The builds below are out of tree; an in-tree configure would stop them.
if [ -f "$top/config.status" ]; then
	echo "run-all: cleaning the in-tree build (make distclean) for the out-of-tree builds"
	make -C "$top" distclean >/dev/null
fi
autoreconf -fi >/dev/null 2>&1
az_build "$top" "$top/build"
az_build "$top" "$top/build-asan" --enable-sanitizers
# Sites without libpmix-dev build the other branch of lib/runtime/ranks.c.
az_build "$top" "$top/build-nopmix" --without-pmix

suite "unit tests" unit_tests "$top/build"
suite "unit tests under ASan+UBSan" unit_tests "$top/build-asan"
suite "unit tests, built without PMIx" unit_tests "$top/build-nopmix"
# The valgrind suite is the longest and needs only CPU, while the Slurm
# scenarios mostly wait on Slurm: it runs beside the suites after it, and so
# does make distcheck.
background_start valgrind valgrind_unit_tests "$top/build"
background_start distcheck distcheck "$top/build-distcheck"
suite "fuzzing (libFuzzer, ASan+UBSan)" bash "$top/tests/fuzz/run.sh" "$top/build"
suite "python runtime (pytest)" bash "$top/tests/python/run.sh" "$top/build"
suite "python wheel in every interpreter (venvs)" /usr/bin/python3 "$top/tests/python/interpreters.py" "$top/build"
suite "R runtime (testthat, R CMD check)" bash "$top/tests/r/run.sh" "$top/build"
suite "packages, man pages, autozyme-info" bash "$top/tests/pkg/run.sh" "$top/build"
suite "slurm scenarios, Slurm $(slurm_release), task/affinity" \
	scenario_files affinity "$top/build" "$top"/tests/slurm/test_*.sh
suite "slurm scenarios, Slurm $(slurm_release), task/cgroup" \
	scenario_files cgroup "$top/build" "$top"/tests/slurm/test_*.sh
suite "benchmarks, quick mode (numbers not judged)" bash "$top/bench/run-quick.sh" "$top/build"
suite "make distcheck (run beside the suites above)" background_wait distcheck
suite "unit tests under valgrind (run beside the suites above)" background_wait valgrind

suite "release matrix: Slurm 24.11 (Debian 13) and 26.05 (Debian unstable)" background_wait matrix
summary suites

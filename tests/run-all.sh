#!/usr/bin/env bash
# The project's one test command: installs the Debian packages it needs when
# missing, builds (normal, ASan+UBSan, without PMIx), and runs every test
# suite: Criterion unit tests (plain, sanitizers, valgrind, without PMIx),
# make distcheck, fuzzing, Python, R, packages, the Slurm scenarios on a
# throwaway cluster and the benchmarks' quick mode.  Run as root from the
# source tree.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
passed=0
failed=0

. "$top/tests/deps.sh"

# Record one suite's outcome; its output stays on the terminal.
suite() {
	local name=$1
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok"
	else
		failed=$((failed + 1))
		echo "=== $name: FAILED"
	fi
}

# Criterion writes its Synthesis line to each test's log; show them all.
unit_tests() {
	local dir=$1 status=0
	make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1 || status=$?
	grep -h "Synthesis" "$dir"/tests/unit/*.log || true
	grep -E '^(# |FAIL|ERROR)' "$dir/check.out" || true
	if [ $status -ne 0 ]; then
		cat "$dir"/tests/unit/*.log
	fi
	return $status
}

# Criterion runs each test in a child process whose valgrind exit code it
# ignores, so every process logs to its own file and any report is a failure.
valgrind_unit_tests() {
	local dir=$1 test logs status=0
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
	[ $status -eq 0 ] && echo "valgrind: every unit test process clean"
	return $status
}

distcheck() {
	make -C "$1" -j"$jobs" distcheck >"$1/distcheck.out" 2>&1 || {
		tail -40 "$1/distcheck.out"
		return 1
	}
	grep -A1 "archives ready" "$1/distcheck.out"
}

slurm_tests() {
	local dir=$1 script status=0
	for script in "$top"/tests/slurm/test_*.sh; do
		[ -e "$script" ] || continue
		AZ_BUILDDIR=$dir bash "$script" || status=1
	done
	return $status
}

az_install_missing_packages
# The builds below are out of tree; an in-tree configure would stop them.
if [ -f "$top/config.status" ]; then
	echo "run-all: cleaning the in-tree build (make distclean) for the out-of-tree builds"
	make -C "$top" distclean >/dev/null
fi
autoreconf -fi >/dev/null 2>&1
az_build "$top" "$top/build"
az_build "$top" "$top/build-asan" --enable-sanitizers
# Sites without libpmix-dev build the other branch of lib/ranks.c.
az_build "$top" "$top/build-nopmix" --without-pmix

suite "unit tests" unit_tests "$top/build"
suite "unit tests under ASan+UBSan" unit_tests "$top/build-asan"
suite "unit tests, built without PMIx" unit_tests "$top/build-nopmix"
suite "unit tests under valgrind" valgrind_unit_tests "$top/build"
suite "make distcheck" distcheck "$top/build"
suite "fuzzing (libFuzzer, ASan+UBSan)" bash "$top/tests/fuzz/run.sh" "$top/build"
suite "python runtime (pytest)" bash "$top/tests/python/run.sh" "$top/build"
suite "R runtime (testthat, R CMD check)" bash "$top/tests/r/run.sh" "$top/build"
suite "packages, man pages, autozyme-info" bash "$top/tests/pkg/run.sh" "$top/build"
suite "slurm scenarios" slurm_tests "$top/build"
suite "benchmarks, quick mode (numbers not judged)" bash "$top/bench/run-quick.sh" "$top/build"

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer targets with clang -fsanitize=fuzzer,address,undefined
# (the lib/core and lib/runtime sources and spank/plugstack.c compiled into
# each target) and runs each for a bounded time from its seed corpus,
# corpus/<target>/.  Any crash, sanitizer report or failed property fails
# the run; the reproducer is kept in BUILDDIR/fuzz/artifacts.  Prints the executions of each target.
#
#   tests/fuzz/run.sh BUILDDIR [SECONDS_PER_TARGET]
#
# BUILDDIR is a configured build tree (its config.h is used); the default
# time is 12 s per target.  Needs the Debian packages clang and
# libfuzzer-14-dev (and libhwloc-dev, libcjson-dev, libslurm-dev).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:?usage: run.sh BUILDDIR [SECONDS_PER_TARGET]}
seconds=${2:-12}
build=$(cd "$build" && pwd) || exit 1
out=$build/fuzz
targets="request names plugstack activation manifest"
. "$top/tests/lib.sh"

if ! command -v clang >/dev/null || ! [ -r "$build/config.h" ]; then
	not_ok "fuzz: needs clang (Debian: clang libfuzzer-14-dev) and a configured BUILDDIR with config.h"
	summary
	exit 1
fi

# The core's libraries, as configure finds them (PMIx is optional).
packages="hwloc libcjson"
pkg-config --exists pmix && packages="$packages pmix"
# Warnings as errors, like the rest of the tree; UBSan aborts at its first report.
CFLAGS="-g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -I$build -I$top/lib -I$top/lib/core -I$top/spank -I$top/tests/unit -I$here
	-DAZ_PATCH_DIR=\"$top/patches\" $(pkg-config --cflags $packages)"
LIBS="$(pkg-config --libs $packages) -lm -ldl -lpthread"

# The core, compiled once with the fuzzer's instrumentation and linked into every target.
build_core() {
	local src objs=""
	mkdir -p "$out/obj" "$out/artifacts"
	for src in "$top"/lib/core/*.c "$top"/lib/runtime/*.c "$top/spank/plugstack.c" "$top/tests/unit/slurm_stub.c"; do
		# shellcheck disable=SC2086
		clang $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$out/obj/$(basename "$src" .c).o" || return 1
	done
}

build_target() {
	local t=$1 extra=""
	[ "$t" = plugstack ] && extra="$out/obj/plugstack.o $out/obj/slurm_stub.o"
	# shellcheck disable=SC2086
	clang $CFLAGS "$here/fuzz_$t.c" $(ls "$out"/obj/*.o | grep -v -e '/plugstack.o$' -e '/slurm_stub.o$') \
		$extra $LIBS -o "$out/fuzz_$t"
}

# run_target T: a scratch corpus seeded from corpus/T, so the tree stays clean.
run_target() {
	local t=$1 work log runs dict=""
	[ -r "$here/$t.dict" ] && dict=-dict=$here/$t.dict
	work=$(mktemp -d)
	log=$out/fuzz_$t.log
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		"$out/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=16384 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" $dict \
		"$work" "$here/corpus/$t" >"$log" 2>&1
	local rc=$?
	rm -rf "$work"
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 executions in \2 s/p' "$log")
	if [ $rc -eq 0 ] && [ -n "$runs" ]; then
		ok "fuzz_$t: $runs, no crash ($(grep -o 'DONE *cov: [0-9]*' "$log" | grep -o 'cov: [0-9]*'))"
	else
		not_ok "fuzz_$t: exit $rc"
		diag "$(grep -A30 -m1 -E 'ERROR: |runtime error|property failed|deadly signal' "$log")"
	fi
}

rm -rf "$out"
if ! build_core; then
	not_ok "fuzz: building the core"
	summary
	exit 1
fi
for t in $targets; do
	if build_target "$t"; then
		run_target "$t"
	else
		not_ok "fuzz_$t: build"
	fi
done
summary

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What the plugin saves, in a 2-CPU allocation on a throwaway cluster:
#  a) two unbound tasks (srun -n2 --cpu-bind=none), each a numpy matmul loop;
#  b) one task (srun -n1 -c2) running a Pool(2) of numpy matmul workers;
# each with the default environment (no plugin: OpenBLAS starts one thread
# per CPU it sees in every process), with AutoZyme (the plugin; in b the
# task also calls autozyme.activate() before its Pool, as the page says),
# and with the best hand-set environment (OPENBLAS_NUM_THREADS and
# OMP_NUM_THREADS 1: one thread per process, one process per CPU).
# Throughput: all tasks' multiplications over the wall time from the first
# start to the last end (bench/matmul.py), interleaved runs.
#
#   bench/saves.sh BUILDDIR [--quick]          (as root)
set -u
. "$(dirname "$0")/lib.sh"
bench_init "$@"
# Throughput moves with whatever else the machine runs: more runs.
((BENCH_QUICK)) || BENCH_RUNS=${AZ_BENCH_RUNS:-15}
bench_cluster
# SIZE:COUNT of each table: many small multiplications, then few large
# ones (about 2 s per run each).
read -r -a shapes <<<"$(bench_pick "64:5" "256:1500 1024:25")"

pkg=$bench_tmp/pkg
mkdir -p "$pkg"
cp -r "$top/python/autozyme" "$top/tests/python/stubs/scanpy" "$top/bench/matmul.py" "$pkg/"
chmod -R a+rX "$pkg"
task_env=(env PYTHONPATH="$pkg" AUTOZYME_LIBRARY="$build/lib/.libs/libautozyme.so.0"
	AUTOZYME_PATCH_PATH="$top/patches")
handset=(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)

# run VARIANT RESULTS SRUN_ARGS... -- MATMUL_ARGS...: matmuls per second
# of the RESULTS processes that report (tasks, or one pool).
run() {
	local variant=$1 results=$2 out rate threads
	local -a vars=() srun_args=()
	shift 2
	while [[ $1 != -- ]]; do
		srun_args+=("$1")
		shift
	done
	shift
	case $variant in
	default) no_plugin ;;
	autozyme) use_plugin "$plugin" ;;
	handset)
		no_plugin
		vars=("${handset[@]}")
		;;
	esac
	bench_idle
	out=$(as_user "${task_env[@]}" "${vars[@]}" srun "${srun_args[@]}" \
		/usr/bin/python3 "$pkg/matmul.py" "$size" "$count" "$@" 2>>"$bench_tmp/log") ||
		{
			tail -n 5 "$bench_tmp/log" >&2
			bench_fail "$variant: srun ${srun_args[*]} failed"
		}
	/usr/bin/python3 -c '
import json, sys
runs = [json.loads(line) for line in sys.stdin if line.strip()]
if len(runs) != int(sys.argv[1]):
    sys.exit("expected {} results, got {}".format(sys.argv[1], len(runs)))
span = max(r["end"] for r in runs) - min(r["start"] for r in runs)
print("%.3f" % (sum(r["matmuls"] for r in runs) / span),
      "+".join(str(t) for r in runs for t in r["threads"]))' "$results" <<<"$out" >"$bench_tmp/result" ||
		bench_fail "$variant: bad output: $out"
	read -r rate threads <"$bench_tmp/result"
	echo "$group $variant $threads" >>"$bench_tmp/threads"
	echo "$rate"
}

# The BLAS threads of each process in the last run of each variant of
# group $1: what the variants really differ by.
threads_line() {
	awk -v g="$1" '$1 == g { t[$2] = $3; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
		END { printf "  BLAS threads per process (last run):"
		      for (i = 1; i <= n; i++) printf " %s %s%s", order[i], t[order[i]], i < n ? "," : "\n" }' \
		"$bench_tmp/threads"
}

tasks() { run "$1" 2 -n2 --cpu-bind=none --; }
a_default() { tasks default; }
a_autozyme() { tasks autozyme; }
a_handset() { tasks handset; }

pool() {
	local -a activate=()
	[[ $1 == autozyme ]] && activate=(--activate scanpy)
	run "$1" 1 -n1 -c2 -- --pool 2 "${activate[@]}"
}
b_default() { pool default; }
b_autozyme() { pool autozyme; }
b_handset() { pool handset; }

for shape in "${shapes[@]}"; do
	size=${shape%:*} count=${shape#*:}
	group=unbound-$size
	bench_rounds "$group" a_ default autozyme handset
	group=pool-$size
	bench_rounds "$group" b_ default autozyme handset
done

bench_machine
for shape in "${shapes[@]}"; do
	size=${shape%:*} count=${shape#*:}
	bench_table "unbound-$size" "4a. Two unbound tasks (srun -n2 --cpu-bind=none), each $count numpy ${size}x$size matmuls: throughput" \
		matmul/s autozyme/handset autozyme/default handset/default
	threads_line "unbound-$size"
	bench_table "pool-$size" "4b. One task (srun -n1 -c2), Pool(2) workers, each $count numpy ${size}x$size matmuls: throughput" \
		matmul/s autozyme/handset autozyme/default handset/default
	threads_line "pool-$size"
done

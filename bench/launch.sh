#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What the plugin costs a job step, end to end: srun's wall time and the
# CPU time the node spends on the step (slurmd, slurmstepd and the tasks,
# from a cpuacct cgroup holding slurmd), for `srun -nN true` with N = 2, 32
# and 64 (--overcommit), toggled between interleaved runs on one throwaway
# cluster, at SlurmdDebug=info and then at debug.  Variants:
#   without      no plugin;
#   empty        an empty SPANK plugin (slurm_spank_init only): the floor;
#   plugin       AutoZyme;
#   off          AutoZyme with --autozyme-threads=off;
#   taskprolog   no plugin, a task prolog exporting the same variables
#                (what sites use today).
# Then slurmstepd's peak RSS for a step with and without the plugin.
#
#   bench/launch.sh BUILDDIR [--quick]          (as root)
#
# With AZ_BENCH_COMPARE=OTHER_BUILDDIR the launch tables get another
# variant, "other": the plugin built there (to measure a change).
#
# The task prolog is srun's --task-prolog: slurmstepd runs it with the same
# code as slurm.conf's TaskProlog (in each task, before exec, reading its
# "export" lines), and it can be toggled per run without a reconfigure.
set -u
. "$(dirname "$0")/lib.sh"
bench_init "$@"
# A 2% difference on a ~130 ms step needs more runs than the default.
((BENCH_QUICK)) || BENCH_RUNS=${AZ_BENCH_RUNS:-30}
prolog=$bench_tmp/taskprolog.sh
install -m 755 "$bench_dir/taskprolog.sh" "$prolog"
"$build/tools/autozyme-info" --thread-variables >"$bench_tmp/thread-variables" ||
	bench_fail "$build/tools/autozyme-info --thread-variables failed"
empty=$(bench_empty_plugin empty)

# plugstack VARIANT: the plugin of this variant, or none.
plugstack() {
	case $1 in
	plugin | off) use_plugin "$plugin" ;;
	empty) cluster_set_plugstack "required $empty" ;;
	other) use_plugin "$AZ_BENCH_COMPARE/spank/.libs/autozyme.so" ;;
	*) no_plugin ;;
	esac
}

# One step: "WALL_MS NODE_CPU_MS".
launch() {
	local -a extra=()
	local before wall
	plugstack "$1"
	[[ $1 == taskprolog ]] && extra=(--task-prolog="$prolog")
	[[ $1 == off ]] && extra=(--autozyme-threads=off)
	bench_idle
	before=$(bench_node_cpu_ns)
	wall=$(bench_ms as_user srun "${extra[@]}" "${srun_args[@]}")
	# The step's last processes may still be ending as srun returns.
	bench_idle
	echo "$wall $(awk -v a="$before" -v b="$(bench_node_cpu_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')"
}
v_without() { launch without; }
v_empty() { launch empty; }
v_plugin() { launch plugin; }
v_off() { launch off; }
v_taskprolog() { launch taskprolog; }
v_other() { launch other; }
variants=(without empty plugin off taskprolog)
launch_pairs=(empty/without plugin/empty off/empty plugin/taskprolog)
if [[ -n ${AZ_BENCH_COMPARE:-} ]]; then
	variants+=(other)
	launch_pairs+=(other/empty plugin/other)
fi

# launch_rounds LEVEL: every task count at that SlurmdDebug level, on a
# cluster of its own.
launch_rounds() {
	local level=$1 n
	AZ_SLURM_CONF_EXTRA=SlurmdDebug=$level bench_cluster
	bench_node_cgroup
	for n in 2 32 64; do
		srun_args=(-n"$n" --overcommit true)
		bench_rounds "launch-n$n-$level launch-cpu-n$n-$level" v_ "${variants[@]}"
	done
	cluster_stop
	bench_node_cgroup_remove
}
# The variants really differ: only the plugin and the prolog set the count.
omp_threads() {
	as_user srun -n1 "${extra[@]}" /usr/bin/printenv OMP_NUM_THREADS 2>/dev/null
}
check_variants() {
	local -a extra=()
	no_plugin
	[[ -z $(omp_threads) ]] || bench_fail "OMP_NUM_THREADS set without the plugin"
	use_plugin "$plugin"
	[[ $(omp_threads) == 1 ]] || bench_fail "the plugin did not set OMP_NUM_THREADS"
	extra=(--autozyme-threads=off)
	[[ -z $(omp_threads) ]] || bench_fail "the plugin set OMP_NUM_THREADS under --autozyme-threads=off"
	cluster_set_plugstack "required $empty"
	extra=()
	[[ -z $(omp_threads) ]] || bench_fail "the empty plugin set OMP_NUM_THREADS"
	no_plugin
	extra=(--task-prolog="$prolog")
	[[ $(omp_threads) == 1 ]] || bench_fail "the task prolog did not set OMP_NUM_THREADS"
}

bench_cluster
check_variants
cluster_stop
launch_rounds info
launch_rounds debug
bench_cluster

# slurmstepd's memory (kB field $1 of /proc/PID/status, printed in MiB),
# polled while the step's tasks wait: by then user_init (topology,
# registry) and every task_init have run.  VmHWM is the peak, VmRSS what
# stays resident while the tasks run.  The tasks wait until the poller has
# sampled the step for a while (a flag file; at most 60 s), however slow a
# busy machine is to start them.
stepd_memory() {
	local field=$1 pid best=0 kb srun_pid seen="" flag=$AZ_WORK_DIR/stepd-sampled
	rm -f "$flag"
	bench_idle
	as_user srun -n2 sh -c "i=0; while [ ! -e $flag ] && [ \$i -lt 1200 ]; do sleep 0.05; i=\$((i + 1)); done" \
		>>"$bench_tmp/log" 2>&1 &
	srun_pid=$!
	while kill -0 "$srun_pid" 2>/dev/null; do
		for pid in $(pgrep -x slurmstepd); do
			[[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$AZ_CLUSTER_DIR"* ]] || continue
			grep -q '^slurmstepd: \[[0-9]*\.0\]' "/proc/$pid/cmdline" 2>/dev/null || continue
			kb=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null)
			((${kb:-0} > best)) && best=$kb
			[[ -n $seen ]] || seen=$EPOCHREALTIME
		done
		if [[ -n $seen ]] && awk -v a="$seen" -v b="$EPOCHREALTIME" -v t="$(bench_pick 0.3 1)" \
			'BEGIN { exit !(b - a >= t) }'; then
			touch "$flag"
		fi
		sleep 0.02
	done
	wait "$srun_pid" || bench_fail "srun -n2 sleep failed"
	((best > 0)) || bench_fail "no slurmstepd seen"
	awk -v k="$best" 'BEGIN { printf "%.3f\n", k / 1024 }'
}
# memory VARIANT FIELD
memory() {
	plugstack "$1"
	stepd_memory "$2"
}
hwm_without() { memory without VmHWM; }
hwm_plugin() { memory plugin VmHWM; }
hwm_other() { memory other VmHWM; }
rss_without() { memory without VmRSS; }
rss_plugin() { memory plugin VmRSS; }
rss_other() { memory other VmRSS; }
variants=(without plugin)
memory_pairs=(plugin/without)
if [[ -n ${AZ_BENCH_COMPARE:-} ]]; then
	variants+=(other)
	memory_pairs+=(other/without)
fi
bench_rounds stepd-hwm hwm_ "${variants[@]}"
bench_rounds stepd-rss rss_ "${variants[@]}"

bench_machine
for level in info debug; do
	for n in 2 32 64; do
		bench_table "launch-n$n-$level" "1. Launch: srun -n$n --overcommit true, SlurmdDebug=$level (wall time)" ms "${launch_pairs[@]}"
		bench_table "launch-cpu-n$n-$level" "1. Launch: the node's CPU time for the same steps (slurmd, slurmstepd, tasks)" ms "${launch_pairs[@]}"
	done
done
bench_table stepd-hwm "5. Memory: slurmstepd peak RSS (VmHWM) of an srun -n2 step" MiB "${memory_pairs[@]}"
bench_table stepd-rss "5. Memory: slurmstepd resident (VmRSS) while the tasks run" MiB "${memory_pairs[@]}"

#!/usr/bin/env bash
# What the plugin costs a job: srun's wall time with the plugin, without
# it, and with a task prolog that exports the same variables (what sites
# use today), toggled between interleaved runs on one throwaway cluster;
# then slurmstepd's peak RSS for a step with and without the plugin.
#
#   bench/launch.sh BUILDDIR [--quick]          (as root)
#
# With AZ_BENCH_COMPARE=OTHER_BUILDDIR the launch tables get a fourth
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
bench_cluster
prolog=$bench_tmp/taskprolog.sh
install -m 755 "$bench_dir/taskprolog.sh" "$prolog"

# plugstack VARIANT: the plugin of this variant, or none.
plugstack() {
	case $1 in
	plugin) use_plugin "$plugin" ;;
	other) use_plugin "$AZ_BENCH_COMPARE/spank/.libs/autozyme.so" ;;
	*) no_plugin ;;
	esac
}

launch() {
	local -a extra=()
	plugstack "$1"
	[[ $1 == taskprolog ]] && extra=(--task-prolog="$prolog")
	bench_idle
	bench_ms as_user srun "${extra[@]}" "${srun_args[@]}"
}
v_without() { launch without; }
v_plugin() { launch plugin; }
v_taskprolog() { launch taskprolog; }
v_other() { launch other; }
variants=(without plugin taskprolog)
launch_pairs=(plugin/without taskprolog/without plugin/taskprolog)
if [[ -n ${AZ_BENCH_COMPARE:-} ]]; then
	variants+=(other)
	launch_pairs+=(other/without other/plugin)
fi

srun_args=(-n2 true)
bench_rounds launch-n2 v_ "${variants[@]}"
srun_args=(-n32 --overcommit true)
bench_rounds launch-n32 v_ "${variants[@]}"

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
	no_plugin
	extra=(--task-prolog="$prolog")
	[[ $(omp_threads) == 1 ]] || bench_fail "the task prolog did not set OMP_NUM_THREADS"
}
check_variants

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
bench_table launch-n2 "1. Launch: srun -n2 true (wall time)" ms "${launch_pairs[@]}"
bench_table launch-n32 "1. Launch: srun -n32 --overcommit true (wall time)" ms "${launch_pairs[@]}"
bench_table stepd-hwm "5. Memory: slurmstepd peak RSS (VmHWM) of an srun -n2 step" MiB "${memory_pairs[@]}"
bench_table stepd-rss "5. Memory: slurmstepd resident (VmRSS) while the tasks run" MiB "${memory_pairs[@]}"

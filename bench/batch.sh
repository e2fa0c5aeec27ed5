#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A one-task batch job end to end, what a researcher's `sbatch job.sh`
# costs: from submission until the job has left the queue (slurmd reports a
# job complete only after any job epilog ran, so an epilog counts), wall
# time polled every 10 ms, and the CPU time the node spends on it (slurmd and
# everything it starts, from a cpuacct cgroup holding slurmd).  The node's
# plugstack, interleaved:
#   empty          an empty SPANK plugin (slurm_spank_init only), no job
#                  epilog: the floor;
#   empty_epilog   the same with an empty slurm_spank_job_epilog: what any
#                  plugin with a job epilog costs (Slurm's own work);
#   plugin         AutoZyme (its step's file, the file's removal and the
#                  sweep at the step's end; it has no job epilog).
# slurmd reads plugstack.conf only as it starts, so each sample restarts it
# and then times a run of jobs, one after the other.
#
#   bench/batch.sh BUILDDIR [--quick]          (as root)
#
# With AZ_BENCH_COMPARE=OTHER_BUILDDIR a fourth variant, "other": the
# plugin built there.
set -u
. "$(dirname "$0")/lib.sh"
bench_init "$@"
((BENCH_QUICK)) || BENCH_RUNS=${AZ_BENCH_RUNS:-20}
jobs_per_sample=$(bench_pick 1 5)
bench_cluster
bench_empty_plugin empty >/dev/null
bench_empty_plugin empty_epilog slurm_spank_job_epilog >/dev/null
bench_node_cgroup

plugstack() {
	case $1 in
	other) bench_restart_plugstack lines \
		"required $AZ_BENCH_COMPARE/spank/.libs/autozyme.so patch_dir=$top/patches activation_dir=$act_dir" ;;
	*) bench_restart_plugstack "$1" ;;
	esac
}

# One job, submitted and waited for until it has left the queue (the
# queue holds nothing else), looking every 10 ms.
one_job() {
	as_user sbatch --parsable -n1 -o /dev/null --wrap=true >/dev/null || return 1
	bench_idle 10
}

# "WALL_MS NODE_CPU_MS" per job, the means over a run of jobs.
per_job() {
	local before t0 t1 i
	plugstack "$1"
	bench_idle
	before=$(bench_node_cpu_ns)
	t0=$EPOCHREALTIME
	for ((i = 0; i < jobs_per_sample; i++)); do
		one_job || bench_fail "a batch job did not end"
	done
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" -v c="$before" -v d="$(bench_node_cpu_ns)" -v n="$jobs_per_sample" \
		'BEGIN { printf "%.3f %.3f\n", (b - a) * 1000 / n, (d - c) / 1e6 / n }'
}
v_empty() { per_job empty; }
v_empty_epilog() { per_job empty_epilog; }
v_plugin() { per_job plugin; }
v_other() { per_job other; }
variants=(empty empty_epilog plugin)
pairs=(empty_epilog/empty plugin/empty plugin/empty_epilog)
if [[ -n ${AZ_BENCH_COMPARE:-} ]]; then
	variants+=(other)
	pairs+=(other/empty plugin/other)
fi

bench_rounds "batch batch-cpu" v_ "${variants[@]}"
bench_machine
bench_table batch "7. A one-task batch job, submission to gone ($jobs_per_sample jobs per sample, wall time per job)" ms "${pairs[@]}"
bench_table batch-cpu "7. The node's CPU time for the same jobs (slurmd, slurmstepd, the job epilog)" ms "${pairs[@]}"

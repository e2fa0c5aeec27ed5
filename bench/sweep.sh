#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What the job-end sweep costs: the plugin's slurm_spank_job_epilog makes
# slurmd run `slurmstepd spank epilog` at every job's end on every node, and
# the next job that needs the node waits for it.  Measured end to end as
# the time per job of back-to-back exclusive one-task jobs (`srun
# --exclusive -n1 true`, each a new allocation), with the node's plugstack:
#   empty          an empty SPANK plugin (slurm_spank_init only): the floor;
#   empty_epilog   the same with an empty slurm_spank_job_epilog: what any
#                  plugin with a job epilog costs (Slurm's own work);
#   plugin         AutoZyme (launch, step-end clean-up and the sweep of a
#                  job directory that the steps already emptied).
# slurmd reads plugstack.conf only as it starts, so each sample restarts it
# and then times a run of jobs; the variants are interleaved.  slurmd logs
# at debug level (check_sweep_runs reads the sweep's line).
#
#   bench/sweep.sh BUILDDIR [--quick]          (as root)
#
# With AZ_BENCH_COMPARE=OTHER_BUILDDIR a fourth variant, "other": the
# plugin built there, beside the empty job epilog.  For a build without the
# sweep, both variants then make slurmd run an epilog at each job's end, and
# plugin/other is the sweep's own cost.
set -u
. "$(dirname "$0")/lib.sh"
bench_init "$@"
jobs_per_sample=$(bench_pick 2 20)
# At debug level slurmd logs each sweep, which check_sweep_runs looks for.
AZ_SLURM_CONF_EXTRA=SlurmdDebug=debug bench_cluster
bench_empty_plugin empty >/dev/null
empty_epilog=$(bench_empty_plugin empty_epilog slurm_spank_job_epilog)

plugstack() {
	case $1 in
	other) bench_restart_plugstack lines \
		"required $AZ_BENCH_COMPARE/spank/.libs/autozyme.so patch_dir=$top/patches activation_dir=$act_dir" \
		"required $empty_epilog" ;;
	*) bench_restart_plugstack "$1" ;;
	esac
}

# The mean time per job over a run of back-to-back jobs.
per_job() {
	local ms
	plugstack "$1"
	bench_idle
	ms=$(bench_ms as_user sh -c "for i in \$(seq $jobs_per_sample); do srun --exclusive -n1 true || exit 1; done")
	awk -v t="$ms" -v n="$jobs_per_sample" 'BEGIN { printf "%.3f\n", t / n }'
}
v_empty() { per_job empty; }
v_empty_epilog() { per_job empty_epilog; }
v_plugin() { per_job plugin; }
v_other() { per_job other; }
variants=(empty empty_epilog plugin)
pairs=(empty_epilog/empty plugin/empty plugin/empty_epilog)
if [[ -n ${AZ_BENCH_COMPARE:-} ]]; then
	variants+=(other)
	pairs+=(plugin/other)
fi

# The sweep really runs: with the plugin, slurmd logs it (at debug level)
# for a job, and nothing is left in activation_dir.
check_sweep_runs() {
	local job i
	plugstack plugin
	job=$(as_user sbatch --parsable --exclusive -n1 -o /dev/null --wrap="srun -n1 true")
	cluster_wait_job "$job" >&2 || bench_fail "job $job did not end"
	for ((i = 0; i < 600; i++)); do
		grep -q "autozyme: job $job: swept " "$AZ_CLUSTER_DIR"/log/slurmd-*.log && break
		sleep 0.1
	done
	grep -q "autozyme: job $job: swept 0 files" "$AZ_CLUSTER_DIR"/log/slurmd-*.log ||
		bench_fail "no sweep of job $job in the slurmd log"
	[[ -z $(find "$act_dir" -mindepth 1) ]] || bench_fail "files left in $act_dir"
}
check_sweep_runs

bench_rounds sweep v_ "${variants[@]}"
bench_machine
bench_table sweep "6. Job turnaround: back-to-back srun --exclusive -n1 true jobs, $jobs_per_sample per sample (wall time per job)" ms "${pairs[@]}"

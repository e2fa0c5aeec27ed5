# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# What differs between the Slurm releases the scenarios run on (22.05, 24.11,
# 26.05), in one place.  A scenario asks one of these questions instead of
# testing a version number or skipping a check.  Source it (scenario.sh does).
#
#   release_number                 e.g. 2405 for the installed 24.05.x
#   release_series                 e.g. 24.05 (tests/checks.manifest's key)
#   release_at_least 23.11         true on 23.11 and later
#   srun_inherits_cpus_per_task    an srun inside `sbatch -c2` gets -c2 again
#   overcommit_keeps_cpus_per_task `srun -n2 --overcommit -c2` needs 2x2 CPUs
#   cgroup_has_task_level          task/cgroup puts each task in task_N
#   cgroup2_task_special           cgroup/v2 puts a task in user/task_special
#   srun_has_mpi_pmix              Slurm's mpi/pmix plugin ships with the release
#   spank_failure_fails_job        a failing plugin fails the job, not the node

# The installed release as MMmm (2211 for 22.11.x), from `slurmd -V` (sinfo
# -V needs a configuration from 24.11 on).
release_number() {
	local v
	v=$(slurmd -V 2>/dev/null | grep -oE '[0-9]+\.[0-9]+' | head -1)
	[[ -n $v ]] || return 1
	printf '%d%02d\n' "${v%%.*}" "$((10#${v#*.}))"
}

# The installed release as MM.mm, e.g. 24.11.
release_series() {
	local n
	n=$(release_number) || return 1
	printf '%d.%02d\n' "$((n / 100))" "$((n % 100))"
}

# release_at_least MM.mm
release_at_least() {
	local want have
	want=$(printf '%d%02d' "${1%%.*}" "$((10#${1#*.}))")
	have=$(release_number) || return 1
	((have >= want))
}

# 23.11: srun reads SLURM_CPUS_PER_TASK again, so a step inside `sbatch -c2`
# without -c has 2 CPUs per task (on 22.05 it has 1).
srun_inherits_cpus_per_task() { release_at_least 23.11; }

# 24.11 (seen on 24.11 and 26.05; 22.05 runs it): a job allocation of
# `srun -n2 --overcommit -c2` stays pending on a 2-CPU node (Reason
# Resources), while the same step inside a whole-node job runs.
overcommit_keeps_cpus_per_task() { release_at_least 24.11; }

# 24.11: task/cgroup adds a task_N level under the step's cgroup (22.05
# stops at step_N).
cgroup_has_task_level() { release_at_least 24.11; }

# cgroup/v2: 22.05 puts a step's task in the step's user/task_special
# cgroup (seen on 22.05.8 under systemd), 24.11 and 26.05 in user/task_N.
cgroup2_task_special() { ! release_at_least 24.11; }

# Slurm's mpi/pmix plugin, which `srun --mpi=pmix` needs: Debian's 22.05 and
# 24.11 ship it; Debian's 26.05 (built with PMIx 7) does not, so there srun
# cannot start Open MPI programs, whose 5.0 and later speak only PMIx.  A
# fact of the release, never asked of the cluster: a 22.05 or 24.11 whose
# srun lacks pmix fails test_mpi.sh, and a 26.05 that has it too.
srun_has_mpi_pmix() { ! release_at_least 26.05; }

# 26.05: slurm_spank_init_failure_mode, which the plugin sets to
# ESPANK_JOB_FAILURE, so that a plugin failing on a compute node fails the
# job and leaves the node up (before, the plugin stands aside there).
spank_failure_fails_job() { release_at_least 26.05; }

# The private /tmp plugin's slurm.conf key: 25.11 renamed job_container/tmpfs
# to namespace/tmpfs (JobContainerType still read, with a warning).
tmpfs_namespace_conf() {
	if release_at_least 25.11; then
		echo "NamespaceType=namespace/tmpfs"
	else
		echo "JobContainerType=job_container/tmpfs"
	fi
}

# 24.05 adds SlurmdParameters=contain_spank: user_init, task_post_fork and
# task_exit run inside the job's namespace.
has_contain_spank() { release_at_least 24.05; }

# 23.02 adds job_container.conf's EntireStepInNS: every slurmstepd of the
# job (not the extern step's) runs inside its namespace.
has_entire_step_in_ns() { release_at_least 23.02; }

# 23.02 writes an OCI container's config.json for each task after SPANK's
# task_init, with the task's environment; 22.05 wrote it once, as the step
# started, before the plugin ran (no thread variables, no SLURM_PROCID).
container_env_is_the_tasks() { release_at_least 23.02; }

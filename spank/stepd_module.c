/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * autozyme_stepd.so, slurmstepd's module, and the life of its one step:
 * user_init reads the step once before the tasks fork (its ids, hwloc
 * topology, cgroup quota and every input of the budget the tasks share:
 * step_facts.c), then sets the step's variables, chooses its patches and
 * writes its activation file (step_env.c); task_init runs in each task, as
 * the user, after Slurm applied its affinity: it decides the task's budget
 * from its cpuset and sets its own variables only when they differ from
 * the step's (task_init.c); at the step's end the files go
 * (activation_files.c, sweep.c).  Nothing here fails a task.  The front
 * plugin loads this module (stepd_loader.c) and calls it through
 * az_stepd_ops, its only export.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/spank.h>

#include "clock.h"
#include "log.h"
#include "step.h"
#include "step_env.h"
#include "step_facts.h"
#include "stepd_ops.h"
#include "sweep.h"
#include "task_init.h"

/* One step per slurmstepd. */
static struct az_step step_state;

/*
 * Every task forks from slurmstepd after user_init: what it no longer needs
 * goes first.  The patches are chosen; a task counts cores on the topology
 * only where the budget counts them (smt=cores), else it reads its
 * affinity alone.  Then the heap is consolidated and trimmed once, here:
 * left with the topology's many small free chunks, each forked task would
 * consolidate them itself at its first large allocation, copying every
 * heap page it touches on the way.
 */
static void release_step_resources(struct az_step *step)
{
	az_registry_free(step->registry);
	step->registry = NULL;
	if (step->file->inputs.base.smt != AZ_SMT_CORES) {
		az_topology_free(step->topology);
		step->topology = NULL;
	}
	malloc_trim(0);
}

static void stepd_user_init(spank_t sp, const struct az_config *config,
			    const struct az_options *options)
{
	struct az_step *step = &step_state;
	struct timespec start;

	az_cpu_clock(&start);
	step->active = false;
	step->lock_fd = -1;
	if (!(step->file = calloc(1, sizeof(*step->file)))) {
		slurm_error(AZ_LOG_PREFIX "out of memory");
		return;
	}
	if (az_step_gather(sp, step, config, options) != 0)
		return;
	step->active = az_step_publish(sp, step, config, options) == 0;
	release_step_resources(step);
	/* Debug level, in the slurmd log: the step's own setup, in CPU time. */
	slurm_debug(AZ_LOG_PREFIX "user_init took %.3f ms CPU (job %u step %s)",
		    az_cpu_ms_since(&start), step->file->job_id, step->file->step);
}

static void stepd_task_init(spank_t sp, const struct az_config *config,
			    const struct az_options *options)
{
	if (step_state.active)
		az_task_setup(sp, &step_state, config, options);
}

static void stepd_exit(spank_t sp, const struct az_config *config)
{
	struct az_step *step = &step_state;

	(void)sp;
	/* Also when the file could not be written: its job directory may be there. */
	if (step->active)
		az_files_remove_step(config->activation_dir, step->uid, step->gid,
				     step->file->job_id, step->file->step, step->file->node_id,
				     step->lock_pid == getpid() ? step->lock_fd : -1);
	/* Every step, the extern one too: what killed slurmstepds left. */
	az_sweep_stale(config->activation_dir);
	az_activation_free(step->file);
	free(step->file_path);
	az_registry_free(step->registry);
	az_topology_free(step->topology);
	memset(step, 0, sizeof(*step));
}

const struct az_stepd_ops az_stepd_ops = {
	.user_init = stepd_user_init,
	.task_init = stepd_task_init,
	.exit = stepd_exit,
};

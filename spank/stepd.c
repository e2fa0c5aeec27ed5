/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * autozyme_stepd.so, slurmstepd's module: user_init prepares the step once
 * before the tasks fork (its ids, hwloc topology, cgroup quota, the patch
 * registry if it has patches, and every input of the budget the tasks
 * share), then sets the step's variables and writes its activation file
 * (step_env.c); task_init runs in each task, as the user, after Slurm
 * applied its affinity: it decides the task's budget from its cpuset and
 * sets its own variables only when they differ from the step's (task.c).
 * Nothing here fails a task.  The front plugin loads this module
 * (module.c) and calls it through az_stepd_ops, its only export.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugin.h"

static int get_u32(spank_t sp, spank_item_t item, const char *what, uint32_t *out)
{
	spank_err_t rc = spank_get_item(sp, item, out);

	if (rc != ESPANK_SUCCESS) {
		slurm_error(AZ_LOG_PREFIX "cannot read the %s: %s", what, spank_strerror(rc));
		return -1;
	}
	return 0;
}

/* One step per slurmstepd. */
static struct az_step step_state;

static void load_topology(struct az_step *step)
{
	az_error err;

	if (az_topology_load(&step->topology, &err) != AZ_OK)
		slurm_error(AZ_LOG_PREFIX "hwloc: %s; tasks get the fallback budget", err.message);
}

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

/* slurmstepd's own cpuset, which the tasks are launched on together (one
 * seeing all of it is not bound): its PUs (0 when unknown), list and cores
 * go into the step's file. */
static unsigned step_cpus(struct az_step *step)
{
	az_cpus cpus = { 0 };

	if (step->topology && az_cpus_current(step->topology, &cpus, NULL) == AZ_OK) {
		step->file->cpuset = cpus.list;
		step->file->cores = cpus.cores;
		return cpus.pus;
	}
	return 0;
}

/* Slurm sets no quota below the step (task/cgroup confines cpusets, not
 * CPU time), so one read serves every task of the step. */
static double step_quota(void)
{
	double quota = 0;
	az_error err;

	if (az_cgroup_quota("/proc/self", &quota, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s; ignoring the cgroup quota", err.message);
		quota = 0;
	}
	return quota;
}

/* What every task of the step shares.  Outside an array Slurm reports the
 * job id and NO_VAL as the task id. */
static int read_step_ids(spank_t sp, struct az_step *step, uint32_t *local_tasks)
{
	az_activation *f = step->file;
	char name[AZ_STEP_NAME_MAX];

	if (get_u32(sp, S_JOB_ARRAY_ID, "array job id", &f->array_job_id) != 0 ||
	    get_u32(sp, S_JOB_ARRAY_TASK_ID, "array task id", &f->array_task_id) != 0 ||
	    get_u32(sp, S_JOB_NODEID, "node id", &f->node_id) != 0 ||
	    get_u32(sp, S_JOB_LOCAL_TASK_COUNT, "local task count", local_tasks) != 0 ||
	    spank_get_item(sp, S_JOB_UID, &step->uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &step->gid) != ESPANK_SUCCESS)
		return -1;
	if (f->array_task_id == NO_VAL || f->array_job_id == 0)
		f->array_job_id = f->array_task_id = AZ_ID_NONE;
	az_files_step_name(step->step_id, name);
	if (!(f->step = strdup(name)))
		return -1;
	return 0;
}

/* Slurm's own count of cpus per task, 0 when it has none. */
static unsigned slurm_cpus_per_task(spank_t sp)
{
	uint32_t cpus = 0;

	if (spank_get_item(sp, S_STEP_CPUS_PER_TASK, &cpus) != ESPANK_SUCCESS)
		return 0;
	return cpus;
}

/* The budget's inputs but each task's cpuset: the request (the option, else
 * the job's variables), cpus per task, the quota, the local tasks and the
 * cpuset they are launched on together, the site's limits. */
static void gather_shared(spank_t sp, struct az_step *step, const struct az_config *config,
			  const struct az_options *options, uint32_t local_tasks)
{
	struct az_spank_env storage;
	az_env env = az_spank_env(&storage, sp);
	az_process_facts facts = {
		.env = &env,
		.option = options->threads_given ? options->threads
						 : (az_request){ .kind = AZ_REQUEST_UNSET },
		.slurm_cpus_per_task = slurm_cpus_per_task(sp),
		.quota_cpus = step_quota(),
		.local_tasks = local_tasks,
		.local_source = AZ_LOCAL_SLURM,
		.slurm_tasks = true,
		.launch_pus = step_cpus(step),
		.site_default = config->default_threads,
		.site_max = config->max_threads,
		.smt = config->smt,
	};

	step->shared_failed = az_budget_gather_shared(&facts, &step->file->inputs,
						      &step->shared_error) != AZ_OK;
	step->file->explicit_request = options->threads_given;
}

void az_cpu_clock(struct timespec *now)
{
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, now);
}

double az_cpu_ms_since(const struct timespec *start)
{
	struct timespec now;

	az_cpu_clock(&now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static void stepd_user_init(spank_t sp, const struct az_config *config,
			    const struct az_options *options)
{
	struct az_step *step = &step_state;
	uint32_t local_tasks = 0;
	struct timespec start;

	az_cpu_clock(&start);
	step->active = false;
	step->lock_fd = -1;
	if (!(step->file = calloc(1, sizeof(*step->file)))) {
		slurm_error(AZ_LOG_PREFIX "out of memory");
		return;
	}
	if (get_u32(sp, S_JOB_ID, "job id", &step->file->job_id) != 0 ||
	    get_u32(sp, S_JOB_STEPID, "step id", &step->step_id) != 0)
		return;
	/* The extern step holds no user task. */
	if (step->step_id == SLURM_EXTERN_CONT || read_step_ids(sp, step, &local_tasks) != 0)
		return;
	load_topology(step);
	gather_shared(sp, step, config, options, local_tasks);
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
				     step->lock_fd);
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

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What user_init reads once for the whole step, in slurmstepd: Slurm's
 * items (ids, local task count, cpus per task), slurmstepd's own cpuset on
 * the hwloc topology (the one the tasks are launched on together), the
 * cgroup quota, and every input of the budget the tasks share
 * (az_budget_gather_shared), kept in the step's activation file.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "job_env.h"
#include "log.h"
#include "step_facts.h"

static int get_u32(spank_t sp, spank_item_t item, const char *what, uint32_t *out)
{
	spank_err_t rc = spank_get_item(sp, item, out);

	if (rc != ESPANK_SUCCESS) {
		slurm_error(AZ_LOG_PREFIX "cannot read the %s: %s", what, spank_strerror(rc));
		return -1;
	}
	return 0;
}

static void load_topology(struct az_step *step)
{
	az_error err;

	if (az_topology_load(&step->topology, &err) != AZ_OK)
		slurm_error(AZ_LOG_PREFIX "hwloc: %s; tasks get the fallback budget", err.message);
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
	struct az_job_env storage;
	az_env env = az_job_env(&storage, sp);
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

/* The step's ids, topology, cpuset, quota and shared inputs (step_facts.h). */
int az_step_gather(spank_t sp, struct az_step *step, const struct az_config *config,
		   const struct az_options *options)
{
	uint32_t local_tasks = 0;

	if (get_u32(sp, S_JOB_ID, "job id", &step->file->job_id) != 0 ||
	    get_u32(sp, S_JOB_STEPID, "step id", &step->step_id) != 0)
		return -1;
	/* The extern step holds no user task. */
	if (step->step_id == SLURM_EXTERN_CONT || read_step_ids(sp, step, &local_tasks) != 0)
		return -1;
	load_topology(step);
	gather_shared(sp, step, config, options, local_tasks);
	return 0;
}

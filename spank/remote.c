/*
 * slurmstepd: user_init prepares the step once (hwloc topology, cgroup
 * quota, patch registry) before the tasks fork; task_init runs in each
 * task, as the user, after Slurm applied its affinity: it decides the
 * budget, injects the variables and writes the activation file.  Nothing
 * here fails a task.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void load_step_resources(struct az_step *step)
{
	az_cpus cpus = { 0 };
	az_error err;

	if (az_topology_load(&step->topology, &err) != AZ_OK)
		slurm_error(AZ_LOG_PREFIX "hwloc: %s; tasks get the fallback budget", err.message);
	else if (az_cpus_current(step->topology, &cpus, &err) == AZ_OK)
		step->stepd_pus = cpus.pus;
	az_cpus_release(&cpus);
	/* Slurm sets no quota below the step (task/cgroup confines cpusets,
	 * not CPU time), so one read serves every task of the step. */
	if (az_cgroup_quota("/proc/self", &step->quota_cpus, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s; ignoring the cgroup quota", err.message);
		step->quota_cpus = 0;
	}
	if (az_registry_load(az_plugin.config.patch_dir, &step->registry, &err) != AZ_OK)
		slurm_error(AZ_LOG_PREFIX "patch registry: %s; no patch will be activated", err.message);
}

int az_remote_user_init(spank_t sp)
{
	struct az_step *step = &az_plugin.step;

	step->active = false;
	if (!az_plugin.config_ok) {
		slurm_error(AZ_LOG_PREFIX "plugstack.conf: %s; thread budgets disabled on this node",
			    az_config_error());
		return -1;
	}
	if (get_u32(sp, S_JOB_ID, "job id", &step->job_id) != 0 ||
	    get_u32(sp, S_JOB_STEPID, "step id", &step->step_id) != 0 ||
	    spank_get_item(sp, S_JOB_UID, &step->uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &step->gid) != ESPANK_SUCCESS)
		return -1;
	/* The extern step holds no user task. */
	if (step->step_id == SLURM_EXTERN_CONT)
		return 0;
	load_step_resources(step);
	step->active = true;
	return 0;
}

int az_remote_exit(spank_t sp)
{
	struct az_step *step = &az_plugin.step;

	if (step->active)
		az_files_remove_step(sp, az_plugin.config.activation_dir, step->uid,
				     step->gid, step->job_id, step->step_id);
	az_registry_free(step->registry);
	az_topology_free(step->topology);
	memset(step, 0, sizeof(*step));
	return 0;
}

int az_remote_task_init(spank_t sp)
{
	if (!az_plugin.step.active)
		return 0;
	return az_task_setup(sp, &az_plugin.step);
}

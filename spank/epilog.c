/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The job's end on each node (slurm_spank_job_epilog, run by root once per
 * node): sweep what the steps' own clean-up missed, for example after
 * slurmstepd was killed.  The sweep itself runs as the job's user (files.c).
 * Never fails: a failing epilog drains the node.
 */
#include "config.h"

#include <string.h>

#include "plugin.h"

void az_epilog_sweep(spank_t sp, int ac, char **av)
{
	struct az_config config;
	uint32_t job_id;
	uid_t uid;
	gid_t gid;

	memset(&config, 0, sizeof(config));
	if (az_config_parse(&config, ac, av) != 0) {
		slurm_error(AZ_LOG_PREFIX "plugstack.conf: %s; the job-end sweep is skipped",
			    az_config_error());
		goto out;
	}
	if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS) {
		slurm_error(AZ_LOG_PREFIX "job epilog: cannot get the job id, uid and gid; the job-end sweep is skipped");
		goto out;
	}
	az_files_sweep_job(config.activation_dir, uid, gid, job_id);
out:
	az_config_free(&config);
}

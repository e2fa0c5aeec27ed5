/* SPDX-License-Identifier: BSD-3-Clause */
/* job_env.c: an az_env over the job environment of a SPANK handle, so that
 * the core can read and set a step's or a task's variables. */
#ifndef AZ_SPANK_JOB_ENV_H
#define AZ_SPANK_JOB_ENV_H

#include <slurm/spank.h>

#include "azcore.h"

struct az_job_env {
	spank_t sp;
	char value[4096]; /* the last value read */
};

az_env az_job_env(struct az_job_env *storage, spank_t sp);

#endif

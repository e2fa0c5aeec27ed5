/* SPDX-License-Identifier: BSD-3-Clause */
/* task_init.c: one task's budget, and its own variables when they differ
 * from the step's. */
#ifndef AZ_SPANK_TASK_INIT_H
#define AZ_SPANK_TASK_INIT_H

#include <slurm/spank.h>

#include "options.h"
#include "plugstack.h"
#include "step.h"

int az_task_setup(spank_t sp, const struct az_step *step, const struct az_config *config,
		  const struct az_options *options);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* step_env.c: the step's variables, patches and activation file, in
 * user_init before the tasks fork. */
#ifndef AZ_SPANK_STEP_ENV_H
#define AZ_SPANK_STEP_ENV_H

#include <slurm/spank.h>

#include "options.h"
#include "plugstack.h"
#include "step.h"

/* 0 when the step is set up for its tasks (even without a file: they are
 * told why), -1 when its tasks must be left alone. */
int az_step_publish(spank_t sp, struct az_step *step, const struct az_config *config,
		    const struct az_options *options);

#endif

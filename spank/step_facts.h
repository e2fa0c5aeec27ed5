/* SPDX-License-Identifier: BSD-3-Clause */
/* step_facts.c: what user_init reads once for the whole step. */
#ifndef AZ_SPANK_STEP_FACTS_H
#define AZ_SPANK_STEP_FACTS_H

#include <slurm/spank.h>

#include "options.h"
#include "plugstack.h"
#include "step.h"

/*
 * The step's ids, topology, cpuset, quota and every input of the budget
 * its tasks share, into step->file; -1 (logged) when Slurm's items cannot
 * be read or this is the extern step (step->step_id tells which).
 */
int az_step_gather(spank_t sp, struct az_step *step, const struct az_config *config,
		   const struct az_options *options);

#endif

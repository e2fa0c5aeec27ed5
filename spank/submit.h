/* SPDX-License-Identifier: BSD-3-Clause */
/* submit.c: srun, sbatch and salloc, after the options are parsed. */
#ifndef AZ_SPANK_SUBMIT_H
#define AZ_SPANK_SUBMIT_H

#include "options.h"
#include "plugstack.h"

/* The request and the patches the job would get; -1 (logged, naming the
 * option or variable and its accepted form) refuses the submission. */
int az_submit_check(const struct az_config *config, const struct az_options *options);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slurmstepd's part lives in a module of its own, autozyme_stepd.so, beside
 * autozyme.so, loaded only in slurmstepd (stepd_loader.c): srun, sbatch and
 * salloc never map hwloc.  The module exports one table; the front plugin
 * hands it the configuration and the options it parsed.
 */
#ifndef AZ_SPANK_STEPD_OPS_H
#define AZ_SPANK_STEPD_OPS_H

#include <slurm/spank.h>

#include "options.h"
#include "plugstack.h"

#define AZ_STEPD_MODULE "autozyme_stepd.so"
#define AZ_STEPD_OPS "az_stepd_ops"

struct az_stepd_ops {
	/* Once per step, before the tasks fork. */
	void (*user_init)(spank_t sp, const struct az_config *config,
			  const struct az_options *options);
	/* In each task, as the user. */
	void (*task_init)(spank_t sp, const struct az_config *config,
			  const struct az_options *options);
	/* At the step's end. */
	void (*exit)(spank_t sp, const struct az_config *config);
};

/* stepd_module.c, the module's only export. */
extern const struct az_stepd_ops az_stepd_ops;

#endif

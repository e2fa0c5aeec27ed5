/* SPDX-License-Identifier: BSD-3-Clause */
/* stepd_loader.c: loading autozyme_stepd.so in slurmstepd. */
#ifndef AZ_SPANK_STEPD_LOADER_H
#define AZ_SPANK_STEPD_LOADER_H

#include "stepd_ops.h"

struct az_stepd_module {
	void *handle;
	const struct az_stepd_ops *ops; /* NULL: not loaded */
};

/* Load the module beside autozyme.so; -1 (logged) when it cannot be. */
int az_stepd_load(struct az_stepd_module *module);
void az_stepd_unload(struct az_stepd_module *module);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* options.c: the user's --autozyme-* options, in srun, sbatch, salloc and
 * slurmstepd. */
#ifndef AZ_SPANK_OPTIONS_H
#define AZ_SPANK_OPTIONS_H

#include <stdbool.h>

#include <slurm/spank.h>

#include "azcore.h"

#define AZ_OPT_THREADS "--autozyme-threads"
#define AZ_OPT_ACTIVATE "--autozyme-activate"

/* What the user asked for on the command line. */
struct az_options {
	bool threads_given;  /* --autozyme-threads was given ... */
	az_request threads;  /* ... and parsed into this */
	char *activate;      /* --autozyme-activate, validated syntax */
	bool verbose;        /* --autozyme-verbose */
};

/* Register the three options with Slurm; -1 (logged) when Slurm refuses one. */
int az_options_register(spank_t sp);
/* What Slurm's callbacks parsed so far. */
const struct az_options *az_options_get(void);
/* Forget them (at the plugin's exit). */
void az_options_free(void);

#endif

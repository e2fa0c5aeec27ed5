/* SPDX-License-Identifier: BSD-3-Clause */
/* sweep.c: at each step's end, every job directory of activation_dir that
 * no slurmstepd holds (what killed ones left), each swept as its owner. */
#ifndef AZ_SPANK_SWEEP_H
#define AZ_SPANK_SWEEP_H


void az_sweep_stale(const char *base);

#endif

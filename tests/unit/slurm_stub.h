/* SPDX-License-Identifier: BSD-3-Clause */
/* slurm_stub.c: Slurm's slurm_error for code tested outside Slurm. */
#ifndef AZ_TEST_SLURM_STUB_H
#define AZ_TEST_SLURM_STUB_H

/* The last message slurm_error formatted. */
extern char slurm_stub_last_error[1024];

#endif

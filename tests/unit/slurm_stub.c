/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stand-ins for the Slurm symbols that spank/plugstack.c and
 * spank/precedence.c call, for their unit tests and the fuzzer.  The real
 * ones live in slurmstepd and srun (the plugin is loaded into them, never
 * linked with libslurm), and neither a unit test nor a fuzzer can run
 * inside them; so this keeps the message formatting (the part that could
 * misbehave on a hostile value) and the last message, for a test to read.
 */
#include <stdarg.h>
#include <stdio.h>

#include <slurm/spank.h>

#include "slurm_stub.h"

char slurm_stub_last_error[1024];

void slurm_error(const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(slurm_stub_last_error, sizeof(slurm_stub_last_error), format, ap);
	va_end(ap);
}

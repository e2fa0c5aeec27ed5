/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stand-ins for the Slurm symbols spank/plugstack.c calls.  The real ones live
 * in slurmstepd and srun (the plugin is loaded into them, never linked with
 * libslurm), and a fuzzer cannot run inside slurmstepd; so this file keeps
 * the message formatting (the part that could misbehave on a hostile value)
 * and throws the text away.
 */
#include <stdarg.h>
#include <stdio.h>

#include <slurm/spank.h>

void slurm_error(const char *format, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, format);
	vsnprintf(line, sizeof(line), format, ap);
	va_end(ap);
}

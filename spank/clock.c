/* SPDX-License-Identifier: BSD-3-Clause */
/* Durations for the debug lines of the slurmd log (clock.h). */
#include "config.h"

#include "clock.h"

void az_cpu_clock(struct timespec *now)
{
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, now);
}

double az_ms_between(const struct timespec *start, const struct timespec *end)
{
	return (double)(end->tv_sec - start->tv_sec) * 1e3 +
	       (double)(end->tv_nsec - start->tv_nsec) / 1e6;
}

double az_cpu_ms_since(const struct timespec *start)
{
	struct timespec now;

	az_cpu_clock(&now);
	return az_ms_between(start, &now);
}

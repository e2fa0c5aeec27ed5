/* SPDX-License-Identifier: BSD-3-Clause */
/* clock.c: durations for the debug lines of the slurmd log. */
#ifndef AZ_SPANK_CLOCK_H
#define AZ_SPANK_CLOCK_H

#include <time.h>

/* This thread's CPU clock (a system call: no vDSO serves it). */
void az_cpu_clock(struct timespec *now);
/* Milliseconds of this thread's CPU clock since `start`. */
double az_cpu_ms_since(const struct timespec *start);
/* Milliseconds from `start` to `end`, of one clock. */
double az_ms_between(const struct timespec *start, const struct timespec *end);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * workers.h - worker shares: a parent's T threads shared by the W
 * workers of a process pool it starts (workers.c).  For lib/runtime and
 * its unit tests.
 */
#ifndef AZI_WORKERS_H
#define AZI_WORKERS_H

#include "azcore.h"

/* Parse "T/W", two counts from 1 to AZ_THREADS_MAX; `field` names it in errors. */
az_status azi_worker_share_parse(const char *text, const char *field,
				 az_worker_share *out, az_error *err);

/* "T/W" into buf (24 bytes are enough). */
void azi_worker_share_format(const az_worker_share *share, char *buf,
			     size_t len);

/* Threads per worker of `share`: the budget's one rule for it. */
unsigned azi_threads_per_worker(const az_worker_share *share);

#endif

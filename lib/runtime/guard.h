/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * guard.h - the oversubscription guard and its policy,
 * AUTOZYME_OVERSUBSCRIPTION (guard.c).  For lib/runtime and its unit tests.
 */
#ifndef AZI_GUARD_H
#define AZI_GUARD_H

#include "azcore.h"

/* What the guard does about oversubscription (AUTOZYME_OVERSUBSCRIPTION). */
typedef enum az_oversubscription {
	AZ_OVERSUB_WARN = 0, /* one line on stderr, once per process */
	AZ_OVERSUB_ERROR,    /* refuse the call */
	AZ_OVERSUB_IGNORE    /* say nothing */
} az_oversubscription;

/* "warn", "error" or "ignore"; NULL or empty is warn.  `field` names it in errors. */
az_status azi_oversubscription_parse(const char *text, const char *field,
				     az_oversubscription *out, az_error *err);
const char *azi_oversubscription_name(az_oversubscription policy);

/*
 * Lock held.  `workers` x `threads` running against the CPUs of the
 * budget's allocation; `what` names the cause in the message.
 */
az_status azi_guard(const char *what, unsigned workers, unsigned threads,
		    az_error *err);
/* Lock held: what runs now, as workers x threads per worker. */
void azi_running(unsigned *workers, unsigned *threads);
/* "" for 1, else "s". */
const char *azi_plural(unsigned count);

#endif

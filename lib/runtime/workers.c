/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker shares ("T/W": a parent's T threads shared by its W pool workers,
 * as AUTOZYME_WORKER_SHARE carries it to fresh workers) and the policy of
 * the oversubscription guard (AUTOZYME_OVERSUBSCRIPTION).  The runtime
 * applies both; these are the parsers behind their error messages.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azruntime.h"
#include "internal.h"

/* A count of 1..AZ_THREADS_MAX at *text, ending at `stop`; false otherwise. */
static bool share_count(const char *text, char stop, unsigned *count,
			const char **end)
{
	char *after;
	unsigned long value;

	if (*text < '0' || *text > '9')
		return false;
	value = strtoul(text, &after, 10);
	if (*after != stop || value < 1 || value > AZ_THREADS_MAX)
		return false;
	*count = (unsigned)value;
	*end = after;
	return true;
}

az_status azi_worker_share_parse(const char *text, const char *field,
				 az_worker_share *out, az_error *err)
{
	az_worker_share share;
	const char *end;

	if (!out)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: expected an output", field);
	if (!text || !share_count(text, '/', &share.threads, &end) ||
	    !share_count(end + 1, '\0', &share.workers, &end))
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: invalid value '%.64s': expected THREADS/WORKERS, two integers from 1 to %u (e.g. 8/4)",
				field, text ? text : "", AZ_THREADS_MAX);
	*out = share;
	return AZ_OK;
}

void azi_worker_share_format(const az_worker_share *share, char *buf,
			     size_t len)
{
	if (buf && len)
		snprintf(buf, len, "%u/%u", share ? share->threads : 0,
			 share ? share->workers : 0);
}

static const char *const policy_names[] = {
	[AZ_OVERSUB_WARN] = "warn",
	[AZ_OVERSUB_ERROR] = "error",
	[AZ_OVERSUB_IGNORE] = "ignore",
};
#define POLICY_COUNT (sizeof(policy_names) / sizeof(policy_names[0]))

const char *azi_oversubscription_name(az_oversubscription policy)
{
	if ((unsigned)policy >= POLICY_COUNT)
		return "unknown";
	return policy_names[policy];
}

az_status azi_oversubscription_parse(const char *text, const char *field,
				     az_oversubscription *out, az_error *err)
{
	unsigned i;

	if (!out)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: expected an output", field);
	if (!text || !*text) {
		*out = AZ_OVERSUB_WARN;
		return AZ_OK;
	}
	for (i = 0; i < POLICY_COUNT; i++)
		if (strcmp(text, policy_names[i]) == 0) {
			*out = (az_oversubscription)i;
			return AZ_OK;
		}
	return azi_fail(err, AZ_ERR_INVALID,
			"%s: invalid value '%.64s': expected warn, error or ignore",
			field, text);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The oversubscription guard: a process that would run more threads than
 * its budget's CPUs (set_threads(n) times the workers of its share, or a
 * pool of workers times each one's threads) warns once, is refused, or
 * says nothing, as AUTOZYME_OVERSUBSCRIPTION asks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "state.h"
#include "workers.h"

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

const char *azi_plural(unsigned count)
{
	return count == 1 ? "" : "s";
}

/*
 * Lock held.  `workers` x `threads` running against the CPUs of the task
 * (the budget's allocation); `what` names the cause for the message.  As
 * AUTOZYME_OVERSUBSCRIPTION says: one warning line per process (a fork
 * child of a process that warned stays silent), a refusal, or nothing.
 * A bad policy is refused whatever the count, so that it shows at once.
 */
az_status azi_guard(const char *what, unsigned workers, unsigned threads,
		    az_error *err)
{
	unsigned running = workers * threads, cpus = azi_rt.budget.allocation;
	az_oversubscription policy;
	az_status status = azi_oversubscription_parse(
		getenv(AZ_ENV_OVERSUBSCRIPTION), AZ_ENV_OVERSUBSCRIPTION,
		&policy, err);
	char line[AZ_ERROR_MAX / 2];

	if (status != AZ_OK || !azi_rt.budget_known || !cpus || running <= cpus ||
	    policy == AZ_OVERSUB_IGNORE)
		return status;
	snprintf(line, sizeof(line),
		 "%s runs %u threads on %u CPU%s (%.2fx oversubscribed)", what,
		 running, cpus, azi_plural(cpus), (double)running / cpus);
	if (policy == AZ_OVERSUB_ERROR)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: refused by %s=error (warn or ignore allow it)",
				line, AZ_ENV_OVERSUBSCRIPTION);
	if (!azi_rt.warned)
		fprintf(stderr,
			"autozyme: warning: %s; %s=ignore silences this, =error refuses it\n",
			line, AZ_ENV_OVERSUBSCRIPTION);
	azi_rt.warned = true;
	return AZ_OK;
}

/*
 * Lock held: what runs, as workers x threads per worker: the latest pool
 * this process started, else this process (times the workers of the share
 * it works under).  *threads is 0 when the budget is off.
 */
void azi_running(unsigned *workers, unsigned *threads)
{
	bool off = !azi_rt.explicit_threads && azi_rt.budget.off;

	if (azi_rt.pool.workers) {
		*workers = azi_rt.pool.workers;
		*threads = azi_threads_per_worker(&azi_rt.pool);
		return;
	}
	*workers = azi_rt.worker.workers ? azi_rt.worker.workers : 1;
	*threads = off ? 0 : azi_rt.explicit_threads ? azi_rt.explicit_threads
						 : azi_rt.budget.threads;
}


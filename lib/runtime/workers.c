/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker pools (process pools: multiprocessing, loky, PSOCK, SnowParam),
 * not the BLAS and OpenMP thread pools of blas_openmp.c.  A pool of W
 * workers gives each worker its share, max(1, T // W), of the parent's T
 * threads; "T/W" is how AUTOZYME_WORKER_SHARE carries it to fresh workers.
 * Every pool passes the oversubscription guard as it starts.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_openmp.h"
#include "guard.h"
#include "process_budget.h"
#include "state.h"
#include "workers.h"

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

/* Threads per worker of `share`: the budget's one rule for it. */
unsigned azi_threads_per_worker(const az_worker_share *share)
{
	az_budget whole = { .threads = share->threads }, each;

	if (az_budget_worker_share(&whole, share->workers, &each, NULL) != AZ_OK)
		return share->threads;
	return each.threads;
}

static az_status check_workers(long long workers, const char *call,
			       az_error *err)
{
	if (workers >= 1 && workers <= AZ_THREADS_MAX)
		return AZ_OK;
	return azi_fail(err, AZ_ERR_INVALID,
			"%s: invalid worker count %lld: expected an integer from 1 to %u",
			call, workers, AZ_THREADS_MAX);
}

/* Lock held: the guard on a pool of `share`, then thread_info's record. */
static az_status start_pool(const az_worker_share *share, az_error *err)
{
	unsigned each = azi_threads_per_worker(share);
	char what[96];
	az_status status;

	snprintf(what, sizeof(what), "a pool of %u workers x %u thread%s",
		 share->workers, each, azi_plural(each));
	status = azi_guard(what, share->workers, each, err);
	if (status == AZ_OK)
		azi_rt.pool = *share;
	return status;
}

/* share->workers stays 0 while the count is refused: see autozyme.h. */
az_status az_runtime_pool_start(long long workers, az_worker_share *share,
				az_error *err)
{
	unsigned threads;
	bool off;
	az_status status;

	if (!share)
		return azi_fail(err, AZ_ERR_INVALID,
				"pool_start: expected an output for the share");
	*share = (az_worker_share){ 0, 0 };
	status = check_workers(workers, "pool_start", err);
	if (status != AZ_OK)
		return status;
	share->workers = (unsigned)workers;
	azi_runtime_lock();
	status = azi_current_threads(&threads, &off, err);
	if (status == AZ_OK) {
		share->threads = off ? 0 : threads;
		if (!off)
			status = start_pool(share, err);
	}
	azi_runtime_unlock();
	return status;
}

/* The share to enter: `given`, else AUTOZYME_WORKER_SHARE. */
static az_status worker_share_of(const az_worker_share *given,
				 az_worker_share *out, az_error *err)
{
	if (!given)
		return azi_worker_share_parse(getenv(AZ_ENV_WORKER_SHARE),
					      AZ_ENV_WORKER_SHARE, out, err);
	if (given->threads < 1 || given->threads > AZ_THREADS_MAX)
		return azi_fail(err, AZ_ERR_INVALID,
				"worker share: invalid thread count %u: expected an integer from 1 to %u",
				given->threads, AZ_THREADS_MAX);
	*out = *given;
	return check_workers(given->workers, "worker share", err);
}

/*
 * Lock held.  The worker's variables all hold its share, written as
 * AutoZyme's (injected, so a later activate() treats them as the budget),
 * and AUTOZYME_WORKER_SHARE passes it on to the worker's own children.
 */
static az_status export_share(const az_worker_share *share, unsigned threads,
			      az_error *err)
{
	az_env env = az_env_process();
	char text[32];
	size_t changed;
	az_status status = az_thread_vars_apply(&env, NULL, threads,
						AZ_OVERRIDE_USER_VALUES, NULL,
						err);

	if (status != AZ_OK)
		return status;
	azi_worker_share_format(share, text, sizeof(text));
	if (setenv(AZ_ENV_WORKER_SHARE, text, 1) != 0)
		return azi_fail(err, AZ_ERR_SYSTEM,
				"%s: could not set the variable",
				AZ_ENV_WORKER_SHARE);
	return azi_pools_set_threads(threads, &changed, err);
}

/* A fork child also inherits its parent's set_threads and pool: not its own. */
az_status az_runtime_enter_worker(const az_worker_share *share, az_error *err)
{
	az_worker_share entered;
	az_status status = worker_share_of(share, &entered, err);

	if (status != AZ_OK)
		return status;
	azi_runtime_lock();
	status = azi_ensure_budget(err);
	if (status == AZ_OK) {
		azi_rt.explicit_threads = 0;
		azi_rt.pool = (az_worker_share){ 0 };
		status = azi_apply_share(&entered, err);
	}
	if (status == AZ_OK && !azi_rt.budget.off)
		status = export_share(&entered, azi_rt.budget.threads, err);
	azi_runtime_unlock();
	return status;
}

az_status az_runtime_worker_env(const az_worker_share *share, char **json,
				az_error *err)
{
	const char *const *vars = az_thread_vars_default();
	az_worker_share checked;
	char count[16], text[32];
	cJSON *root;
	bool ok;
	az_status status;

	if (!share || !json)
		return azi_fail(err, AZ_ERR_INVALID,
				"worker_env: expected a share and an output");
	status = worker_share_of(share, &checked, err);
	if (status != AZ_OK)
		return status;
	snprintf(count, sizeof(count), "%u", azi_threads_per_worker(&checked));
	azi_worker_share_format(&checked, text, sizeof(text));
	root = cJSON_CreateObject();
	ok = root != NULL;
	for (; ok && *vars; vars++)
		ok = cJSON_AddStringToObject(root, *vars, count) != NULL;
	ok = ok && cJSON_AddStringToObject(root, AZ_ENV_WORKER_SHARE, text);
	*json = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return *json ? AZ_OK
		     : azi_fail(err, AZ_ERR_NOMEM, "worker_env: out of memory");
}

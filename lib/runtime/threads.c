/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The count in force written where it acts: set_threads(n) writes n to
 * every thread variable and every loaded BLAS and OpenMP pool; activate()
 * writes the budget to the variables the user did not set and gives each
 * pool its own variable's user value (the page: OPENBLAS_NUM_THREADS=8
 * exported before loading AutoZyme leaves OpenBLAS at 8), else the budget.
 */
#include "config.h"

#include <stdio.h>

#include "blas_openmp.h"
#include "guard.h"
#include "process_budget.h"
#include "state.h"
#include "threads.h"

/*
 * The values set_threads() wrote are the user's choice: dropping the
 * injected markers makes children (spawned workers, which activate from
 * the environment) keep them instead of recomputing them.
 */
static void mark_as_user_values(const az_env *env)
{
	env->unset(env->ctx, AZ_ENV_INJECTED);
	env->unset(env->ctx, AZ_ENV_INJECTED_VALUE);
}

/* Lock held: set_threads(n) in this process, in each worker of its share. */
static az_status guard_set_threads(unsigned threads, az_error *err)
{
	char what[96];

	if (!azi_rt.worker.workers) {
		snprintf(what, sizeof(what), "set_threads(%u)", threads);
		return azi_guard(what, 1, threads, err);
	}
	snprintf(what, sizeof(what), "set_threads(%u) in each of %u workers",
		 threads, azi_rt.worker.workers);
	return azi_guard(what, azi_rt.worker.workers, threads, err);
}

/*
 * The budget is decided first, from the environment as the process found
 * it (set_threads() rewrites AUTOZYME_THREADS); thread_info() reports it
 * beside n.  A malformed request only leaves it for later.  The guard
 * checks n first (times the workers of this process's share).  n is
 * remembered once the variables hold it, even when a pool then refuses.
 */
az_status az_runtime_set_threads(long long n, unsigned *applied,
				 az_error *err)
{
	az_env env = az_env_process();
	unsigned threads;
	size_t changed;
	az_status status;

	if (n < 1 || n > AZ_THREADS_MAX)
		return azi_fail(err, AZ_ERR_INVALID,
				"set_threads(n): n must be a single whole number from 1 to %u, got %lld",
				AZ_THREADS_MAX, n);
	threads = (unsigned)n;
	azi_runtime_lock();
	azi_ensure_budget(NULL);
	status = guard_set_threads(threads, err);
	if (status == AZ_OK)
		status = az_thread_vars_apply(&env, NULL, threads,
					      AZ_OVERRIDE_USER_VALUES, NULL,
					      err);
	if (status == AZ_OK) {
		mark_as_user_values(&env);
		azi_rt.explicit_threads = threads;
		status = azi_pools_set_threads(threads, &changed, err);
	}
	azi_runtime_unlock();
	if (status == AZ_OK && applied)
		*applied = threads;
	return status;
}

/*
 * The variable whose user value activate() gives each kind of pool: the
 * one that library reads itself at start-up.  FlexiBLAS reads none of its
 * own (its source has no FLEXIBLAS_NUM_THREADS) and hands the count to a
 * backend unknown here: OMP_NUM_THREADS, the one every threaded backend
 * (OpenBLAS, MKL, BLIS) falls back to.  Every az_pool_kind is listed: a
 * kind missing here would keep whatever count it had.
 */
static const struct pool_var {
	az_pool_kind kind;
	const char *name;
} pool_vars[] = {
	{ AZ_POOL_OPENBLAS, "OPENBLAS_NUM_THREADS" },
	{ AZ_POOL_MKL, "MKL_NUM_THREADS" },
	{ AZ_POOL_BLIS, "BLIS_NUM_THREADS" },
	{ AZ_POOL_FLEXIBLAS, "OMP_NUM_THREADS" },
	{ AZ_POOL_GOMP, "OMP_NUM_THREADS" },
	{ AZ_POOL_LLVM_OMP, "OMP_NUM_THREADS" },
	{ AZ_POOL_INTEL_OMP, "OMP_NUM_THREADS" },
};
#define POOL_VAR_COUNT (sizeof(pool_vars) / sizeof(pool_vars[0]))

/* The user's count in `name`, else `threads`: a value AutoZyme injected,
 * or one that is no count, is not a choice a pool can follow. */
static unsigned user_count(const az_env *env, const char *name,
			   unsigned threads)
{
	unsigned count;

	if (az_env_user_value(env, name) &&
	    az_count_parse(env->get(env->ctx, name), name, 1, AZ_THREADS_MAX,
			   &count, NULL) == AZ_OK)
		return count;
	return threads;
}

/* Each kind of pool to the user's value of its variable, else `threads`. */
static az_status set_pools_by_kind(const az_env *env, unsigned threads,
				   az_error *err)
{
	az_status status = AZ_OK;
	size_t i, changed;

	for (i = 0; status == AZ_OK && i < POOL_VAR_COUNT; i++)
		status = azi_pools_set_kind_threads(
			pool_vars[i].kind,
			user_count(env, pool_vars[i].name, threads), &changed,
			err);
	return status;
}

/*
 * Lock held.  The budget goes to the variables the user did not set (the
 * page: a NUMBA_NUM_THREADS exported before is respected), then each pool
 * follows its variable: the ones just written are marked injected, so
 * they count as the budget's, not the user's.  After set_threads() every
 * variable already holds the explicit value, and every pool gets it.
 */
az_status azi_apply_threads(az_error *err)
{
	az_env env = az_env_process();
	unsigned threads;
	size_t changed;
	bool off;
	az_status status = azi_current_threads(&threads, &off, err);

	if (status != AZ_OK || off)
		return status;
	if (azi_rt.explicit_threads)
		return azi_pools_set_threads(threads, &changed, err);
	status = az_thread_vars_apply(&env, NULL, threads, AZ_KEEP_USER_VALUES,
				      NULL, err);
	if (status == AZ_OK)
		status = set_pools_by_kind(&env, threads, err);
	return status;
}

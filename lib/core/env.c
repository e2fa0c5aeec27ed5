/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Room for the decimal form of any count up to UINT_MAX, with its NUL. */
#define DECIMAL_MAX 16

static const char *const default_thread_vars[] = {
	"OMP_NUM_THREADS",
	"OPENBLAS_NUM_THREADS",
	"MKL_NUM_THREADS",
	"BLIS_NUM_THREADS",
	"VECLIB_MAXIMUM_THREADS",
	"NUMEXPR_NUM_THREADS",
	"NUMBA_NUM_THREADS",
	"RCPP_PARALLEL_NUM_THREADS",
	"MC_CORES",
	"AUTOZYME_THREADS",
	NULL
};

const char *const *az_thread_vars_default(void)
{
	return default_thread_vars;
}

static const char *process_get(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static int process_set(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	return setenv(name, value, 1);
}

static int process_unset(void *ctx, const char *name)
{
	(void)ctx;
	return unsetenv(name);
}

az_env az_env_process(void)
{
	return (az_env){ .get = process_get, .set = process_set,
			 .unset = process_unset, .ctx = NULL };
}

/*
 * Copy AZ_ENV_INJECTED_VALUE into `buf` when it lists `name`.  A backend's
 * value is only valid until its next call, hence the copy; a marker too long
 * for `buf` cannot be a count AutoZyme wrote, so it marks nothing.
 */
static bool injected_value(const az_env *env, const char *name, char *buf,
			   size_t len)
{
	const char *list = env->get(env->ctx, AZ_ENV_INJECTED);
	const char *value;

	if (!list || !az_list_has(list, name))
		return false;
	value = env->get(env->ctx, AZ_ENV_INJECTED_VALUE);
	if (!value || strlen(value) >= len)
		return false;
	strcpy(buf, value);
	return true;
}

bool az_env_user_value(const az_env *env, const char *name)
{
	char injected[DECIMAL_MAX];
	const char *current;

	if (!injected_value(env, name, injected, sizeof(injected)))
		return env->get(env->ctx, name) != NULL;
	current = env->get(env->ctx, name);
	return current && strcmp(current, injected) != 0;
}

bool az_var_name_valid(const char *name, size_t len)
{
	static const char first[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
	static const char digits[] = "0123456789";

	if (!name || len == 0 || !memchr(first, name[0], sizeof(first) - 1))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!memchr(first, name[i], sizeof(first) - 1) &&
		    !memchr(digits, name[i], sizeof(digits) - 1))
			return false;
	return true;
}

static az_status check_apply_args(const az_env *env, const char *const *vars,
				  unsigned threads, az_error *err)
{
	if (!env || !env->get || !env->set)
		return azi_fail(err, AZ_ERR_INVALID,
				"env: expected a backend with get and set");
	for (size_t i = 0; vars[i]; i++)
		if (!az_var_name_valid(vars[i], strlen(vars[i])))
			return azi_fail(err, AZ_ERR_INVALID,
					"thread variables: invalid name '%s': expected [A-Za-z_][A-Za-z0-9_]*",
					vars[i]);
	if (threads < 1 || threads > AZ_THREADS_MAX)
		return azi_fail(err, AZ_ERR_INVALID,
				"threads: invalid value %u: expected an integer from 1 to %u",
				threads, AZ_THREADS_MAX);
	return AZ_OK;
}

/*
 * Write `value` to each variable the policy lets us change, listing the
 * names written in `written` (room for every name of `vars`).
 */
static az_status write_vars(const az_env *env, const char *const *vars,
			    const char *value, az_user_policy policy,
			    const char **written, unsigned *count, az_error *err)
{
	for (size_t i = 0; vars[i]; i++) {
		if (policy == AZ_KEEP_USER_VALUES &&
		    az_env_user_value(env, vars[i]))
			continue;
		if (env->set(env->ctx, vars[i], value) != 0)
			return azi_fail(err, AZ_ERR_SYSTEM,
					"%s: could not set the variable to %s",
					vars[i], value);
		written[(*count)++] = vars[i];
	}
	return AZ_OK;
}

static az_status write_markers(const az_env *env, const char *written,
			       const char *value, az_error *err)
{
	if (env->set(env->ctx, AZ_ENV_INJECTED, written) != 0)
		return azi_fail(err, AZ_ERR_SYSTEM,
				"%s: could not set the variable",
				AZ_ENV_INJECTED);
	if (env->set(env->ctx, AZ_ENV_INJECTED_VALUE, value) != 0)
		return azi_fail(err, AZ_ERR_SYSTEM,
				"%s: could not set the variable",
				AZ_ENV_INJECTED_VALUE);
	return AZ_OK;
}

az_status az_thread_vars_apply(const az_env *env, const char *const *vars,
			       unsigned threads, az_user_policy policy,
			       unsigned *n_set, az_error *err)
{
	char value[DECIMAL_MAX], *joined = NULL;
	const char **written;
	unsigned count = 0;
	size_t n_vars = 0;
	az_status status, marked = AZ_ERR_NOMEM;

	if (!vars)
		vars = az_thread_vars_default();
	status = check_apply_args(env, vars, threads, err);
	if (status != AZ_OK)
		return status;
	snprintf(value, sizeof(value), "%u", threads);
	while (vars[n_vars])
		n_vars++;
	written = calloc(n_vars + 1, sizeof(*written));
	if (!written)
		return azi_fail(err, AZ_ERR_NOMEM,
				"thread variables: out of memory");
	status = write_vars(env, vars, value, policy, written, &count, err);
	/* Record even a partial write, so that a later step recomputes the
	 * values already written instead of trusting them as the user's. */
	joined = az_names_join(written, count);
	if (joined)
		marked = write_markers(env, joined, value,
				       status == AZ_OK ? err : NULL);
	else if (status == AZ_OK)
		azi_fail(err, AZ_ERR_NOMEM, "thread variables: out of memory");
	free(joined);
	free(written);
	if (status == AZ_OK)
		status = marked;
	if (status == AZ_OK && n_set)
		*n_set = count;
	return status;
}

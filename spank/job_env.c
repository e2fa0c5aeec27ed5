/* SPDX-License-Identifier: BSD-3-Clause */
/* An az_env over a job's environment, so the core can set task variables. */
#include "config.h"

#include "job_env.h"
#include "log.h"

static const char *spank_env_get(void *ctx, const char *name)
{
	struct az_job_env *env = ctx;

	if (spank_getenv(env->sp, name, env->value, sizeof(env->value)) != ESPANK_SUCCESS)
		return NULL;
	return env->value;
}

static int spank_env_set(void *ctx, const char *name, const char *value)
{
	struct az_job_env *env = ctx;
	spank_err_t rc = spank_setenv(env->sp, name, value, 1);

	if (rc != ESPANK_SUCCESS)
		slurm_error(AZ_LOG_PREFIX "cannot set %s: %s", name, spank_strerror(rc));
	return rc == ESPANK_SUCCESS ? 0 : -1;
}

static int spank_env_unset(void *ctx, const char *name)
{
	struct az_job_env *env = ctx;
	spank_err_t rc = spank_unsetenv(env->sp, name);

	if (rc != ESPANK_SUCCESS)
		slurm_error(AZ_LOG_PREFIX "cannot unset %s: %s", name, spank_strerror(rc));
	return rc == ESPANK_SUCCESS ? 0 : -1;
}

az_env az_job_env(struct az_job_env *storage, spank_t sp)
{
	storage->sp = sp;
	return (az_env){ .get = spank_env_get, .set = spank_env_set,
			 .unset = spank_env_unset, .ctx = storage };
}

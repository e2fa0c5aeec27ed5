/*
 * The budget's inputs that a process reads from its environment, one rule
 * each, for the plugin (in each task) and the runtime (in any process).
 */
#include "config.h"

#include "internal.h"

#define CPUS_PER_TASK_ENV "SLURM_CPUS_PER_TASK"

/*
 * AUTOZYME_THREADS, then the older spelling AUTOZYMER_THREADS.  A value
 * AutoZyme itself injected (leaked from the batch step, or set by an
 * activate() of a parent) is a decision, not the user's request.
 */
az_status az_request_from_env(const az_env *env, az_request *out, az_error *err)
{
	static const char *const names[] = { "AUTOZYME_THREADS", "AUTOZYMER_THREADS", NULL };
	size_t i;

	for (i = 0; names[i]; i++)
		if (az_env_user_value(env, names[i]))
			return az_request_parse(env->get(env->ctx, names[i]), names[i], out, err);
	*out = (az_request){ .kind = AZ_REQUEST_UNSET };
	return AZ_OK;
}

/* Slurm sets it, not the user: a value that does not parse counts as unset. */
unsigned az_cpus_per_task_from_env(const az_env *env)
{
	const char *text = env->get(env->ctx, CPUS_PER_TASK_ENV);
	unsigned count = 0;

	if (text && az_count_parse(text, CPUS_PER_TASK_ENV, 1, AZ_THREADS_MAX, &count,
				   NULL) != AZ_OK)
		count = 0;
	return count;
}

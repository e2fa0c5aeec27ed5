/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The budget's inputs that a process reads from its environment, one rule
 * each, for the plugin (in each task) and the runtime (in any process), and
 * the node's name its record shows.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

az_status az_request_choose(const az_request *option, const az_env *env,
			    az_request *out, az_error *err)
{
	az_status status;

	if (option && option->kind != AZ_REQUEST_UNSET) {
		*out = *option;
		return AZ_OK;
	}
	*out = (az_request){ .kind = AZ_REQUEST_UNSET };
	if (!env)
		return AZ_OK;
	status = az_request_from_env(env, out, err);
	if (status != AZ_OK)
		*out = (az_request){ .kind = AZ_REQUEST_UNSET };
	return status;
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

const char *az_node_name_from_env(const az_env *env, char *buf, size_t len)
{
	const char *name = env->get(env->ctx, "SLURMD_NODENAME");

	if (name)
		return name;
	if (gethostname(buf, len) != 0)
		snprintf(buf, len, "unknown");
	return buf;
}

/* srun --cpu-bind=none: Slurm says its tasks share the step's CPUs. */
static bool slurm_binding_none(const az_env *env)
{
	const char *bind = env->get(env->ctx, "SLURM_CPU_BIND_TYPE");

	return bind && strncmp(bind, "none", 4) == 0;
}

az_status az_budget_gather_shared(const az_process_facts *facts,
				  az_shared_input *out, az_error *err)
{
	const az_env *env = facts->env;

	*out = (az_shared_input){
		.base = {
			.request = facts->option,
			.quota_cpus = facts->quota_cpus,
			.cpus_per_task = facts->slurm_cpus_per_task,
			.local_tasks = facts->local_tasks,
			.local_source = facts->local_source,
			.launch_pus = facts->launch_pus,
			.site_default = facts->site_default,
			.site_max = facts->site_max,
			.smt = facts->smt,
		},
		.binding_none = env && facts->slurm_tasks && slurm_binding_none(env),
	};
	if (!env)
		return AZ_OK;
	if (!out->base.cpus_per_task)
		out->base.cpus_per_task = az_cpus_per_task_from_env(env);
	return az_request_choose(&facts->option, env, &out->base.request, err);
}

void az_budget_input_for_cpus(const az_shared_input *shared, const az_cpus *cpus,
			      az_budget_input *out)
{
	unsigned own_pus = cpus ? cpus->pus : 0;

	*out = shared->base;
	out->cpuset_pus = own_pus;
	out->cpuset_cores = cpus ? cpus->cores : 0;
	out->tasks_bound = az_budget_tasks_bound(out->local_tasks, own_pus,
						 out->launch_pus, shared->binding_none);
}

az_status az_budget_gather(const az_process_facts *facts,
			   az_budget_input *out, az_error *err)
{
	az_shared_input shared;
	az_status status = az_budget_gather_shared(facts, &shared, err);

	az_budget_input_for_cpus(&shared, facts->cpus, out);
	return status;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * user_init's second half, in slurmstepd before the step's tasks fork: what
 * they share goes once into the job's environment, which every task
 * inherits, and into the step's activation file.  The step's budget is the
 * one a task gets when it sees the CPUs the step expects it to (the whole
 * step's when its tasks share them, else --cpus-per-task or its share of
 * the step); a task that sees other CPUs sets its own variables (task_init.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/spank.h>

#include "job_env.h"
#include "log.h"
#include "precedence.h"
#include "step_env.h"

/* The cpuset the step expects each of its tasks to see. */
static az_cpus expected_cpus(const az_activation *f)
{
	const az_budget_input *in = &f->inputs.base;
	unsigned pus = in->launch_pus, each, cores;

	if (f->inputs.binding_none || in->local_tasks <= 1 || !pus)
		return (az_cpus){ .pus = pus, .cores = f->cores };
	each = in->cpus_per_task ? in->cpus_per_task : pus / in->local_tasks;
	if (each < 1)
		each = 1;
	cores = f->cores * each / pus;
	return (az_cpus){ .pus = each, .cores = cores ? cores : 1 };
}

/* visit(env, name) for each name in AUTOZYME_INJECTED; -1 when out of memory. */
static int each_injected(const az_env *env, void *ctx,
			 int (*visit)(const az_env *, void *, const char *))
{
	const char *list = env->get(env->ctx, AZ_ENV_INJECTED);
	char **names;
	size_t count, i;
	int rc = 0;

	if (!list)
		return 0;
	if (az_list_split(list, &names, &count) != AZ_OK)
		return -1;
	for (i = 0; i < count && rc == 0; i++)
		if (*names[i])
			rc = visit(env, ctx, names[i]);
	az_names_free(names, count);
	return rc;
}

static int unset_unless_users(const az_env *env, void *ctx, const char *name)
{
	(void)ctx;
	if (!az_env_user_value(env, name))
		env->unset(env->ctx, name);
	return 0;
}

static int add_name(char ***names, size_t *count, const char *name)
{
	char **grown = realloc(*names, (*count + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	*names = grown;
	if (!(grown[*count] = strdup(name)))
		return -1;
	(*count)++;
	return 0;
}

static int record_injected(const az_env *env, void *ctx, const char *name)
{
	az_activation *f = ctx;

	(void)env;
	return add_name(&f->thread_vars, &f->n_thread_vars, name);
}

static int add_variable(az_activation *f, const char *name, const char *value)
{
	az_variable *grown = realloc(f->variables, (f->n_variables + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	f->variables = grown;
	grown[f->n_variables] = (az_variable){ strdup(name), strdup(value) };
	f->n_variables++;
	return grown[f->n_variables - 1].name && grown[f->n_variables - 1].value ? 0 : -1;
}

/* Under "off", values injected into an earlier step must not leak through. */
static void clear_injected(const az_env *env)
{
	each_injected(env, NULL, unset_unless_users);
	env->unset(env->ctx, AZ_ENV_INJECTED);
	env->unset(env->ctx, AZ_ENV_INJECTED_VALUE);
}

/* The step's thread variables, and which of them it set, into its file. */
static int set_thread_vars(const az_env *env, az_activation *f, const struct az_config *config,
			   const struct az_options *options)
{
	az_user_policy policy = az_budget_user_policy(config->respect_user_env,
						      options->threads_given);
	az_error err;

	if (f->budget.off) {
		clear_injected(env);
		return 0;
	}
	if (az_thread_vars_apply(env, (const char *const *)config->vars, f->budget.threads,
				 policy, NULL, &err) != AZ_OK)
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
	/* Only on request: binding can collapse a task's threads onto one core. */
	if (config->omp_bind) {
		env->set(env->ctx, "OMP_PLACES", "cores");
		env->set(env->ctx, "OMP_PROC_BIND", config->omp_bind);
		if (add_variable(f, "OMP_PLACES", "cores") != 0 ||
		    add_variable(f, "OMP_PROC_BIND", config->omp_bind) != 0)
			return -1;
	}
	return each_injected(env, f, record_injected);
}

/* Patches were checked at submission; a node whose registry differs drops
 * them.  The registry is read only when the step has patches to check. */
static void choose_patches(const az_env *env, struct az_step *step,
			   const struct az_config *config, const struct az_options *options)
{
	az_activation *f = step->file;
	char *joined;
	az_error err;

	if (az_precedence_patches(options, env, config, &f->patches, &f->n_patches) != 0 ||
	    f->n_patches == 0)
		return;
	if (az_registry_load(config->patch_dir, &step->registry, &err) != AZ_OK)
		slurm_error(AZ_LOG_PREFIX "patch registry: %s; no patch will be activated", err.message);
	if (!step->registry || az_precedence_check_patches(config, step->registry,
							f->patches, f->n_patches) != 0) {
		step->patches_dropped = true;
		az_names_free(f->patches, f->n_patches);
		f->patches = NULL;
		f->n_patches = 0;
		env->unset(env->ctx, AZ_ENV_ACTIVATE);
		return;
	}
	joined = az_names_join((const char *const *)f->patches, f->n_patches);
	if (joined)
		env->set(env->ctx, AZ_ENV_ACTIVATE, joined);
	free(joined);
}

/* Without a file of its own the step must not show an earlier step's. */
static void write_file(const az_env *env, struct az_step *step, const struct az_config *config)
{
	char *json = NULL;
	az_error err;

	if (az_activation_to_json(step->file, &json, &err) != AZ_OK)
		snprintf(step->file_why, sizeof(step->file_why), "%s", err.message);
	else
		az_files_write_step(config->activation_dir, step->uid, step->gid,
				    step->file->job_id, step->file->step, step->file->node_id,
				    json, &step->file_path, &step->lock_fd, step->file_why);
	step->lock_pid = getpid();
	if (step->file_path)
		env->set(env->ctx, AZ_ENV_ACTIVATION_FILE, step->file_path);
	else
		env->unset(env->ctx, AZ_ENV_ACTIVATION_FILE);
	free(json);
}

int az_step_publish(spank_t sp, struct az_step *step, const struct az_config *config,
		    const struct az_options *options)
{
	struct az_job_env storage;
	az_env env = az_job_env(&storage, sp);
	az_cpus expected = expected_cpus(step->file);
	az_error err;
	int rc = -1;

	if (az_activation_task_budget(step->file, &expected, &step->file->budget, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
		goto fail;
	}
	if (set_thread_vars(&env, step->file, config, options) != 0) {
		slurm_error(AZ_LOG_PREFIX "out of memory recording the variables");
		goto fail;
	}
	choose_patches(&env, step, config, options);
	write_file(&env, step, config);
	rc = 0;
fail:
	return rc;
}

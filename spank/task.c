/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One task, in task_init: runs as the job's user in the task's own process,
 * after Slurm applied the CPU binding and before exec.  Adds its own cpuset
 * and ranks to what the step gathered once (stepd.c), decides, injects the
 * variables and writes the activation file.
 * Problems are reported on the task's stderr; the task always starts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugin.h"

struct task {
	const struct az_config *config;
	const struct az_options *options;
	az_env env;
	struct az_spank_env env_storage;
	az_activation record;
	az_budget_input input;
	az_cpus cpus;
	char node[256];
};

/* The node's name as Slurm knows it (several slurmd may share a host):
 * slurmstepd sets it in each task's environment, not in the step's. */
static void read_node(struct task *t)
{
	const char *name = t->env.get(t->env.ctx, "SLURMD_NODENAME");

	if (name)
		snprintf(t->node, sizeof(t->node), "%s", name);
	else if (gethostname(t->node, sizeof(t->node)) != 0)
		snprintf(t->node, sizeof(t->node), "unknown");
	t->record.node = t->node;
}

/* The step's ids (user_init read them once) and the task's own ranks. */
static int read_ids(spank_t sp, const struct az_step *step, struct task *t)
{
	az_activation *r = &t->record;
	int local_rank = 0;

	r->job_id = step->job_id;
	/* The record borrows the step's name; it never frees or writes it. */
	r->step = (char *)step->step_name;
	r->array_job_id = step->array_job_id;
	r->array_task_id = step->array_task_id;
	r->node_id = step->node_id;
	r->local_tasks = step->local_tasks;
	if (spank_get_item(sp, S_TASK_GLOBAL_ID, &r->global_rank) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_TASK_ID, &local_rank) != ESPANK_SUCCESS) {
		fprintf(stderr, AZ_LOG_PREFIX "cannot read the task's Slurm ids\n");
		return -1;
	}
	r->local_rank = (uint32_t)local_rank;
	read_node(t);
	return 0;
}

/* The task's own cpuset, counted on the step's topology, completes what
 * the step gathered once for all its tasks. */
static void gather(const struct az_step *step, struct task *t)
{
	az_error err;

	if (step->topology && az_cpus_current(step->topology, &t->cpus, &err) != AZ_OK)
		fprintf(stderr, AZ_LOG_PREFIX "cannot read the task's cpuset: %s\n", err.message);
	if (step->shared_failed)
		slurm_error(AZ_LOG_PREFIX "%s", step->shared_error.message);
	az_budget_input_for_cpus(&step->shared, &t->cpus, &t->input);
	t->record.cpuset = t->cpus.list ? t->cpus.list : "";
	t->record.pus = t->cpus.pus;
	t->record.cores = t->cpus.cores;
}

static int decide(struct task *t)
{
	char message[512];
	az_error err;

	if (az_budget_decide(&t->input, &t->record.budget, &err) != AZ_OK) {
		fprintf(stderr, AZ_LOG_PREFIX "%s\n", err.message);
		return -1;
	}
	az_budget_clamp_message(&t->record.budget, message, sizeof(message));
	if (message[0])
		fprintf(stderr, "%s\n", message);
	return 0;
}

/* visit(t, name) for each name in AUTOZYME_INJECTED, until one returns
 * nonzero; -1 when out of memory. */
static int each_injected(struct task *t, int (*visit)(struct task *, const char *))
{
	const char *list = t->env.get(t->env.ctx, AZ_ENV_INJECTED);
	char *names, *name, *save = NULL;
	int rc = 0;

	if (!list)
		return 0;
	if (!(names = strdup(list)))
		return -1;
	for (name = strtok_r(names, ",", &save); name && rc == 0;
	     name = strtok_r(NULL, ",", &save))
		rc = visit(t, name);
	free(names);
	return rc;
}

static int unset_unless_users(struct task *t, const char *name)
{
	if (!az_env_user_value(&t->env, name))
		t->env.unset(t->env.ctx, name);
	return 0;
}

/* Under "off", values injected into an earlier step must not leak through. */
static void clear_injected(struct task *t)
{
	each_injected(t, unset_unless_users);
	t->env.unset(t->env.ctx, AZ_ENV_INJECTED);
	t->env.unset(t->env.ctx, AZ_ENV_INJECTED_VALUE);
}

static void inject_variables(struct task *t)
{
	const struct az_config *config = t->config;
	az_user_policy policy = az_budget_user_policy(config->respect_user_env,
						      t->options->threads_given);
	az_error err;

	if (t->record.budget.off) {
		clear_injected(t);
		return;
	}
	if (az_thread_vars_apply(&t->env, (const char *const *)config->vars,
				 t->record.budget.threads, policy, NULL, &err) != AZ_OK)
		fprintf(stderr, AZ_LOG_PREFIX "%s\n", err.message);
	/* Only on request: binding can collapse a task's threads onto one core. */
	if (config->omp_bind) {
		t->env.set(t->env.ctx, "OMP_PLACES", "cores");
		t->env.set(t->env.ctx, "OMP_PROC_BIND", config->omp_bind);
	}
}

static int add_variable(az_activation *r, const char *name, const char *value)
{
	az_variable *grown = realloc(r->variables, (r->n_variables + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	r->variables = grown;
	grown[r->n_variables].name = strdup(name);
	grown[r->n_variables].value = strdup(value);
	r->n_variables++;
	return grown[r->n_variables - 1].name && grown[r->n_variables - 1].value ? 0 : -1;
}

static int record_injected(struct task *t, const char *name)
{
	const char *value = t->env.get(t->env.ctx, name);

	return value ? add_variable(&t->record, name, value) : 0;
}

/* The record lists what this task's environment received from AutoZyme. */
static int record_variables(struct task *t)
{
	int rc;

	if (t->record.budget.off)
		return 0;
	rc = each_injected(t, record_injected);
	if (rc == 0 && t->config->omp_bind)
		rc = add_variable(&t->record, "OMP_PLACES", "cores") ||
		     add_variable(&t->record, "OMP_PROC_BIND", t->config->omp_bind);
	return rc;
}

/* Patches were checked at submission; a node whose registry differs drops them. */
static void choose_patches(const struct az_step *step, struct task *t)
{
	az_activation *r = &t->record;
	char *joined;

	if (az_options_patches(t->options, &t->env, t->config,
			       &r->patches, &r->n_patches) != 0 || r->n_patches == 0)
		return;
	if (!step->registry || az_options_check_patches(t->config, step->registry,
							r->patches, r->n_patches) != 0) {
		fprintf(stderr, AZ_LOG_PREFIX "patches not available on node %s; none activated\n",
			r->node);
		az_names_free(r->patches, r->n_patches);
		r->patches = NULL;
		r->n_patches = 0;
		t->env.unset(t->env.ctx, AZ_ENV_ACTIVATE);
		return;
	}
	joined = az_names_join((const char *const *)r->patches, r->n_patches);
	if (joined)
		t->env.set(t->env.ctx, AZ_ENV_ACTIVATE, joined);
	free(joined);
}

/* Without a file of its own the task must not see an earlier step's. */
static void write_activation_file(struct task *t)
{
	char *json = NULL, *path = NULL;
	az_error err;

	if (az_activation_to_json(&t->record, &json, &err) != AZ_OK)
		fprintf(stderr, AZ_LOG_PREFIX "activation file: %s\n", err.message);
	else if (az_files_write(t->config->activation_dir, t->record.job_id,
				t->record.step, t->record.global_rank, json, &path) == 0)
		t->env.set(t->env.ctx, AZ_ENV_ACTIVATION_FILE, path);
	if (!path)
		t->env.unset(t->env.ctx, AZ_ENV_ACTIVATION_FILE);
	free(json);
	free(path);
}

static void print_verbose(const struct task *t)
{
	const az_activation *r = &t->record;
	char *patches = az_names_join((const char *const *)r->patches, r->n_patches);
	char threads[16];

	snprintf(threads, sizeof(threads), "%u", r->budget.threads);
	fprintf(stderr, AZ_LOG_PREFIX "rank %u node %s cpuset %s threads %s (%s) patches %s\n",
		r->global_rank, r->node, r->cpuset, r->budget.off ? "off" : threads,
		az_provenance_name(r->budget.provenance),
		patches && *patches ? patches : "none");
	free(patches);
}

static void release_task(struct task *t)
{
	size_t i;

	for (i = 0; i < t->record.n_variables; i++) {
		free(t->record.variables[i].name);
		free(t->record.variables[i].value);
	}
	free(t->record.variables);
	az_names_free(t->record.patches, t->record.n_patches);
	az_cpus_release(&t->cpus);
}

/* This thread's CPU clock (one clock: on some virtual machines each
 * clock_gettime of the monotonic clock costs tens of microseconds). */
static void cpu_clock(struct timespec *now)
{
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, now);
}

/*
 * Debug level, in the slurmd log: bench/taskinit.sh collects it to show the
 * per-task cost stays flat as tasks per node grow.  CPU time, not wall
 * time: the plugin's own work, not waiting for a CPU among many starting
 * tasks.
 */
static void log_duration(const struct timespec *start, const struct task *t)
{
	struct timespec now;

	cpu_clock(&now);
	slurm_debug(AZ_LOG_PREFIX "task_init took %.3f ms CPU (job %u step %s rank %u, %u local tasks)",
		    (double)(now.tv_sec - start->tv_sec) * 1e3 +
			    (double)(now.tv_nsec - start->tv_nsec) / 1e6,
		    t->record.job_id, t->record.step, t->record.global_rank,
		    t->record.local_tasks);
}

int az_task_setup(spank_t sp, const struct az_step *step, const struct az_config *config,
		  const struct az_options *options)
{
	struct task t = { .config = config, .options = options };
	struct timespec start;
	int rc = -1;

	cpu_clock(&start);
	t.env = az_spank_env(&t.env_storage, sp);
	if (read_ids(sp, step, &t) != 0)
		goto fail;
	gather(step, &t);
	if (decide(&t) != 0)
		goto fail;
	inject_variables(&t);
	choose_patches(step, &t);
	if (record_variables(&t) != 0)
		fprintf(stderr, AZ_LOG_PREFIX "out of memory recording the variables\n");
	write_activation_file(&t);
	if (t.options->verbose)
		print_verbose(&t);
	rc = 0;
fail:
	log_duration(&start, &t);
	release_task(&t);
	return rc;
}

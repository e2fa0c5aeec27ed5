/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One task, in task_init: runs as the job's user in the task's own process,
 * after Slurm applied the CPU binding and before exec.  The step already
 * set the variables and wrote the activation file (step_env.c); the task
 * decides its budget from its own cpuset through the same call as the
 * runtime, and sets its own variables only when its budget differs from
 * the step's.  No file, no directory: its record is derived from the step's
 * file by whoever reads it.  Problems are reported on the task's stderr;
 * the task always starts.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/spank.h>

#include "clock.h"
#include "job_env.h"
#include "log.h"
#include "precedence.h"
#include "task_init.h"

struct task {
	const struct az_step *step;
	const struct az_config *config;
	const struct az_options *options;
	az_env env;
	struct az_job_env env_storage;
	az_cpus cpus;
	az_budget budget;
	uint32_t global_rank;
};

/* What went wrong once for the whole step, said on each task's stderr. */
static void report_step_problems(const struct task *t)
{
	const struct az_step *step = t->step;
	char host[256];

	if (step->shared_failed)
		slurm_error(AZ_LOG_PREFIX "%s", step->shared_error.message);
	if (step->patches_dropped)
		fprintf(stderr, AZ_LOG_PREFIX "patches not available on node %s; none activated\n",
			az_node_name_from_env(&t->env, host, sizeof(host)));
	if (!step->file_path)
		fprintf(stderr, AZ_LOG_PREFIX "no activation file: %s; variables are set all the same\n",
			step->file_why);
}

/*
 * The step wrote its file where slurmstepd sees activation_dir; a task may
 * not see the same directory.  job_container/tmpfs gives each job its own
 * /tmp and /dev/shm, which the tasks join but user_init does not (unless
 * SlurmdParameters=contain_spank, 24.05 and later): the file is then on
 * the node's real /tmp, out of the task's sight.  The task says so, and its
 * runtime falls back to the task's own facts instead of a path it cannot
 * read.  One access() as the user, in the task's own namespace.
 */
static void check_file_visible(struct task *t)
{
	const char *path = t->step->file_path;

	if (!path || access(path, R_OK) == 0)
		return;
	fprintf(stderr, AZ_LOG_PREFIX "this task cannot see the step's activation file %s (%s): "
		"activation_dir %s is private to the job here, as under job_container/tmpfs; "
		"the site should set activation_dir to a directory outside the job's own "
		"(autozyme(8)); variables are set all the same\n",
		path, strerror(errno), t->config->activation_dir);
	t->env.unset(t->env.ctx, AZ_ENV_ACTIVATION_FILE);
}

static int decide(struct task *t)
{
	char message[512];
	az_error err;

	/* Cores only where the budget counts them (the step kept its topology). */
	if ((t->step->topology ? az_cpus_current(t->step->topology, &t->cpus, &err)
			       : az_cpus_affinity(&t->cpus, &err)) != AZ_OK)
		fprintf(stderr, AZ_LOG_PREFIX "cannot read the task's cpuset: %s\n", err.message);
	if (az_activation_task_budget(t->step->file, &t->cpus, &t->budget, &err) != AZ_OK) {
		fprintf(stderr, AZ_LOG_PREFIX "%s\n", err.message);
		return -1;
	}
	az_budget_clamp_message(&t->budget, message, sizeof(message));
	if (message[0])
		fprintf(stderr, "%s\n", message);
	return 0;
}

static bool same_budget(const az_budget *a, const az_budget *b)
{
	return a->off == b->off && a->threads == b->threads &&
	       a->provenance == b->provenance && a->allocation == b->allocation &&
	       a->allocation_provenance == b->allocation_provenance &&
	       a->clamped == b->clamped && a->requested == b->requested;
}

/* The step's variables hold the step's count: a task with another sets its
 * own, by the same rule ("off" is the whole step's, so never differs). */
static void set_own_variables(struct task *t)
{
	az_user_policy policy = az_budget_user_policy(t->config->respect_user_env,
						      t->options->threads_given);
	az_error err;

	if (same_budget(&t->budget, &t->step->file->budget) || t->budget.off)
		return;
	if (az_thread_vars_apply(&t->env, (const char *const *)t->config->vars,
				 t->budget.threads, policy, NULL, &err) != AZ_OK)
		fprintf(stderr, AZ_LOG_PREFIX "%s\n", err.message);
}

static void print_verbose(const struct task *t)
{
	const az_activation *f = t->step->file;
	char *patches = az_names_join((const char *const *)f->patches, f->n_patches);
	char threads[16], host[256];

	snprintf(threads, sizeof(threads), "%u", t->budget.threads);
	fprintf(stderr, AZ_LOG_PREFIX "rank %u node %s cpuset %s threads %s (%s) patches %s\n",
		t->global_rank, az_node_name_from_env(&t->env, host, sizeof(host)), t->cpus.list ? t->cpus.list : "",
		t->budget.off ? "off" : threads, az_provenance_name(t->budget.provenance),
		patches && *patches ? patches : "none");
	free(patches);
}

/*
 * Debug level, in the slurmd log, for the step's first task on the node
 * only: each read of the CPU clock is a system call, tens of microseconds
 * on some virtual machines (perf: 142 samples of eight 64-task steps'
 * launch).  bench/taskinit.sh collects it to show the per-task cost stays
 * flat as tasks per node grow.  CPU time, not wall time: the plugin's own
 * work, not waiting for a CPU among many starting tasks.
 */
static void log_duration(const struct timespec *start, const struct task *t)
{
	const az_activation *f = t->step->file;

	slurm_debug(AZ_LOG_PREFIX "task_init took %.3f ms CPU (job %u step %s rank %u, %u local tasks)",
		    az_cpu_ms_since(start), f->job_id, f->step, t->global_rank,
		    f->inputs.base.local_tasks);
}

int az_task_setup(spank_t sp, const struct az_step *step, const struct az_config *config,
		  const struct az_options *options)
{
	struct task t = { .step = step, .config = config, .options = options };
	struct timespec start;
	int local_id = -1, rc = -1;

	if (spank_get_item(sp, S_TASK_ID, &local_id) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_TASK_GLOBAL_ID, &t.global_rank) != ESPANK_SUCCESS)
		fprintf(stderr, AZ_LOG_PREFIX "cannot read the task's Slurm ids\n");
	if (local_id == 0)
		az_cpu_clock(&start);
	t.env = az_job_env(&t.env_storage, sp);
	report_step_problems(&t);
	check_file_visible(&t);
	if (decide(&t) != 0)
		goto fail;
	set_own_variables(&t);
	if (options->verbose)
		print_verbose(&t);
	rc = 0;
fail:
	if (local_id == 0)
		log_duration(&start, &t);
	az_cpus_release(&t.cpus);
	return rc;
}

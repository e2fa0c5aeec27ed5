/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The count a Python or R process runs with, put together in this order
 * (azi_ensure_budget, then azi_current_threads):
 *
 *  1. The step's activation file, when AUTOZYME_ACTIVATION_FILE names one
 *     that can be read: the task's budget, decided from the step's inputs in
 *     it and the process's own cpuset by the plugin's own call
 *     (az_activation_task_budget), so it is what the plugin decided
 *     (file_budget).  Else decided here as the plugin would outside Slurm,
 *     from the process's cpuset, cgroup quota, SLURM_CPUS_PER_TASK and the
 *     request AUTOZYME_THREADS, then AUTOZYMER_THREADS, with no site default
 *     or maximum (discover_budget).
 *  2. Ranks sharing a cpuset split it: MPI ranks that mpirun started inside
 *     one Slurm task split that task's budget (file_budget,
 *     az_budget_within_task); unbound ranks outside a step split their
 *     launch cpuset (discover_budget).  PMIx or the launcher's variables
 *     count them (ranks.c).
 *  3. A pool worker gets its share of its parent's threads
 *     (AUTOZYME_WORKER_SHARE here, or az_runtime_enter_worker, workers.c).
 *  4. Once set_threads(n) was called, n wins over the budget
 *     (azi_current_threads); thread_info() still reports both.
 *  5. threads.c writes the count to the variables the user did not set,
 *     and gives each loaded BLAS or OpenMP pool its own variable's user
 *     value, else the count (its pool_vars).
 *
 * Steps 1 to 3 run once per process and are cached; a failure (a malformed
 * AUTOZYME_THREADS) is not, so the next call starts afresh.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process_budget.h"
#include "state.h"
#include "workers.h"

/*
 * Lock held, the budget known and about to be used: the plugin named a file
 * this process could not read, most often in a container that does not bind
 * the node's activation_dir.  Said once per process, when the count is put
 * to use (thread_info() only reports it, as autozyme-info does), and not by
 * pool workers (their parent said it for the task).
 */
static void warn_if_file_unread(azi_runtime *r)
{
	char line[4 * AZ_ERROR_MAX], *out = line;
	const char *why = r->activation_error;

	if (r->from_file || !why || r->file_warned || getenv(AZ_ENV_WORKER_SHARE))
		return;
	/* The reason names a path from the environment: one printable line. */
	for (const unsigned char *c = (const unsigned char *)why; *c; c++)
		out += *c >= 0x20 && *c < 0x7f ? sprintf(out, "%c", *c) : sprintf(out, "\\x%02x", *c);
	fprintf(stderr, "autozyme: warning: cannot use %s: %s; the thread count comes from "
		"this process's own CPUs and variables instead (in a container, bind the "
		"node's activation_dir into it at the same path)\n", AZ_ENV_ACTIVATION_FILE, line);
	r->file_warned = true;
}

/* True when the activation file was read; else why not is remembered. */
static bool read_activation_file(azi_runtime *r)
{
	const char *path = getenv(AZ_ENV_ACTIVATION_FILE);
	az_error err = { "" };

	if (!path || !*path)
		return false;
	r->activation_path = strdup(path);
	if (az_activation_read(path, &r->activation, &err) != AZ_OK) {
		r->activation_error = strdup(err.message);
		return false;
	}
	return true;
}

/*
 * The process's cpuset; unknown (all zero) when it cannot be read.  The
 * runtime's budget counts PUs (SMT policy "pus"), which the affinity mask
 * gives at once; loading the hwloc topology to count cores would cost
 * about 3.6 ms of every activate().  So cores stay unknown (0) here and
 * only thread_info() counts them (ensure_cores).
 */
static void discover_cpus(azi_runtime *r)
{
	if (az_cpus_affinity(&r->cpus, NULL) != AZ_OK)
		r->cpus = (az_cpus){ 0 };
}

/* Lock held: the cores of a discovered cpuset, for thread_info() only.
 * They are counted on the current binding, so only while the process is
 * still bound to the budget's cpuset; else they stay unknown (null). */
void azi_ensure_cores(void)
{
	azi_runtime *r = &azi_rt;
	az_topology *topo = NULL;
	az_cpus now = { 0 };

	if (!r->cpus.list || r->cpus.cores)
		return;
	if (az_topology_load(&topo, NULL) == AZ_OK &&
	    az_cpus_current(topo, &now, NULL) == AZ_OK &&
	    strcmp(now.list, r->cpus.list) == 0)
		r->cpus.cores = now.cores;
	az_cpus_release(&now);
	az_topology_free(topo);
}

/* Lock held: the ranks sharing this node.  Asked once per process, even
 * when the budget is not cached: PMIx is initialised at most once. */
static const az_local_ranks *local_ranks(azi_runtime *r)
{
	az_env env = az_env_process();

	if (!r->ranks_known &&
	    azi_local_ranks_discover(&env, &r->ranks, NULL) != AZ_OK)
		r->ranks = (az_local_ranks){ 0 };
	r->ranks_known = true;
	return &r->ranks;
}

/*
 * Lock held, r->cpus this process's own.  Several ranks on the node share
 * the PUs they were launched on (`launch_pus`: 0 for the launcher's, the
 * parent process's), unless each is bound to CPUs of its own.
 */
static void rank_facts(azi_runtime *r, unsigned launch_pus,
		       az_process_facts *facts)
{
	const az_local_ranks *ranks = local_ranks(r);

	if (ranks->size < 2)
		return;
	facts->local_tasks = ranks->size;
	facts->local_source = ranks->source;
	facts->slurm_tasks = ranks->slurm_tasks;
	facts->launch_pus = launch_pus ? launch_pus : azi_cpus_of_parent();
}

/* Lock held: decide from `facts`, the ranks' part of them added. */
static az_status decide(azi_runtime *r, az_process_facts *facts,
			unsigned launch_pus, az_error *err)
{
	az_budget_input in;
	az_status status;

	facts->cpus = &r->cpus;
	rank_facts(r, launch_pus, facts);
	status = az_budget_gather(facts, &in, err);
	r->ranks_bound = in.tasks_bound;
	return status == AZ_OK ? az_budget_decide(&in, &r->budget, err) : status;
}

static az_status discover_budget(azi_runtime *r, az_error *err)
{
	az_env env = az_env_process();
	az_process_facts facts = { .env = &env };

	discover_cpus(r);
	if (az_cgroup_quota("/proc/self", &facts.quota_cpus, NULL) != AZ_OK)
		facts.quota_cpus = 0;
	return decide(r, &facts, 0, err);
}

/*
 * Lock held, the step's file read: the task's budget, decided from the
 * file's inputs and the task's cpuset by the plugin's call.  Ranks that
 * mpirun started inside the task share what the task got: each is decided
 * like ranks launched on the task's cpuset, then kept within the task's
 * budget.  Ranks that are the step's own tasks (srun) are what the file's
 * inputs were gathered for.
 */
static az_status file_budget(azi_runtime *r, az_error *err)
{
	const az_local_ranks *ranks = local_ranks(r);
	bool mpirun_ranks = ranks->size >= 2 && !ranks->slurm_tasks;
	az_process_facts facts = { .env = NULL };
	az_cpus task;
	az_status status;

	discover_cpus(r);
	/* The budget counts cores only under smt=cores: then load the topology. */
	if (r->activation->inputs.base.smt == AZ_SMT_CORES)
		azi_ensure_cores();
	/* The Slurm task's cpuset: this process's own, unless mpirun, which may
	 * bind its ranks apart, started it: then the launcher's, counted. */
	r->task_cpus_of_parent = mpirun_ranks ? azi_cpus_of_parent() : 0;
	task = r->task_cpus_of_parent ? (az_cpus){ .pus = r->task_cpus_of_parent } : r->cpus;
	status = az_activation_task_budget(r->activation, &task, &r->task_budget, err);
	r->budget = r->task_budget;
	if (status != AZ_OK || !mpirun_ranks || r->task_budget.off)
		return status;
	status = decide(r, &facts, task.pus, err);
	if (status != AZ_OK)
		return status;
	return az_budget_within_task(&r->task_budget, &r->budget, ranks->size,
				     ranks->source, &r->budget, err);
}

/* Lock held: `share` of the parent's threads over the budget so far. */
az_status azi_apply_share(const az_worker_share *share, az_error *err)
{
	azi_runtime *r = &azi_rt;
	az_budget whole = r->budget;

	if (!whole.off)
		whole.threads = share->threads;
	r->worker = *share;
	return az_budget_worker_share(&whole, share->workers, &r->budget, err);
}

/* A fresh worker: the share its parent exported. */
static az_status env_worker_share(az_error *err)
{
	const char *text = getenv(AZ_ENV_WORKER_SHARE);
	az_worker_share share;
	az_status status;

	if (!text || !*text)
		return AZ_OK;
	status = azi_worker_share_parse(text, AZ_ENV_WORKER_SHARE, &share, err);
	return status == AZ_OK ? azi_apply_share(&share, err) : status;
}

/* Clear what a failed attempt left, so that the next call starts afresh. */
static void forget_budget_inputs(azi_runtime *r)
{
	free(r->activation_path);
	free(r->activation_error);
	r->activation_path = r->activation_error = NULL;
	az_activation_free(r->activation);
	r->activation = NULL;
	r->task_cpus_of_parent = 0;
	az_cpus_release(&r->cpus);
	r->worker = (az_worker_share){ 0 };
	r->ranks_bound = false;
}

/* Lock held: steps 1 to 3 of the order above. */
az_status azi_ensure_budget(az_error *err)
{
	az_status status;

	if (azi_rt.budget_known)
		return AZ_OK;
	forget_budget_inputs(&azi_rt);
	azi_rt.from_file = read_activation_file(&azi_rt);
	/* 1 and 2: the file's budget or the process's own, ranks split. */
	status = azi_rt.from_file ? file_budget(&azi_rt, err)
			      : discover_budget(&azi_rt, err);
	/* 3: a fresh worker's share of it. */
	if (status == AZ_OK)
		status = env_worker_share(err);
	azi_rt.budget_known = status == AZ_OK;
	return status;
}

az_status azi_runtime_budget(az_budget *out, az_error *err)
{
	az_status status;

	if (!out)
		return azi_fail(err, AZ_ERR_INVALID,
				"runtime budget: expected an output");
	azi_runtime_lock();
	status = azi_ensure_budget(err);
	if (status == AZ_OK) {
		warn_if_file_unread(&azi_rt);
		*out = azi_rt.budget;
	}
	azi_runtime_unlock();
	return status;
}

az_status az_runtime_budget_threads(unsigned *threads, const char **provenance,
				    az_error *err)
{
	az_budget budget;
	az_status status;

	if (!threads || !provenance)
		return azi_fail(err, AZ_ERR_INVALID,
				"runtime budget: expected outputs for threads and provenance");
	status = azi_runtime_budget(&budget, err);
	if (status != AZ_OK)
		return status;
	*threads = budget.off ? 0 : budget.threads;
	*provenance = az_provenance_name(budget.provenance);
	return AZ_OK;
}

bool azi_runtime_from_activation_file(void)
{
	bool from_file;

	azi_runtime_lock();
	from_file = azi_ensure_budget(NULL) == AZ_OK && azi_rt.from_file;
	azi_runtime_unlock();
	return from_file;
}

/* Lock held: step 4, set_threads()'s count once called, else the budget. */
az_status azi_current_threads(unsigned *threads, bool *off, az_error *err)
{
	az_status status;

	if (azi_rt.explicit_threads) {
		*threads = azi_rt.explicit_threads;
		*off = false;
		return AZ_OK;
	}
	status = azi_ensure_budget(err);
	if (status != AZ_OK)
		return status;
	warn_if_file_unread(&azi_rt);
	*off = azi_rt.budget.off;
	*threads = azi_rt.budget.off ? 0 : azi_rt.budget.threads;
	return AZ_OK;
}

az_status az_runtime_threads(unsigned *threads, bool *off, az_error *err)
{
	az_status status;

	if (!threads || !off)
		return azi_fail(err, AZ_ERR_INVALID,
				"runtime threads: expected outputs for threads and off");
	azi_runtime_lock();
	status = azi_current_threads(threads, off, err);
	azi_runtime_unlock();
	return status;
}

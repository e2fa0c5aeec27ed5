/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-process runtime behind set_threads(), activate(), env_snapshot()
 * and thread_info() in Python and R.  Both languages are thin wrappers over
 * these functions, so every rule of the documentation page lives here.
 *
 * State is process-global, computed lazily once and guarded by one mutex
 * (Python and R may call in from several threads).  A fork() child keeps
 * the state: that is how fork workers (multiprocessing on Linux, mclapply,
 * MulticoreParam) inherit the active patches.  Fresh interpreters (spawn,
 * loky, makeCluster) start empty and activate themselves from the
 * environment this runtime exports: AUTOZYME_ACTIVATE and the variables.
 *
 * The budget comes from the plugin's activation file, one per node and
 * step, when it can be read: the task's budget is decided from the step's
 * inputs in it and the process's own cpuset by the plugin's own call
 * (az_activation_task_budget), so it is what the plugin decided.  Else it
 * is decided here like the plugin would outside Slurm: the task owns its
 * cpuset, unless it is one of several MPI ranks on the node that share it
 * (PMIx or the launcher's variables, lib/ranks.c), with no site default or
 * maximum.  Ranks that mpirun starts inside a Slurm task share that task's
 * budget the same way.  A pool worker then gets its share of its
 * parent's threads (AUTOZYME_WORKER_SHARE, or az_runtime_enter_worker).
 * Once set_threads() was called its value wins over the budget;
 * thread_info() still reports both.
 *
 * Thread pools: set_threads(n) sets every loaded BLAS/OpenMP pool to n.
 * activate() gives each pool the value of its own variable when the user
 * set it (the page: OPENBLAS_NUM_THREADS=8 exported before loading
 * AutoZyme leaves OpenBLAS at 8), else the budget; see pool_vars.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"


static pthread_mutex_t runtime_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;
azi_runtime azi_rt;

/* ---------------------------------------------------------------- locking */

static void lock_mutex(void)
{
	pthread_mutex_lock(&runtime_mutex);
}

void azi_runtime_unlock(void)
{
	pthread_mutex_unlock(&runtime_mutex);
}

/* fork() while another thread holds the mutex would leave it locked in the
 * child forever; holding it across fork() makes the child's copy sane. */
static void register_fork_handlers(void)
{
	pthread_atfork(lock_mutex, azi_runtime_unlock, azi_runtime_unlock);
}

void azi_runtime_lock(void)
{
	pthread_once(&fork_handlers_once, register_fork_handlers);
	lock_mutex();
}

/* --------------------------------------------------------------- the budget */

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
void azi_ensure_cores(azi_runtime *r)
{
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
		azi_ensure_cores(r);
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
az_status azi_apply_share(azi_runtime *r, const az_worker_share *share,
			  az_error *err)
{
	az_budget whole = r->budget;

	if (!whole.off)
		whole.threads = share->threads;
	r->worker = *share;
	return az_budget_worker_share(&whole, share->workers, &r->budget, err);
}

/* A fresh worker: the share its parent exported. */
static az_status env_worker_share(azi_runtime *r, az_error *err)
{
	const char *text = getenv(AZ_ENV_WORKER_SHARE);
	az_worker_share share;
	az_status status;

	if (!text || !*text)
		return AZ_OK;
	status = azi_worker_share_parse(text, AZ_ENV_WORKER_SHARE, &share, err);
	return status == AZ_OK ? azi_apply_share(r, &share, err) : status;
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

/* Lock held.  A failure (a malformed AUTOZYME_THREADS) is not cached. */
az_status azi_ensure_budget(az_error *err)
{
	az_status status;

	if (azi_rt.budget_known)
		return AZ_OK;
	forget_budget_inputs(&azi_rt);
	azi_rt.from_file = read_activation_file(&azi_rt);
	status = azi_rt.from_file ? file_budget(&azi_rt, err)
			      : discover_budget(&azi_rt, err);
	if (status == AZ_OK)
		status = env_worker_share(&azi_rt, err);
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
	if (status == AZ_OK)
		*out = azi_rt.budget;
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

/* -------------------------------------------------------------- the guard */

/* Threads per worker of `share`: the budget's one rule for it. */
unsigned azi_threads_per_worker(const az_worker_share *share)
{
	az_budget whole = { .threads = share->threads }, each;

	if (az_budget_worker_share(&whole, share->workers, &each, NULL) != AZ_OK)
		return share->threads;
	return each.threads;
}

const char *azi_plural(unsigned count)
{
	return count == 1 ? "" : "s";
}

/*
 * Lock held.  `workers` x `threads` running against the CPUs of the task
 * (the budget's allocation); `what` names the cause for the message.  As
 * AUTOZYME_OVERSUBSCRIPTION says: one warning line per process (a fork
 * child of a process that warned stays silent), a refusal, or nothing.
 * A bad policy is refused whatever the count, so that it shows at once.
 */
az_status azi_guard(const char *what, unsigned workers, unsigned threads,
		    az_error *err)
{
	unsigned running = workers * threads, cpus = azi_rt.budget.allocation;
	az_oversubscription policy;
	az_status status = azi_oversubscription_parse(
		getenv(AZ_ENV_OVERSUBSCRIPTION), AZ_ENV_OVERSUBSCRIPTION,
		&policy, err);
	char line[AZ_ERROR_MAX / 2];

	if (status != AZ_OK || !azi_rt.budget_known || !cpus || running <= cpus ||
	    policy == AZ_OVERSUB_IGNORE)
		return status;
	snprintf(line, sizeof(line),
		 "%s runs %u threads on %u CPU%s (%.2fx oversubscribed)", what,
		 running, cpus, azi_plural(cpus), (double)running / cpus);
	if (policy == AZ_OVERSUB_ERROR)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: refused by %s=error (warn or ignore allow it)",
				line, AZ_ENV_OVERSUBSCRIPTION);
	if (!azi_rt.warned)
		fprintf(stderr,
			"autozyme: warning: %s; %s=ignore silences this, =error refuses it\n",
			line, AZ_ENV_OVERSUBSCRIPTION);
	azi_rt.warned = true;
	return AZ_OK;
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
 * Lock held: what runs, as workers x threads per worker: the latest pool
 * this process started, else this process (times the workers of the share
 * it works under).  *threads is 0 when the budget is off.
 */
void azi_running(unsigned *workers, unsigned *threads)
{
	bool off = !azi_rt.explicit_threads && azi_rt.budget.off;

	if (azi_rt.pool.workers) {
		*workers = azi_rt.pool.workers;
		*threads = azi_threads_per_worker(&azi_rt.pool);
		return;
	}
	*workers = azi_rt.worker.workers ? azi_rt.worker.workers : 1;
	*threads = off ? 0 : azi_rt.explicit_threads ? azi_rt.explicit_threads
						 : azi_rt.budget.threads;
}

/* ------------------------------------------------------------ the threads */

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

/* Lock held. */
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

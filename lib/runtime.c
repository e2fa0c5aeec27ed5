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
 * The budget comes from the plugin's activation file when it can be read,
 * else it is decided here like the plugin would outside Slurm: the task
 * owns its cpuset, unless it is one of several MPI ranks on the node that
 * share it (PMIx or the launcher's variables, lib/ranks.c), with no site
 * default or maximum.  Ranks that mpirun starts inside a Slurm task share
 * that task's file the same way.  A pool worker then gets its share of its
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

#include <cjson/cJSON.h>
#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PATCH_PATH_ENV "AUTOZYME_PATCH_PATH"
#define CPUS_PER_TASK_ENV "SLURM_CPUS_PER_TASK"
/* thread_info's provenance once set_threads() decided: not a budget's. */
#define SET_THREADS_PROVENANCE "set_threads"

typedef struct azi_active {
	const az_patch *patch;  /* owned by the registry */
	const char *upstream;   /* for the language it was activated from */
	char *upstream_version; /* NULL until the language records one */
} azi_active;

typedef struct azi_runtime {
	bool budget_known;
	az_budget budget;
	bool from_file;
	char *activation_path;  /* AUTOZYME_ACTIVATION_FILE, NULL when unset */
	char *activation_error; /* why that file was not used, or NULL */
	az_cpus cpus;           /* the budget's cpuset; list NULL when unknown */
	unsigned explicit_threads; /* 0 until set_threads() */
	bool ranks_known;
	az_local_ranks ranks;   /* co-located ranks, asked once per process */
	bool ranks_bound;
	az_worker_share worker; /* the share it works under; workers 0: none */
	az_worker_share pool;   /* the latest pool it started; workers 0: none */
	bool warned;            /* the oversubscription line was printed */
	az_registry *registry;
	azi_active *active;     /* in activation order */
	size_t n_active;
} azi_runtime;

static pthread_mutex_t runtime_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;
static azi_runtime rt;

/* ---------------------------------------------------------------- locking */

static void lock_mutex(void)
{
	pthread_mutex_lock(&runtime_mutex);
}

static void unlock_mutex(void)
{
	pthread_mutex_unlock(&runtime_mutex);
}

/* fork() while another thread holds the mutex would leave it locked in the
 * child forever; holding it across fork() makes the child's copy sane. */
static void register_fork_handlers(void)
{
	pthread_atfork(lock_mutex, unlock_mutex, unlock_mutex);
}

static void runtime_lock(void)
{
	pthread_once(&fork_handlers_once, register_fork_handlers);
	lock_mutex();
}

/* --------------------------------------------------------------- the budget */

/* True when the activation file was read; else why not is remembered. */
static bool read_activation_file(azi_runtime *r)
{
	const char *path = getenv(AZ_ENV_ACTIVATION_FILE);
	az_activation *act = NULL;
	az_error err = { "" };

	if (!path || !*path)
		return false;
	r->activation_path = strdup(path);
	if (az_activation_read(path, &act, &err) != AZ_OK) {
		r->activation_error = strdup(err.message);
		return false;
	}
	r->budget = act->budget;
	r->cpus = (az_cpus){ .pus = act->pus, .cores = act->cores,
			     .list = act->cpuset ? strdup(act->cpuset) : NULL };
	az_activation_free(act);
	return true;
}

/*
 * AUTOZYME_THREADS, else AUTOZYMER_THREADS.  A value the plugin injected
 * (leaked from the batch step, or set by an activate() of a parent) is a
 * decision, not the user's request: under Slurm the activation file
 * carries that decision anyway.
 */
static az_status env_request(const az_env *env, az_request *out,
			     az_error *err)
{
	static const char *const names[] = { "AUTOZYME_THREADS",
					     "AUTOZYMER_THREADS", NULL };
	size_t i;

	for (i = 0; names[i]; i++)
		if (az_env_user_value(env, names[i]))
			return az_request_parse(env->get(env->ctx, names[i]),
						names[i], out, err);
	*out = (az_request){ .kind = AZ_REQUEST_UNSET };
	return AZ_OK;
}

/* Slurm sets it, not the user: a value that does not parse is ignored. */
static unsigned env_cpus_per_task(const az_env *env)
{
	const char *text = env->get(env->ctx, CPUS_PER_TASK_ENV);
	unsigned count = 0;

	if (text && az_count_parse(text, CPUS_PER_TASK_ENV, 1, AZ_THREADS_MAX,
				   &count, NULL) != AZ_OK)
		count = 0;
	return count;
}

/* The kernel's affinity mask of this process as an hwloc bitmap (no
 * topology needed); NULL when it cannot be read.  sched_getaffinity
 * refuses a mask smaller than the kernel's own (EINVAL): grow it. */
static hwloc_bitmap_t affinity_bitmap(void)
{
	hwloc_bitmap_t set = NULL;
	int ncpus, cpu, got = -1;

	for (ncpus = 1024; got != 0 && ncpus <= 1 << 20; ncpus *= 2) {
		cpu_set_t *mask = CPU_ALLOC(ncpus);
		size_t size = CPU_ALLOC_SIZE(ncpus);

		if (!mask)
			return NULL;
		got = sched_getaffinity(0, size, mask);
		if (got == 0 && (set = hwloc_bitmap_alloc()))
			for (cpu = 0; cpu < ncpus; cpu++)
				if (CPU_ISSET_S(cpu, size, mask))
					hwloc_bitmap_set(set, (unsigned)cpu);
		CPU_FREE(mask);
		if (got != 0 && errno != EINVAL)
			return NULL;
	}
	return set;
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
	hwloc_bitmap_t set = affinity_bitmap();
	char *list = NULL;
	int pus = set ? hwloc_bitmap_weight(set) : 0;

	if (pus > 0 && hwloc_bitmap_list_asprintf(&list, set) >= 0)
		r->cpus = (az_cpus){ .pus = (unsigned)pus, .list = list };
	hwloc_bitmap_free(set);
}

/* Lock held: the cores of a discovered cpuset, for thread_info() only.
 * They are counted on the current binding, so only while the process is
 * still bound to the budget's cpuset; else they stay unknown (null). */
static void ensure_cores(azi_runtime *r)
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
	    az_local_ranks_discover(&env, &r->ranks, NULL) != AZ_OK)
		r->ranks = (az_local_ranks){ 0 };
	r->ranks_known = true;
	return &r->ranks;
}

/*
 * Lock held, r->cpus this process's own.  Several ranks on the node share
 * the PUs they were launched on (`launch_pus`: 0 for the launcher's, the
 * parent process's), unless each is bound to CPUs of its own.
 */
static void rank_input(azi_runtime *r, unsigned launch_pus,
		       az_budget_input *in)
{
	const az_local_ranks *ranks = local_ranks(r);
	az_env env = az_env_process();

	if (ranks->size < 2)
		return;
	in->local_tasks = ranks->size;
	in->local_source = ranks->source;
	in->launch_pus = launch_pus ? launch_pus : az_cpus_of_parent();
	in->tasks_bound = r->ranks_bound =
		az_local_ranks_bound(ranks, &env, r->cpus.pus, in->launch_pus);
}

static az_status discover_budget(azi_runtime *r, az_error *err)
{
	az_env env = az_env_process();
	az_budget_input in = { .tasks_bound = true };
	az_status status = env_request(&env, &in.request, err);

	if (status != AZ_OK)
		return status;
	discover_cpus(r);
	rank_input(r, 0, &in);
	in.cpuset_pus = r->cpus.pus;
	in.cpuset_cores = r->cpus.cores;
	if (az_cgroup_quota("/proc/self", &in.quota_cpus, NULL) != AZ_OK)
		in.quota_cpus = 0;
	in.cpus_per_task = env_cpus_per_task(&env);
	return az_budget_decide(&in, &r->budget, err);
}

/* A limit the file's budget set for the whole task (as opposed to the
 * count of its CPUs): its ranks share it. */
static bool limits_the_task(const az_budget *budget)
{
	switch (budget->provenance) {
	case AZ_PROV_REQUEST:
	case AZ_PROV_SITE_DEFAULT:
	case AZ_PROV_SITE_MAX:
	case AZ_PROV_CGROUP_QUOTA:
		return true;
	default:
		return false;
	}
}

/*
 * Ranks that mpirun started inside a Slurm task (a batch script, an srun
 * step) share that task's CPUs, the cpuset of its activation file: decided
 * like ranks launched on that cpuset, then within the task's own limit
 * (a request, the site's, a quota) split among them.  The file's thread
 * count is not the ranks' base: for the step mpirun starts its daemons in,
 * Slurm counts 1 CPU per task, whatever the cpuset.  Ranks that are the
 * step's own tasks (srun) are what the file was decided for.
 */
static az_status share_file_budget(azi_runtime *r, az_error *err)
{
	const az_local_ranks *ranks = local_ranks(r);
	az_budget_input in = { .request = { AZ_REQUEST_UNSET, 0 } };
	az_budget task = r->budget, limit;
	unsigned task_pus = r->cpus.pus;
	az_status status;

	if (ranks->size < 2 || ranks->slurm_tasks || task.off)
		return AZ_OK;
	az_cpus_release(&r->cpus);
	discover_cpus(r);
	in.cpuset_pus = r->cpus.pus;
	rank_input(r, task_pus, &in);
	status = az_budget_decide(&in, &r->budget, err);
	if (status != AZ_OK || !limits_the_task(&task))
		return status;
	status = az_budget_rank_share(&task, ranks->size, ranks->source,
				      &limit, err);
	if (status == AZ_OK && limit.threads < r->budget.threads) {
		r->budget.threads = limit.threads;
		r->budget.provenance = limit.provenance;
	}
	return status;
}

/* Lock held: `share` of the parent's threads over the budget so far. */
static az_status apply_share(azi_runtime *r, const az_worker_share *share,
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
	status = az_worker_share_parse(text, AZ_ENV_WORKER_SHARE, &share, err);
	return status == AZ_OK ? apply_share(r, &share, err) : status;
}

/* Clear what a failed attempt left, so that the next call starts afresh. */
static void forget_budget_inputs(azi_runtime *r)
{
	free(r->activation_path);
	free(r->activation_error);
	r->activation_path = r->activation_error = NULL;
	az_cpus_release(&r->cpus);
	r->worker = (az_worker_share){ 0 };
	r->ranks_bound = false;
}

/* Lock held.  A failure (a malformed AUTOZYME_THREADS) is not cached. */
static az_status ensure_budget(az_error *err)
{
	az_status status;

	if (rt.budget_known)
		return AZ_OK;
	forget_budget_inputs(&rt);
	rt.from_file = read_activation_file(&rt);
	status = rt.from_file ? share_file_budget(&rt, err)
			      : discover_budget(&rt, err);
	if (status == AZ_OK)
		status = env_worker_share(&rt, err);
	rt.budget_known = status == AZ_OK;
	return status;
}

az_status az_runtime_budget(az_budget *out, az_error *err)
{
	az_status status;

	if (!out)
		return azi_fail(err, AZ_ERR_INVALID,
				"runtime budget: expected an output");
	runtime_lock();
	status = ensure_budget(err);
	if (status == AZ_OK)
		*out = rt.budget;
	unlock_mutex();
	return status;
}

bool az_runtime_from_activation_file(void)
{
	bool from_file;

	runtime_lock();
	from_file = ensure_budget(NULL) == AZ_OK && rt.from_file;
	unlock_mutex();
	return from_file;
}

/* -------------------------------------------------------------- the guard */

/* Threads per worker of `share`: the budget's one rule for it. */
static unsigned threads_per_worker(const az_worker_share *share)
{
	az_budget whole = { .threads = share->threads }, each;

	if (az_budget_worker_share(&whole, share->workers, &each, NULL) != AZ_OK)
		return share->threads;
	return each.threads;
}

static const char *plural(unsigned count)
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
static az_status guard(const char *what, unsigned workers, unsigned threads,
		       az_error *err)
{
	unsigned running = workers * threads, cpus = rt.budget.allocation;
	az_oversubscription policy;
	az_status status = az_oversubscription_parse(
		getenv(AZ_ENV_OVERSUBSCRIPTION), AZ_ENV_OVERSUBSCRIPTION,
		&policy, err);
	char line[AZ_ERROR_MAX / 2];

	if (status != AZ_OK || !rt.budget_known || !cpus || running <= cpus ||
	    policy == AZ_OVERSUB_IGNORE)
		return status;
	snprintf(line, sizeof(line),
		 "%s runs %u threads on %u CPU%s (%.2fx oversubscribed)", what,
		 running, cpus, plural(cpus), (double)running / cpus);
	if (policy == AZ_OVERSUB_ERROR)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: refused by %s=error (warn or ignore allow it)",
				line, AZ_ENV_OVERSUBSCRIPTION);
	if (!rt.warned)
		fprintf(stderr,
			"autozyme: warning: %s; %s=ignore silences this, =error refuses it\n",
			line, AZ_ENV_OVERSUBSCRIPTION);
	rt.warned = true;
	return AZ_OK;
}

/* Lock held: set_threads(n) in this process, in each worker of its share. */
static az_status guard_set_threads(unsigned threads, az_error *err)
{
	char what[96];

	if (!rt.worker.workers) {
		snprintf(what, sizeof(what), "set_threads(%u)", threads);
		return guard(what, 1, threads, err);
	}
	snprintf(what, sizeof(what), "set_threads(%u) in each of %u workers",
		 threads, rt.worker.workers);
	return guard(what, rt.worker.workers, threads, err);
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
az_status az_runtime_set_threads(unsigned threads, az_error *err)
{
	az_env env = az_env_process();
	size_t changed;
	az_status status;

	if (threads < 1 || threads > AZ_THREADS_MAX)
		return azi_fail(err, AZ_ERR_INVALID,
				"set_threads: invalid value %u: expected an integer from 1 to %u",
				threads, AZ_THREADS_MAX);
	runtime_lock();
	ensure_budget(NULL);
	status = guard_set_threads(threads, err);
	if (status == AZ_OK)
		status = az_thread_vars_apply(&env, NULL, threads,
					      AZ_OVERRIDE_USER_VALUES, NULL,
					      err);
	if (status == AZ_OK) {
		mark_as_user_values(&env);
		rt.explicit_threads = threads;
		status = az_pools_set_threads(threads, &changed, err);
	}
	unlock_mutex();
	return status;
}

/* Lock held. */
static az_status current_threads(unsigned *threads, bool *off, az_error *err)
{
	az_status status;

	if (rt.explicit_threads) {
		*threads = rt.explicit_threads;
		*off = false;
		return AZ_OK;
	}
	status = ensure_budget(err);
	if (status != AZ_OK)
		return status;
	*off = rt.budget.off;
	*threads = rt.budget.off ? 0 : rt.budget.threads;
	return AZ_OK;
}

az_status az_runtime_threads(unsigned *threads, bool *off, az_error *err)
{
	az_status status;

	if (!threads || !off)
		return azi_fail(err, AZ_ERR_INVALID,
				"runtime threads: expected outputs for threads and off");
	runtime_lock();
	status = current_threads(threads, off, err);
	unlock_mutex();
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
		status = az_pools_set_kind_threads(
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
static az_status apply_threads(az_error *err)
{
	az_env env = az_env_process();
	unsigned threads;
	size_t changed;
	bool off;
	az_status status = current_threads(&threads, &off, err);

	if (status != AZ_OK || off)
		return status;
	if (rt.explicit_threads)
		return az_pools_set_threads(threads, &changed, err);
	status = az_thread_vars_apply(&env, NULL, threads, AZ_KEEP_USER_VALUES,
				      NULL, err);
	if (status == AZ_OK)
		status = set_pools_by_kind(&env, threads, err);
	return status;
}

/* ----------------------------------------------------------- worker pools */

static az_status check_workers(unsigned workers, const char *call,
			       az_error *err)
{
	if (workers >= 1 && workers <= AZ_THREADS_MAX)
		return AZ_OK;
	return azi_fail(err, AZ_ERR_INVALID,
			"%s: invalid worker count %u: expected an integer from 1 to %u",
			call, workers, AZ_THREADS_MAX);
}

/* Lock held: the guard on a pool of `share`, then thread_info's record. */
static az_status start_pool(const az_worker_share *share, az_error *err)
{
	unsigned each = threads_per_worker(share);
	char what[96];
	az_status status;

	snprintf(what, sizeof(what), "a pool of %u workers x %u thread%s",
		 share->workers, each, plural(each));
	status = guard(what, share->workers, each, err);
	if (status == AZ_OK)
		rt.pool = *share;
	return status;
}

az_status az_runtime_pool_start(unsigned workers, az_worker_share *share,
				az_error *err)
{
	unsigned threads;
	bool off;
	az_status status = check_workers(workers, "pool_start", err);

	if (status != AZ_OK)
		return status;
	if (!share)
		return azi_fail(err, AZ_ERR_INVALID,
				"pool_start: expected an output for the share");
	runtime_lock();
	status = current_threads(&threads, &off, err);
	if (status == AZ_OK) {
		*share = (az_worker_share){ off ? 0 : threads, workers };
		if (!off)
			status = start_pool(share, err);
	}
	unlock_mutex();
	return status;
}

/* The share to enter: `given`, else AUTOZYME_WORKER_SHARE. */
static az_status worker_share_of(const az_worker_share *given,
				 az_worker_share *out, az_error *err)
{
	if (!given)
		return az_worker_share_parse(getenv(AZ_ENV_WORKER_SHARE),
					     AZ_ENV_WORKER_SHARE, out, err);
	if (given->threads < 1 || given->threads > AZ_THREADS_MAX)
		return azi_fail(err, AZ_ERR_INVALID,
				"worker share: invalid thread count %u: expected an integer from 1 to %u",
				given->threads, AZ_THREADS_MAX);
	*out = *given;
	return check_workers(given->workers, "worker share", err);
}

/*
 * Lock held.  The worker's variables all hold its share, written as
 * AutoZyme's (injected, so a later activate() treats them as the budget),
 * and AUTOZYME_WORKER_SHARE passes it on to the worker's own children.
 */
static az_status export_share(const az_worker_share *share, unsigned threads,
			      az_error *err)
{
	az_env env = az_env_process();
	char text[32];
	size_t changed;
	az_status status = az_thread_vars_apply(&env, NULL, threads,
						AZ_OVERRIDE_USER_VALUES, NULL,
						err);

	if (status != AZ_OK)
		return status;
	az_worker_share_format(share, text, sizeof(text));
	if (setenv(AZ_ENV_WORKER_SHARE, text, 1) != 0)
		return azi_fail(err, AZ_ERR_SYSTEM,
				"%s: could not set the variable",
				AZ_ENV_WORKER_SHARE);
	return az_pools_set_threads(threads, &changed, err);
}

/* A fork child also inherits its parent's set_threads and pool: not its own. */
az_status az_runtime_enter_worker(const az_worker_share *share, az_error *err)
{
	az_worker_share entered;
	az_status status = worker_share_of(share, &entered, err);

	if (status != AZ_OK)
		return status;
	runtime_lock();
	status = ensure_budget(err);
	if (status == AZ_OK) {
		rt.explicit_threads = 0;
		rt.pool = (az_worker_share){ 0 };
		status = apply_share(&rt, &entered, err);
	}
	if (status == AZ_OK && !rt.budget.off)
		status = export_share(&entered, rt.budget.threads, err);
	unlock_mutex();
	return status;
}

az_status az_runtime_worker_env(const az_worker_share *share, char **json,
				az_error *err)
{
	const char *const *vars = az_thread_vars_default();
	az_worker_share checked;
	char count[16], text[32];
	cJSON *root;
	bool ok;
	az_status status;

	if (!share || !json)
		return azi_fail(err, AZ_ERR_INVALID,
				"worker_env: expected a share and an output");
	status = worker_share_of(share, &checked, err);
	if (status != AZ_OK)
		return status;
	snprintf(count, sizeof(count), "%u", threads_per_worker(&checked));
	az_worker_share_format(&checked, text, sizeof(text));
	root = cJSON_CreateObject();
	ok = root != NULL;
	for (; ok && *vars; vars++)
		ok = cJSON_AddStringToObject(root, *vars, count) != NULL;
	ok = ok && cJSON_AddStringToObject(root, AZ_ENV_WORKER_SHARE, text);
	*json = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	return *json ? AZ_OK
		     : azi_fail(err, AZ_ERR_NOMEM, "worker_env: out of memory");
}

/* ---------------------------------------------------------- the registry */

/* AUTOZYME_PATCH_PATH first (its directories win), then the installed one. */
static az_status ensure_registry(az_error *err)
{
	const char *extra = getenv(PATCH_PATH_ENV);
	char *path_list;
	az_status status;

	if (rt.registry)
		return AZ_OK;
	if (asprintf(&path_list, "%s:%s", extra ? extra : "",
		     az_registry_default_dir()) < 0)
		return azi_fail(err, AZ_ERR_NOMEM, "activate: out of memory");
	status = az_registry_load(path_list, &rt.registry, err);
	free(path_list);
	return status;
}

/* Append `item` to the ", "-separated `list`, truncating at `size`. */
static void append_listed(char *list, size_t size, const char *item)
{
	size_t used = strlen(list);

	snprintf(list + used, size - used, "%s%s", used ? ", " : "", item);
}

static az_status unknown_patch(const char *name, az_error *err)
{
	char known[AZ_ERROR_MAX] = "";
	size_t i, count = az_registry_count(rt.registry);

	if (count == 0)
		return azi_fail(err, AZ_ERR_NOT_FOUND,
				"activate: unknown patch '%s': no patches are installed (searched %s and %s)",
				name, PATCH_PATH_ENV, az_registry_default_dir());
	for (i = 0; i < count; i++)
		append_listed(known, sizeof(known),
			      az_patch_name(az_registry_at(rt.registry, i)));
	return azi_fail(err, AZ_ERR_NOT_FOUND,
			"activate: unknown patch '%s': known patches are %s",
			name, known);
}

/* A manifest's languages, with the names users know them by. */
static const struct language {
	const char *key;
	const char *title;
} languages[] = {
	{ "python", "Python" },
	{ "r", "R" },
};
#define LANGUAGE_COUNT (sizeof(languages) / sizeof(languages[0]))

/* The language of manifest key `key`, NULL when there is none. */
static const struct language *language_of(const char *key)
{
	size_t i;

	for (i = 0; key && i < LANGUAGE_COUNT; i++)
		if (strcmp(languages[i].key, key) == 0)
			return &languages[i];
	return NULL;
}

/* Lock held; `language` is one of languages[]. */
static az_status check_language_side(const az_patch *patch,
				     const char *language, az_error *err)
{
	char sides[32] = "";
	size_t i;

	if (az_patch_upstream(patch, language))
		return AZ_OK;
	for (i = 0; i < LANGUAGE_COUNT; i++)
		if (az_patch_upstream(patch, languages[i].key))
			append_listed(sides, sizeof(sides), languages[i].title);
	return azi_fail(err, AZ_ERR_NOT_FOUND,
			"activate: patch '%s' has no %s side (languages: %s)",
			az_patch_name(patch), language_of(language)->title,
			sides);
}

/* Lock held. */
static az_status find_patch(const char *name, const char *language,
			    const az_patch **out, az_error *err)
{
	az_status status = ensure_registry(err);

	if (status != AZ_OK)
		return status;
	if (az_registry_find(rt.registry, name, out) != AZ_OK)
		return unknown_patch(name, err);
	return check_language_side(*out, language, err);
}

static az_status check_find_args(const char *name, const char *language,
				 const az_patch **patch, az_error *err)
{
	if (!patch)
		return azi_fail(err, AZ_ERR_INVALID,
				"activate: expected an output for the patch");
	if (!az_patch_name_valid(name))
		return azi_fail(err, AZ_ERR_INVALID,
				"activate: invalid patch name '" AZI_QUOTE "': expected [a-z0-9][a-z0-9_.-]{0,63}",
				AZI_QUOTE_ARGS(name ? name : ""));
	if (!language_of(language))
		return azi_fail(err, AZ_ERR_INVALID,
				"activate: invalid language '%s': expected python or r",
				language ? language : "");
	return AZ_OK;
}

/* *patch is set only when found, with the side of `language`. */
az_status az_runtime_find_patch(const char *name, const char *language,
				const az_patch **patch, az_error *err)
{
	const az_patch *found = NULL;
	az_status status = check_find_args(name, language, patch, err);

	if (status != AZ_OK)
		return status;
	runtime_lock();
	status = find_patch(name, language, &found, err);
	unlock_mutex();
	if (status == AZ_OK)
		*patch = found;
	return status;
}

/* ------------------------------------------------------- active patches */

static azi_active *find_active(const char *name)
{
	size_t i;

	for (i = 0; name && i < rt.n_active; i++)
		if (strcmp(az_patch_name(rt.active[i].patch), name) == 0)
			return &rt.active[i];
	return NULL;
}

static az_status mark_active(const az_patch *patch, const char *language,
			     az_error *err)
{
	azi_active *grown = realloc(rt.active,
				    (rt.n_active + 1) * sizeof(*grown));

	if (!grown)
		return azi_fail(err, AZ_ERR_NOMEM, "activate: out of memory");
	rt.active = grown;
	grown[rt.n_active++] = (azi_active){
		.patch = patch,
		.upstream = az_patch_upstream(patch, language),
	};
	return AZ_OK;
}

static bool names_include(char *const *names, size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* `parent` (the names already exported) then every active patch missing
 * from it, comma-separated; NULL when out of memory. */
static char *join_active(char *const *parent, size_t n_parent)
{
	size_t i, size = 1;
	char *list;

	for (i = 0; i < n_parent; i++)
		size += strlen(parent[i]) + 1;
	for (i = 0; i < rt.n_active; i++)
		size += strlen(az_patch_name(rt.active[i].patch)) + 1;
	list = calloc(1, size);
	for (i = 0; list && i < n_parent; i++)
		strcat(strcat(list, i ? "," : ""), parent[i]);
	for (i = 0; list && i < rt.n_active; i++) {
		const char *name = az_patch_name(rt.active[i].patch);

		if (!names_include(parent, n_parent, name))
			strcat(strcat(list, *list ? "," : ""), name);
	}
	return list;
}

/*
 * AUTOZYME_ACTIVATE for child processes: the parent's list (so a worker
 * passes it on whole) merged with this process's patches.  A list that
 * does not parse names nothing activate() could load, so only ours stays.
 */
static az_status export_active(az_error *err)
{
	const char *inherited = getenv(AZ_ENV_ACTIVATE);
	char **parent = NULL, *list;
	size_t n_parent = 0;
	az_status status = AZ_OK;

	if (inherited && *inherited &&
	    az_names_parse(inherited, AZ_ENV_ACTIVATE, &parent, &n_parent,
			   NULL) != AZ_OK)
		n_parent = 0;
	list = join_active(parent, n_parent);
	az_names_free(parent, n_parent);
	if (!list)
		return azi_fail(err, AZ_ERR_NOMEM, "activate: out of memory");
	if (setenv(AZ_ENV_ACTIVATE, list, 1) != 0)
		status = azi_fail(err, AZ_ERR_SYSTEM,
				  "%s: could not set the variable",
				  AZ_ENV_ACTIVATE);
	free(list);
	return status;
}

/*
 * A patch already active is returned as it is: nothing is applied again.
 * The registry is never freed, so the patch found before taking the lock
 * again is still the registry's.  *patch is set only on success.
 */
az_status az_runtime_activate(const char *name, const char *language,
			      const az_patch **patch, az_error *err)
{
	const az_patch *found = NULL;
	/* NULL for NULL: find refuses a missing output as activate must. */
	az_status status = az_runtime_find_patch(name, language,
						 patch ? &found : NULL, err);

	if (status != AZ_OK)
		return status;
	runtime_lock();
	if (!find_active(name)) {
		status = apply_threads(err);
		if (status == AZ_OK)
			status = mark_active(found, language, err);
		if (status == AZ_OK)
			status = export_active(err);
	}
	unlock_mutex();
	if (status == AZ_OK)
		*patch = found;
	return status;
}

az_status az_runtime_set_upstream_version(const char *name, const char *version,
					  az_error *err)
{
	char *copy = version ? strdup(version) : NULL;
	az_status status = AZ_OK;
	azi_active *entry;

	if (version && !copy)
		return azi_fail(err, AZ_ERR_NOMEM,
				"set_upstream_version: out of memory");
	runtime_lock();
	entry = find_active(name);
	if (entry) {
		free(entry->upstream_version);
		entry->upstream_version = copy;
	} else {
		free(copy);
		status = azi_fail(err, AZ_ERR_NOT_FOUND,
				  "set_upstream_version: patch '%s' is not active: activate it first",
				  name ? name : "");
	}
	unlock_mutex();
	return status;
}

/* ---------------------------------------------------------------- reports */

az_status az_runtime_snapshot(const char *language, const char *language_version,
			      char **json, az_error *err)
{
	az_active_patch *patches;
	az_status status;
	size_t i;

	if (!json)
		return azi_fail(err, AZ_ERR_INVALID,
				"snapshot: expected an output for the JSON");
	runtime_lock();
	patches = calloc(rt.n_active + 1, sizeof(*patches));
	for (i = 0; patches && i < rt.n_active; i++)
		patches[i] = (az_active_patch){
			.name = az_patch_name(rt.active[i].patch),
			.upstream = rt.active[i].upstream,
			.upstream_version = rt.active[i].upstream_version,
		};
	status = patches ? az_snapshot_json(language, language_version,
					    patches, rt.n_active, json, err)
			 : azi_fail(err, AZ_ERR_NOMEM, "snapshot: out of memory");
	unlock_mutex();
	free(patches);
	return status;
}

static bool add_count(cJSON *obj, const char *key, bool known, double count)
{
	if (known)
		return cJSON_AddNumberToObject(obj, key, count) != NULL;
	return cJSON_AddNullToObject(obj, key) != NULL;
}

static bool add_text(cJSON *obj, const char *key, const char *text)
{
	if (text)
		return cJSON_AddStringToObject(obj, key, text) != NULL;
	return cJSON_AddNullToObject(obj, key) != NULL;
}

/* Lock held: the threads in force, set_threads() first. */
static bool add_threads(cJSON *root)
{
	unsigned explicit_threads = rt.explicit_threads;
	bool off = !explicit_threads && rt.budget.off;

	return add_count(root, "threads", !off,
			 explicit_threads ? explicit_threads : rt.budget.threads) &&
	       cJSON_AddBoolToObject(root, "off", off) &&
	       add_text(root, "provenance",
			explicit_threads ? SET_THREADS_PROVENANCE
					 : az_provenance_name(rt.budget.provenance)) &&
	       add_count(root, "explicit", explicit_threads, explicit_threads);
}

/* Lock held: the budget, which set_threads() may have overridden. */
static bool add_budget(cJSON *root)
{
	const az_budget *b = &rt.budget;
	cJSON *budget = cJSON_AddObjectToObject(root, "budget");

	return budget && add_count(budget, "threads", !b->off, b->threads) &&
	       add_text(budget, "provenance", az_provenance_name(b->provenance)) &&
	       add_count(budget, "allocation", true, b->allocation);
}

/* Lock held: where the budget came from. */
static bool add_sources(cJSON *root)
{
	cJSON *cpus;

	if (!add_text(root, "activation_file", rt.activation_path) ||
	    !cJSON_AddBoolToObject(root, "activation_file_read", rt.from_file) ||
	    !add_text(root, "activation_error", rt.activation_error))
		return false;
	if (!rt.cpus.list)
		return cJSON_AddNullToObject(root, "cpus") != NULL;
	ensure_cores(&rt);
	cpus = cJSON_AddObjectToObject(root, "cpus");
	return cpus && add_text(cpus, "list", rt.cpus.list) &&
	       add_count(cpus, "pus", true, rt.cpus.pus) &&
	       add_count(cpus, "cores", rt.cpus.cores, rt.cpus.cores);
}

static bool add_pool(cJSON *list, const az_pool *pool)
{
	cJSON *item = cJSON_CreateObject();

	if (!item || !cJSON_AddItemToArray(list, item)) {
		cJSON_Delete(item);
		return false;
	}
	return add_text(item, "kind", az_pool_kind_name(pool->kind)) &&
	       add_text(item, "path", pool->path) &&
	       add_text(item, "api", pool->api) &&
	       add_count(item, "threads", pool->threads >= 0, pool->threads);
}

static az_status add_pools(cJSON *root, az_error *err)
{
	cJSON *list = cJSON_AddArrayToObject(root, "pools");
	az_pool *pools = NULL;
	size_t i, count = 0;
	az_status status;

	if (!list)
		return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	status = az_pools_list(&pools, &count, err);
	for (i = 0; status == AZ_OK && i < count; i++)
		if (!add_pool(list, &pools[i]))
			status = azi_fail(err, AZ_ERR_NOMEM,
					  "thread_info: out of memory");
	az_pools_free(pools, count);
	return status;
}

/* Lock held: the co-located ranks; null when not launched as several. */
static bool add_ranks(cJSON *root)
{
	const az_local_ranks *ranks = &rt.ranks;
	cJSON *obj;

	if (ranks->size < 2)
		return cJSON_AddNullToObject(root, "ranks") != NULL;
	obj = cJSON_AddObjectToObject(root, "ranks");
	return obj && add_count(obj, "local_size", true, ranks->size) &&
	       add_count(obj, "local_rank", true, ranks->rank) &&
	       add_text(obj, "source",
			az_provenance_name(ranks->source == AZ_LOCAL_PMIX ?
					   AZ_PROV_PMIX : AZ_PROV_MPI_ENV)) &&
	       cJSON_AddBoolToObject(obj, "slurm_tasks", ranks->slurm_tasks) &&
	       cJSON_AddBoolToObject(obj, "bound", rt.ranks_bound);
}

/* A worker share under `key`; null when there is none. */
static bool add_share(cJSON *root, const char *key,
		      const az_worker_share *share)
{
	cJSON *obj;

	if (!share->workers)
		return cJSON_AddNullToObject(root, key) != NULL;
	obj = cJSON_AddObjectToObject(root, key);
	return obj && add_count(obj, "threads", true, share->threads) &&
	       add_count(obj, "workers", true, share->workers) &&
	       add_count(obj, "threads_per_worker", true,
			 threads_per_worker(share));
}

/*
 * Lock held: what runs, as workers x threads per worker: the latest pool
 * this process started, else this process (times the workers of the share
 * it works under).  *threads is 0 when the budget is off.
 */
static void running(unsigned *workers, unsigned *threads)
{
	bool off = !rt.explicit_threads && rt.budget.off;

	if (rt.pool.workers) {
		*workers = rt.pool.workers;
		*threads = threads_per_worker(&rt.pool);
		return;
	}
	*workers = rt.worker.workers ? rt.worker.workers : 1;
	*threads = off ? 0 : rt.explicit_threads ? rt.explicit_threads
						 : rt.budget.threads;
}

/* Lock held: running threads against the task's CPUs, and the policy. */
static az_status add_oversubscription(cJSON *root, az_error *err)
{
	unsigned workers, threads, cpus = rt.budget.allocation;
	az_oversubscription policy;
	cJSON *obj;
	az_status status = az_oversubscription_parse(
		getenv(AZ_ENV_OVERSUBSCRIPTION), AZ_ENV_OVERSUBSCRIPTION,
		&policy, err);

	if (status != AZ_OK)
		return status;
	running(&workers, &threads);
	obj = cJSON_AddObjectToObject(root, "oversubscription");
	if (obj && add_count(obj, "workers", true, workers) &&
	    add_count(obj, "threads_per_worker", threads, threads) &&
	    add_count(obj, "running_threads", threads, workers * threads) &&
	    add_count(obj, "cpus", cpus, cpus) &&
	    add_count(obj, "ratio", threads && cpus,
		      cpus ? (double)workers * threads / cpus : 0) &&
	    add_text(obj, "policy", az_oversubscription_name(policy)))
		return AZ_OK;
	return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
}

/* Lock held. */
static az_status build_thread_info(cJSON *root, az_error *err)
{
	az_status status = ensure_budget(err);

	if (status != AZ_OK)
		return status;
	if (!add_threads(root) || !add_budget(root) || !add_sources(root) ||
	    !add_ranks(root) || !add_share(root, "worker", &rt.worker) ||
	    !add_share(root, "pool", &rt.pool))
		return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	status = add_oversubscription(root, err);
	return status == AZ_OK ? add_pools(root, err) : status;
}

az_status az_runtime_thread_info(char **json, az_error *err)
{
	cJSON *root;
	az_status status;

	if (!json)
		return azi_fail(err, AZ_ERR_INVALID,
				"thread_info: expected an output for the JSON");
	root = cJSON_CreateObject();
	if (!root)
		return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	runtime_lock();
	status = build_thread_info(root, err);
	unlock_mutex();
	*json = status == AZ_OK ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (status == AZ_OK && !*json)
		status = azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	return status;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * autozyme.h - the public API of libautozyme.so.0: what the Python and R
 * packages, and any program that links the library, call.  The
 * per-process runtime behind set_threads(), activate(), env_snapshot(),
 * thread_info() and worker pools; the patches it finds.
 *
 * Every fallible function returns an az_status and fills an out-parameter;
 * when an az_error is given it receives a one-line message naming the
 * offending option or field and the accepted form.  The plugin and
 * autozyme-info use the core's own header as well (lib/core/azcore.h).
 */
#ifndef AUTOZYME_H
#define AUTOZYME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

typedef enum az_status {
	AZ_OK = 0,
	AZ_ERR_INVALID,   /* a value outside its accepted form */
	AZ_ERR_NOMEM,
	AZ_ERR_IO,        /* a file could not be opened, read or written */
	AZ_ERR_PARSE,     /* not well-formed JSON */
	AZ_ERR_SCHEMA,    /* a field missing, of the wrong type, or unknown schema */
	AZ_ERR_TOO_LARGE, /* input beyond its size limit */
	AZ_ERR_NOT_FOUND, /* no such patch, variable or file */
	AZ_ERR_SYSTEM     /* hwloc or the kernel refused */
} az_status;

#define AZ_ERROR_MAX 256
typedef struct az_error {
	char message[AZ_ERROR_MAX];
} az_error;

/* A stable short name for a status ("ok", "invalid", ...). */
const char *az_status_name(az_status status);

/* sizeof(az_error): for bindings that allocate one without this header. */
size_t az_error_size(void);

/* The library's version string, e.g. "0.1.0". */
const char *az_version(void);

/* Upper bound on any thread count AutoZyme accepts or produces. */
#define AZ_THREADS_MAX 4096u

/* ---------------------------------------------------------------- patches */

/* A patch of the registry (opaque; valid for the process's life). */
typedef struct az_patch az_patch;

const char *az_patch_name(const az_patch *patch);
const char *az_patch_description(const az_patch *patch);
/* The manifest's own "version": the patch's, not the upstream package's. */
const char *az_patch_version(const az_patch *patch);
/* `language` is "python" or "r"; NULL when the patch has no such side. */
const char *az_patch_upstream(const az_patch *patch, const char *language);
const char *az_patch_min_version(const az_patch *patch, const char *language);
const char *az_patch_hook(const az_patch *patch, const char *language);

/* ----------------------------------------------------------------- runtime */

/*
 * The per-process runtime behind set_threads(), activate(), env_snapshot()
 * and thread_info() in Python and R.  State (the budget, explicit
 * set_threads, active patches) lives here, once per process, so both
 * languages in one process agree.
 *
 * The budget: the activation file named by AUTOZYME_ACTIVATION_FILE when
 * it is readable (the plugin's decision), else decided here from the
 * process's cpuset, cgroup quota, SLURM_CPUS_PER_TASK, the MPI ranks
 * sharing the node (PMIx once MPI_Init has run, else the launcher's
 * variables; ranks that mpirun starts inside a Slurm task share that
 * task's cpuset the same way) and the
 * request AUTOZYME_THREADS, then AUTOZYMER_THREADS.  In a pool worker,
 * then its share (AUTOZYME_WORKER_SHARE).  Computed once, cached.
 */

/*
 * The budget above, before any set_threads: *threads (0 when it is off)
 * and the name of the input that decided it (*provenance: "cpus_per_task",
 * "pmix", "request"...; static storage).
 */
az_status az_runtime_budget_threads(unsigned *threads, const char **provenance,
				    az_error *err);

/*
 * set_threads(n): set every thread variable to n (overriding), apply n to
 * the loaded pools, and remember n as the process's explicit choice;
 * *applied (may be NULL) receives the count now in force.  The one check
 * of n: the languages pass their value through, so an n outside 1 to
 * AZ_THREADS_MAX (a negative one too) is AZ_ERR_INVALID with the message
 * "set_threads(n): n must be a single whole number from 1 to
 * <AZ_THREADS_MAX>, got <n>".
 */
az_status az_runtime_set_threads(long long n, unsigned *applied,
				 az_error *err);

/* The thread count activate() applies: the explicit set_threads value, else the budget's. */
az_status az_runtime_threads(unsigned *threads, bool *off, az_error *err);

/*
 * The patch `name` for `language` ("python" or "r") in the registry
 * activate() reads (AUTOZYME_PATCH_PATH, then the installed registry; read
 * once per process), without activating it: the languages check its
 * upstream and hook before activate() records anything.  Errors as
 * az_runtime_activate: an invalid name or language is AZ_ERR_INVALID; an
 * unknown name AZ_ERR_NOT_FOUND, the message listing the known patches; a
 * patch without that language's side AZ_ERR_NOT_FOUND, naming the sides it
 * has.  *patch stays valid for the process.
 */
az_status az_runtime_find_patch(const char *name, const char *language,
				const az_patch **patch, az_error *err);

/*
 * activate(name): the patch az_runtime_find_patch finds, then the thread
 * count (the explicit set_threads value, else the budget; nothing when the
 * budget is off) goes to the variables the user did not set and to the
 * loaded pools.  A pool follows its own variable when the user set that to
 * a valid count (OpenBLAS OPENBLAS_NUM_THREADS, MKL MKL_NUM_THREADS, BLIS
 * BLIS_NUM_THREADS, FlexiBLAS and the OpenMP runtimes OMP_NUM_THREADS),
 * else it gets the count; after set_threads every pool gets its value.
 * Then the patch is marked active and AUTOZYME_ACTIVATE (all active
 * patches) is exported for child processes.  Idempotent: an active patch
 * is returned as it is.  *patch stays valid for the process.
 */
az_status az_runtime_activate(const char *name, const char *language,
			      const az_patch **patch, az_error *err);

/*
 * activate(name)'s check of the upstream version the language found
 * against the patch's min_version for `language`, by release numbers:
 * "1.9" is "1.9.0", R's "1.9-3" is 1.9.3, a suffix such as "rc1" or "+cpu"
 * ends the release.  AZ_ERR_INVALID naming both when `found` is older; a
 * version that starts with no digit (or NULL) is not judged.  Errors of
 * az_runtime_find_patch.
 */
az_status az_runtime_check_upstream_version(const char *name,
					    const char *language,
					    const char *found, az_error *err);

/*
 * The patches AUTOZYME_ACTIVATE names (what a fresh worker interpreter
 * activates), parsed by the core as the plugin parses the option: a JSON
 * array of names, "[]" when unset or empty; AZ_ERR_INVALID naming the
 * variable and the accepted form when it does not parse.  Free with free().
 */
az_status az_runtime_inherited_patches(char **json, az_error *err);

/* Record the upstream version the language found for an active patch (NULL: not installed). */
az_status az_runtime_set_upstream_version(const char *name, const char *version,
					  az_error *err);

/* env_snapshot(): az_snapshot_json over the active patches.  Free with free(). */
az_status az_runtime_snapshot(const char *language, const char *language_version,
			      char **json, az_error *err);

/*
 * thread_info(): JSON with the threads in force and their provenance,
 * whether an activation file was read (and its path), the explicit
 * set_threads value (or null), every loaded pool (kind, path, api,
 * threads), the co-located ranks ("ranks": local size and rank, source,
 * bound; null when not launched as ranks), the worker share this process
 * runs under ("worker": threads, workers; or null), the latest worker pool
 * it started ("pool": workers, threads_per_worker; or null) and
 * "oversubscription": running threads (workers x threads per worker: the
 * latest pool's, else this process's own, times the workers of its share),
 * the CPUs of the task (the budget's allocation), their ratio and the
 * AUTOZYME_OVERSUBSCRIPTION policy.  Free with free().
 */
az_status az_runtime_thread_info(char **json, az_error *err);
/* ------------------------------------------------------------ worker pools */

/*
 * Nested pools: a process with T threads that starts W worker processes
 * gives each max(1, T / W) threads and keeps T itself.  The languages call
 * az_runtime_pool_start in the parent around pool creation, then
 * az_runtime_enter_worker in each worker (fork children, initializers),
 * or hand fresh workers az_runtime_worker_env.
 *
 * The oversubscription guard: when running threads exceed the task's CPUs
 * (set_threads(n) with n x the workers of this process's share, or a pool
 * of W x max(1, T / W)), AUTOZYME_OVERSUBSCRIPTION decides: "warn" (the
 * default) prints one line on stderr, once per process; "error" refuses
 * the call (AZ_ERR_INVALID, saying so); "ignore" says nothing.
 */
#define AZ_ENV_WORKER_SHARE "AUTOZYME_WORKER_SHARE"
#define AZ_ENV_OVERSUBSCRIPTION "AUTOZYME_OVERSUBSCRIPTION"

/* A parent's T threads shared by its W workers: "T/W" in AUTOZYME_WORKER_SHARE. */
typedef struct az_worker_share {
	unsigned threads; /* T, 1..AZ_THREADS_MAX */
	unsigned workers; /* W, 1..AZ_THREADS_MAX */
} az_worker_share;

/*
 * The calling process is about to start a pool of `workers` (1 to
 * AZ_THREADS_MAX) processes: *share receives its threads in force (the
 * set_threads value, else the budget) and `workers`; threads is 0 when
 * the budget is off (the workers get nothing).  The guard checks the pool;
 * thread_info() reports it.  Nothing of the caller's own changes.  A count
 * out of that range is AZ_ERR_INVALID with share->workers 0, which tells
 * it from the guard's refusal: the languages then start the pool without
 * a share and leave its count to the pool's own check.
 */
az_status az_runtime_pool_start(long long workers, az_worker_share *share,
				az_error *err);

/*
 * In a pool worker, before its work: run as a worker of `share` (NULL:
 * AUTOZYME_WORKER_SHARE): max(1, T / W) threads (worker_share), every
 * thread variable set to it (overriding), AUTOZYME_WORKER_SHARE exported
 * for its own children, the loaded pools set to it.  A set_threads value
 * inherited through fork is dropped: only the worker's own later
 * set_threads overrides the share.
 */
az_status az_runtime_enter_worker(const az_worker_share *share, az_error *err);

/*
 * The variables a fresh worker of `share` must start with, as a JSON object
 * of strings: each thread variable at max(1, T / W) and
 * AUTOZYME_WORKER_SHARE, for launchers that take an environment (loky) or
 * a parent that sets its own around the start (R's makeCluster).  Free
 * with free().
 */
az_status az_runtime_worker_env(const az_worker_share *share, char **json,
				az_error *err);

#ifdef __cplusplus
}
#endif

#endif /* AUTOZYME_H */

/*
 * autozyme.h - the AutoZyme core: thread budget, CPU discovery, thread
 * variables, activation files, patch registry and environment snapshots.
 *
 * Shared by the Slurm SPANK plugin and the Python and R runtimes.  Every
 * fallible function returns an az_status and fills an out-parameter; when an
 * az_error is given it receives a one-line message naming the offending
 * option or field and the accepted form.
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

/* The library's version string, e.g. "0.1.0". */
const char *az_version(void);

/* ------------------------------------------------------ thread requests */

/* Upper bound on any thread count AutoZyme accepts or produces. */
#define AZ_THREADS_MAX 4096u

typedef enum az_request_kind {
	AZ_REQUEST_UNSET = 0, /* nothing asked: site default, else auto */
	AZ_REQUEST_AUTO,      /* use the whole allocation */
	AZ_REQUEST_OFF,       /* set nothing */
	AZ_REQUEST_COUNT      /* exactly `count`, clamped to the allocation */
} az_request_kind;

typedef struct az_request {
	az_request_kind kind;
	unsigned count; /* 1..AZ_THREADS_MAX when kind == AZ_REQUEST_COUNT */
} az_request;

/*
 * Parse "N" (1..AZ_THREADS_MAX), "auto" or "off".  `field` names the
 * option or variable in the error message, e.g. "--autozyme-threads".
 */
az_status az_request_parse(const char *text, const char *field,
			   az_request *out, az_error *err);

/*
 * Parse a plain count in [min, max] ("SLURM_CPUS_PER_TASK", "max_threads"...).
 */
az_status az_count_parse(const char *text, const char *field, unsigned min,
			 unsigned max, unsigned *out, az_error *err);

/* --------------------------------------------------------- thread budget */

typedef enum az_provenance {
	AZ_PROV_REQUEST = 0,   /* the user's explicit count */
	AZ_PROV_REQUEST_OFF,   /* the user (or site) asked for off */
	AZ_PROV_SITE_DEFAULT,  /* the site's default_threads */
	AZ_PROV_SITE_MAX,      /* the site's max_threads capped it */
	AZ_PROV_CPUSET,        /* the CPUs the task may run on */
	AZ_PROV_CORES,         /* the cores of the cpuset (SMT policy "cores") */
	AZ_PROV_CPUS_PER_TASK, /* SLURM_CPUS_PER_TASK */
	AZ_PROV_CGROUP_QUOTA,  /* a cgroup CPU quota below the cpuset */
	AZ_PROV_LOCAL_TASKS,   /* unbound tasks splitting one cpuset */
	AZ_PROV_WORKER_SHARE,  /* the parent's budget split among pool workers */
	AZ_PROV_FALLBACK,      /* nothing known: one thread */
	AZ_PROV_PMIX,          /* unbound MPI ranks splitting one cpuset, counted by PMIx */
	AZ_PROV_MPI_ENV        /* the same, counted from the launcher's variables */
} az_provenance;

/* Stable lowercase name ("cpus_per_task"...) and its inverse. */
const char *az_provenance_name(az_provenance prov);
az_status az_provenance_from_name(const char *name, az_provenance *out);

typedef enum az_smt_policy {
	AZ_SMT_PUS = 0, /* one thread per hardware thread (Slurm's CPU) */
	AZ_SMT_CORES    /* one thread per physical core */
} az_smt_policy;

/* Who counted the tasks sharing a node (budget input local_tasks): the
 * provenance a split among them gets. */
typedef enum az_local_source {
	AZ_LOCAL_SLURM = 0, /* Slurm's count of the step's tasks (the plugin): local_tasks */
	AZ_LOCAL_PMIX,      /* PMIx's PMIX_LOCAL_SIZE: pmix */
	AZ_LOCAL_MPI_ENV    /* the launcher's variables (Open MPI, srun): mpi_env */
} az_local_source;

/* Every input of the decision.  Zero means "unknown / not set". */
typedef struct az_budget_input {
	az_request request;
	unsigned cpuset_pus;    /* PUs in the task's cpuset */
	unsigned cpuset_cores;  /* cores with at least one PU in the cpuset */
	double quota_cpus;      /* cgroup quota in CPUs (1.5 = 150%), 0 = none */
	unsigned cpus_per_task; /* SLURM_CPUS_PER_TASK */
	unsigned local_tasks;   /* tasks of this step on this node */
	az_local_source local_source; /* who counted them */
	bool tasks_bound;       /* each task has its own cpuset */
	unsigned launch_pus;    /* PUs the local tasks were launched on together
				 * (SMT policy pus only) */
	unsigned site_default;  /* plugstack default_threads */
	unsigned site_max;      /* plugstack max_threads */
	unsigned workers;       /* pool workers sharing the budget */
	az_smt_policy smt;
} az_budget_input;

typedef struct az_budget {
	bool off;                 /* set no thread variable at all */
	unsigned threads;         /* >= 1 unless off */
	az_provenance provenance; /* which input decided `threads` */
	unsigned allocation;      /* what the task may use before any request */
	az_provenance allocation_provenance;
	bool clamped;             /* an explicit request was lowered */
	unsigned requested;       /* the explicit count, when clamped */
} az_budget;

/*
 * The thread budget: a pure function of its inputs.  Fails only on inputs
 * no caller should produce (a count of 0, a negative or NaN quota ...),
 * naming the field.
 */
az_status az_budget_decide(const az_budget_input *in, az_budget *out,
			   az_error *err);

/*
 * One line explaining a clamp, e.g. "autozyme: --autozyme-threads=8 exceeds
 * the allocation; using 2 threads (cpus_per_task)".  Empty when not clamped.
 */
void az_budget_clamp_message(const az_budget *budget, char *buf, size_t len);

/*
 * The budget `whole` shared by `workers` (>= 1) pool workers: each gets
 * max(1, threads / workers) (worker_share).  The allocation stays the
 * task's: the workers share it.  Off stays off; one worker keeps `whole`.
 */
az_status az_budget_worker_share(const az_budget *whole, unsigned workers,
				 az_budget *out, az_error *err);

/*
 * The budget of one of `ranks` (>= 1) unbound ranks sharing the task that
 * `whole` was decided for: threads and allocation both split, at least 1
 * each, credited to `source` (each rank owns its part of the CPUs).  Off
 * stays off; one rank keeps `whole`.
 */
az_status az_budget_rank_share(const az_budget *whole, unsigned ranks,
			       az_local_source source, az_budget *out,
			       az_error *err);

/* ---------------------------------------------------------- CPU discovery */

typedef struct az_topology az_topology; /* an hwloc topology, loaded once */

az_status az_topology_load(az_topology **out, az_error *err);
void az_topology_free(az_topology *topo);

typedef struct az_cpus {
	unsigned pus;   /* PUs the calling process may run on */
	unsigned cores; /* cores with at least one of those PUs */
	char *list;     /* "0-3,8": release with az_cpus_release */
} az_cpus;

/* The calling process's own cpuset (sched affinity), counted on `topo`. */
az_status az_cpus_current(const az_topology *topo, az_cpus *out,
			  az_error *err);
void az_cpus_release(az_cpus *cpus);

/*
 * The smallest cgroup CPU quota over the process's cgroup and all its
 * ancestors, v1 (cpu.cfs_quota_us / cpu.cfs_period_us) or v2 (cpu.max).
 * `proc_dir` is normally "/proc/self" (its cgroup and mountinfo files are
 * read); *cpus is 0 when no quota applies.
 */
az_status az_cgroup_quota(const char *proc_dir, double *cpus, az_error *err);

/* ------------------------------------------------------- environment I/O */

/*
 * Where thread variables are read and written: the process environment, or
 * a job environment such as SPANK's spank_getenv/spank_setenv.
 * get returns the value or NULL (storage owned by the backend, valid until
 * the next call); set and unset return 0 on success.
 */
typedef struct az_env {
	const char *(*get)(void *ctx, const char *name);
	int (*set)(void *ctx, const char *name, const char *value);
	int (*unset)(void *ctx, const char *name);
	void *ctx;
} az_env;

/* The calling process's environment (getenv/setenv/unsetenv). */
az_env az_env_process(void);

/* The canonical variables set to the thread count, NULL-terminated. */
const char *const *az_thread_vars_default(void);

/* Marker variables: which variables AutoZyme injected, and the value. */
#define AZ_ENV_INJECTED "AUTOZYME_INJECTED"
#define AZ_ENV_INJECTED_VALUE "AUTOZYME_INJECTED_VALUE"

/*
 * True when `name` holds a value the user chose, false when it is unset or
 * still holds the value AutoZyme injected earlier (e.g. leaked from the
 * batch step into an srun step), which must be recomputed, never trusted.
 */
bool az_env_user_value(const az_env *env, const char *name);

typedef enum az_user_policy {
	AZ_KEEP_USER_VALUES = 0, /* a user-exported value wins */
	AZ_OVERRIDE_USER_VALUES  /* AutoZyme's value wins */
} az_user_policy;

/*
 * Set every variable of `vars` (NULL-terminated; NULL = the default list)
 * to `threads`, keeping user values under AZ_KEEP_USER_VALUES, and record
 * the injected set in AZ_ENV_INJECTED / AZ_ENV_INJECTED_VALUE.  *n_set, if
 * given, receives how many variables were written.
 */
az_status az_thread_vars_apply(const az_env *env, const char *const *vars,
			       unsigned threads, az_user_policy policy,
			       unsigned *n_set, az_error *err);

/* ------------------------------------------------------- co-located ranks */

/*
 * The ranks of a parallel launch (mpirun, srun) running on this node.
 * size 0: the process was not launched as one of several ranks.
 */
typedef struct az_local_ranks {
	unsigned size;          /* ranks on this node */
	unsigned rank;          /* this process's local rank, 0..size-1 */
	az_local_source source; /* AZ_LOCAL_PMIX or AZ_LOCAL_MPI_ENV */
	bool slurm_tasks;       /* the ranks are the Slurm step's own tasks
				 * (srun), not processes started inside one */
} az_local_ranks;

/*
 * From the launcher's variables: Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE and
 * OMPI_COMM_WORLD_LOCAL_RANK, else an srun task's SLURM_STEP_TASKS_PER_NODE
 * (e.g. "2(x3),1", indexed by SLURM_NODEID) and SLURM_LOCALID.  The
 * launcher sets them, not the user: values that do not parse count as
 * unset (size 0).
 */
az_status az_local_ranks_from_env(const az_env *env, az_local_ranks *out,
				  az_error *err);

/*
 * PMIx first (PMIx_Get of PMIX_LOCAL_SIZE and PMIX_LOCAL_RANK) when the
 * library was built with it, a PMIx server is present (PMIX_NAMESPACE and a
 * PMIX_SERVER_URI* variable set) and the process has already initialised
 * PMIx (MPI_Init does), else az_local_ranks_from_env.  libautozyme never
 * loads libpmix nor initialises PMIx on its own: a PMIx client initialised
 * before MPI_Init makes Open MPI's MPI_Init fail.  PMIx's answer, once
 * found, is kept for the process's life.
 */
az_status az_local_ranks_discover(const az_env *env, az_local_ranks *out,
				  az_error *err);

/* True when this build can ask PMIx. */
bool az_local_ranks_have_pmix(void);

/*
 * Whether `ranks` are bound to CPUs of their own: this process's cpuset
 * (`own_pus` PUs) is smaller than the one they were launched on
 * (`launch_pus`: the Slurm task's, from its activation file, or the
 * launcher's, az_cpus_of_parent), and srun did not run them with
 * --cpu-bind=none (SLURM_CPU_BIND_TYPE "none").  Unknown counts (0) give
 * false: ranks that split a cpuset they do not share run fewer threads,
 * never too many.
 */
bool az_local_ranks_bound(const az_local_ranks *ranks, const az_env *env,
			  unsigned own_pus, unsigned launch_pus);

/* PUs in the cpuset of the parent process (the launcher: mpirun, orted,
 * slurmstepd), from its /proc status; 0 when unknown. */
unsigned az_cpus_of_parent(void);

/* --------------------------------------------------------- patch registry */

/* Patch names: [a-z0-9][a-z0-9_.-]{0,63}. */
#define AZ_PATCH_NAME_MAX 64
bool az_patch_name_valid(const char *name);

typedef struct az_registry az_registry;
typedef struct az_patch az_patch;

/*
 * Load every *.json manifest of the directories in `path_list`, separated by
 * ':' (earlier directories win for a duplicate name; a missing directory is
 * skipped).  A malformed manifest fails the load, naming file and field.
 */
az_status az_registry_load(const char *path_list, az_registry **out,
			   az_error *err);
void az_registry_free(az_registry *reg);
size_t az_registry_count(const az_registry *reg);
const az_patch *az_registry_at(const az_registry *reg, size_t index);
az_status az_registry_find(const az_registry *reg, const char *name,
			   const az_patch **out);

/* The compiled-in registry directory ($(datadir)/autozyme/patches). */
const char *az_registry_default_dir(void);

/* Extra registry directories a process adds before the installed one. */
#define AZ_ENV_PATCH_PATH "AUTOZYME_PATCH_PATH"

/* The registry a process reads: `extra` (AUTOZYME_PATCH_PATH's value; NULL
 * or "" for none), whose directories win, then the installed directory,
 * ':'-separated, in *out (malloc'ed). */
az_status az_registry_search_path(const char *extra, char **out, az_error *err);

const char *az_patch_name(const az_patch *patch);
const char *az_patch_description(const az_patch *patch);
/* The manifest's own "version": the patch's, not the upstream package's. */
const char *az_patch_version(const az_patch *patch);
/* `language` is "python" or "r"; NULL when the patch has no such side. */
const char *az_patch_upstream(const az_patch *patch, const char *language);
const char *az_patch_min_version(const az_patch *patch, const char *language);
const char *az_patch_hook(const az_patch *patch, const char *language);

/*
 * Split "a,b,c" into validated, de-duplicated names.  `field` names the
 * option in errors.  Release with az_names_free.
 */
az_status az_names_parse(const char *text, const char *field, char ***names,
			 size_t *count, az_error *err);
void az_names_free(char **names, size_t count);

/* -------------------------------------------------------- activation file */

#define AZ_ACTIVATION_SCHEMA 1
#define AZ_ACTIVATION_SIZE_MAX (1024 * 1024)
#define AZ_ENV_ACTIVATION_FILE "AUTOZYME_ACTIVATION_FILE"
#define AZ_ENV_ACTIVATE "AUTOZYME_ACTIVATE"

/* Slurm ids that do not apply (non-array job ...) are AZ_ID_NONE. */
#define AZ_ID_NONE UINT32_MAX

typedef struct az_variable {
	char *name;
	char *value;
} az_variable;

typedef struct az_activation {
	uint32_t job_id;
	char *step;              /* "batch", "0", "interactive" ... */
	uint32_t array_job_id;   /* AZ_ID_NONE when not an array */
	uint32_t array_task_id;  /* AZ_ID_NONE when not an array */
	char *node;              /* host name */
	uint32_t node_id;
	uint32_t global_rank;
	uint32_t local_rank;
	uint32_t local_tasks;
	char *cpuset;            /* "0-3" */
	unsigned pus;
	unsigned cores;
	az_budget budget;
	char **patches;
	size_t n_patches;
	az_variable *variables;  /* the variables injected */
	size_t n_variables;
} az_activation;

/* Serialise as schema AZ_ACTIVATION_SCHEMA JSON; free *json with free(). */
az_status az_activation_to_json(const az_activation *act, char **json,
				az_error *err);

/*
 * Strict reader: rejects truncated, oversized, wrongly typed, missing-field
 * and unknown-schema input, naming the field.  Free with az_activation_free.
 */
az_status az_activation_from_json(const char *json, size_t len,
				  az_activation **out, az_error *err);
az_status az_activation_read(const char *path, az_activation **out,
			     az_error *err);
void az_activation_free(az_activation *act);

/* ---------------------------------------------------------------- snapshot */

typedef struct az_active_patch {
	const char *name;
	const char *upstream;         /* upstream package name */
	const char *upstream_version; /* NULL when not installed */
} az_active_patch;

/*
 * The env_snapshot() JSON: AutoZyme version, language and its version (from
 * the caller), OS (uname sysname, release, machine) and active patches.  No
 * thread variables.  Free *json with free().
 */
az_status az_snapshot_json(const char *language, const char *language_version,
			   const az_active_patch *patches, size_t n_patches,
			   char **json, az_error *err);

/* ------------------------------------------------------------ thread pools */

/*
 * BLAS and OpenMP runtimes already loaded in the calling process, found with
 * dl_iterate_phdr and driven through their own setters (like threadpoolctl,
 * but shared by Python and R).
 */
typedef enum az_pool_kind {
	AZ_POOL_OPENBLAS = 0, /* openblas_set_num_threads, also scipy_ / 64_ / _64 */
	AZ_POOL_MKL,          /* MKL_Set_Num_Threads */
	AZ_POOL_BLIS,         /* bli_thread_set_num_threads */
	AZ_POOL_FLEXIBLAS,    /* flexiblas_set_num_threads */
	AZ_POOL_GOMP,         /* GNU libgomp: omp_set_num_threads */
	AZ_POOL_LLVM_OMP,     /* LLVM libomp */
	AZ_POOL_INTEL_OMP     /* Intel libiomp5 */
} az_pool_kind;

/* Stable names: "openblas", "mkl", "blis", "flexiblas", "gomp", "llvm_omp", "intel_omp". */
const char *az_pool_kind_name(az_pool_kind kind);

typedef struct az_pool {
	az_pool_kind kind;
	char *path;      /* the shared object's path */
	char *api;       /* the symbol prefix/suffix used, e.g. "scipy_openblas" */
	int threads;     /* its current maximum, -1 when it cannot say */
} az_pool;

/* Every pool loaded now.  Free with az_pools_free. */
az_status az_pools_list(az_pool **pools, size_t *count, az_error *err);
void az_pools_free(az_pool *pools, size_t count);

/* Set every loaded pool to `threads` (1..AZ_THREADS_MAX); *changed counts them. */
az_status az_pools_set_threads(unsigned threads, size_t *changed, az_error *err);

/* Set only the loaded pools of `kind`; *changed counts them (0: none loaded). */
az_status az_pools_set_kind_threads(az_pool_kind kind, unsigned threads,
				    size_t *changed, az_error *err);

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
 * sharing the node (az_local_ranks_discover; ranks that mpirun starts
 * inside a Slurm task share that task's cpuset the same way) and the
 * request AUTOZYME_THREADS, then AUTOZYMER_THREADS.  In a pool worker,
 * then its share (AUTOZYME_WORKER_SHARE).  Computed once, cached.
 */
az_status az_runtime_budget(az_budget *out, az_error *err);

/* True when the budget came from an activation file. */
bool az_runtime_from_activation_file(void);

/*
 * set_threads(n): set every thread variable to n (overriding), apply n to
 * the loaded pools, and remember n as the process's explicit choice.
 */
az_status az_runtime_set_threads(unsigned threads, az_error *err);

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

/* Parse "T/W", two counts from 1 to AZ_THREADS_MAX; `field` names it in errors. */
az_status az_worker_share_parse(const char *text, const char *field,
				az_worker_share *out, az_error *err);

/* "T/W" into buf (24 bytes are enough). */
void az_worker_share_format(const az_worker_share *share, char *buf,
			    size_t len);

/* What the guard does about oversubscription (AUTOZYME_OVERSUBSCRIPTION). */
typedef enum az_oversubscription {
	AZ_OVERSUB_WARN = 0, /* one line on stderr, once per process */
	AZ_OVERSUB_ERROR,    /* refuse the call */
	AZ_OVERSUB_IGNORE    /* say nothing */
} az_oversubscription;

/* "warn", "error" or "ignore"; NULL or empty is warn.  `field` names it in errors. */
az_status az_oversubscription_parse(const char *text, const char *field,
				    az_oversubscription *out, az_error *err);
const char *az_oversubscription_name(az_oversubscription policy);

/*
 * The calling process is about to start a pool of `workers` (1 to
 * AZ_THREADS_MAX) processes: *share receives its threads in force (the
 * set_threads value, else the budget) and `workers`; threads is 0 when
 * the budget is off (the workers get nothing).  The guard checks the pool;
 * thread_info() reports it.  Nothing of the caller's own changes.
 */
az_status az_runtime_pool_start(unsigned workers, az_worker_share *share,
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

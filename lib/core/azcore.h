/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * azcore.h - the AutoZyme core: the thread budget and its inputs (request,
 * cpuset, cgroup quota), thread variables, the patch registry, activation
 * files and environment snapshots.  Pure decisions and file formats, no
 * global state: what the SPANK plugin embeds, what autozyme-info and the
 * runtime call.  Not installed, not exported from libautozyme.so.0.
 */
#ifndef AUTOZYME_CORE_H
#define AUTOZYME_CORE_H

#include "autozyme.h"

/* ------------------------------------------------------ thread requests */

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

/*
 * Ranks that mpirun started inside one Slurm task share what the task was
 * given, `task` (its activation file's budget).  `rank`, one rank's budget
 * decided on the task's cpuset, is lowered to its share of `task` when the
 * task's count came from a limit of the whole task (a request, the site's
 * default or maximum, a cgroup quota) rather than from counting its CPUs.
 */
az_status az_budget_within_task(const az_budget *task, const az_budget *rank,
				unsigned ranks, az_local_source source,
				az_budget *out, az_error *err);

/*
 * Whether each of `local_tasks` tasks (or ranks) has CPUs of its own: it
 * sees fewer PUs (`own_pus`) than they were launched on together
 * (`launch_pus`, 0 = unknown).  Slurm's --cpu-bind=none (`binding_none`)
 * says they share, whatever the counts; a task alone shares with no one.
 */
bool az_budget_tasks_bound(unsigned local_tasks, unsigned own_pus,
			   unsigned launch_pus, bool binding_none);

typedef enum az_user_policy {
	AZ_KEEP_USER_VALUES = 0, /* a user-exported value wins */
	AZ_OVERRIDE_USER_VALUES  /* AutoZyme's value wins */
} az_user_policy;

/*
 * Whose value a variable the user exported keeps: the user's when the site
 * respects it (plugstack respect_user_env) and the count was not asked for
 * explicitly (--autozyme-threads, set_threads), else AutoZyme's.
 */
az_user_policy az_budget_user_policy(bool respect_user_env,
				     bool explicit_request);
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
/* The same without a topology: the PUs of the affinity mask and its list;
 * cores stay 0 (unknown). */
az_status az_cpus_affinity(az_cpus *out, az_error *err);
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

/*
 * Set every variable of `vars` (NULL-terminated; NULL = the default list)
 * to `threads`, keeping user values under AZ_KEEP_USER_VALUES, and record
 * the injected set in AZ_ENV_INJECTED / AZ_ENV_INJECTED_VALUE.  *n_set, if
 * given, receives how many variables were written.
 */
az_status az_thread_vars_apply(const az_env *env, const char *const *vars,
			       unsigned threads, az_user_policy policy,
			       unsigned *n_set, az_error *err);

/* ------------------------------------------------ gathering the inputs */

/*
 * The request a process's variables make: AUTOZYME_THREADS, then
 * AUTOZYMER_THREADS, skipping a value AutoZyme injected; unset when
 * neither holds the user's.  A malformed value is AZ_ERR_INVALID, naming
 * the variable.
 */
az_status az_request_from_env(const az_env *env, az_request *out, az_error *err);

/*
 * The request in force: `option` (--autozyme-threads) unless it is unset,
 * else az_request_from_env.  The one precedence rule for the request, used
 * by az_budget_gather and the plugin's submission check.  *out is unset
 * when the variable is malformed (AZ_ERR_INVALID).
 */
az_status az_request_choose(const az_request *option, const az_env *env,
			    az_request *out, az_error *err);

/* SLURM_CPUS_PER_TASK; 0 when unset or not a count. */
unsigned az_cpus_per_task_from_env(const az_env *env);

/*
 * The node's name as Slurm knows it (several slurmd may share a host):
 * SLURMD_NODENAME, which slurmstepd sets in each task's environment (not in
 * the step's), else the host's name in `buf`, else "unknown".
 */
const char *az_node_name_from_env(const az_env *env, char *buf, size_t len);

/*
 * What a process knows of itself, each fact read by its caller's own means
 * (the plugin once per step or per task, the runtime once per process).
 * Zero, NULL or unset: not known.
 */
typedef struct az_process_facts {
	const az_env *env;    /* the variables; NULL: none to read */
	az_request option;    /* a request made otherwise (--autozyme-threads);
			       * unset: the variables' (az_request_from_env) */
	unsigned slurm_cpus_per_task; /* Slurm's step item; 0: the variable */
	const az_cpus *cpus;  /* the process's cpuset */
	double quota_cpus;    /* az_cgroup_quota's answer */
	unsigned local_tasks; /* tasks or ranks sharing the node */
	az_local_source local_source; /* who counted them */
	bool slurm_tasks;     /* they are the Slurm step's own tasks, so
			       * Slurm's binding (SLURM_CPU_BIND_TYPE) applies */
	unsigned launch_pus;  /* PUs they were launched on together */
	unsigned site_default, site_max; /* plugstack default/max_threads */
	az_smt_policy smt;
} az_process_facts;

/*
 * The one path from what a process knows to the budget's input, for the
 * plugin's tasks and the runtime alike: the request (the option, else the
 * variables), cpus per task (Slurm's, else SLURM_CPUS_PER_TASK), the
 * cpuset, the quota, the local tasks and whether they are bound
 * (az_budget_tasks_bound).  A malformed request variable is AZ_ERR_INVALID
 * with *out filled and its request unset.
 */
az_status az_budget_gather(const az_process_facts *facts,
			   az_budget_input *out, az_error *err);

/*
 * The same path in two stages, for tasks that share all but their cpuset
 * (the plugin gathers once per step, before the tasks fork): what they
 * share, every input but the cpuset and whether the tasks are bound; then
 * one task's input from its own cpuset.  az_budget_gather is the two in a
 * row.  facts->cpus is not read by the first stage.
 */
typedef struct az_shared_input {
	az_budget_input base; /* cpuset_pus, cpuset_cores, tasks_bound: unset */
	bool binding_none;    /* Slurm's --cpu-bind=none: the tasks share */
} az_shared_input;

az_status az_budget_gather_shared(const az_process_facts *facts,
				  az_shared_input *out, az_error *err);
void az_budget_input_for_cpus(const az_shared_input *shared, const az_cpus *cpus,
			      az_budget_input *out);
/* --------------------------------------------------------- patch registry */

/* Patch names: [a-z0-9][a-z0-9_.-]{0,63}. */
#define AZ_PATCH_NAME_MAX 64
bool az_patch_name_valid(const char *name);

typedef struct az_registry az_registry;

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

/*
 * Split "a,b,c" into validated, de-duplicated names.  `field` names the
 * option in errors.  Release with az_names_free.
 */
az_status az_names_parse(const char *text, const char *field, char ***names,
			 size_t *count, az_error *err);
void az_names_free(char **names, size_t count);

/*
 * Upstream versions by release numbers (lib/core/versions.c): readable
 * when it starts with a digit; older when `version`'s numbers come before
 * `minimum`'s, missing numbers counting 0.  Unreadable: never older.
 */
bool az_version_readable(const char *version);
bool az_version_older(const char *version, const char *minimum);
/* -------------------------------------------------------- activation file */

/*
 * One activation file per node and step (schema 2), written once by
 * slurmstepd before the step's tasks fork: what they all share.  Each
 * task's own record (its ranks, cpuset and budget) is derived from it, not
 * stored: az_activation_task_budget is the one decision the plugin's
 * task_init and the runtime both make.
 */
#define AZ_ACTIVATION_SCHEMA 2
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
	uint32_t node_id;
	char *cpuset;            /* the step's cpuset on the node, "0-3" */
	unsigned cores;          /* its cores (its PUs: inputs.base.launch_pus) */
	az_shared_input inputs;  /* every input of a task's budget but its cpuset */
	bool explicit_request;   /* the request is --autozyme-threads's */
	az_budget budget;        /* the step's: what its thread variables hold */
	char **patches;
	size_t n_patches;
	char **thread_vars;      /* the variables set to the thread count */
	size_t n_thread_vars;
	az_variable *variables;  /* the variables set to a fixed value (OMP_PLACES ...) */
	size_t n_variables;
} az_activation;

/* Serialise as schema AZ_ACTIVATION_SCHEMA JSON; free *json with free(). */
az_status az_activation_to_json(const az_activation *act, char **json,
				az_error *err);

/*
 * Strict reader: rejects truncated, oversized, wrongly typed, missing-field
 * and unknown-schema input (a schema 1 file, an older plugin's per-task
 * file, too, naming its version), naming the field.  Free with
 * az_activation_free.
 */
az_status az_activation_from_json(const char *json, size_t len,
				  az_activation **out, az_error *err);
az_status az_activation_read(const char *path, az_activation **out,
			     az_error *err);
void az_activation_free(az_activation *act);

/*
 * The budget of one task of the step, from its own cpuset: the plugin's
 * task_init and the runtime decide through this one call.
 */
az_status az_activation_task_budget(const az_activation *act, const az_cpus *cpus,
				    az_budget *out, az_error *err);

/* One task of the step as the plugin saw it: its facts and its budget. */
typedef struct az_task_record {
	const char *node;     /* the node's name (SLURMD_NODENAME) */
	uint32_t global_rank; /* SLURM_PROCID */
	uint32_t local_rank;  /* SLURM_LOCALID */
	az_cpus cpus;         /* the task's cpuset (borrowed) */
	az_budget budget;     /* az_activation_task_budget's */
} az_task_record;

/*
 * The task's record as JSON: job, node, task (ranks, local tasks), cpus,
 * threads, patches and the variables with the task's values: what a
 * per-task file held before schema 2.  Free *json with free().
 */
az_status az_task_record_json(const az_activation *act, const az_task_record *task,
			      char **json, az_error *err);
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

/* ------------------------------------------------ shared text helpers */

/*
 * A value a message quotes back: at most AZ_QUOTE_MAX bytes (cut on a UTF-8
 * boundary, "..." marking the cut), so that however long the value, the
 * accepted form after it still fits in an az_error.  Use as
 *   snprintf(message, size, "%s: invalid value '" AZ_QUOTE "': expected ...",
 *            field, AZ_QUOTE_ARGS(value));
 */
#define AZ_QUOTE_MAX 80
#define AZ_QUOTE "%.*s%s"
#define AZ_QUOTE_ARGS(text) \
	az_quote_len(text), (text), (text)[az_quote_len(text)] ? "..." : ""
int az_quote_len(const char *text);

/* A portable environment variable name, the first len bytes of name:
 * [A-Za-z_][A-Za-z0-9_]*. */
bool az_var_name_valid(const char *name, size_t len);
/* The names joined by commas, malloc'ed ("" for none); NULL when out of memory. */
char *az_names_join(const char *const *names, size_t count);

/*
 * Comma-separated lists, split one way for every list of the project
 * (patches, variables, AUTOZYME_INJECTED, cgroup controllers): each item
 * between commas, empty ones kept.  az_list_split gives fresh copies,
 * NULL-terminated (free with az_names_free(items, count)); AZ_ERR_NOMEM.
 */
az_status az_list_split(const char *list, char ***items, size_t *count);
/* Whether `list` holds exactly `name` as one of its items. */
bool az_list_has(const char *list, const char *name);

#endif /* AUTOZYME_CORE_H */

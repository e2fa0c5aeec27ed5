/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * azruntime.h - the runtime's inner modules: co-located MPI ranks
 * (ranks.c), the BLAS and OpenMP pools (pools.c), worker shares and the
 * oversubscription policy (workers.c), and the budget the runtime holds
 * (runtime.c).  For lib/runtime and its unit tests; not exported.
 */
#ifndef AUTOZYME_RUNTIME_PARTS_H
#define AUTOZYME_RUNTIME_PARTS_H

#include "azcore.h"

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
az_status azi_local_ranks_from_env(const az_env *env, az_local_ranks *out,
				   az_error *err);

/*
 * PMIx first (PMIx_Get of PMIX_LOCAL_SIZE and PMIX_LOCAL_RANK) when the
 * library was built with it, a PMIx server is present (PMIX_NAMESPACE and a
 * PMIX_SERVER_URI* variable set) and the process has already initialised
 * PMIx (MPI_Init does), else azi_local_ranks_from_env.  libautozyme never
 * loads libpmix nor initialises PMIx on its own: a PMIx client initialised
 * before MPI_Init makes Open MPI's MPI_Init fail.  PMIx's answer, once
 * found, is kept for the process's life.
 */
az_status azi_local_ranks_discover(const az_env *env, az_local_ranks *out,
				   az_error *err);

/* True when this build can ask PMIx. */
bool azi_local_ranks_have_pmix(void);

/* PUs in the cpuset of the parent process (the launcher: mpirun, orted,
 * slurmstepd), from its /proc status; 0 when unknown. */
unsigned azi_cpus_of_parent(void);
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
const char *azi_pool_kind_name(az_pool_kind kind);

typedef struct az_pool {
	az_pool_kind kind;
	char *path;      /* the shared object's path */
	char *api;       /* the symbol prefix/suffix used, e.g. "scipy_openblas" */
	int threads;     /* its current maximum, -1 when it cannot say */
} az_pool;

/* Every pool loaded now.  Free with azi_pools_free. */
az_status azi_pools_list(az_pool **pools, size_t *count, az_error *err);
void azi_pools_free(az_pool *pools, size_t count);

/* Set every loaded pool to `threads` (1..AZ_THREADS_MAX); *changed counts them. */
az_status azi_pools_set_threads(unsigned threads, size_t *changed, az_error *err);

/* Set only the loaded pools of `kind`; *changed counts them (0: none loaded). */
az_status azi_pools_set_kind_threads(az_pool_kind kind, unsigned threads,
				     size_t *changed, az_error *err);

/* ------------------------------------------------------ the runtime's budget */

/*
 * The budget: the activation file named by AUTOZYME_ACTIVATION_FILE when
 * it is readable (the plugin's decision), else decided here from the
 * process's cpuset, cgroup quota, SLURM_CPUS_PER_TASK, the MPI ranks
 * sharing the node (azi_local_ranks_discover; ranks that mpirun starts
 * inside a Slurm task share that task's cpuset the same way) and the
 * request AUTOZYME_THREADS, then AUTOZYMER_THREADS.  In a pool worker,
 * then its share (AUTOZYME_WORKER_SHARE).  Computed once, cached.
 */
az_status azi_runtime_budget(az_budget *out, az_error *err);

/* True when the budget came from an activation file. */
bool azi_runtime_from_activation_file(void);

/* ------------------------------------------------------------ worker shares */

/* Parse "T/W", two counts from 1 to AZ_THREADS_MAX; `field` names it in errors. */
az_status azi_worker_share_parse(const char *text, const char *field,
				 az_worker_share *out, az_error *err);

/* "T/W" into buf (24 bytes are enough). */
void azi_worker_share_format(const az_worker_share *share, char *buf,
			     size_t len);

/* What the guard does about oversubscription (AUTOZYME_OVERSUBSCRIPTION). */
typedef enum az_oversubscription {
	AZ_OVERSUB_WARN = 0, /* one line on stderr, once per process */
	AZ_OVERSUB_ERROR,    /* refuse the call */
	AZ_OVERSUB_IGNORE    /* say nothing */
} az_oversubscription;

/* "warn", "error" or "ignore"; NULL or empty is warn.  `field` names it in errors. */
az_status azi_oversubscription_parse(const char *text, const char *field,
				     az_oversubscription *out, az_error *err);
const char *azi_oversubscription_name(az_oversubscription policy);

#endif /* AUTOZYME_RUNTIME_PARTS_H */

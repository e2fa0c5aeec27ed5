/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ranks.h - co-located ranks of a parallel launch (ranks.c).  For
 * lib/runtime and its unit tests; not exported.
 */
#ifndef AZI_RANKS_H
#define AZI_RANKS_H

#include "azcore.h"

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

/* PUs in a CPU list as /proc and cgroup files write it ("0-3,5", with any
 * blanks around and a newline after it); 0 when it does not parse. */
unsigned azi_cpu_list_weight(const char *text);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * process_budget.h - the count a process runs with, put together in one
 * order (process_budget.c).  For lib/runtime and its unit tests.
 */
#ifndef AZI_PROCESS_BUDGET_H
#define AZI_PROCESS_BUDGET_H

#include "azcore.h"

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

/* Lock held: the budget, computed once (a failure is not cached). */
az_status azi_ensure_budget(az_error *err);
/* Lock held: the count in force, set_threads()'s once called, else the
 * budget's; *off when the budget is off and set_threads() was not called. */
az_status azi_current_threads(unsigned *threads, bool *off, az_error *err);
/* Lock held: the budget becomes `share` of the parent's threads. */
az_status azi_apply_share(const az_worker_share *share, az_error *err);
/* Lock held: the cores of the budget's cpuset, for thread_info() only. */
void azi_ensure_cores(void);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-process runtime's shared state, for its four files: runtime.c
 * (the lock, the budget, the guard, the threads), runtime_pools.c (worker
 * pools), runtime_patches.c (the registry and active patches) and
 * runtime_report.c (env_snapshot and thread_info).  "Lock held" means the
 * caller holds azi_runtime_lock(); every function below but the lock's own
 * needs it.
 */
#ifndef AZ_RUNTIME_H
#define AZ_RUNTIME_H

#include "azruntime.h"
#include "internal.h"

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
	az_activation *activation; /* the step's file, when read */
	unsigned task_cpus_of_parent; /* mpirun's ranks: the PUs of the Slurm task
				       * (their launcher's); 0: the task's cpuset
				       * is this process's, `cpus` */
	az_budget task_budget;  /* the Slurm task's budget, from the step's file */
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

extern azi_runtime azi_rt;

void azi_runtime_lock(void);
void azi_runtime_unlock(void);
az_status azi_ensure_budget(az_error *err);
void azi_ensure_cores(azi_runtime *r);
az_status azi_apply_share(azi_runtime *r, const az_worker_share *share,
			  az_error *err);
az_status azi_current_threads(unsigned *threads, bool *off, az_error *err);
az_status azi_apply_threads(az_error *err);
unsigned azi_threads_per_worker(const az_worker_share *share);
const char *azi_plural(unsigned count);
az_status azi_guard(const char *what, unsigned workers, unsigned threads,
		    az_error *err);
void azi_running(unsigned *workers, unsigned *threads);

#endif

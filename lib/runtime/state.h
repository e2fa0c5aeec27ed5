/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * state.h - one process's runtime state (state.c), shared by the runtime's
 * files: process_budget.c (the count, in its order), threads.c (the
 * variables and pools), guard.c, workers.c, patches.c and report.c.
 * "Lock held" in any of their headers means the caller holds
 * azi_runtime_lock(): every access to azi_rt needs it.
 */
#ifndef AZI_STATE_H
#define AZI_STATE_H

#include "internal.h"
#include "ranks.h"

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
	bool file_warned;       /* the unreadable activation file's line was */
	az_registry *registry;
	azi_active *active;     /* in activation order */
	size_t n_active;
} azi_runtime;

extern azi_runtime azi_rt;

/* One mutex for the whole state; a fork() child gets it unlocked. */
void azi_runtime_lock(void);
void azi_runtime_unlock(void);

#endif

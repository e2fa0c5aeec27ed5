/* SPDX-License-Identifier: BSD-3-Clause */
/* A step as slurmstepd's module sees it: computed once in user_init
 * (step_facts.c, step_env.c), read by each task (task_init.c) and at the
 * step's end (stepd_module.c). */
#ifndef AZ_SPANK_STEP_H
#define AZ_SPANK_STEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "activation_files.h"
#include "azcore.h"

/* Computed once per step in slurmstepd, inherited by every task. */
struct az_step {
	bool active;            /* false for the extern step or after a setup error */
	az_topology *topology;
	az_registry *registry;
	az_activation *file;    /* what the step's tasks share: its ids, cpuset,
				 * the budget's inputs, the step's budget (the
				 * one its variables hold), patches, variables */
	az_error shared_error;  /* a malformed request variable, reported by each task */
	bool shared_failed;
	bool patches_dropped;   /* the node's registry lacks one: none activated */
	char *file_path;        /* the activation file, NULL when not written ... */
	int lock_fd;            /* ... its directory, locked while the step lives, */
	pid_t lock_pid;         /* ... by this process: under contain_spank
				 * (24.05 and later) Slurm runs user_init in a
				 * clone sharing slurmstepd's memory but not its
				 * descriptors, and the lock ends with it */
	char file_why[AZ_FILES_WHY_MAX]; /* ... and why, for each task to print */
	uint32_t step_id;
	uid_t uid;
	gid_t gid;
};

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* activation_files.c: a step's activation file and its job's directory,
 * created and removed as the job's user, in slurmstepd. */
#ifndef AZ_SPANK_ACTIVATION_FILES_H
#define AZ_SPANK_ACTIVATION_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* "batch", "interactive" or the decimal step id, with its NUL. */
#define AZ_STEP_NAME_MAX 16

/* Why a step has no activation file: one line. */
#define AZ_FILES_WHY_MAX 512

/* "autozyme.<uid>.<job>", the job directory's name in activation_dir. */
void az_files_job_dir_name(uid_t uid, uint32_t job_id, char *buf, size_t len);
/* "batch", "interactive" or the decimal step id. */
void az_files_step_name(uint32_t step_id, char buf[AZ_STEP_NAME_MAX]);
/*
 * Create <base>/autozyme.<uid>.<job>/<step>.node<id>.json (0700 dir, 0600
 * file) with the caller's effective ids, which must be the user's (user_init
 * runs so); 0, its path and the job directory's descriptor holding a shared
 * lock for the step's life, or -1 and why.
 */
int az_files_write_step(const char *base, uid_t uid, gid_t gid, uint32_t job_id,
			const char *step_name, uint32_t node_id, const char *json,
			char **path_out, int *lock_fd, char why[AZ_FILES_WHY_MAX]);
/* Close the step's lock (-1: none), then, as the user, remove this node's
 * file of the step and sweep the job's directory if no step of the job
 * holds it any more. */
void az_files_remove_step(const char *base, uid_t uid, gid_t gid, uint32_t job_id,
			  const char *step_name, uint32_t node_id, int lock_fd);
/* As the user: the job's directory and every regular file in it, unless a
 * step of the job holds it. */
void az_files_sweep_job(const char *base, uid_t uid, gid_t gid, uint32_t job_id);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Activation files: <activation_dir>/autozyme.<uid>.<job>/<step>.node<id>.json,
 * one per node and step.  Created in user_init, before the step's tasks
 * fork, where slurmstepd runs with its effective ids dropped to the user's
 * (22.05 to 26.05 all do; the file is not written otherwise); removed at
 * the step's end by slurmstepd's thread after it took the user's
 * credentials itself, so no privileged process ever opens, writes or
 * removes a path the user controls.
 *
 * Every slurmstepd that wrote a file holds a shared flock(2) on its job
 * directory until it ends; the kernel drops it when slurmstepd dies, even
 * by SIGKILL.  A directory is swept (every regular file in it, then itself)
 * only under an exclusive lock, so a sweep never takes a live step's file,
 * and what a killed slurmstepd left goes as soon as no slurmstepd of its job
 * runs on the node: at the job's next step end there, or at the next step
 * end of any job on the node (sweep.c).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <stdbool.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "activation_files.h"
#include "clock.h"
#include "log.h"

void az_files_step_name(uint32_t step_id, char buf[AZ_STEP_NAME_MAX])
{
	if (step_id == SLURM_BATCH_SCRIPT)
		snprintf(buf, AZ_STEP_NAME_MAX, "batch");
	else if (step_id == SLURM_INTERACTIVE_STEP)
		snprintf(buf, AZ_STEP_NAME_MAX, "interactive");
	else
		snprintf(buf, AZ_STEP_NAME_MAX, "%u", step_id);
}

void az_files_job_dir_name(uid_t uid, uint32_t job_id, char *buf, size_t len)
{
	snprintf(buf, len, "autozyme.%u.%u", (unsigned)uid, job_id);
}

static void step_file_name(const char *step_name, uint32_t node_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s.node%u.json", step_name, node_id);
}

/* The job directory, only if it is a real directory of ours that nobody else can enter. */
static int open_job_dir(int base_fd, const char *name, uid_t uid)
{
	struct stat st;
	int fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_uid != uid || (st.st_mode & 077) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* What a clean-up did. */
enum cleanup_status {
	CLEANUP_DONE = 0,
	CLEANUP_SOME_LEFT = 1,	/* a file could not be removed */
	CLEANUP_NOT_USER = 2,	/* could not become the user */
	CLEANUP_REFUSED = 3,	/* something not a regular file was left alone */
};

/* Why the step has no activation file, for its tasks to print (user_init
 * runs in one thread). */
static char why_text[AZ_FILES_WHY_MAX];

static void warn_no_file(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void warn_no_file(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_text, sizeof(why_text), fmt, ap);
	va_end(ap);
}

static int write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int open_new_file(int dir_fd, const char *name)
{
	return openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/*
 * A regular file left by a requeued run of the job may hold the name: it is
 * replaced.  Anything else there (a symbolic link, a FIFO, a directory) is
 * refused, never followed, opened or removed.
 */
static int create_file(int dir_fd, const char *dir, const char *name, const char *json)
{
	struct stat st;
	int fd, rc;

	fd = open_new_file(dir_fd, name);
	if (fd < 0 && errno == EEXIST) {
		if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
			warn_no_file("refusing %s/%s: not a regular file", dir, name);
			return -1;
		}
		if (unlinkat(dir_fd, name, 0) == 0)
			fd = open_new_file(dir_fd, name);
	}
	if (fd < 0) {
		warn_no_file("cannot create %s/%s: %s", dir, name, strerror(errno));
		return -1;
	}
	rc = write_all(fd, json, strlen(json));
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0) {
		warn_no_file("cannot write %s/%s: %s", dir, name, strerror(errno));
		unlinkat(dir_fd, name, 0);
	}
	return rc;
}

/*
 * A sweep holds the exclusive lock for the moment it takes to remove a few
 * files, which on a busy node can be long (a sweep that found the directory
 * between its mkdir and this lock): wait for it, up to LOCK_WAIT_MS, polling
 * at most every 50 ms; a process of the user's own that keeps the lock costs
 * that user's step this wait, then the step goes on without a file.
 * 0: locked; 1: the directory was removed before the lock was ours (make it
 * again); -1: not locked.
 */
#define LOCK_WAIT_MS 5000
static int lock_job_dir(int dir_fd)
{
	struct timespec start, now;
	long pause_ms = 1;
	struct stat st;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(dir_fd, LOCK_SH | LOCK_NB) == 0)
			return fstat(dir_fd, &st) == 0 && st.st_nlink > 0 ? 0 : 1;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (az_ms_between(&start, &now) >= LOCK_WAIT_MS)
			return -1;
		nanosleep(&(struct timespec){ .tv_nsec = pause_ms * 1000000 }, NULL);
		pause_ms = pause_ms < 25 ? 2 * pause_ms : 50;
	}
}

/*
 * The job directory, made if needed and locked for the step's life.  A
 * sweep or another step's exit may remove it meanwhile: make it again.  A
 * directory someone else made, a symbolic link, or one others can enter is
 * refused: nothing is written there.
 */
static int open_or_make_job_dir(int base_fd, const char *base, const char *dir_name, uid_t uid)
{
	int attempt, fd = -1, locked = 1;

	for (attempt = 0; attempt < 3 && locked == 1; attempt++) {
		if (fd >= 0)
			close(fd);
		if (mkdirat(base_fd, dir_name, 0700) != 0 && errno != EEXIST) {
			warn_no_file("cannot create %s/%s: %s", base, dir_name, strerror(errno));
			return -1;
		}
		fd = open_job_dir(base_fd, dir_name, uid);
		if (fd < 0) {
			warn_no_file("refusing %s/%s: %s", base, dir_name,
				     errno == ENOENT ? strerror(errno)
				     : "not a directory of this user with mode 0700");
			return -1;
		}
		locked = lock_job_dir(fd);
	}
	if (locked != 0) {
		warn_no_file("cannot lock %s/%s: another process of the user holds it", base,
			     dir_name);
		close(fd);
		return -1;
	}
	return fd;
}

/* As the user (effective ids): the job directory, then the file; the
 * directory's descriptor, locked, or -1. */
static int write_as_user(const char *base, uid_t uid, uint32_t job_id, const char *file_name,
			 const char *json)
{
	char dir_name[64], *dir_path = NULL;
	int base_fd, dir_fd;

	az_files_job_dir_name(uid, job_id, dir_name, sizeof(dir_name));
	base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0) {
		warn_no_file("cannot open activation_dir %s: %s", base, strerror(errno));
		return -1;
	}
	dir_fd = open_or_make_job_dir(base_fd, base, dir_name, uid);
	if (dir_fd >= 0 && asprintf(&dir_path, "%s/%s", base, dir_name) < 0) {
		dir_path = NULL;
		warn_no_file("out of memory");
	}
	if (dir_fd >= 0 && (!dir_path || create_file(dir_fd, dir_path, file_name, json) != 0)) {
		close(dir_fd);
		dir_fd = -1;
	}
	free(dir_path);
	close(base_fd);
	return dir_fd;
}

/* Root's effective group and groups, while this thread is the user's. */
struct root_creds {
	gid_t egid;
	int ngroups;
	gid_t *groups;
};

/*
 * This thread alone takes the user's effective uid, gid and groups: the raw
 * system calls change the calling thread's credentials only, where glibc's
 * wrappers would change every thread of slurmstepd.  Without a fork, the
 * clean-up costs no copy of slurmstepd's page tables.  The root's
 * capabilities go with its effective uid and come back with it.
 */
static bool become_user(uid_t uid, gid_t gid, struct root_creds *saved)
{
	saved->egid = getegid();
	saved->ngroups = getgroups(0, NULL);
	saved->groups = saved->ngroups > 0 ? calloc((size_t)saved->ngroups, sizeof(gid_t)) : NULL;
	if (saved->ngroups < 0 || (saved->ngroups > 0 && !saved->groups) ||
	    getgroups(saved->ngroups, saved->groups) != saved->ngroups) {
		saved->ngroups = -1;
		return false;
	}
	return syscall(SYS_setgroups, 1, &gid) == 0 && syscall(SYS_setresgid, -1, gid, -1) == 0 &&
	       syscall(SYS_setresuid, -1, uid, -1) == 0 && geteuid() == uid && getegid() == gid;
}

/* Back to root's credentials, in the reverse order. */
static void restore_root(struct root_creds *saved)
{
	if (saved->ngroups >= 0 &&
	    (syscall(SYS_setresuid, -1, 0, -1) != 0 ||
	     syscall(SYS_setresgid, -1, saved->egid, -1) != 0 ||
	     syscall(SYS_setgroups, saved->ngroups, saved->groups) != 0 || geteuid() != 0))
		slurm_error(AZ_LOG_PREFIX "cannot restore root's credentials after a clean-up: %s",
			    strerror(errno));
	free(saved->groups);
}

struct cleanup {
	const char *base;
	uid_t uid;
	uint32_t job_id;
	const char *file_name;	/* the ending step's own file, or NULL */
};

/* Every regular file in the directory; anything else (a symbolic link, a
 * FIFO, a directory) is the user's own doing: left alone. */
static int remove_regular_files(int dir_fd, unsigned *removed)
{
	struct dirent *entry;
	struct stat st;
	int rc = CLEANUP_DONE, fd = dup(dir_fd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;

	if (!dir) {
		if (fd >= 0)
			close(fd);
		return CLEANUP_SOME_LEFT;
	}
	while ((entry = readdir(dir)))
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
			if (fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
				/* An ending step unlinks its own file without
				 * the lock. */
				if (errno != ENOENT && rc == CLEANUP_DONE)
					rc = CLEANUP_SOME_LEFT;
			} else if (!S_ISREG(st.st_mode))
				rc = CLEANUP_REFUSED;
			else if (unlinkat(dir_fd, entry->d_name, 0) == 0)
				(*removed)++;
			else if (errno != ENOENT && rc == CLEANUP_DONE)
				rc = CLEANUP_SOME_LEFT;
		}
	closedir(dir);
	return rc;
}

/*
 * As the user: the ending step's own file, then the job's sweep once no
 * slurmstepd of the job holds the directory (else nothing more to do): its
 * regular files, then the directory.  One holding anything else is
 * renamed <name>.refused, so that later sweeps pass it by; the boot's
 * tmpfiles rule removes it.
 */
static int sweep_as_user(const struct cleanup *c, unsigned *removed)
{
	char dir_name[64], refused[80];
	int base_fd, dir_fd, rc = CLEANUP_DONE;

	*removed = 0;
	az_files_job_dir_name(c->uid, c->job_id, dir_name, sizeof(dir_name));
	base_fd = open(c->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0)
		return CLEANUP_DONE;
	dir_fd = open_job_dir(base_fd, dir_name, c->uid);
	if (dir_fd < 0) {
		close(base_fd);
		return errno == ENOENT ? CLEANUP_DONE : CLEANUP_REFUSED;
	}
	if (c->file_name && unlinkat(dir_fd, c->file_name, 0) != 0 && errno != ENOENT)
		rc = CLEANUP_SOME_LEFT;
	/* Without the exclusive lock a step of the job still runs here. */
	if (rc == CLEANUP_DONE && flock(dir_fd, LOCK_EX | LOCK_NB) == 0) {
		rc = remove_regular_files(dir_fd, removed);
		snprintf(refused, sizeof(refused), "%s.refused", dir_name);
		if (rc == CLEANUP_REFUSED)
			renameat(base_fd, dir_name, base_fd, refused);
		else if (unlinkat(base_fd, dir_name, AT_REMOVEDIR) != 0 && rc == CLEANUP_DONE)
			rc = CLEANUP_SOME_LEFT;
	}
	close(dir_fd);
	close(base_fd);
	return rc;
}

/* The clean-up with the user's credentials in this thread; *removed: the
 * files the sweep removed besides the step's own. */
static int cleanup_as_user(const struct cleanup *c, gid_t gid, unsigned *removed)
{
	struct root_creds saved;
	int rc = CLEANUP_NOT_USER;

	*removed = 0;
	if (become_user(c->uid, gid, &saved))
		rc = sweep_as_user(c, removed);
	restore_root(&saved);
	return rc;
}

/* The clean-up as the user, then its outcome in the slurmd log: the files
 * other steps left at debug level, a refusal or failure as an error. */
static void cleanup_and_log(const struct cleanup *c, gid_t gid)
{
	struct timespec start, end;
	char dir[64];
	unsigned removed;
	int status;

	az_files_job_dir_name(c->uid, c->job_id, dir, sizeof(dir));
	clock_gettime(CLOCK_MONOTONIC, &start);
	status = cleanup_as_user(c, gid, &removed);
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (removed > 0)
		slurm_debug(AZ_LOG_PREFIX "job %u: swept %u file%s in %.3f ms", c->job_id, removed,
			    removed == 1 ? "" : "s",
			    az_ms_between(&start, &end));
	if (status == CLEANUP_REFUSED)
		slurm_error(AZ_LOG_PREFIX "job %u: left %s/%s or part of it alone (renamed *.refused): not the user's 0700 directory, or holding something other than regular files",
			    c->job_id, c->base, dir);
	else if (status != CLEANUP_DONE)
		slurm_error(AZ_LOG_PREFIX "job %u: activation files under %s/%s not removed (status %d)",
			    c->job_id, c->base, dir, status);
}

int az_files_write_step(const char *base, uid_t uid, gid_t gid, uint32_t job_id,
			const char *step_name, uint32_t node_id, const char *json,
			char **path_out, int *lock_fd, char why[AZ_FILES_WHY_MAX])
{
	char file_name[64];

	*path_out = NULL;
	*lock_fd = -1;
	why_text[0] = '\0';
	step_file_name(step_name, node_id, file_name, sizeof(file_name));
	if (geteuid() != uid || getegid() != gid)
		warn_no_file("slurmstepd's user_init does not run as the job's user (effective uid %u, not %u)",
			     (unsigned)geteuid(), (unsigned)uid);
	else if ((*lock_fd = write_as_user(base, uid, job_id, file_name, json)) >= 0 &&
		 asprintf(path_out, "%s/autozyme.%u.%u/%s", base, (unsigned)uid, job_id,
			  file_name) < 0) {
		*path_out = NULL;
		warn_no_file("out of memory");
	}
	if (!*path_out && *lock_fd >= 0) {
		close(*lock_fd);
		*lock_fd = -1;
	}
	snprintf(why, AZ_FILES_WHY_MAX, "%s", why_text);
	return *path_out ? 0 : -1;
}

void az_files_remove_step(const char *base, uid_t uid, gid_t gid, uint32_t job_id,
			  const char *step_name, uint32_t node_id, int lock_fd)
{
	char file_name[64];
	struct cleanup c = { .base = base, .uid = uid, .job_id = job_id, .file_name = file_name };

	/* The step's lock goes first: the sweep below needs no step of the job left. */
	if (lock_fd >= 0)
		close(lock_fd);
	step_file_name(step_name, node_id, file_name, sizeof(file_name));
	cleanup_and_log(&c, gid);
}

void az_files_sweep_job(const char *base, uid_t uid, gid_t gid, uint32_t job_id)
{
	struct cleanup c = { .base = base, .uid = uid, .job_id = job_id };

	cleanup_and_log(&c, gid);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node's sweep, at the end of every step (slurmstepd, as root): the job
 * directories in activation_dir that no slurmstepd holds locked any more
 * (activation_files.c) are what killed slurmstepds left; each is swept with its
 * owner's credentials (activation_files.c).  As root, this only lists activation_dir
 * and stats its entries without following them, reads /proc/locks, and
 * opens nothing a user controls.  No job epilog: slurmd would start one more slurmstepd at
 * every job's end on every node for it.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <stdbool.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "activation_files.h"
#include "log.h"
#include "sweep.h"

/* A job directory of activation_dir. */
struct job_dir {
	uid_t uid;
	gid_t gid;
	uint32_t job_id;
	dev_t dev;
	ino_t ino;
	bool locked;
};

/* "autozyme.<uid>.<job>" exactly, as activation_files.c names them (read back and
 * named again, so no other spelling of the numbers passes). */
static bool parse_job_dir_name(const char *name, uid_t *uid, uint32_t *job_id)
{
	unsigned u, j;
	char again[64];

	if (sscanf(name, "autozyme.%u.%u", &u, &j) != 2)
		return false;
	az_files_job_dir_name(u, j, again, sizeof(again));
	if (strcmp(again, name) != 0)
		return false;
	*uid = u;
	*job_id = j;
	return true;
}

/* The entry, if it is a directory of the uid it is named for, mode 0700. */
static bool stat_job_dir(int base_fd, const char *name, struct job_dir *out)
{
	struct stat st;

	if (!parse_job_dir_name(name, &out->uid, &out->job_id) ||
	    fstatat(base_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != out->uid || (st.st_mode & 077) != 0)
		return false;
	out->gid = st.st_gid;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->locked = false;
	return true;
}

/* Every job directory of activation_dir; -1 if it cannot be read. */
static int list_job_dirs(const char *base, struct job_dir **out, size_t *count)
{
	struct job_dir *dirs = NULL, *grown, one;
	size_t n = 0, cap = 0;
	struct dirent *entry;
	DIR *dir = opendir(base);

	if (!dir)
		return -1;
	while ((entry = readdir(dir)))
		if (stat_job_dir(dirfd(dir), entry->d_name, &one)) {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				if (!(grown = realloc(dirs, cap * sizeof(*dirs))))
					break;
				dirs = grown;
			}
			dirs[n++] = one;
		}
	closedir(dir);
	*out = dirs;
	*count = n;
	return 0;
}

/* Marks the directories some process holds a flock(2) on: /proc/locks
 * lines read "N: FLOCK ADVISORY READ PID MAJ:MIN:INODE START END". */
static void mark_locked(struct job_dir *dirs, size_t count)
{
	char line[256], kind[16];
	unsigned maj, min;
	unsigned long ino;
	FILE *locks = fopen("/proc/locks", "re");
	size_t i;

	if (!locks)
		return;
	while (fgets(line, sizeof(line), locks))
		if (sscanf(line, "%*[^:]: %15s %*s %*s %*s %x:%x:%lu", kind, &maj, &min, &ino) == 4 &&
		    strcmp(kind, "FLOCK") == 0)
			for (i = 0; i < count; i++)
				if (dirs[i].ino == ino && major(dirs[i].dev) == maj &&
				    minor(dirs[i].dev) == min)
					dirs[i].locked = true;
	fclose(locks);
}

void az_sweep_stale(const char *base)
{
	struct job_dir *dirs = NULL;
	size_t count = 0, i;

	if (list_job_dirs(base, &dirs, &count) != 0 || count == 0)
		goto out;
	mark_locked(dirs, count);
	/* The sweep takes the lock itself before it removes anything: a
	 * directory a step took since /proc/locks was read stays. */
	for (i = 0; i < count; i++)
		if (!dirs[i].locked)
			az_files_sweep_job(base, dirs[i].uid, dirs[i].gid, dirs[i].job_id);
out:
	free(dirs);
}

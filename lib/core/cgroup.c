/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cgroup CPU quota of a process: the smallest quota over its cgroup and
 * every ancestor, in the v1 cpu hierarchy (cpu.cfs_quota_us over
 * cpu.cfs_period_us) and in the v2 hierarchy (cpu.max).
 *
 * <proc>/cgroup gives the process's path in each hierarchy and
 * <proc>/mountinfo where each hierarchy is mounted.  Both hierarchies are
 * examined: on hybrid systems the cpu controller lives in v1 while v2 is
 * mounted too, and a missing control file simply means no quota there.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Kernel files are tiny; these caps only stop a hostile or broken input. */
#define CONTROL_FILE_MAX 4096
#define CGROUP_FILE_MAX (64 * 1024)
#define MOUNTINFO_MAX (1024 * 1024)

/* One hierarchy: the process's cgroup in it and where it is mounted. */
struct hierarchy {
	const char *path;  /* from <proc>/cgroup; NULL when absent */
	const char *root;  /* the mount's root inside the hierarchy */
	const char *point; /* the mount point; NULL when not mounted */
	bool path_under_root;
};

struct hierarchies {
	struct hierarchy v1_cpu;
	struct hierarchy v2;
};

/* The quota, in CPUs, set in one cgroup directory; 0 when none. */
typedef az_status (*level_reader)(const char *dir, double *cpus,
				  az_error *err);

/*
 * Read all of `path` into a fresh buffer of at most `limit` bytes.
 * A missing file gives AZ_ERR_NOT_FOUND and leaves err alone: to most
 * callers it is normal, not an error worth a message.
 */
static az_status read_file(const char *path, size_t limit, char **text,
			   size_t *len, az_error *err)
{
	az_status status;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return AZ_ERR_NOT_FOUND;
	if (fd < 0)
		return azi_fail(err, AZ_ERR_IO, "%s: cannot open: %s", path,
				strerror(errno));
	status = azi_read_all(fd, path, limit, text, len, err);
	close(fd);
	return status;
}

/* dir/name into path (PATH_MAX bytes). */
static az_status join_path(char *path, const char *dir, const char *name,
			   az_error *err)
{
	if (snprintf(path, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return azi_fail(err, AZ_ERR_TOO_LARGE,
				"%s: path longer than %d bytes", dir, PATH_MAX);
	return AZ_OK;
}

/* Unsigned decimal digits at p (no sign, no blank); the end, or NULL. */
static const char *scan_usec(const char *p, unsigned long long *out)
{
	char *end;

	if (!isdigit((unsigned char)*p))
		return NULL;
	errno = 0;
	*out = strtoull(p, &end, 10);
	return errno == 0 ? end : NULL;
}

/* Kernel control files end with one newline; nothing may follow. */
static bool at_end(const char *p)
{
	return p && (strcmp(p, "\n") == 0 || *p == '\0');
}

/*
 * A control file of `dir` into buf (CONTROL_FILE_MAX + 1 bytes); *present is
 * false when it is missing.  Copying into the caller's buffer spares the
 * parsers a free() on each of their returns.
 */
static az_status read_control(const char *dir, const char *name, char *buf,
			      char *path, bool *present, az_error *err)
{
	char *text = NULL;
	size_t len = 0;
	az_status status = join_path(path, dir, name, err);

	if (status == AZ_OK)
		status = read_file(path, CONTROL_FILE_MAX, &text, &len, err);
	*present = status == AZ_OK;
	if (*present)
		memcpy(buf, text, len + 1);
	free(text);
	return status == AZ_ERR_NOT_FOUND ? AZ_OK : status;
}

/* v2: cpu.max holds "max PERIOD" (no quota) or "QUOTA PERIOD". */
static az_status read_cpu_max(const char *dir, double *cpus, az_error *err)
{
	char buf[CONTROL_FILE_MAX + 1], path[PATH_MAX];
	unsigned long long quota = 0, period = 0;
	bool present, unlimited;
	const char *p;
	az_status status = read_control(dir, "cpu.max", buf, path, &present, err);

	if (status != AZ_OK || !present)
		return status;
	unlimited = strncmp(buf, "max ", 4) == 0;
	p = unlimited ? buf + 3 : scan_usec(buf, &quota);
	p = p && *p == ' ' ? scan_usec(p + 1, &period) : NULL;
	if (!at_end(p) || period == 0 || (!unlimited && quota == 0))
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: expected \"max PERIOD\" or \"QUOTA PERIOD\" (microseconds, both > 0)",
				path);
	*cpus = unlimited ? 0 : (double)quota / (double)period;
	return AZ_OK;
}

/* v1: cpu.cfs_quota_us is -1 (no quota) or QUOTA; cpu.cfs_period_us PERIOD. */
static az_status read_cfs(const char *dir, double *cpus, az_error *err)
{
	char buf[CONTROL_FILE_MAX + 1], path[PATH_MAX];
	unsigned long long quota = 0, period = 0;
	bool present;
	az_status status;

	status = read_control(dir, "cpu.cfs_quota_us", buf, path, &present, err);
	if (status != AZ_OK || !present)
		return status;
	if (strncmp(buf, "-1", 2) == 0 && at_end(buf + 2))
		return AZ_OK; /* no quota */
	if (!at_end(scan_usec(buf, &quota)) || quota == 0)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: expected -1 or a quota in microseconds > 0", path);
	status = read_control(dir, "cpu.cfs_period_us", buf, path, &present, err);
	if (status != AZ_OK || !present)
		return status;
	if (!at_end(scan_usec(buf, &period)) || period == 0)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: expected a period in microseconds > 0", path);
	*cpus = (double)quota / (double)period;
	return AZ_OK;
}

/* Read each level from `dir` up to its first top_len bytes (the mount
 * point), keeping the smallest quota in *smallest. */
static az_status walk_up(char *dir, size_t top_len, level_reader read_level,
			 double *smallest, az_error *err)
{
	for (;;) {
		double cpus = 0;
		az_status status = read_level(dir, &cpus, err);

		if (status != AZ_OK)
			return status;
		if (cpus > 0 && (*smallest == 0 || cpus < *smallest))
			*smallest = cpus;
		if (strlen(dir) <= top_len)
			return AZ_OK;
		*strrchr(dir, '/') = '\0';
	}
}

/* True when a component of `rel` is "..", which would leave the mount. */
static bool climbs_out(const char *rel)
{
	const char *p;

	for (p = strstr(rel, "/.."); p; p = strstr(p + 1, "/.."))
		if (p[3] == '/' || p[3] == '\0')
			return true;
	return false;
}

/* The part of `path` below `root` ("" for root itself); NULL when the path
 * is not under root, as seen from inside a cgroup namespace. */
static const char *path_below(const char *path, const char *root)
{
	size_t n = strlen(root);

	while (n > 0 && root[n - 1] == '/')
		n--;
	if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return NULL;
	path += n;
	if (climbs_out(path))
		return NULL;
	return strcmp(path, "/") == 0 ? "" : path;
}

/* The directory of the process's cgroup, then the walk to the mount. */
static az_status quota_in(const struct hierarchy *h, level_reader read_level,
			  double *smallest, az_error *err)
{
	char dir[PATH_MAX];
	const char *rel = path_below(h->path, h->root);

	if (!rel)
		rel = "";
	if (snprintf(dir, sizeof(dir), "%s%s", h->point, rel) >= (int)sizeof(dir))
		return azi_fail(err, AZ_ERR_TOO_LARGE,
				"%s: cgroup path longer than %d bytes", h->point,
				PATH_MAX);
	return walk_up(dir, strlen(h->point), read_level, smallest, err);
}

/* <proc>/cgroup lines "ID:CONTROLLERS:PATH": v2 is "0::PATH". */
static void parse_cgroup_file(char *text, struct hierarchies *hs)
{
	char *save = NULL, *line, *controllers, *path;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		controllers = strchr(line, ':');
		path = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!path || path[1] != '/')
			continue;
		*controllers++ = '\0';
		*path++ = '\0';
		if (strcmp(line, "0") == 0 && *controllers == '\0')
			hs->v2.path = path;
		else if (az_list_has(controllers, "cpu"))
			hs->v1_cpu.path = path;
	}
}

/* mountinfo escapes blanks and backslashes as \ooo; decode in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++, out++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*out = *s;
		}
	}
	*out = '\0';
}

/* Keep the first mount of a hierarchy, unless a later one has the
 * process's cgroup under its root and the kept one has not. */
static void consider_mount(struct hierarchy *h, char *root, char *point)
{
	bool under;

	if (!h->path)
		return;
	unescape_octal(root);
	unescape_octal(point);
	under = path_below(h->path, root) != NULL;
	if (h->point && (h->path_under_root || !under))
		return;
	h->root = root;
	h->point = point;
	h->path_under_root = under;
}

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS...] - FSTYPE
 * SOURCE SUPEROPTS"; cgroup mounts are matched to their hierarchy. */
static void parse_mount_line(char *line, struct hierarchies *hs)
{
	char *save = NULL, *field[6], *fstype, *source, *superopts;
	int i;

	for (i = 0; i < 6; i++)
		if (!(field[i] = strtok_r(i ? NULL : line, " ", &save)))
			return;
	while ((fstype = strtok_r(NULL, " ", &save)) && strcmp(fstype, "-") != 0)
		continue;
	fstype = strtok_r(NULL, " ", &save);
	source = strtok_r(NULL, " ", &save);
	superopts = strtok_r(NULL, " ", &save);
	if (!fstype || !source || !superopts)
		return;
	if (strcmp(fstype, "cgroup2") == 0)
		consider_mount(&hs->v2, field[3], field[4]);
	else if (strcmp(fstype, "cgroup") == 0 && az_list_has(superopts, "cpu"))
		consider_mount(&hs->v1_cpu, field[3], field[4]);
}

static void parse_mountinfo(char *text, struct hierarchies *hs)
{
	char *save = NULL, *line;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		parse_mount_line(line, hs);
}

/* Read <proc_dir>/<name> into a fresh buffer of at most `limit` bytes. */
static az_status read_proc_file(const char *proc_dir, const char *name,
				size_t limit, char **text, az_error *err)
{
	char path[PATH_MAX];
	az_status status = join_path(path, proc_dir, name, err);

	if (status != AZ_OK)
		return status;
	return read_file(path, limit, text, NULL, err);
}

/* Both hierarchies located, the smallest quota over them both. */
static az_status quota_of(const struct hierarchies *hs, double *cpus,
			  az_error *err)
{
	double smallest = 0;
	az_status status = AZ_OK;

	if (hs->v1_cpu.point)
		status = quota_in(&hs->v1_cpu, read_cfs, &smallest, err);
	if (status == AZ_OK && hs->v2.point)
		status = quota_in(&hs->v2, read_cpu_max, &smallest, err);
	if (status == AZ_OK)
		*cpus = smallest;
	return status;
}

az_status az_cgroup_quota(const char *proc_dir, double *cpus, az_error *err)
{
	struct hierarchies hs = { 0 };
	char *cgroups = NULL, *mounts = NULL;
	az_status status;

	if (!proc_dir || !cpus)
		return azi_fail(err, AZ_ERR_INVALID,
				"cgroup quota: expected a proc directory such as /proc/self and an output");
	status = read_proc_file(proc_dir, "cgroup", CGROUP_FILE_MAX, &cgroups, err);
	if (status == AZ_ERR_NOT_FOUND) {
		/* Not Linux, or no cgroups: no quota can apply. */
		*cpus = 0;
		return AZ_OK;
	}
	if (status == AZ_OK)
		status = read_proc_file(proc_dir, "mountinfo", MOUNTINFO_MAX,
					&mounts, err);
	if (status == AZ_ERR_NOT_FOUND)
		azi_fail(err, status, "%s/mountinfo: no such file", proc_dir);
	if (status == AZ_OK) {
		parse_cgroup_file(cgroups, &hs);
		parse_mountinfo(mounts, &hs);
		status = quota_of(&hs, cpus, err);
	}
	free(cgroups);
	free(mounts);
	return status;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * az_cgroup_quota on fake proc and cgroup trees.  mountinfo holds absolute
 * mount points, so each test builds its tree at run time in a fresh
 * temporary directory: <tmp>/proc/{cgroup,mountinfo} and <tmp>/fs, the
 * cgroup file system "mounted" there.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "azcore.h"

#include "scratch.h"

static char tmp[SCRATCH_MAX];

static void make_tree(void)
{
	scratch_make(tmp, sizeof(tmp), "cgroup");
}

static void remove_tree(void)
{
	scratch_remove(tmp);
}

TestSuite(cgroup, .init = make_tree, .fini = remove_tree);

/* mkdir -p for the parents of <tmp>/rel. */
static void make_parents(char *path)
{
	char *slash;

	for (slash = strchr(path + strlen(tmp) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
}

/* Write <tmp>/rel; the content is a printf format. */
static void put(const char *rel, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	make_parents(path);
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* A proc dir whose only cgroup mount is <tmp>/fs, of `fstype` with
 * `superopts`, whose root inside the hierarchy is `mount_root`. */
static void put_proc(const char *cgroup_line, const char *mount_root,
		     const char *fstype, const char *superopts)
{
	put("proc/cgroup", "%s\n", cgroup_line);
	put("proc/mountinfo",
	    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	    "31 22 0:26 %s %s/fs rw,nosuid shared:9 - %s cgroup %s\n"
	    "40 22 0:30 / /tmp rw master:2 - tmpfs tmpfs rw,size=1024k\n",
	    mount_root, tmp, fstype, superopts);
}

static void put_v2(const char *cgroup_path)
{
	char line[256];

	snprintf(line, sizeof(line), "0::%s", cgroup_path);
	put_proc(line, "/", "cgroup2", "rw,nsdelegate");
}

static az_status quota(double *cpus, az_error *err)
{
	char proc[PATH_MAX];

	snprintf(proc, sizeof(proc), "%s/proc", tmp);
	*cpus = -1;
	return az_cgroup_quota(proc, cpus, err);
}

static void expect_quota(double expected)
{
	double cpus;
	az_error err = { "" };

	cr_assert_eq(quota(&cpus, &err), AZ_OK, "%s", err.message);
	cr_expect_float_eq(cpus, expected, 1e-9, "quota %g, expected %g", cpus,
			   expected);
	cr_expect_str_empty(err.message, "message on success: %s", err.message);
}

Test(cgroup, v2_quota_at_the_leaf)
{
	put_v2("/job_1/step_0");
	put("fs/job_1/step_0/cpu.max", "150000 100000\n");
	put("fs/job_1/cpu.max", "max 100000\n");
	expect_quota(1.5);
}

Test(cgroup, v2_smaller_quota_at_an_ancestor_wins)
{
	put_v2("/job_1/step_0/task_0");
	put("fs/job_1/step_0/task_0/cpu.max", "400000 100000\n");
	put("fs/job_1/step_0/cpu.max", "max 100000\n");
	put("fs/job_1/cpu.max", "50000 20000\n");
	put("fs/cpu.max", "800000 100000\n");
	expect_quota(2.5);
}

Test(cgroup, v2_max_everywhere_is_no_quota)
{
	put_v2("/a/b");
	put("fs/a/b/cpu.max", "max 100000\n");
	put("fs/a/cpu.max", "max 100000\n");
	expect_quota(0);
}

Test(cgroup, v2_root_cgroup_without_cpu_max)
{
	put_v2("/");
	put("fs/cgroup.controllers", "cpu memory\n");
	expect_quota(0);
}

/* A v1 mount whose root is the job's cgroup, as in a container. */
Test(cgroup, v1_quota_over_period_below_a_mount_root)
{
	put_proc("4:cpu,cpuacct:/slurm/uid_1/job_2", "/slurm", "cgroup",
		 "rw,cpu,cpuacct");
	put("fs/uid_1/job_2/cpu.cfs_quota_us", "250000\n");
	put("fs/uid_1/job_2/cpu.cfs_period_us", "100000\n");
	put("fs/uid_1/cpu.cfs_quota_us", "-1\n");
	put("fs/uid_1/cpu.cfs_period_us", "100000\n");
	put("fs/cpu.cfs_quota_us", "300000\n");
	put("fs/cpu.cfs_period_us", "50000\n");
	expect_quota(2.5);
}

Test(cgroup, v1_minus_one_is_no_quota)
{
	put_proc("2:cpu:/user", "/", "cgroup", "rw,cpu");
	put("fs/user/cpu.cfs_quota_us", "-1\n");
	put("fs/user/cpu.cfs_period_us", "100000\n");
	put("fs/cpu.cfs_quota_us", "-1\n");
	put("fs/cpu.cfs_period_us", "100000\n");
	expect_quota(0);
}

/* cpuacct is not cpu: its path is not the cpu hierarchy's. */
Test(cgroup, v1_other_controllers_are_ignored)
{
	put("proc/cgroup", "2:cpu:/\n3:cpuacct:/x\n");
	put("proc/mountinfo",
	    "32 22 0:27 / %s/acct rw - cgroup cgroup rw,cpuacct\n"
	    "31 22 0:26 / %s/fs rw - cgroup cgroup rw,cpu\n", tmp, tmp);
	put("fs/cpu.cfs_quota_us", "-1\n");
	put("fs/x/cpu.cfs_quota_us", "100000\n");
	put("fs/x/cpu.cfs_period_us", "100000\n");
	put("acct/cpu.cfs_quota_us", "100000\n");
	put("acct/cpu.cfs_period_us", "100000\n");
	expect_quota(0);
}

/* Hybrid systems: v1 cpu hierarchy and v2 both mounted; smallest wins. */
Test(cgroup, hybrid_smallest_over_both_hierarchies)
{
	put("proc/cgroup", "2:cpu,cpuacct:/a\n1:name=systemd:/a\n0::/a\n");
	put("proc/mountinfo",
	    "31 22 0:26 / %s/v1 rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "32 22 0:27 / %s/v2 rw - cgroup2 cgroup2 rw\n", tmp, tmp);
	put("v1/a/cpu.cfs_quota_us", "300000\n");
	put("v1/a/cpu.cfs_period_us", "100000\n");
	put("v2/a/cpu.max", "200000 100000\n");
	expect_quota(2);
}

/* In a cgroup namespace the path may lie outside the mount's root: the
 * mount point itself is then the process's cgroup. */
Test(cgroup, path_outside_mount_root_uses_the_mount_point)
{
	put_proc("0::/../other", "/kubepods/pod1", "cgroup2", "rw");
	put("fs/cpu.max", "50000 100000\n");
	expect_quota(0.5);
}

Test(cgroup, mount_root_matches_whole_components_only)
{
	put_proc("0::/a/bc", "/a/b", "cgroup2", "rw");
	put("fs/cpu.max", "300000 100000\n");
	put("fs/c/cpu.max", "100000 100000\n");
	expect_quota(3);
}

/* ".." in the path would leave the mount: the mount point is used. */
Test(cgroup, path_climbing_out_uses_the_mount_point)
{
	put_v2("/../x");
	put("x/cpu.max", "100000 100000\n");
	put("fs/cpu.max", "300000 100000\n");
	expect_quota(3);
}

/* Of two mounts of one hierarchy, the one holding the process's cgroup. */
Test(cgroup, mount_holding_the_cgroup_is_preferred)
{
	put("proc/cgroup", "0::/job\n");
	put("proc/mountinfo",
	    "31 22 0:26 /kubepods %s/ns rw - cgroup2 cgroup2 rw\n"
	    "32 22 0:26 / %s/fs rw - cgroup2 cgroup2 rw\n", tmp, tmp);
	put("ns/cpu.max", "100000 100000\n");
	put("fs/job/cpu.max", "200000 100000\n");
	expect_quota(2);
}

Test(cgroup, escaped_mount_point)
{
	put("proc/cgroup", "0::/j\n");
	put("proc/mountinfo",
	    "31 22 0:26 / %s/my\\040fs rw - cgroup2 cgroup2 rw\n", tmp);
	put("my fs/j/cpu.max", "120000 100000\n");
	expect_quota(1.2);
}

static void expect_invalid(const char *file, const char *form)
{
	double cpus;
	az_error err = { "" };
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmp, file);
	cr_assert_eq(quota(&cpus, &err), AZ_ERR_INVALID, "%s", err.message);
	cr_expect(strstr(err.message, path) != NULL, "no file in: %s",
		  err.message);
	cr_expect(strstr(err.message, form) != NULL, "no form in: %s",
		  err.message);
}

Test(cgroup, malformed_cpu_max_names_the_file)
{
	put_v2("/a");
	put("fs/a/cpu.max", "abc 100000\n");
	expect_invalid("fs/a/cpu.max", "\"QUOTA PERIOD\"");
}

Test(cgroup, trailing_text_in_cpu_max_is_refused)
{
	put_v2("/a");
	put("fs/a/cpu.max", "max 100000 7\n");
	expect_invalid("fs/a/cpu.max", "\"max PERIOD\"");
}

Test(cgroup, v2_period_zero_is_refused)
{
	put_v2("/a");
	put("fs/a/cpu.max", "max 100000\n");
	put("fs/cpu.max", "100000 0\n");
	expect_invalid("fs/cpu.max", "> 0");
}

Test(cgroup, v1_period_zero_is_refused)
{
	put_proc("2:cpu:/a", "/", "cgroup", "rw,cpu");
	put("fs/a/cpu.cfs_quota_us", "100000\n");
	put("fs/a/cpu.cfs_period_us", "0\n");
	expect_invalid("fs/a/cpu.cfs_period_us", "period in microseconds > 0");
}

Test(cgroup, v1_negative_quota_other_than_minus_one_is_refused)
{
	put_proc("2:cpu:/a", "/", "cgroup", "rw,cpu");
	put("fs/a/cpu.cfs_quota_us", "-5\n");
	put("fs/a/cpu.cfs_period_us", "100000\n");
	expect_invalid("fs/a/cpu.cfs_quota_us", "-1 or a quota");
}

Test(cgroup, missing_proc_cgroup_file_is_no_quota)
{
	expect_quota(0);
}

Test(cgroup, missing_mountinfo_is_an_error)
{
	double cpus;
	az_error err = { "" };

	put("proc/cgroup", "0::/\n");
	cr_expect_eq(quota(&cpus, &err), AZ_ERR_NOT_FOUND, "%s", err.message);
	cr_expect(strstr(err.message, "proc/mountinfo") != NULL, "%s",
		  err.message);
}

Test(cgroup, oversized_mountinfo_is_refused)
{
	char *big = malloc(2 * 1024 * 1024);
	double cpus;
	az_error err = { "" };

	cr_assert_not_null(big);
	memset(big, 'x', 2 * 1024 * 1024 - 1);
	big[2 * 1024 * 1024 - 1] = '\0';
	put("proc/cgroup", "0::/\n");
	put("proc/mountinfo", "%s", big);
	free(big);
	cr_expect_eq(quota(&cpus, &err), AZ_ERR_TOO_LARGE, "%s", err.message);
	cr_expect(strstr(err.message, "mountinfo") != NULL, "%s", err.message);
}

Test(cgroup, null_proc_dir_is_refused)
{
	double cpus;

	cr_expect_eq(az_cgroup_quota(NULL, &cpus, NULL), AZ_ERR_INVALID);
}

/* This machine's own cgroups: whatever they hold, they must parse. */
Test(cgroup_real, proc_self)
{
	double cpus = -1;
	az_error err = { "" };

	cr_assert_eq(az_cgroup_quota("/proc/self", &cpus, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_geq(cpus, 0);
}

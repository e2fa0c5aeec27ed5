/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <hwloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "azcore.h"
#include "mapped.h"

static az_topology *topo;

static void load_topology(void)
{
	az_error err = { "" };

	cr_assert_eq(az_topology_load(&topo, &err), AZ_OK, "%s", err.message);
	cr_assert_not_null(topo);
}

static void free_topology(void)
{
	az_topology_free(topo);
	topo = NULL;
}

TestSuite(cpus, .init = load_topology, .fini = free_topology);

/* The affinity mask as hwloc prints a list: "0-3,8". */
static void affinity_list(const cpu_set_t *set, char *buf, size_t len)
{
	int cpu, first;
	size_t used = 0;

	buf[0] = '\0';
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, set))
			continue;
		for (first = cpu; cpu + 1 < CPU_SETSIZE && CPU_ISSET(cpu + 1, set);)
			cpu++;
		used += (size_t)snprintf(buf + used, len - used,
					 first == cpu ? "%s%d" : "%s%d-%d",
					 used ? "," : "", first, cpu);
		cr_assert_lt(used, len, "affinity list too long for the test");
	}
}

/* The cores the kernel reports for the CPUs in `set`: distinct sibling
 * lists in sysfs, one per core.  0 when sysfs does not say. */
static unsigned sysfs_cores(const cpu_set_t *set)
{
	char seen[CPU_SETSIZE][64];
	unsigned cores = 0, i;
	int cpu;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		char path[128], siblings[64] = "";
		FILE *f;

		if (!CPU_ISSET(cpu, set))
			continue;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
		if (!(f = fopen(path, "r")))
			return 0;
		if (!fgets(siblings, sizeof(siblings), f))
			siblings[0] = '\0';
		fclose(f);
		for (i = 0; i < cores && strcmp(seen[i], siblings) != 0; i++)
			;
		if (i == cores)
			snprintf(seen[cores++], sizeof(seen[0]), "%s", siblings);
	}
	return cores;
}

/* The topology keeps cores although it skips every other level. */
Test(cpus, cores_match_sysfs)
{
	cpu_set_t set;
	az_cpus cpus;
	az_error err = { "" };
	unsigned expected;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	expected = sysfs_cores(&set);
	if (expected == 0)
		cr_skip_test("sysfs has no CPU topology here");
	cr_assert_eq(az_cpus_current(topo, &cpus, &err), AZ_OK, "%s", err.message);
	cr_expect_eq(cpus.cores, expected);
	az_cpus_release(&cpus);
}

Test(cpus, current_matches_sched_affinity)
{
	cpu_set_t set;
	char expected[4096];
	az_cpus cpus;
	az_error err = { "" };

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	affinity_list(&set, expected, sizeof(expected));
	cr_assert_eq(az_cpus_current(topo, &cpus, &err), AZ_OK, "%s", err.message);
	cr_expect_eq(cpus.pus, (unsigned)CPU_COUNT(&set));
	cr_assert_not_null(cpus.list);
	cr_expect_str_not_empty(cpus.list);
	cr_expect_str_eq(cpus.list, expected);
	cr_expect_geq(cpus.pus, cpus.cores);
	cr_expect_geq(cpus.cores, 1);
	az_cpus_release(&cpus);
}

/* The task's and the runtime's read without a topology: the same PUs and
 * list, cores unknown. */
Test(cpus, affinity_matches_the_topology_count)
{
	az_cpus with = { 0 }, without = { 0 };
	az_error err = { "" };

	cr_assert_eq(az_cpus_current(topo, &with, &err), AZ_OK, "%s", err.message);
	cr_assert_eq(az_cpus_affinity(&without, &err), AZ_OK, "%s", err.message);
	cr_expect_eq(without.pus, with.pus);
	cr_expect_str_eq(without.list, with.list);
	cr_expect_eq(without.cores, 0);
	cr_expect_eq(az_cpus_affinity(NULL, &err), AZ_ERR_INVALID);
	az_cpus_release(&with);
	az_cpus_release(&without);
}

Test(cpus, release_frees_and_zeroes)
{
	az_cpus cpus;

	cr_assert_eq(az_cpus_current(topo, &cpus, NULL), AZ_OK);
	az_cpus_release(&cpus);
	cr_expect_null(cpus.list);
	cr_expect_eq(cpus.pus, 0);
	cr_expect_eq(cpus.cores, 0);
	az_cpus_release(&cpus);
	az_cpus_release(NULL);
	az_topology_free(NULL);
}

Test(cpus, no_topology_is_refused)
{
	az_cpus cpus;
	az_error err = { "" };

	cr_expect_eq(az_cpus_current(NULL, &cpus, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "topology") != NULL, "%s", err.message);
}

static int first_allowed_cpu(void)
{
	cpu_set_t set;
	int cpu;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	cr_assert_fail("no CPU in the affinity mask");
	return -1;
}

/* In the child: optionally become "nobody" as slurmstepd's tasks become
 * the user, pin to `cpu`, then count with the parent's topology.
 * The exit code says which check failed. */
static int child_counts_one_cpu(int cpu, bool drop_root)
{
	cpu_set_t one;
	az_cpus cpus;
	char expected[16];
	int result = 0;

	if (drop_root && (setgid(65534) != 0 || setuid(65534) != 0))
		return 15;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		return 10;
	if (az_cpus_current(topo, &cpus, NULL) != AZ_OK)
		return 11;
	snprintf(expected, sizeof(expected), "%d", cpu);
	if (cpus.pus != 1)
		result = 12;
	else if (cpus.cores != 1)
		result = 13;
	else if (strcmp(cpus.list, expected) != 0)
		result = 14;
	az_cpus_release(&cpus);
	return result;
}

/* Fork a child that runs child_counts_one_cpu; its checks must pass. */
static void expect_child_counts_one_cpu(bool drop_root)
{
	int cpu = first_allowed_cpu(), status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork failed");
	if (pid == 0)
		_exit(child_counts_one_cpu(cpu, drop_root));
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "child did not exit normally");
	cr_expect_eq(WEXITSTATUS(status), 0,
		     "child check %d failed (10 setaffinity, 11 az_cpus_current, "
		     "12 pus != 1, 13 cores != 1, 14 list != \"%d\", 15 setuid)",
		     WEXITSTATUS(status), cpu);
}

/* The plugin loads the topology once in slurmstepd, then counts in each
 * forked task: the child must see its own binding, not the parent's. */
Test(cpus, forked_child_uses_parents_topology)
{
	expect_child_counts_one_cpu(false);
}

/* ... and the task has already become the user by then. */
Test(cpus, forked_child_after_setuid)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to drop privileges");
	expect_child_counts_one_cpu(true);
}

/* Run by taskset_one_cpu.sh under `taskset -c 0`. */
Test(taskset, one_cpu, .init = load_topology, .fini = free_topology)
{
	const char *expect = getenv("AZ_EXPECT_ONE_CPU");
	az_cpus cpus;
	az_error err = { "" };

	if (!expect || strcmp(expect, "1") != 0)
		cr_skip_test("only under taskset_one_cpu.sh (AZ_EXPECT_ONE_CPU=1)");
	cr_assert_eq(az_cpus_current(topo, &cpus, &err), AZ_OK, "%s", err.message);
	cr_expect_eq(cpus.pus, 1);
	cr_expect_eq(cpus.cores, 1);
	cr_expect_str_eq(cpus.list, "0");
	az_cpus_release(&cpus);
}

/* The hwloc plugins (".../hwloc/hwloc_*.so") mapped in this process. */
static int mapped_hwloc_plugins(void)
{
	return mapped_objects("/hwloc/hwloc_");
}

/* Whether hwloc has a plugin in its default place: "hwloc" beside the
 * libhwloc this test was linked with. */
static bool plugins_installed(void)
{
	Dl_info lib;
	char dirname[4096], *slash;
	struct dirent *entry;
	bool found = false;
	DIR *dir;

	if (!dladdr((void *)hwloc_topology_init, &lib) || !lib.dli_fname)
		return false;
	snprintf(dirname, sizeof(dirname), "%s", lib.dli_fname);
	slash = strrchr(dirname, '/');
	if (!slash)
		return false;
	*slash = '\0';
	strncat(dirname, "/hwloc", sizeof(dirname) - strlen(dirname) - 1);
	dir = opendir(dirname);
	while (dir && !found && (entry = readdir(dir)))
		found = strncmp(entry->d_name, "hwloc_", 6) == 0;
	if (dir)
		closedir(dir);
	return found;
}

/* The control for the next test: plain hwloc does load its plugins. */
Test(topology_plugins, plain_hwloc_loads_installed_plugins)
{
	hwloc_topology_t hwloc;

	if (!plugins_installed())
		cr_skip_test("no hwloc plugin installed (Debian: libhwloc-plugins)");
	unsetenv("HWLOC_PLUGINS_PATH");
	cr_assert_eq(hwloc_topology_init(&hwloc), 0);
	cr_expect_gt(mapped_hwloc_plugins(), 0);
	hwloc_topology_destroy(hwloc);
}

/* PUs and cores need none of them: they cost slurmstepd 1.8 MiB a step. */
Test(topology_plugins, load_maps_no_plugin)
{
	az_topology *t = NULL;
	az_error err = { "" };

	unsetenv("HWLOC_PLUGINS_PATH");
	cr_assert_eq(az_topology_load(&t, &err), AZ_OK, "%s", err.message);
	cr_expect_eq(mapped_hwloc_plugins(), 0);
	cr_expect_null(getenv("HWLOC_PLUGINS_PATH"), "the unset variable came back");
	az_topology_free(t);
}

/* The caller's own plugin path is put back untouched. */
Test(topology_plugins, callers_plugin_path_restored)
{
	az_topology *t = NULL;
	az_error err = { "" };

	setenv("HWLOC_PLUGINS_PATH", "/site/hwloc/plugins", 1);
	cr_assert_eq(az_topology_load(&t, &err), AZ_OK, "%s", err.message);
	cr_expect_str_eq(getenv("HWLOC_PLUGINS_PATH"), "/site/hwloc/plugins");
	az_topology_free(t);
}

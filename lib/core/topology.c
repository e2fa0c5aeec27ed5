/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CPU discovery with hwloc: how many PUs and cores the calling thread (and
 * the threads it starts) may run on.
 *
 * The SPANK plugin loads the topology once per step in slurmstepd; a task
 * then counts its own cpuset on it with az_cpus_current only where the
 * budget counts cores (smt=cores), which never reloads anything; else it
 * reads its affinity alone (az_cpus_affinity), as the runtime does.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "internal.h"

#define PLUGINS_PATH_ENV "HWLOC_PLUGINS_PATH"

struct az_topology {
	hwloc_topology_t hwloc;
};

/*
 * hwloc_topology_init dlopens every hwloc plugin it finds (PCI, OpenCL, GL,
 * XML and, on GPU nodes, CUDA/NVML/RSMI with their vendor libraries), which
 * cost slurmstepd about 1.5 ms and 1.8 MiB per step here.  PUs and cores come
 * from the built-in Linux component, so no plugin is needed: an empty plugin
 * path loads none.  hwloc reads it only while the first topology is set up,
 * so the caller's value is restored at once.
 */
static int init_without_plugins(hwloc_topology_t *hwloc)
{
	const char *old = getenv(PLUGINS_PATH_ENV);
	char *saved = old ? strdup(old) : NULL;
	int rc, saved_errno;

	if (old && !saved) {
		errno = ENOMEM;
		return -1;
	}
	setenv(PLUGINS_PATH_ENV, "", 1);
	rc = hwloc_topology_init(hwloc);
	saved_errno = errno;
	if (saved)
		setenv(PLUGINS_PATH_ENV, saved, 1);
	else
		unsetenv(PLUGINS_PATH_ENV);
	free(saved);
	errno = saved_errno;
	return rc;
}

/* Only PUs (always kept) and cores are counted: skipping caches, packages
 * and groups saves a quarter of the discovery here, more on large nodes.
 * Only reading: hwloc must never move the caller (slurmstepd). */
static int keep_only_cores(hwloc_topology_t hwloc)
{
	if (hwloc_topology_set_all_types_filter(hwloc, HWLOC_TYPE_FILTER_KEEP_NONE) != 0 ||
	    hwloc_topology_set_type_filter(hwloc, HWLOC_OBJ_CORE,
					   HWLOC_TYPE_FILTER_KEEP_ALL) != 0)
		return -1;
	return hwloc_topology_set_flags(hwloc, HWLOC_TOPOLOGY_FLAG_DONT_CHANGE_BINDING);
}

az_status az_topology_load(az_topology **out, az_error *err)
{
	az_topology *topo = calloc(1, sizeof(*topo));

	if (!topo)
		return azi_fail(err, AZ_ERR_NOMEM, "topology: out of memory");
	if (init_without_plugins(&topo->hwloc) != 0) {
		int saved = errno;

		free(topo);
		return azi_fail(err, AZ_ERR_SYSTEM,
				"topology: hwloc_topology_init failed: %s",
				strerror(saved));
	}
	if (keep_only_cores(topo->hwloc) != 0 ||
	    hwloc_topology_load(topo->hwloc) != 0) {
		int saved = errno;

		az_topology_free(topo);
		return azi_fail(err, AZ_ERR_SYSTEM,
				"topology: hwloc_topology_load failed: %s",
				strerror(saved));
	}
	*out = topo;
	return AZ_OK;
}

void az_topology_free(az_topology *topo)
{
	if (!topo)
		return;
	hwloc_topology_destroy(topo->hwloc);
	free(topo);
}

/* Cores with at least one PU in `set`; without core objects (some
 * platforms expose none) every PU counts as its own core. */
static unsigned count_cores(hwloc_topology_t hwloc, hwloc_const_bitmap_t set,
			    unsigned pus)
{
	hwloc_obj_t core = NULL;
	unsigned cores = 0;

	if (hwloc_get_nbobjs_by_type(hwloc, HWLOC_OBJ_CORE) == 0)
		return pus;
	while ((core = hwloc_get_next_obj_by_type(hwloc, HWLOC_OBJ_CORE,
						  core)))
		if (hwloc_bitmap_intersects(core->cpuset, set))
			cores++;
	return cores;
}

/* The calling thread's binding, restricted to the PUs the topology knows.
 * The threads a library starts inherit it.  One sched_getaffinity: the
 * process-wide query reads /proc/self/task and every thread in it, which
 * each of a step's tasks paid before exec. */
static az_status bound_pus(hwloc_topology_t hwloc, hwloc_bitmap_t set,
			   az_error *err)
{
	if (hwloc_get_cpubind(hwloc, set, HWLOC_CPUBIND_THREAD) != 0)
		return azi_fail(err, AZ_ERR_SYSTEM,
				"cpuset: hwloc_get_cpubind failed: %s",
				strerror(errno));
	hwloc_bitmap_and(set, set, hwloc_topology_get_topology_cpuset(hwloc));
	if (hwloc_bitmap_iszero(set))
		return azi_fail(err, AZ_ERR_SYSTEM,
				"cpuset: the process is bound to no PU of the loaded topology");
	return AZ_OK;
}

az_status az_cpus_current(const az_topology *topo, az_cpus *out, az_error *err)
{
	hwloc_bitmap_t set;
	az_status status;
	char *list = NULL;

	if (!topo || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"cpuset: expected a loaded topology and an output");
	set = hwloc_bitmap_alloc();
	if (!set)
		return azi_fail(err, AZ_ERR_NOMEM, "cpuset: out of memory");
	status = bound_pus(topo->hwloc, set, err);
	if (status == AZ_OK && hwloc_bitmap_list_asprintf(&list, set) < 0)
		status = azi_fail(err, AZ_ERR_NOMEM, "cpuset: out of memory");
	if (status == AZ_OK) {
		out->pus = (unsigned)hwloc_bitmap_weight(set);
		out->cores = count_cores(topo->hwloc, set, out->pus);
		out->list = list;
	}
	hwloc_bitmap_free(set);
	return status;
}

/* sched_getaffinity refuses a mask smaller than the kernel's own (EINVAL):
 * grow it.  NULL when it cannot be read. */
static hwloc_bitmap_t affinity_bitmap(void)
{
	hwloc_bitmap_t set = NULL;
	int ncpus, cpu, got = -1;

	for (ncpus = 1024; got != 0 && ncpus <= 1 << 20; ncpus *= 2) {
		cpu_set_t *mask = CPU_ALLOC(ncpus);
		size_t size = CPU_ALLOC_SIZE(ncpus);

		if (!mask)
			return NULL;
		got = sched_getaffinity(0, size, mask);
		if (got == 0 && (set = hwloc_bitmap_alloc()))
			for (cpu = 0; cpu < ncpus; cpu++)
				if (CPU_ISSET_S(cpu, size, mask))
					hwloc_bitmap_set(set, (unsigned)cpu);
		CPU_FREE(mask);
		if (got != 0 && errno != EINVAL)
			return NULL;
	}
	return set;
}

az_status az_cpus_affinity(az_cpus *out, az_error *err)
{
	hwloc_bitmap_t set;
	char *list = NULL;
	int pus;

	if (!out)
		return azi_fail(err, AZ_ERR_INVALID, "cpuset: expected an output");
	set = affinity_bitmap();
	if (!set)
		return azi_fail(err, AZ_ERR_SYSTEM, "cpuset: sched_getaffinity failed: %s",
				strerror(errno));
	pus = hwloc_bitmap_weight(set);
	if (pus > 0 && hwloc_bitmap_list_asprintf(&list, set) >= 0)
		*out = (az_cpus){ .pus = (unsigned)pus, .list = list };
	hwloc_bitmap_free(set);
	if (!list)
		return azi_fail(err, AZ_ERR_SYSTEM, "cpuset: no CPU in the affinity mask");
	return AZ_OK;
}

void az_cpus_release(az_cpus *cpus)
{
	if (!cpus)
		return;
	free(cpus->list);
	*cpus = (az_cpus){ 0 };
}

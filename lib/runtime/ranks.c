/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Co-located ranks: how many processes of one parallel launch (mpirun,
 * srun) run on this node, and which one this is, so that unbound ranks
 * can split the CPUs they share.
 *
 * PMIx is asked first, when the library was built with it, a PMIx server
 * launched the process (PMIX_NAMESPACE and PMIX_SERVER_URI* are set) and
 * the process has already initialised PMIx, normally in MPI_Init: mpirun
 * and srun --mpi=pmix both serve PMIX_LOCAL_SIZE and PMIX_LOCAL_RANK.
 * libautozyme never loads libpmix nor initialises PMIx itself: from Open
 * MPI 5 on, a PMIx client initialised before MPI_Init makes MPI_Init fail
 * ("local rank ... Not found"; seen with Open MPI 5.0 + PMIx 5.0 and
 * Open MPI 6.0 + PMIx 7.0), and with Open MPI 4.1 + PMIx 4.2 a client
 * initialised and finalised before it fails too.  Nested inside MPI's own
 * initialisation, an Init/Finalize pair only counts up and down.
 *
 * Otherwise (before MPI_Init, or a program that never calls it) the
 * launcher's variables count the ranks: Open MPI's OMPI_COMM_WORLD_LOCAL_*
 * (mpirun 4.1 to 6.0 sets them), else an srun task's
 * SLURM_STEP_TASKS_PER_NODE and SLURM_LOCALID.  SLURM_TASKS_PER_NODE is
 * not one of them: a batch script has it too (the job's tasks), while it
 * is one process.
 */
#include "config.h"

#include <hwloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_PMIX
#include <dlfcn.h>
#include <pmix.h>
#endif

#include "ranks.h"
#include "internal.h"

/* Far above any node's ranks; keeps counts and indexes in an unsigned. */
#define AZ_RANKS_MAX (1u << 24)

/* A number the launcher set, at least `min`; false when unset or not one. */
static bool env_number(const az_env *env, const char *name, unsigned min,
		       unsigned *value)
{
	const char *text = env->get(env->ctx, name);

	return text && az_count_parse(text, name, min, AZ_RANKS_MAX, value,
				      NULL) == AZ_OK;
}

/* Read one "N" or "N(xR)" group at *text; false when malformed. */
static bool tasks_group(const char **text, unsigned long *tasks,
			unsigned long *repeat)
{
	char *end;

	*tasks = strtoul(*text, &end, 10);
	if (end == *text || *tasks == 0 || *tasks > AZ_RANKS_MAX)
		return false;
	*repeat = 1;
	if (strncmp(end, "(x", 2) == 0) {
		const char *digits = end + 2;

		*repeat = strtoul(digits, &end, 10);
		if (end == digits || *repeat == 0 || *end != ')')
			return false;
		end++;
	}
	*text = end;
	return true;
}

/*
 * Slurm's compressed per-node task counts ("2(x3),1": three nodes of 2,
 * then one of 1): the count of node `index`, 0 when out of range or
 * malformed.
 */
static unsigned tasks_on_node(const char *text, unsigned index)
{
	unsigned long tasks, repeat, node = 0;

	while (text && tasks_group(&text, &tasks, &repeat)) {
		if (index < node + repeat)
			return (unsigned)tasks;
		node += repeat;
		if (*text != ',')
			return 0;
		text++;
	}
	return 0;
}

/* Open MPI's mpirun exports the local size and rank of every rank. */
static bool from_open_mpi(const az_env *env, az_local_ranks *out)
{
	unsigned size, rank;

	if (!env_number(env, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, &size) ||
	    !env_number(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0, &rank) ||
	    rank >= size)
		return false;
	*out = (az_local_ranks){ .size = size, .rank = rank,
				 .source = AZ_LOCAL_MPI_ENV };
	return true;
}

/* An srun task: its step's count on its node, and its local id. */
static bool from_srun(const az_env *env, az_local_ranks *out)
{
	unsigned node, rank, size;

	if (!env_number(env, "SLURM_NODEID", 0, &node) ||
	    !env_number(env, "SLURM_LOCALID", 0, &rank))
		return false;
	size = tasks_on_node(env->get(env->ctx, "SLURM_STEP_TASKS_PER_NODE"),
			     node);
	if (!size || rank >= size)
		return false;
	*out = (az_local_ranks){ .size = size, .rank = rank,
				 .source = AZ_LOCAL_MPI_ENV,
				 .slurm_tasks = true };
	return true;
}

az_status azi_local_ranks_from_env(const az_env *env, az_local_ranks *out,
				   az_error *err)
{
	if (!env || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"local ranks: an environment and an output are required");
	*out = (az_local_ranks){ 0 };
	if (!from_open_mpi(env, out))
		from_srun(env, out);
	return AZ_OK;
}

#ifdef HAVE_PMIX

/* The variables a PMIx server sets for its clients, any release. */
static bool pmix_server_present(const az_env *env)
{
	static const char *const uris[] = {
		"PMIX_SERVER_URI41", "PMIX_SERVER_URI4", "PMIX_SERVER_URI3",
		"PMIX_SERVER_URI21", "PMIX_SERVER_URI2", "PMIX_SERVER_URI",
		NULL
	};
	const char *nspace = env->get(env->ctx, "PMIX_NAMESPACE");
	size_t i;

	if (!nspace || !*nspace)
		return false;
	for (i = 0; uris[i]; i++)
		if (env->get(env->ctx, uris[i]))
			return true;
	return false;
}

/* The PMIx calls used here, from the libpmix the process already has. */
static struct {
	__typeof__(PMIx_Initialized) *initialized;
	__typeof__(PMIx_Init) *init;
	__typeof__(PMIx_Get) *get;
	__typeof__(PMIx_Finalize) *finalize;
	__typeof__(PMIx_Value_destruct) *value_destruct;
} pmix;

/*
 * The calls of the libpmix this process already has (by its soname,
 * whatever its directory), looked up once it is there: it is never loaded
 * here.  Until then each call tries again, since MPI_Init may load it later.
 * The handle is kept, so the calls stay valid.  Called under from_pmix's lock.
 */
static bool pmix_calls_found(void)
{
	static bool found;
	void *lib;

	if (found)
		return true;
	lib = dlopen(AZ_PMIX_SONAME, RTLD_NOW | RTLD_NOLOAD);
	if (!lib)
		return false;
	pmix.initialized = dlsym(lib, "PMIx_Initialized");
	pmix.init = dlsym(lib, "PMIx_Init");
	pmix.get = dlsym(lib, "PMIx_Get");
	pmix.finalize = dlsym(lib, "PMIx_Finalize");
	pmix.value_destruct = dlsym(lib, "PMIx_Value_destruct");
	found = pmix.initialized && pmix.init && pmix.get && pmix.finalize &&
		pmix.value_destruct;
	return found;
}

/* True when MPI_Init or another PMIx client has initialised PMIx. */
static bool pmix_initialised_by_others(void)
{
	return pmix_calls_found() && pmix.initialized();
}

/* A job-level value (asked of the wildcard rank), else the process's own. */
static bool pmix_number(const pmix_proc_t *me, const char *key,
			unsigned *value)
{
	pmix_proc_t job;
	pmix_value_t *val = NULL;
	bool found;

	/* A plain copy, not PMIX_LOAD_PROCID: from PMIx 5 on that macro calls
	 * PMIx_Load_procid(), a symbol of a libpmix we do not link. */
	job = *me;
	job.rank = PMIX_RANK_WILDCARD;
	if (pmix.get(&job, key, NULL, 0, &val) != PMIX_SUCCESS &&
	    pmix.get(me, key, NULL, 0, &val) != PMIX_SUCCESS)
		return false;
	found = true;
	if (val->type == PMIX_UINT16)
		*value = val->data.uint16;
	else if (val->type == PMIX_UINT32)
		*value = val->data.uint32;
	else
		found = false;
	pmix.value_destruct(val);
	return found;
}

/* Our Init/Finalize pair nests inside the one that is already open. */
static void ask_pmix(az_local_ranks *out)
{
	pmix_proc_t me;
	unsigned size, rank;

	if (pmix.init(&me, NULL, 0) != PMIX_SUCCESS)
		return;
	if (pmix_number(&me, PMIX_LOCAL_SIZE, &size) && size > 0 &&
	    pmix_number(&me, PMIX_LOCAL_RANK, &rank) && rank < size)
		*out = (az_local_ranks){
			.size = size, .rank = rank, .source = AZ_LOCAL_PMIX,
			/* srun --mpi=pmix names its namespaces so */
			.slurm_tasks = strncmp(me.nspace, "slurm.pmix.", 11) == 0,
		};
	pmix.finalize(NULL, 0);
}

static bool from_pmix(const az_env *env, az_local_ranks *out)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static az_local_ranks answer; /* once found, for the process's life */

	if (!pmix_server_present(env))
		return false;
	pthread_mutex_lock(&lock);
	if (!answer.size && pmix_initialised_by_others())
		ask_pmix(&answer);
	*out = answer;
	pthread_mutex_unlock(&lock);
	return out->size != 0;
}

bool azi_local_ranks_have_pmix(void)
{
	return true;
}

#else

static bool from_pmix(const az_env *env, az_local_ranks *out)
{
	(void)env;
	(void)out;
	return false;
}

bool azi_local_ranks_have_pmix(void)
{
	return false;
}

#endif

az_status azi_local_ranks_discover(const az_env *env, az_local_ranks *out,
				   az_error *err)
{
	if (!env || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"local ranks: an environment and an output are required");
	if (from_pmix(env, out))
		return AZ_OK;
	return azi_local_ranks_from_env(env, out, err);
}

unsigned azi_cpu_list_weight(const char *text)
{
	char list[4096];
	hwloc_bitmap_t set;
	int weight = -1;

	/* hwloc drops a single CPU followed by a newline ("0,2\n" is one
	 * CPU), and /proc's lists end with one: parse the list alone. */
	text += strspn(text, " \t");
	snprintf(list, sizeof(list), "%.*s", (int)strcspn(text, " \t\n"), text);
	set = hwloc_bitmap_alloc();
	if (set && hwloc_bitmap_list_sscanf(set, list) == 0)
		weight = hwloc_bitmap_weight(set);
	hwloc_bitmap_free(set);
	return weight > 0 ? (unsigned)weight : 0;
}

unsigned azi_cpus_of_parent(void)
{
	char path[64], line[4096];
	unsigned pus = 0;
	FILE *status;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)getppid());
	status = fopen(path, "re");
	if (!status)
		return 0;
	while (fgets(line, sizeof(line), status))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
			pus = azi_cpu_list_weight(line + 18);
			break;
		}
	fclose(status);
	return pus;
}

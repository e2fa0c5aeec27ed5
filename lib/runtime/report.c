/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The runtime's reports: env_snapshot() and thread_info() as JSON.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "blas_openmp.h"
#include "guard.h"
#include "process_budget.h"
#include "state.h"
#include "workers.h"

/* thread_info's provenance once set_threads() decided: not a budget's. */
#define SET_THREADS_PROVENANCE "set_threads"

az_status az_runtime_snapshot(const char *language, const char *language_version,
			      char **json, az_error *err)
{
	az_active_patch *patches;
	az_status status;
	size_t i;

	if (!json)
		return azi_fail(err, AZ_ERR_INVALID,
				"snapshot: expected an output for the JSON");
	azi_runtime_lock();
	patches = calloc(azi_rt.n_active + 1, sizeof(*patches));
	for (i = 0; patches && i < azi_rt.n_active; i++)
		patches[i] = (az_active_patch){
			.name = az_patch_name(azi_rt.active[i].patch),
			.upstream = azi_rt.active[i].upstream,
			.upstream_version = azi_rt.active[i].upstream_version,
		};
	status = patches ? az_snapshot_json(language, language_version,
					    patches, azi_rt.n_active, json, err)
			 : azi_fail(err, AZ_ERR_NOMEM, "snapshot: out of memory");
	azi_runtime_unlock();
	free(patches);
	return status;
}

static bool add_count(cJSON *obj, const char *key, bool known, double count)
{
	if (known)
		return cJSON_AddNumberToObject(obj, key, count) != NULL;
	return cJSON_AddNullToObject(obj, key) != NULL;
}

static bool add_text(cJSON *obj, const char *key, const char *text)
{
	if (text)
		return cJSON_AddStringToObject(obj, key, text) != NULL;
	return cJSON_AddNullToObject(obj, key) != NULL;
}

/* Lock held: the threads in force, set_threads() first. */
static bool add_threads(cJSON *root)
{
	unsigned explicit_threads = azi_rt.explicit_threads;
	bool off = !explicit_threads && azi_rt.budget.off;

	return add_count(root, "threads", !off,
			 explicit_threads ? explicit_threads : azi_rt.budget.threads) &&
	       cJSON_AddBoolToObject(root, "off", off) &&
	       add_text(root, "provenance",
			explicit_threads ? SET_THREADS_PROVENANCE
					 : az_provenance_name(azi_rt.budget.provenance)) &&
	       add_count(root, "explicit", explicit_threads, explicit_threads);
}

/* Lock held: the budget, which set_threads() may have overridden. */
static bool add_budget(cJSON *root)
{
	const az_budget *b = &azi_rt.budget;
	cJSON *budget = cJSON_AddObjectToObject(root, "budget");

	return budget && add_count(budget, "threads", !b->off, b->threads) &&
	       add_text(budget, "provenance", az_provenance_name(b->provenance)) &&
	       add_count(budget, "allocation", true, b->allocation);
}

/* A rank Slurm gave the task in its environment; 0 when absent or not one. */
static uint32_t rank_from_env(const char *name)
{
	const char *text = getenv(name);
	unsigned rank = 0;

	if (text && az_count_parse(text, name, 0, UINT32_MAX, &rank, NULL) != AZ_OK)
		rank = 0;
	return rank;
}

/*
 * Lock held: the Slurm task's record, derived from the step's file and the
 * task's own facts (its Slurm ranks and node, as slurmstepd set them in its
 * environment, and its cpuset); null without a file.
 */
static bool add_task(cJSON *root)
{
	char host[256], *json = NULL;
	az_env env = az_env_process();
	az_task_record task = {
		.global_rank = rank_from_env("SLURM_PROCID"),
		.local_rank = rank_from_env("SLURM_LOCALID"),
		.budget = azi_rt.task_budget,
	};
	cJSON *record = NULL;

	if (!azi_rt.from_file)
		return cJSON_AddNullToObject(root, "task") != NULL;
	/* Cores are counted for thread_info only, on the process's own cpuset. */
	azi_ensure_cores();
	task.cpus = azi_rt.task_cpus_of_parent ? (az_cpus){ .pus = azi_rt.task_cpus_of_parent }
					       : azi_rt.cpus;
	task.node = az_node_name_from_env(&env, host, sizeof(host));
	if (az_task_record_json(azi_rt.activation, &task, &json, NULL) == AZ_OK)
		record = cJSON_Parse(json);
	free(json);
	return record && cJSON_AddItemToObject(root, "task", record);
}

/* Lock held: where the budget came from. */
static bool add_sources(cJSON *root)
{
	cJSON *cpus;

	if (!add_text(root, "activation_file", azi_rt.activation_path) ||
	    !cJSON_AddBoolToObject(root, "activation_file_read", azi_rt.from_file) ||
	    !add_text(root, "activation_error", azi_rt.activation_error) ||
	    !add_task(root))
		return false;
	if (!azi_rt.cpus.list)
		return cJSON_AddNullToObject(root, "cpus") != NULL;
	azi_ensure_cores();
	cpus = cJSON_AddObjectToObject(root, "cpus");
	return cpus && add_text(cpus, "list", azi_rt.cpus.list) &&
	       add_count(cpus, "pus", true, azi_rt.cpus.pus) &&
	       add_count(cpus, "cores", azi_rt.cpus.cores, azi_rt.cpus.cores);
}

static bool add_pool(cJSON *list, const az_pool *pool)
{
	cJSON *item = cJSON_CreateObject();

	if (!item || !cJSON_AddItemToArray(list, item)) {
		cJSON_Delete(item);
		return false;
	}
	return add_text(item, "kind", azi_pool_kind_name(pool->kind)) &&
	       add_text(item, "path", pool->path) &&
	       add_text(item, "api", pool->api) &&
	       add_count(item, "threads", pool->threads >= 0, pool->threads);
}

static az_status add_pools(cJSON *root, az_error *err)
{
	cJSON *list = cJSON_AddArrayToObject(root, "pools");
	az_pool *pools = NULL;
	size_t i, count = 0;
	az_status status;

	if (!list)
		return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	status = azi_pools_list(&pools, &count, err);
	for (i = 0; status == AZ_OK && i < count; i++)
		if (!add_pool(list, &pools[i]))
			status = azi_fail(err, AZ_ERR_NOMEM,
					  "thread_info: out of memory");
	azi_pools_free(pools, count);
	return status;
}

/* Lock held: the co-located ranks; null when not launched as several. */
static bool add_ranks(cJSON *root)
{
	const az_local_ranks *ranks = &azi_rt.ranks;
	cJSON *obj;

	if (ranks->size < 2)
		return cJSON_AddNullToObject(root, "ranks") != NULL;
	obj = cJSON_AddObjectToObject(root, "ranks");
	return obj && add_count(obj, "local_size", true, ranks->size) &&
	       add_count(obj, "local_rank", true, ranks->rank) &&
	       add_text(obj, "source",
			az_provenance_name(ranks->source == AZ_LOCAL_PMIX ?
					   AZ_PROV_PMIX : AZ_PROV_MPI_ENV)) &&
	       cJSON_AddBoolToObject(obj, "slurm_tasks", ranks->slurm_tasks) &&
	       cJSON_AddBoolToObject(obj, "bound", azi_rt.ranks_bound);
}

/* A worker share under `key`; null when there is none. */
static bool add_share(cJSON *root, const char *key,
		      const az_worker_share *share)
{
	cJSON *obj;

	if (!share->workers)
		return cJSON_AddNullToObject(root, key) != NULL;
	obj = cJSON_AddObjectToObject(root, key);
	return obj && add_count(obj, "threads", true, share->threads) &&
	       add_count(obj, "workers", true, share->workers) &&
	       add_count(obj, "threads_per_worker", true,
			 azi_threads_per_worker(share));
}


/* Lock held: running threads against the task's CPUs, and the policy. */
static az_status add_oversubscription(cJSON *root, az_error *err)
{
	unsigned workers, threads, cpus = azi_rt.budget.allocation;
	az_oversubscription policy;
	cJSON *obj;
	az_status status = azi_oversubscription_parse(
		getenv(AZ_ENV_OVERSUBSCRIPTION), AZ_ENV_OVERSUBSCRIPTION,
		&policy, err);

	if (status != AZ_OK)
		return status;
	azi_running(&workers, &threads);
	obj = cJSON_AddObjectToObject(root, "oversubscription");
	if (obj && add_count(obj, "workers", true, workers) &&
	    add_count(obj, "threads_per_worker", threads, threads) &&
	    add_count(obj, "running_threads", threads, workers * threads) &&
	    add_count(obj, "cpus", cpus, cpus) &&
	    add_count(obj, "ratio", threads && cpus,
		      cpus ? (double)workers * threads / cpus : 0) &&
	    add_text(obj, "policy", azi_oversubscription_name(policy)))
		return AZ_OK;
	return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
}

/* Lock held. */
static az_status build_thread_info(cJSON *root, az_error *err)
{
	az_status status = azi_ensure_budget(err);

	if (status != AZ_OK)
		return status;
	if (!add_threads(root) || !add_budget(root) || !add_sources(root) ||
	    !add_ranks(root) || !add_share(root, "worker", &azi_rt.worker) ||
	    !add_share(root, "pool", &azi_rt.pool))
		return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	status = add_oversubscription(root, err);
	return status == AZ_OK ? add_pools(root, err) : status;
}

az_status az_runtime_thread_info(char **json, az_error *err)
{
	cJSON *root;
	az_status status;

	if (!json)
		return azi_fail(err, AZ_ERR_INVALID,
				"thread_info: expected an output for the JSON");
	root = cJSON_CreateObject();
	if (!root)
		return azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	azi_runtime_lock();
	status = build_thread_info(root, err);
	azi_runtime_unlock();
	*json = status == AZ_OK ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (status == AZ_OK && !*json)
		status = azi_fail(err, AZ_ERR_NOMEM, "thread_info: out of memory");
	return status;
}

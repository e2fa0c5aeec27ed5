/* SPDX-License-Identifier: BSD-3-Clause */
/* What the runtime's unit tests share; see runtime_fixture.h. */
#define _GNU_SOURCE /* asprintf, CPU_COUNT */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <libgen.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime_fixture.h"

const char *srcdir(void)
{
	const char *dir = getenv("AZ_TEST_SRCDIR");

	return dir ? dir : ".";
}

/* Nothing from the developer's shell or a Slurm job may leak in. */
void clean_env(void)
{
	static const char *const others[] = {
		AZ_ENV_INJECTED, AZ_ENV_INJECTED_VALUE, AZ_ENV_ACTIVATION_FILE,
		AZ_ENV_ACTIVATE, "AUTOZYMER_THREADS", "SLURM_CPUS_PER_TASK",
		AZ_ENV_WORKER_SHARE, AZ_ENV_OVERSUBSCRIPTION,
		"OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
		"SLURM_STEP_TASKS_PER_NODE", "SLURM_NODEID", "SLURM_LOCALID",
		"SLURM_CPU_BIND_TYPE", "PMIX_NAMESPACE", NULL
	};
	const char *const *vars = az_thread_vars_default();
	char *patches;

	for (size_t i = 0; vars[i]; i++)
		unsetenv(vars[i]);
	for (size_t i = 0; others[i]; i++)
		unsetenv(others[i]);
	cr_assert_geq(asprintf(&patches, "%s/patches", srcdir()), 0);
	setenv("AUTOZYME_PATCH_PATH", patches, 1);
	free(patches);
}

void clean_env_and_capture_stderr(void)
{
	clean_env();
	cr_redirect_stderr();
}

/* A fresh file in a fresh directory; the caller frees the path. */
char *write_file(const char *text)
{
	char dir[] = "/tmp/az-runtime-XXXXXX";
	char *path;
	FILE *file;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_geq(asprintf(&path, "%s/activation.json", dir), 0);
	file = fopen(path, "w");
	cr_assert_not_null(file);
	cr_assert_eq(fputs(text, file) >= 0 && fclose(file) == 0, true);
	return path;
}

/* Remove a file of write_file and its directory, and free the path. */
void remove_file(char *path)
{
	cr_expect_eq(unlink(path), 0);
	cr_expect_eq(rmdir(dirname(path)), 0);
	free(path);
}

/* The PUs this process may run on. */
unsigned own_pus(void)
{
	cpu_set_t set;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	return (unsigned)CPU_COUNT(&set);
}

/* An activation file the plugin would write for a step of one task with
 * --cpus-per-task=`threads` on a cpuset of `pus` PUs: the task's budget is
 * `threads` (cpus_per_task) when this process may run on that many. */
char *write_activation_file_of(unsigned threads, unsigned pus)
{
	char *patches[] = { "scanpy" }, *thread_vars[] = { "OMP_NUM_THREADS" };
	az_activation act = {
		.job_id = 7, .step = "0", .array_job_id = AZ_ID_NONE,
		.array_task_id = AZ_ID_NONE, .cpuset = "0-3", .cores = 2,
		.inputs = { .base = { .cpus_per_task = threads, .local_tasks = 1,
				      .launch_pus = pus } },
		.budget = { .threads = threads, .provenance = AZ_PROV_CPUS_PER_TASK,
			    .allocation = threads,
			    .allocation_provenance = AZ_PROV_CPUS_PER_TASK },
		.patches = patches, .n_patches = 1,
		.thread_vars = thread_vars, .n_thread_vars = 1,
	};
	az_error err = { "" };
	char *json = NULL, *path;

	cr_assert_eq(az_activation_to_json(&act, &json, &err), AZ_OK, "%s",
		     err.message);
	path = write_file(json);
	free(json);
	setenv(AZ_ENV_ACTIVATION_FILE, path, 1);
	return path;
}

/* `threads` of cpuset 0-3 (4 PUs). */
char *write_activation_file(unsigned threads)
{
	return write_activation_file_of(threads, 4);
}

az_budget budget(void)
{
	az_budget out;
	az_error err = { "" };

	cr_assert_eq(azi_runtime_budget(&out, &err), AZ_OK, "%s", err.message);
	return out;
}

void expect_budget(unsigned threads, az_provenance provenance)
{
	az_budget b = budget();

	cr_expect_not(b.off);
	cr_expect_eq(b.threads, threads);
	cr_expect_eq(b.provenance, provenance, "provenance %s",
		     az_provenance_name(b.provenance));
}

cJSON *thread_info(void)
{
	az_error err = { "" };
	char *json = NULL;
	cJSON *doc;

	cr_assert_eq(az_runtime_thread_info(&json, &err), AZ_OK, "%s",
		     err.message);
	doc = cJSON_Parse(json);
	free(json);
	cr_assert(cJSON_IsObject(doc), "thread_info is not a JSON object");
	return doc;
}

const cJSON *field(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert_not_null(item, "thread_info: no field '%s'", key);
	return item;
}

const char *string_field(const cJSON *obj, const char *key)
{
	const cJSON *item = field(obj, key);

	cr_assert(cJSON_IsString(item), "'%s' is not a string", key);
	return item->valuestring;
}

double number_field(const cJSON *obj, const char *key)
{
	const cJSON *item = field(obj, key);

	cr_assert(cJSON_IsNumber(item), "'%s' is not a number", key);
	return item->valuedouble;
}

const az_patch *activate(const char *name, const char *language)
{
	const az_patch *patch = NULL;
	az_error err = { "" };

	cr_assert_eq(az_runtime_activate(name, language, &patch, &err), AZ_OK,
		     "%s", err.message);
	cr_assert_not_null(patch);
	return patch;
}

void expect_var(const char *name, const char *value)
{
	const char *current = getenv(name);

	cr_assert_not_null(current, "%s is unset", name);
	cr_expect_str_eq(current, value, "%s", name);
}

az_worker_share pool_start(unsigned workers)
{
	az_worker_share share = { 0, 0 };
	az_error err = { "" };

	cr_assert_eq(az_runtime_pool_start(workers, &share, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(share.workers, workers);
	return share;
}

unsigned threads_in_force(void)
{
	unsigned threads = 0;
	bool off = true;

	cr_assert_eq(az_runtime_threads(&threads, &off, NULL), AZ_OK);
	cr_expect_not(off);
	return threads;
}

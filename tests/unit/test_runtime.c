/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-process runtime.  Its state is process-global and computed once,
 * so every test relies on Criterion running it in its own fresh process
 * (the default; never run this binary with --no-fork) and sets the
 * environment it needs before the first runtime call.
 */
#define _GNU_SOURCE /* asprintf, CPU_COUNT */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <cjson/cJSON.h>
#include "azruntime.h"

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

static const char *srcdir(void)
{
	const char *dir = getenv("AZ_TEST_SRCDIR");

	return dir ? dir : ".";
}

/* Nothing from the developer's shell or a Slurm job may leak in. */
static void clean_env(void)
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

TestSuite(runtime, .init = clean_env);

/* A fresh file in a fresh directory; the caller frees the path. */
static char *write_file(const char *text)
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
static void remove_file(char *path)
{
	cr_expect_eq(unlink(path), 0);
	cr_expect_eq(rmdir(dirname(path)), 0);
	free(path);
}

/* The PUs this process may run on. */
static unsigned own_pus(void)
{
	cpu_set_t set;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	return (unsigned)CPU_COUNT(&set);
}

/* An activation file the plugin would write for a step of one task with
 * --cpus-per-task=`threads` on a cpuset of `pus` PUs: the task's budget is
 * `threads` (cpus_per_task) when this process may run on that many. */
static char *write_activation_file_of(unsigned threads, unsigned pus)
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
static char *write_activation_file(unsigned threads)
{
	return write_activation_file_of(threads, 4);
}

static az_budget budget(void)
{
	az_budget out;
	az_error err = { "" };

	cr_assert_eq(azi_runtime_budget(&out, &err), AZ_OK, "%s", err.message);
	return out;
}

static void expect_budget(unsigned threads, az_provenance provenance)
{
	az_budget b = budget();

	cr_expect_not(b.off);
	cr_expect_eq(b.threads, threads);
	cr_expect_eq(b.provenance, provenance, "provenance %s",
		     az_provenance_name(b.provenance));
}

static cJSON *thread_info(void)
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

static const cJSON *field(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert_not_null(item, "thread_info: no field '%s'", key);
	return item;
}

static const char *string_field(const cJSON *obj, const char *key)
{
	const cJSON *item = field(obj, key);

	cr_assert(cJSON_IsString(item), "'%s' is not a string", key);
	return item->valuestring;
}

static double number_field(const cJSON *obj, const char *key)
{
	const cJSON *item = field(obj, key);

	cr_assert(cJSON_IsNumber(item), "'%s' is not a number", key);
	return item->valuedouble;
}

static const az_patch *activate(const char *name, const char *language)
{
	const az_patch *patch = NULL;
	az_error err = { "" };

	cr_assert_eq(az_runtime_activate(name, language, &patch, &err), AZ_OK,
		     "%s", err.message);
	cr_assert_not_null(patch);
	return patch;
}

static void expect_var(const char *name, const char *value)
{
	const char *current = getenv(name);

	cr_assert_not_null(current, "%s is unset", name);
	cr_expect_str_eq(current, value, "%s", name);
}

/* ------------------------------------------------------------ statuses */

/* Python and R map a status by its name, so these names are an interface:
 * every status has its own, and the ones the bindings compare never change. */
Test(runtime, status_names_are_distinct_and_stable)
{
	const az_status all[] = { AZ_OK, AZ_ERR_INVALID, AZ_ERR_NOMEM,
				  AZ_ERR_IO, AZ_ERR_PARSE, AZ_ERR_SCHEMA,
				  AZ_ERR_TOO_LARGE, AZ_ERR_NOT_FOUND,
				  AZ_ERR_SYSTEM };
	size_t n = sizeof(all) / sizeof(all[0]), i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			cr_expect_str_neq(az_status_name(all[i]), az_status_name(all[j]),
					  "statuses %zu and %zu share a name", i, j);
	cr_expect_str_eq(az_status_name(AZ_OK), "ok");
	cr_expect_str_eq(az_status_name(AZ_ERR_INVALID), "invalid");
	cr_expect_str_eq(az_status_name(AZ_ERR_NOT_FOUND), "not found");
	cr_expect_str_eq(az_status_name((az_status)99), "unknown status");
}

/* -------------------------------------------------------------- budget */

Test(runtime, budget_from_activation_file)
{
	char *path = write_activation_file(1);
	const cJSON *task;
	cJSON *info;

	setenv("SLURM_PROCID", "3", 1);
	setenv("SLURM_LOCALID", "1", 1);
	setenv("SLURMD_NODENAME", "node007", 1);
	expect_budget(1, AZ_PROV_CPUS_PER_TASK);
	cr_expect_eq(budget().allocation, 1);
	cr_expect(azi_runtime_from_activation_file());
	info = thread_info();
	cr_expect_eq(number_field(info, "threads"), 1);
	cr_expect_str_eq(string_field(info, "provenance"), "cpus_per_task");
	cr_expect_str_eq(string_field(info, "activation_file"), path);
	cr_expect(cJSON_IsTrue(field(info, "activation_file_read")));
	cr_expect(cJSON_IsNull(field(info, "activation_error")));
	cr_expect_eq(number_field(field(info, "cpus"), "pus"), own_pus());
	/* The task's record: the step's ids, its own ranks, node and budget. */
	task = field(info, "task");
	cr_expect_eq(number_field(field(task, "job"), "id"), 7);
	cr_expect_str_eq(string_field(field(task, "node"), "name"), "node007");
	cr_expect_eq(number_field(field(task, "task"), "global_rank"), 3);
	cr_expect_eq(number_field(field(task, "task"), "local_rank"), 1);
	cr_expect_eq(number_field(field(task, "cpus"), "pus"), own_pus());
	cr_expect_eq(number_field(field(task, "threads"), "count"), 1);
	cr_expect_str_eq(string_field(field(task, "threads"), "provenance"), "cpus_per_task");
	cr_expect_str_eq(string_field(field(task, "variables"), "OMP_NUM_THREADS"), "1");
	cJSON_Delete(info);
	remove_file(path);
}

/* The public view of the budget: its count and provenance's name; 0 when off. */
Test(runtime, budget_threads_names_the_provenance)
{
	char *path = write_activation_file(1);
	const char *provenance = NULL;
	unsigned threads = 0;
	az_error err = { "" };

	cr_assert_eq(az_runtime_budget_threads(&threads, &provenance, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(threads, 1);
	cr_expect_str_eq(provenance, "cpus_per_task");
	cr_expect_eq(az_runtime_budget_threads(NULL, &provenance, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "provenance"), "%s", err.message);
	remove_file(path);
}

Test(runtime, budget_threads_is_zero_when_off)
{
	const char *provenance = NULL;
	unsigned threads = 7;
	az_error err = { "" };

	setenv("AUTOZYME_THREADS", "off", 1);
	cr_assert_eq(az_runtime_budget_threads(&threads, &provenance, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(threads, 0);
	cr_expect_str_eq(provenance, "request_off");
}

Test(runtime, broken_activation_file_falls_back_to_discovery)
{
	char *path = write_file("{\"schema\": 1, \"job\"");
	cJSON *info;

	setenv(AZ_ENV_ACTIVATION_FILE, path, 1);
	setenv("AUTOZYME_THREADS", "1", 1);
	cr_expect_eq(budget().provenance, AZ_PROV_REQUEST);
	cr_expect_not(azi_runtime_from_activation_file());
	info = thread_info();
	cr_expect_str_eq(string_field(info, "activation_file"), path);
	cr_expect(cJSON_IsFalse(field(info, "activation_file_read")));
	cr_expect(strstr(string_field(info, "activation_error"), path),
		  "the error does not name the file");
	cJSON_Delete(info);
	remove_file(path);
}

Test(runtime, missing_activation_file_falls_back_to_discovery)
{
	cJSON *info;

	setenv(AZ_ENV_ACTIVATION_FILE, "/nonexistent/az/activation.json", 1);
	cr_expect_not(azi_runtime_from_activation_file());
	info = thread_info();
	cr_expect(cJSON_IsString(field(info, "activation_error")));
	cr_expect(cJSON_IsNumber(field(info, "threads")));
	cJSON_Delete(info);
}

Test(runtime, autozyme_threads_is_a_request)
{
	cJSON *info;

	setenv("AUTOZYME_THREADS", "1", 1);
	expect_budget(1, AZ_PROV_REQUEST);
	info = thread_info();
	cr_expect_str_eq(string_field(info, "provenance"), "request");
	cr_expect(cJSON_IsNull(field(info, "activation_file")));
	cJSON_Delete(info);
}

Test(runtime, autozymer_threads_is_the_fallback)
{
	setenv("AUTOZYMER_THREADS", "1", 1);
	expect_budget(1, AZ_PROV_REQUEST);
}

Test(runtime, autozyme_threads_beats_autozymer_threads)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv("AUTOZYMER_THREADS", "off", 1);
	expect_budget(1, AZ_PROV_REQUEST);
}

Test(runtime, injected_autozyme_threads_is_no_request)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv(AZ_ENV_INJECTED, "OMP_NUM_THREADS,AUTOZYME_THREADS", 1);
	setenv(AZ_ENV_INJECTED_VALUE, "1", 1);
	cr_expect_neq(budget().provenance, AZ_PROV_REQUEST);
}

Test(runtime, malformed_request_names_the_variable)
{
	az_budget b;
	az_error err = { "" };

	setenv("AUTOZYME_THREADS", "many", 1);
	cr_assert_eq(azi_runtime_budget(&b, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_THREADS: invalid value 'many': expected N (1 to 4096), auto or off");
}

Test(runtime, discovery_uses_the_affinity_cpuset)
{
	cpu_set_t set;
	cJSON *info;
	az_budget b = budget();

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	cr_expect_eq(b.allocation, b.threads);
	cr_expect_leq(b.threads, (unsigned)CPU_COUNT(&set));
	info = thread_info();
	cr_expect_eq(number_field(field(info, "cpus"), "pus"), CPU_COUNT(&set));
	cJSON_Delete(info);
}

Test(runtime, slurm_cpus_per_task_limits_discovery)
{
	setenv("SLURM_CPUS_PER_TASK", "1", 1);
	expect_budget(1, AZ_PROV_CPUS_PER_TASK);
}

/* --------------------------------------------------------- set_threads */

Test(runtime, set_threads_sets_every_variable)
{
	const char *const *vars = az_thread_vars_default();
	az_error err = { "" };
	unsigned threads = 0, applied = 0;
	bool off = true;
	size_t n;

	setenv("AUTOZYME_THREADS", "1", 1);
	setenv("OMP_NUM_THREADS", "7", 1);
	cr_assert_eq(az_runtime_set_threads(3, &applied, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(applied, 3);
	for (n = 0; vars[n]; n++)
		expect_var(vars[n], "3");
	cr_expect_eq(n, 10);
	cr_assert_eq(az_runtime_threads(&threads, &off, &err), AZ_OK);
	cr_expect_eq(threads, 3);
	cr_expect_not(off);
}

Test(runtime, set_threads_values_are_the_users)
{
	az_env env = az_env_process();

	cr_assert_eq(az_runtime_set_threads(3, NULL, NULL), AZ_OK);
	cr_expect(az_env_user_value(&env, "OMP_NUM_THREADS"));
	cr_expect(az_env_user_value(&env, "AUTOZYME_THREADS"));
}

Test(runtime, set_threads_refuses_out_of_range)
{
	az_error err = { "" };
	unsigned applied = 99;

	cr_expect_eq(az_runtime_set_threads(0, NULL, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "set_threads(n): n must be a single whole number from 1 to 4096, got 0");
	cr_expect_eq(az_runtime_set_threads(AZ_THREADS_MAX + 1, NULL, &err),
		     AZ_ERR_INVALID);
	/* The languages pass their value as it is: a negative one, one beyond unsigned. */
	cr_expect_eq(az_runtime_set_threads(-1, &applied, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "set_threads(n): n must be a single whole number from 1 to 4096, got -1");
	cr_expect_eq(az_runtime_set_threads(4294967297LL, &applied, &err),
		     AZ_ERR_INVALID);
	cr_expect_eq(az_runtime_set_threads(LLONG_MIN, &applied, &err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "set_threads(n): n must be a single whole number from 1 to 4096, got -9223372036854775808");
	cr_expect_eq(az_runtime_set_threads(LLONG_MAX, &applied, NULL),
		     AZ_ERR_INVALID);
	cr_expect_eq(applied, 99);
	cr_expect_null(getenv("OMP_NUM_THREADS"));
}

/* What the Python binding allocates for an az_error, asking the library. */
Test(runtime, error_size_is_the_structs)
{
	cr_expect_eq(az_error_size(), sizeof(az_error));
}

Test(runtime, set_threads_returns_the_count_applied)
{
	unsigned applied = 0;

	cr_assert_eq(az_runtime_set_threads(AZ_THREADS_MAX, &applied, NULL),
		     AZ_OK);
	cr_expect_eq(applied, AZ_THREADS_MAX);
	cr_assert_eq(az_runtime_set_threads(1, &applied, NULL), AZ_OK);
	cr_expect_eq(applied, 1);
	expect_var("OMP_NUM_THREADS", "1");
}

Test(runtime, set_threads_shows_in_thread_info)
{
	cJSON *info;

	setenv("AUTOZYME_THREADS", "1", 1);
	cr_assert_eq(az_runtime_set_threads(2, NULL, NULL), AZ_OK);
	info = thread_info();
	cr_expect_eq(number_field(info, "threads"), 2);
	cr_expect_eq(number_field(info, "explicit"), 2);
	cr_expect_str_eq(string_field(info, "provenance"), "set_threads");
	cr_expect_eq(number_field(field(info, "budget"), "threads"), 1);
	cr_expect_str_eq(string_field(field(info, "budget"), "provenance"),
			 "request");
	cJSON_Delete(info);
}

/* ------------------------------------------------------------ activate */

Test(runtime, activate_keeps_a_user_variable)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv("NUMBA_NUM_THREADS", "4", 1);
	activate("scanpy", "python");
	expect_var("NUMBA_NUM_THREADS", "4");
	expect_var("OMP_NUM_THREADS", "1");
	expect_var("MKL_NUM_THREADS", "1");
}

Test(runtime, activate_after_set_threads_keeps_its_value)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	cr_assert_eq(az_runtime_set_threads(3, NULL, NULL), AZ_OK);
	activate("scanpy", "python");
	expect_var("OMP_NUM_THREADS", "3");
	expect_var("AUTOZYME_THREADS", "3");
}

Test(runtime, activate_under_off_sets_nothing)
{
	unsigned threads = 5;
	bool off = false;
	cJSON *info;

	setenv("AUTOZYME_THREADS", "off", 1);
	activate("scanpy", "python");
	cr_expect_null(getenv("OMP_NUM_THREADS"));
	cr_assert_eq(az_runtime_threads(&threads, &off, NULL), AZ_OK);
	cr_expect(off);
	cr_expect_eq(threads, 0);
	info = thread_info();
	cr_expect(cJSON_IsNull(field(info, "threads")));
	cr_expect(cJSON_IsTrue(field(info, "off")));
	cJSON_Delete(info);
}

Test(runtime, activate_unknown_lists_known_patches)
{
	const az_patch *patch = NULL;
	az_error err = { "" };

	cr_assert_eq(az_runtime_activate("nope", "python", &patch, &err),
		     AZ_ERR_NOT_FOUND);
	cr_expect_null(patch);
	cr_expect_eq(strncmp(err.message,
			     "activate: unknown patch 'nope': known patches are ",
			     50), 0, "%s", err.message);
	cr_expect(strstr(err.message, "cell2location, scanpy, seurat"), "%s",
		  err.message);
	cr_expect_null(getenv(AZ_ENV_ACTIVATE));
}

Test(runtime, activate_refuses_invalid_input)
{
	const az_patch *patch = NULL;
	az_error err = { "" };

	cr_expect_eq(az_runtime_activate("Scan py", "python", &patch, &err),
		     AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "'Scan py'"), "%s", err.message);
	cr_expect_eq(az_runtime_activate("scanpy", "julia", &patch, &err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "activate: invalid language 'julia': expected python or r");
	cr_expect_eq(az_runtime_activate("scanpy", "python", NULL, &err),
		     AZ_ERR_INVALID);
}

Test(runtime, activate_language_mismatch)
{
	const az_patch *patch = NULL;
	az_error err = { "" };

	cr_assert_eq(az_runtime_activate("seurat", "python", &patch, &err),
		     AZ_ERR_NOT_FOUND);
	cr_expect_str_eq(err.message,
			 "activate: patch 'seurat' has no Python side (languages: R)");
	cr_assert_eq(az_runtime_activate("scanpy", "r", &patch, &err),
		     AZ_ERR_NOT_FOUND);
	cr_expect_str_eq(err.message,
			 "activate: patch 'scanpy' has no R side (languages: Python)");
}

/* ---------------------------------------------------------- find_patch */

static char *snapshot(void)
{
	az_error err = { "" };
	char *json = NULL;

	cr_assert_eq(az_runtime_snapshot("python", "3", &json, &err), AZ_OK,
		     "%s", err.message);
	return json;
}

Test(runtime, find_patch_does_not_activate)
{
	const az_patch *patch = NULL;
	az_error err = { "" };
	char *before = snapshot(), *after;

	cr_assert_eq(az_runtime_find_patch("scanpy", "python", &patch, &err),
		     AZ_OK, "%s", err.message);
	cr_assert_not_null(patch);
	cr_expect_str_eq(az_patch_name(patch), "scanpy");
	cr_expect_str_eq(az_patch_upstream(patch, "python"), "scanpy");
	cr_expect_str_eq(az_patch_min_version(patch, "python"), "1.9");
	cr_expect_null(getenv(AZ_ENV_ACTIVATE));
	cr_expect_null(getenv("OMP_NUM_THREADS"));
	after = snapshot();
	cr_expect_str_eq(after, before);
	cr_expect(strstr(after, "\"patches\":[]"), "%s", after);
	free(before);
	free(after);
	/* The registry is read once: activate() returns the same patch. */
	setenv("AUTOZYME_THREADS", "1", 1);
	cr_expect_eq(activate("scanpy", "python"), patch);
}

Test(runtime, find_patch_of_an_active_patch)
{
	const az_patch *patch = NULL;

	setenv("AUTOZYME_THREADS", "1", 1);
	cr_assert_eq(az_runtime_find_patch("seurat", "r", &patch, NULL), AZ_OK);
	cr_expect_eq(activate("seurat", "r"), patch);
	cr_expect_eq(az_runtime_find_patch("seurat", "r", &patch, NULL), AZ_OK);
	cr_expect_str_eq(az_patch_hook(patch, "r"), "autozyme:::patch_seurat");
}

/* find_patch and activate refuse each (name, language) alike, to the
 * letter, and leave the output alone. */
Test(runtime, find_patch_refuses_as_activate_does)
{
	static const struct refusal {
		const char *name, *language;
		az_status status;
		const char *message; /* how it starts */
	} refusals[] = {
		{ "Scan py", "python", AZ_ERR_INVALID,
		  "activate: invalid patch name 'Scan py': expected " },
		{ "scanpy", "julia", AZ_ERR_INVALID,
		  "activate: invalid language 'julia': expected python or r" },
		{ "scanpy", NULL, AZ_ERR_INVALID,
		  "activate: invalid language '': expected python or r" },
		{ "nope", "python", AZ_ERR_NOT_FOUND,
		  "activate: unknown patch 'nope': known patches are cell2location, scanpy, seurat" },
		{ "seurat", "python", AZ_ERR_NOT_FOUND,
		  "activate: patch 'seurat' has no Python side (languages: R)" },
		{ "scanpy", "r", AZ_ERR_NOT_FOUND,
		  "activate: patch 'scanpy' has no R side (languages: Python)" },
	};
	const struct refusal *r;
	const az_patch *found, *activated;
	az_error find_err, activate_err;
	size_t i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		r = &refusals[i];
		found = activated = NULL;
		cr_expect_eq(az_runtime_find_patch(r->name, r->language, &found,
						   &find_err),
			     r->status, "find_patch(%s)", r->name);
		cr_expect_eq(az_runtime_activate(r->name, r->language,
						 &activated, &activate_err),
			     r->status, "activate(%s)", r->name);
		cr_expect_str_eq(find_err.message, activate_err.message);
		cr_expect_eq(strncmp(find_err.message, r->message,
				     strlen(r->message)), 0, "%s",
			     find_err.message);
		cr_expect_null(found);
		cr_expect_null(activated);
	}
	cr_expect_eq(az_runtime_find_patch("scanpy", "python", NULL, &find_err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(find_err.message,
			 "activate: expected an output for the patch");
	cr_expect_null(getenv(AZ_ENV_ACTIVATE));
}

Test(runtime, find_patch_with_no_patch_installed)
{
	const az_patch *patch = NULL;
	az_error err = { "" };

	setenv("AUTOZYME_PATCH_PATH", "/nonexistent/az/patches", 1);
	if (az_runtime_find_patch("scanpy", "python", &patch, &err) == AZ_OK)
		cr_skip_test("patches are installed in %s",
			     az_registry_default_dir());
	cr_expect_eq(strncmp(err.message,
			     "activate: unknown patch 'scanpy': no patches are installed",
			     58), 0, "%s", err.message);
	cr_expect_null(patch);
}

/* Activate the Python patch `name`, then AUTOZYME_ACTIVATE must be `list`. */
static void expect_exported(const char *name, const char *list)
{
	activate(name, "python");
	expect_var(AZ_ENV_ACTIVATE, list);
}

Test(runtime, activate_exports_the_active_list)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	expect_exported("scanpy", "scanpy");
	expect_exported("cell2location", "scanpy,cell2location");
}

Test(runtime, activate_merges_the_parents_list)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv(AZ_ENV_ACTIVATE, "seurat,scanpy", 1);
	expect_exported("cell2location", "seurat,scanpy,cell2location");
	expect_exported("scanpy", "seurat,scanpy,cell2location");
}

Test(runtime, activate_replaces_a_malformed_list)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv(AZ_ENV_ACTIVATE, "Not A List,,", 1);
	expect_exported("scanpy", "scanpy");
}

Test(runtime, activate_twice_changes_nothing)
{
	const az_patch *first;

	setenv("AUTOZYME_THREADS", "1", 1);
	first = activate("scanpy", "python");
	unsetenv("OMP_NUM_THREADS");
	unsetenv(AZ_ENV_ACTIVATE);
	cr_expect_eq(activate("scanpy", "python"), first);
	cr_expect_null(getenv("OMP_NUM_THREADS"));
	cr_expect_null(getenv(AZ_ENV_ACTIVATE));
	cr_expect_str_eq(az_patch_name(first), "scanpy");
}

Test(runtime, fork_child_keeps_the_active_patches)
{
	int status;
	pid_t pid;

	setenv("AUTOZYME_THREADS", "1", 1);
	activate("scanpy", "python");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *json = NULL;
		bool kept = az_runtime_snapshot("python", "3", &json, NULL) ==
				    AZ_OK && strstr(json, "\"scanpy\"");

		free(json);
		_exit(kept ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child lost the active patch");
}

/* ------------------------------------------------------------ snapshot */

static const cJSON *snapshot_patch(const cJSON *doc, int index)
{
	const cJSON *patches = field(doc, "patches");

	cr_assert(cJSON_IsArray(patches));
	cr_assert_gt(cJSON_GetArraySize(patches), index);
	return cJSON_GetArrayItem(patches, index);
}

Test(runtime, snapshot_lists_patches_without_thread_variables)
{
	az_error err = { "" };
	char *json = NULL;
	cJSON *doc;

	cr_assert_eq(az_runtime_set_threads(3, NULL, NULL), AZ_OK);
	activate("scanpy", "python");
	activate("cell2location", "python");
	cr_assert_eq(az_runtime_set_upstream_version("scanpy", "1.10.1", &err),
		     AZ_OK, "%s", err.message);
	cr_assert_eq(az_runtime_snapshot("python", "3.11.2", &json, &err),
		     AZ_OK, "%s", err.message);
	cr_expect_null(strstr(json, "THREADS"), "%s", json);
	doc = cJSON_Parse(json);
	free(json);
	cr_assert_not_null(doc);
	cr_expect_eq(cJSON_GetArraySize(field(doc, "patches")), 2);
	cr_expect_str_eq(string_field(snapshot_patch(doc, 0), "name"), "scanpy");
	cr_expect_str_eq(string_field(snapshot_patch(doc, 0), "upstream_version"),
			 "1.10.1");
	cr_expect_str_eq(string_field(snapshot_patch(doc, 1), "upstream"),
			 "cell2location");
	cr_expect(cJSON_IsNull(field(snapshot_patch(doc, 1), "upstream_version")));
	cJSON_Delete(doc);
}

Test(runtime, snapshot_uses_the_languages_upstream)
{
	char *json = NULL;
	cJSON *doc;

	setenv("AUTOZYME_THREADS", "1", 1);
	activate("seurat", "r");
	cr_assert_eq(az_runtime_set_upstream_version("seurat", "4.3.0", NULL),
		     AZ_OK);
	cr_assert_eq(az_runtime_snapshot("r", "4.2.2", &json, NULL), AZ_OK);
	doc = cJSON_Parse(json);
	free(json);
	cr_assert_not_null(doc);
	cr_expect_str_eq(string_field(snapshot_patch(doc, 0), "upstream"),
			 "Seurat");
	cr_expect_str_eq(string_field(snapshot_patch(doc, 0), "upstream_version"),
			 "4.3.0");
	cJSON_Delete(doc);
}

Test(runtime, upstream_version_needs_an_active_patch)
{
	az_error err = { "" };

	cr_expect_eq(az_runtime_set_upstream_version("scanpy", "1.0", &err),
		     AZ_ERR_NOT_FOUND);
	cr_expect_str_eq(err.message,
			 "set_upstream_version: patch 'scanpy' is not active: activate it first");
}

/* --------------------------------------------------------- thread_info */

Test(runtime, thread_info_has_every_field)
{
	static const char *const keys[] = {
		"threads", "off", "provenance", "budget", "explicit",
		"activation_file", "activation_file_read", "activation_error",
		"cpus", "pools", NULL
	};
	cJSON *info;

	setenv("AUTOZYME_THREADS", "1", 1);
	info = thread_info();
	for (size_t i = 0; keys[i]; i++)
		field(info, keys[i]);
	cr_expect(cJSON_IsNull(field(info, "explicit")));
	cr_expect(cJSON_IsFalse(field(info, "off")));
	cr_expect_eq(number_field(field(info, "budget"), "allocation"),
		     budget().allocation);
	cr_expect(cJSON_IsString(field(field(info, "cpus"), "list")));
	cr_expect(cJSON_IsArray(field(info, "pools")));
	cJSON_Delete(info);
}

static const cJSON *find_pool(const cJSON *info, const char *kind)
{
	const cJSON *pool;

	cJSON_ArrayForEach(pool, field(info, "pools"))
		if (strcmp(string_field(pool, "kind"), kind) == 0)
			return pool;
	return NULL;
}

Test(runtime, set_threads_drives_a_loaded_openblas)
{
	void *openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
	const cJSON *pool;
	cJSON *info;

	if (!openblas)
		cr_skip_test("libopenblas.so.0 is not installed: %s", dlerror());
	cr_assert_eq(az_runtime_set_threads(1, NULL, NULL), AZ_OK);
	info = thread_info();
	pool = find_pool(info, "openblas");
	cr_assert_not_null(pool, "OpenBLAS is loaded but not listed");
	cr_expect_eq(number_field(pool, "threads"), 1);
	cr_expect(strstr(string_field(pool, "path"), "openblas"));
	cJSON_Delete(info);
	dlclose(openblas);
}

/* Debian's OpenBLAS and libgomp, each set to 5 through its own setter so
 * that any other count it reports later is activate()'s doing. */
typedef struct runtimes {
	void *openblas, *gomp;
} runtimes;

static void *runtime_symbol(void *handle, const char *name)
{
	void *symbol = dlsym(handle, name);

	cr_assert_not_null(symbol, "no %s", name);
	return symbol;
}

/* NODELETE: a runtime's threads must outlive our dlclose. */
static void *load_or_skip(const char *name)
{
	void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!handle)
		cr_skip_test("%s is not installed: %s", name, dlerror());
	return handle;
}

static runtimes load_runtimes(void)
{
	runtimes rts = { load_or_skip("libopenblas.so.0"),
			 load_or_skip("libgomp.so.1") };

	((void (*)(int))runtime_symbol(rts.openblas, "openblas_set_num_threads"))(5);
	((void (*)(int))runtime_symbol(rts.gomp, "omp_set_num_threads"))(5);
	return rts;
}

/* What each runtime reports through its own getter; then unloads them. */
static void expect_runtimes(runtimes rts, int openblas, int gomp)
{
	cr_expect_eq(((int (*)(void))runtime_symbol(rts.openblas,
						    "openblas_get_num_threads"))(),
		     openblas, "OpenBLAS");
	cr_expect_eq(((int (*)(void))runtime_symbol(rts.gomp,
						    "omp_get_max_threads"))(),
		     gomp, "libgomp");
	dlclose(rts.gomp);
	dlclose(rts.openblas);
}

/*
 * The page: a thread variable the user set before activate() is kept, by
 * the library that reads it too.  OpenBLAS follows OPENBLAS_NUM_THREADS=1;
 * libgomp, whose OMP_NUM_THREADS the user left alone, gets the budget.
 */
Test(runtime, activate_keeps_a_user_variable_for_its_pool)
{
	runtimes rts = load_runtimes();
	char *path = write_activation_file(2);
	cJSON *info;

	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	activate("scanpy", "python");
	expect_var("OPENBLAS_NUM_THREADS", "1");
	expect_var("OMP_NUM_THREADS", "2");
	info = thread_info();
	cr_expect_eq(number_field(info, "threads"), 2);
	cr_expect_eq(number_field(find_pool(info, "openblas"), "threads"), 1);
	cr_expect_eq(number_field(find_pool(info, "gomp"), "threads"), 2);
	cJSON_Delete(info);
	expect_runtimes(rts, 1, 2);
	remove_file(path);
}

/* A value AutoZyme injected earlier (a parent's activate()) is no choice
 * of the user's, nor is a value that is no count: the pool gets the budget. */
Test(runtime, activate_ignores_an_injected_or_malformed_variable)
{
	runtimes rts = load_runtimes();
	char *path = write_activation_file(2);

	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	setenv("OMP_NUM_THREADS", "many", 1);
	setenv(AZ_ENV_INJECTED, "OPENBLAS_NUM_THREADS", 1);
	setenv(AZ_ENV_INJECTED_VALUE, "1", 1);
	activate("scanpy", "python");
	expect_var("OPENBLAS_NUM_THREADS", "2");
	expect_var("OMP_NUM_THREADS", "many");
	expect_runtimes(rts, 2, 2);
	remove_file(path);
}

/* After set_threads(n) every pool holds n, whatever the variables say. */
Test(runtime, activate_after_set_threads_gives_every_pool_its_value)
{
	runtimes rts = load_runtimes();

	cr_assert_eq(az_runtime_set_threads(3, NULL, NULL), AZ_OK);
	((void (*)(int))runtime_symbol(rts.gomp, "omp_set_num_threads"))(5);
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	activate("scanpy", "python");
	expect_runtimes(rts, 3, 3);
}

/* ------------------------------------------------------------- MPI ranks */

/* Pin this test process to one CPU: smaller than its parent's cpuset. */
static void pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (own_pus() < 2)
		cr_skip_test("needs 2 CPUs");
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

static void open_mpi_ranks(const char *size, const char *rank)
{
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", size, 1);
	setenv("OMPI_COMM_WORLD_LOCAL_RANK", rank, 1);
}

static unsigned half(unsigned pus)
{
	return pus / 2 ? pus / 2 : 1;
}

Test(runtime, unbound_mpi_ranks_split_the_cpuset)
{
	unsigned pus = own_pus();
	const cJSON *ranks;
	cJSON *info;

	open_mpi_ranks("2", "1");
	expect_budget(half(pus), AZ_PROV_MPI_ENV);
	cr_expect_eq(budget().allocation, half(pus));
	info = thread_info();
	cr_expect_str_eq(string_field(info, "provenance"), "mpi_env");
	ranks = field(info, "ranks");
	cr_expect_eq(number_field(ranks, "local_size"), 2);
	cr_expect_eq(number_field(ranks, "local_rank"), 1);
	cr_expect_str_eq(string_field(ranks, "source"), "mpi_env");
	cr_expect(cJSON_IsFalse(field(ranks, "bound")));
	cr_expect(cJSON_IsFalse(field(ranks, "slurm_tasks")));
	cJSON_Delete(info);
}

Test(runtime, bound_mpi_rank_keeps_its_cpuset)
{
	cJSON *info;

	pin_to_one_cpu();
	open_mpi_ranks("4", "0");
	expect_budget(1, AZ_PROV_CPUSET);
	info = thread_info();
	cr_expect(cJSON_IsTrue(field(field(info, "ranks"), "bound")));
	cJSON_Delete(info);
}

Test(runtime, one_rank_is_no_split)
{
	cJSON *info;

	open_mpi_ranks("1", "0");
	expect_budget(own_pus(), AZ_PROV_CPUSET);
	info = thread_info();
	cr_expect(cJSON_IsNull(field(info, "ranks")));
	cJSON_Delete(info);
}

/* mpirun inside a Slurm task: its ranks share the task's file budget. */
Test(runtime, unbound_ranks_inside_a_task_split_its_file)
{
	unsigned pus = own_pus();
	char *path = write_activation_file_of(pus, pus);

	open_mpi_ranks("2", "0");
	expect_budget(half(pus), AZ_PROV_MPI_ENV);
	cr_expect_eq(budget().allocation, half(pus));
	cr_expect(azi_runtime_from_activation_file());
	remove_file(path);
}

Test(runtime, bound_ranks_inside_a_task_run_on_their_cpuset)
{
	unsigned pus = own_pus();
	char *path = write_activation_file_of(pus, pus);
	cJSON *info;

	pin_to_one_cpu();
	open_mpi_ranks("2", "1");
	expect_budget(1, AZ_PROV_CPUSET);
	info = thread_info();
	cr_expect_eq(number_field(field(info, "cpus"), "pus"), 1);
	cJSON_Delete(info);
	remove_file(path);
}

/* srun's tasks are what the plugin decided the file for. */
Test(runtime, srun_tasks_keep_their_file)
{
	char *path = write_activation_file_of(1, 4);

	setenv("SLURM_STEP_TASKS_PER_NODE", "2", 1);
	setenv("SLURM_NODEID", "0", 1);
	setenv("SLURM_LOCALID", "1", 1);
	expect_budget(1, AZ_PROV_CPUS_PER_TASK);
	cr_expect_eq(budget().allocation, 1);
	remove_file(path);
}

/* ---------------------------------------------------------- worker pools */

static az_worker_share pool_start(unsigned workers)
{
	az_worker_share share = { 0, 0 };
	az_error err = { "" };

	cr_assert_eq(az_runtime_pool_start(workers, &share, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(share.workers, workers);
	return share;
}

static unsigned threads_in_force(void)
{
	unsigned threads = 0;
	bool off = true;

	cr_assert_eq(az_runtime_threads(&threads, &off, NULL), AZ_OK);
	cr_expect_not(off);
	return threads;
}

static void expect_share(const cJSON *share, unsigned threads,
			 unsigned workers, unsigned each)
{
	cr_assert(cJSON_IsObject(share), "no share");
	cr_expect_eq(number_field(share, "threads"), threads);
	cr_expect_eq(number_field(share, "workers"), workers);
	cr_expect_eq(number_field(share, "threads_per_worker"), each);
}

Test(runtime, pool_start_shares_and_the_parent_keeps_its_threads)
{
	unsigned n = own_pus(), each = n / 3 ? n / 3 : 1;
	char *path = write_activation_file(n);
	az_worker_share share = pool_start(3);
	const cJSON *over;
	cJSON *info;

	cr_expect_eq(share.threads, n);
	cr_expect_eq(threads_in_force(), n);
	expect_budget(n, AZ_PROV_CPUS_PER_TASK);
	info = thread_info();
	expect_share(field(info, "pool"), n, 3, each);
	cr_expect(cJSON_IsNull(field(info, "worker")));
	over = field(info, "oversubscription");
	cr_expect_eq(number_field(over, "workers"), 3);
	cr_expect_eq(number_field(over, "threads_per_worker"), each);
	cr_expect_eq(number_field(over, "running_threads"), 3 * each);
	cr_expect_eq(number_field(over, "cpus"), n);
	cr_expect_eq(number_field(over, "ratio"), 3.0 * each / n);
	cr_expect_str_eq(string_field(over, "policy"), "warn");
	cJSON_Delete(info);
	remove_file(path);
}

Test(runtime, pool_start_after_set_threads_shares_its_value)
{
	char *path = write_activation_file(4);

	cr_assert_eq(az_runtime_set_threads(2, NULL, NULL), AZ_OK);
	cr_expect_eq(pool_start(2).threads, 2);
	remove_file(path);
}

Test(runtime, pool_start_under_off_shares_nothing)
{
	setenv("AUTOZYME_THREADS", "off", 1);
	cr_expect_eq(pool_start(2).threads, 0);
}

Test(runtime, pool_start_refuses_bad_counts)
{
	az_worker_share share;
	az_error err = { "" };

	cr_expect_eq(az_runtime_pool_start(0, &share, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "pool_start: invalid worker count 0: expected an integer from 1 to 4096");
	cr_expect_eq(az_runtime_pool_start(4097, &share, NULL), AZ_ERR_INVALID);
	cr_expect_eq(az_runtime_pool_start(2, NULL, NULL), AZ_ERR_INVALID);
	/* A refused count leaves share.workers 0: the guard's refusal does not. */
	share = (az_worker_share){ 7, 7 };
	cr_expect_eq(az_runtime_pool_start(-1, &share, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "pool_start: invalid worker count -1: expected an integer from 1 to 4096");
	cr_expect_eq(share.workers, 0);
	cr_expect_eq(share.threads, 0);
	share = (az_worker_share){ 7, 7 };
	cr_expect_eq(az_runtime_pool_start(LLONG_MAX, &share, NULL),
		     AZ_ERR_INVALID);
	cr_expect_eq(share.workers, 0);
}

Test(runtime, a_worker_runs_its_share)
{
	const char *const *vars = az_thread_vars_default();
	az_worker_share share = { 4, 2 };
	az_error err = { "" };
	cJSON *info;

	setenv("OMP_NUM_THREADS", "7", 1);
	cr_assert_eq(az_runtime_enter_worker(&share, &err), AZ_OK, "%s",
		     err.message);
	for (size_t i = 0; vars[i]; i++)
		expect_var(vars[i], "2");
	expect_var(AZ_ENV_WORKER_SHARE, "4/2");
	cr_expect_eq(threads_in_force(), 2);
	info = thread_info();
	cr_expect_str_eq(string_field(info, "provenance"), "worker_share");
	expect_share(field(info, "worker"), 4, 2, 2);
	cr_expect_eq(number_field(field(info, "oversubscription"),
				  "running_threads"), 4);
	cJSON_Delete(info);
	/* The worker's own choice wins. */
	cr_assert_eq(az_runtime_set_threads(1, NULL, NULL), AZ_OK);
	cr_expect_eq(threads_in_force(), 1);
}

Test(runtime, activate_in_a_worker_keeps_the_share)
{
	az_worker_share share = { 4, 4 };

	cr_assert_eq(az_runtime_enter_worker(&share, NULL), AZ_OK);
	activate("scanpy", "python");
	expect_var("OPENBLAS_NUM_THREADS", "1");
	cr_expect_eq(threads_in_force(), 1);
}

/* A fresh worker: the share its parent exported. */
Test(runtime, worker_share_variable_gives_the_share)
{
	char *path = write_activation_file(1);
	cJSON *info;

	setenv(AZ_ENV_WORKER_SHARE, "4/3", 1);
	expect_budget(1, AZ_PROV_WORKER_SHARE);
	cr_expect_eq(budget().allocation, 1);
	info = thread_info();
	expect_share(field(info, "worker"), 4, 3, 1);
	cJSON_Delete(info);
	cr_assert_eq(az_runtime_enter_worker(NULL, NULL), AZ_OK);
	expect_var("MKL_NUM_THREADS", "1");
	remove_file(path);
}

Test(runtime, malformed_worker_share_names_the_variable)
{
	az_budget b;
	az_error err = { "" };

	setenv(AZ_ENV_WORKER_SHARE, "4", 1);
	cr_assert_eq(azi_runtime_budget(&b, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_WORKER_SHARE: invalid value '4': expected THREADS/WORKERS, two integers from 1 to 4096 (e.g. 8/4)");
}

Test(runtime, enter_worker_refuses_bad_shares)
{
	az_worker_share zero_threads = { 0, 2 }, zero_workers = { 2, 0 };
	az_error err = { "" };

	cr_expect_eq(az_runtime_enter_worker(&zero_threads, &err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "worker share: invalid thread count 0: expected an integer from 1 to 4096");
	cr_expect_eq(az_runtime_enter_worker(&zero_workers, &err),
		     AZ_ERR_INVALID);
	cr_expect_eq(az_runtime_enter_worker(NULL, &err), AZ_ERR_INVALID);
	cr_expect(strncmp(err.message, "AUTOZYME_WORKER_SHARE: ", 23) == 0,
		  "%s", err.message);
}

/* A fork worker drops the parent's set_threads and pool: they are not its own. */
Test(runtime, fork_worker_enters_its_share)
{
	az_worker_share share;
	int status;
	pid_t pid;

	cr_assert_eq(az_runtime_set_threads(4, NULL, NULL), AZ_OK);
	share = pool_start(2);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		unsigned threads = 0;
		bool off = true;
		char *json = NULL;
		bool ok = az_runtime_enter_worker(&share, NULL) == AZ_OK &&
			  az_runtime_threads(&threads, &off, NULL) == AZ_OK &&
			  threads == 2 &&
			  az_runtime_thread_info(&json, NULL) == AZ_OK &&
			  strstr(json, "\"explicit\":null") &&
			  strstr(json, "\"pool\":null");

		free(json);
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the worker did not run its share alone");
	cr_expect_eq(threads_in_force(), 4, "the parent lost its threads");
}

Test(runtime, worker_env_lists_the_share)
{
	const char *const *vars = az_thread_vars_default();
	az_worker_share share = { 8, 3 };
	char *json = NULL;
	cJSON *env;
	size_t n = 0;

	cr_assert_eq(az_runtime_worker_env(&share, &json, NULL), AZ_OK);
	env = cJSON_Parse(json);
	free(json);
	for (; vars[n]; n++)
		cr_expect_str_eq(string_field(env, vars[n]), "2");
	cr_expect_str_eq(string_field(env, AZ_ENV_WORKER_SHARE), "8/3");
	cr_expect_eq((size_t)cJSON_GetArraySize(env), n + 1);
	cJSON_Delete(env);
	share.workers = 0;
	cr_expect_eq(az_runtime_worker_env(&share, &json, NULL), AZ_ERR_INVALID);
}

/* ------------------------------------------------ the oversubscription guard */

static void clean_env_and_capture_stderr(void)
{
	clean_env();
	cr_redirect_stderr();
}

static void expect_stderr(const char *expected)
{
	fflush(stderr);
	cr_expect_stderr_eq_str(expected);
}

Test(runtime, oversubscribed_set_threads_warns_once,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;

	cr_assert_eq(az_runtime_set_threads(2 * n, NULL, NULL), AZ_OK);
	cr_assert_eq(az_runtime_set_threads(4 * n, NULL, NULL), AZ_OK);
	cr_expect_eq(threads_in_force(), 4 * n);
	cr_assert_geq(asprintf(&said, "autozyme: warning: set_threads(%u) runs %u threads on %u CPU%s (2.00x oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences this, =error refuses it\n",
			       2 * n, 2 * n, n, n == 1 ? "" : "s"), 0);
	expect_stderr(said);
	free(said);
	remove_file(path);
}

Test(runtime, oversubscribed_pool_warns_once,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;

	pool_start(1);
	pool_start(3 * n);
	pool_start(4 * n);
	cr_assert_geq(asprintf(&said, "autozyme: warning: a pool of %u workers x 1 thread runs %u threads on %u CPU%s (3.00x oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences this, =error refuses it\n",
			       3 * n, 3 * n, n, n == 1 ? "" : "s"), 0);
	expect_stderr(said);
	free(said);
	remove_file(path);
}

Test(runtime, oversubscription_ignored_is_silent,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n);
	cJSON *info;

	setenv(AZ_ENV_OVERSUBSCRIPTION, "ignore", 1);
	cr_assert_eq(az_runtime_set_threads(2 * n, NULL, NULL), AZ_OK);
	pool_start(4 * n);
	info = thread_info();
	cr_expect_eq(number_field(field(info, "oversubscription"), "ratio"), 4);
	cr_expect_str_eq(string_field(field(info, "oversubscription"), "policy"),
			 "ignore");
	cJSON_Delete(info);
	expect_stderr("");
	remove_file(path);
}

Test(runtime, within_the_cpus_nothing_is_said,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n);

	cr_assert_eq(az_runtime_set_threads(n, NULL, NULL), AZ_OK);
	pool_start(n);
	pool_start(1);
	expect_stderr("");
	remove_file(path);
}

Test(runtime, oversubscription_error_refuses_and_changes_nothing)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;
	const char *cpus = n == 1 ? "CPU" : "CPUs";
	az_worker_share share;
	az_error err = { "" };

	setenv(AZ_ENV_OVERSUBSCRIPTION, "error", 1);
	cr_assert_eq(az_runtime_set_threads(2 * n, NULL, &err), AZ_ERR_INVALID);
	cr_assert_geq(asprintf(&said, "set_threads(%u) runs %u threads on %u %s (2.00x oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn or ignore allow it)",
			       2 * n, 2 * n, n, cpus), 0);
	cr_expect_str_eq(err.message, said);
	free(said);
	cr_expect_eq(threads_in_force(), n);
	cr_expect_null(getenv("OMP_NUM_THREADS"));
	cr_assert_eq(az_runtime_pool_start(2 * n, &share, &err), AZ_ERR_INVALID);
	cr_assert_geq(asprintf(&said, "a pool of %u workers x 1 thread runs %u threads on %u %s (2.00x oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn or ignore allow it)",
			       2 * n, 2 * n, n, cpus), 0);
	cr_expect_str_eq(err.message, said);
	free(said);
	cr_expect_eq(share.workers, 2 * n);
	cr_assert_eq(az_runtime_set_threads(n, NULL, &err), AZ_OK, "%s", err.message);
	remove_file(path);
}

Test(runtime, a_workers_set_threads_counts_its_siblings)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;
	az_error err = { "" };

	setenv(AZ_ENV_WORKER_SHARE, n >= 2 ? "2/2" : "1/2", 1);
	setenv(AZ_ENV_OVERSUBSCRIPTION, "error", 1);
	if (n >= 2)
		cr_assert_eq(az_runtime_set_threads(n / 2, NULL, &err), AZ_OK, "%s", err.message);
	cr_assert_eq(az_runtime_set_threads(n, NULL, &err), AZ_ERR_INVALID);
	cr_assert_geq(asprintf(&said, "set_threads(%u) in each of 2 workers runs %u threads on %u CPU%s (2.00x oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn or ignore allow it)",
			       n, 2 * n, n, n == 1 ? "" : "s"), 0);
	cr_expect_str_eq(err.message, said);
	free(said);
	remove_file(path);
}

Test(runtime, bad_oversubscription_policy_is_refused)
{
	static const char expected[] =
		"AUTOZYME_OVERSUBSCRIPTION: invalid value 'loud': expected warn, error or ignore";
	az_worker_share share;
	az_error err = { "" };
	char *json = NULL;

	setenv(AZ_ENV_OVERSUBSCRIPTION, "loud", 1);
	cr_expect_eq(az_runtime_set_threads(1, NULL, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, expected);
	err.message[0] = '\0';
	cr_expect_eq(az_runtime_pool_start(1, &share, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, expected);
	err.message[0] = '\0';
	cr_expect_eq(az_runtime_thread_info(&json, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, expected);
}

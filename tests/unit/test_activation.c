/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE /* asprintf */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include "azcore.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ----------------------------------------------------------- sample data */

static char *sample_patches[] = { "scanpy", "seurat" };
static char *sample_thread_vars[] = { "OMP_NUM_THREADS", "MKL_NUM_THREADS" };
static az_variable sample_vars[] = {
	{ "OMP_PLACES", "cores" },
	{ "OMP_PROC_BIND", "spread" },
};

/* A step of 2 tasks on 4 PUs (2 cores), -c2, asking for 8 threads. */
static az_activation sample(bool array, bool off)
{
	return (az_activation){
		.job_id = 1234,
		.step = "batch",
		.array_job_id = array ? 1200 : AZ_ID_NONE,
		.array_task_id = array ? 34 : AZ_ID_NONE,
		.node_id = 0,
		.cpuset = "0-3",
		.cores = 2,
		.inputs = {
			.base = {
				.request = off ? (az_request){ .kind = AZ_REQUEST_OFF }
					       : (az_request){ .kind = AZ_REQUEST_COUNT, .count = 8 },
				.quota_cpus = 3.5,
				.cpus_per_task = 2,
				.local_tasks = 2,
				.launch_pus = 4,
				.site_default = 0,
				.site_max = 16,
				.smt = AZ_SMT_CORES,
			},
			.binding_none = array,
		},
		.explicit_request = true,
		.budget = {
			.off = off,
			.threads = off ? 0 : 2,
			.provenance = off ? AZ_PROV_REQUEST_OFF : AZ_PROV_CPUS_PER_TASK,
			.allocation = 4,
			.allocation_provenance = AZ_PROV_CPUSET,
			.clamped = !off,
			.requested = off ? 0 : 8,
		},
		.patches = sample_patches,
		.n_patches = 2,
		.thread_vars = off ? NULL : sample_thread_vars,
		.n_thread_vars = off ? 0 : 2,
		.variables = off ? NULL : sample_vars,
		.n_variables = off ? 0 : 2,
	};
}

static void assert_same_inputs(const az_shared_input *a, const az_shared_input *b)
{
	cr_assert_eq(a->base.request.kind, b->base.request.kind);
	cr_assert_eq(a->base.request.count, b->base.request.count);
	cr_assert_eq(a->base.quota_cpus, b->base.quota_cpus);
	cr_assert_eq(a->base.cpus_per_task, b->base.cpus_per_task);
	cr_assert_eq(a->base.local_tasks, b->base.local_tasks);
	cr_assert_eq(a->base.local_source, b->base.local_source);
	cr_assert_eq(a->base.launch_pus, b->base.launch_pus);
	cr_assert_eq(a->base.site_default, b->base.site_default);
	cr_assert_eq(a->base.site_max, b->base.site_max);
	cr_assert_eq(a->base.smt, b->base.smt);
	cr_assert_eq(a->binding_none, b->binding_none);
}

static void assert_same(const az_activation *a, const az_activation *b)
{
	cr_assert_eq(a->job_id, b->job_id);
	cr_assert_str_eq(a->step, b->step);
	cr_assert_eq(a->array_job_id, b->array_job_id);
	cr_assert_eq(a->array_task_id, b->array_task_id);
	cr_assert_eq(a->node_id, b->node_id);
	cr_assert_str_eq(a->cpuset, b->cpuset);
	cr_assert_eq(a->cores, b->cores);
	assert_same_inputs(&a->inputs, &b->inputs);
	cr_assert_eq(a->explicit_request, b->explicit_request);
	cr_assert_eq(a->budget.off, b->budget.off);
	cr_assert_eq(a->budget.threads, b->budget.threads);
	cr_assert_eq(a->budget.provenance, b->budget.provenance);
	cr_assert_eq(a->budget.allocation, b->budget.allocation);
	cr_assert_eq(a->budget.allocation_provenance,
		     b->budget.allocation_provenance);
	cr_assert_eq(a->budget.clamped, b->budget.clamped);
	cr_assert_eq(a->budget.requested, b->budget.requested);
	cr_assert_eq(a->n_patches, b->n_patches);
	for (size_t i = 0; i < a->n_patches; i++)
		cr_assert_str_eq(a->patches[i], b->patches[i]);
	cr_assert_eq(a->n_thread_vars, b->n_thread_vars);
	for (size_t i = 0; i < a->n_thread_vars; i++)
		cr_assert_str_eq(a->thread_vars[i], b->thread_vars[i]);
	cr_assert_eq(a->n_variables, b->n_variables);
	for (size_t i = 0; i < a->n_variables; i++) {
		cr_assert_str_eq(a->variables[i].name, b->variables[i].name);
		cr_assert_str_eq(a->variables[i].value, b->variables[i].value);
	}
}

static char *to_json(const az_activation *act)
{
	az_error err = { "" };
	char *json = NULL;

	cr_assert_eq(az_activation_to_json(act, &json, &err), AZ_OK, "%s",
		     err.message);
	cr_assert_not_null(json);
	return json;
}

/* The array task with threads on: every field holds a value. */
static char *valid_doc(void)
{
	az_activation act = sample(true, false);

	return to_json(&act);
}

static az_activation *parse_ok(const char *json, size_t len)
{
	az_error err = { "" };
	az_activation *act = NULL;

	cr_assert_eq(az_activation_from_json(json, len, &act, &err), AZ_OK,
		     "%s", err.message);
	cr_assert_not_null(act);
	return act;
}

/* A sentinel proves *out is left untouched on failure. */
static az_activation *const untouched = (az_activation *)&untouched;

/* A call that failed as expected, left *out alone and explained itself. */
static void assert_failure(az_status got, az_status want,
			   const az_activation *act, const char *message,
			   const char *prefix)
{
	cr_assert_eq(got, want, "expected %s, got %s (%s)",
		     az_status_name(want), az_status_name(got), message);
	cr_assert_eq(act, untouched, "*out written on failure");
	cr_assert_eq(strncmp(message, prefix, strlen(prefix)), 0,
		     "'%s' does not start with '%s'", message, prefix);
}

static void expect_error_len(const char *json, size_t len, az_status status,
			     const char *prefix)
{
	az_error err = { "" };
	az_activation *act = untouched;
	az_status got = az_activation_from_json(json, len, &act, &err);

	assert_failure(got, status, act, err.message, prefix);
}

static void expect_error(const char *json, az_status status,
			 const char *prefix)
{
	expect_error_len(json, strlen(json), status, prefix);
}

/*
 * The valid document with the field at `path` ("threads.count",
 * "variables.OMP_NUM_THREADS", "schema") replaced by the JSON `value`, or
 * removed when `value` is NULL.  Free with free().
 */
static char *mutated(const char *path, const char *value)
{
	char *doc = valid_doc(), *out, section[32];
	cJSON *root = cJSON_Parse(doc), *parent = root;
	const char *dot = strchr(path, '.'), *key = path;

	cr_assert_not_null(root);
	if (dot) {
		snprintf(section, sizeof(section), "%.*s", (int)(dot - path),
			 path);
		parent = cJSON_GetObjectItemCaseSensitive(root, section);
		key = dot + 1;
	}
	cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(parent, key),
			   "no field %s in the sample", path);
	if (value)
		cr_assert(cJSON_ReplaceItemInObjectCaseSensitive(
			parent, key, cJSON_Parse(value)));
	else
		cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	free(doc);
	return out;
}

static void expect_mutation_error(const char *path, const char *value,
				  az_status status, const char *prefix)
{
	char *doc = mutated(path, value);

	expect_error(doc, status, prefix);
	free(doc);
}

static void expect_mutation_ok(const char *path, const char *value)
{
	char *doc = mutated(path, value);

	az_activation_free(parse_ok(doc, strlen(doc)));
	free(doc);
}

/* ------------------------------------------------------------ round trip */

static void round_trip(bool array, bool off)
{
	az_activation act = sample(array, off), *back;
	char *json = to_json(&act);

	back = parse_ok(json, strlen(json));
	assert_same(&act, back);
	az_activation_free(back);
	free(json);
}

Test(round_trip, array_threads_on) { round_trip(true, false); }
Test(round_trip, array_threads_off) { round_trip(true, true); }
Test(round_trip, plain_threads_on) { round_trip(false, false); }
Test(round_trip, plain_threads_off) { round_trip(false, true); }

Test(round_trip, empty_lists)
{
	az_activation act = sample(false, false), *back;
	char *json;

	act.n_patches = 0;
	act.patches = NULL;
	act.n_thread_vars = 0;
	act.thread_vars = NULL;
	act.n_variables = 0;
	act.variables = NULL;
	json = to_json(&act);
	back = parse_ok(json, strlen(json));
	assert_same(&act, back);
	az_activation_free(back);
	free(json);
}

Test(round_trip, free_accepts_null)
{
	az_activation_free(NULL);
	cr_assert(true, "az_activation_free(NULL) returned");
}

/* The written layout is the documented one, independent of our reader. */
Test(writer, layout_matches_the_schema)
{
	az_activation act = sample(false, true);
	char *json = to_json(&act);
	cJSON *root = cJSON_Parse(json);
	cJSON *job = cJSON_GetObjectItem(root, "job");
	cJSON *threads = cJSON_GetObjectItem(root, "threads");

	cJSON *inputs = cJSON_GetObjectItem(root, "inputs");

	cr_assert_eq(cJSON_GetObjectItem(root, "schema")->valuedouble, 2);
	cr_assert_eq(cJSON_GetObjectItem(job, "id")->valuedouble, 1234);
	cr_assert_str_eq(cJSON_GetObjectItem(inputs, "request")->valuestring, "off");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(inputs, "count")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(inputs, "default_threads")));
	cr_assert_eq(cJSON_GetObjectItem(inputs, "max_threads")->valuedouble, 16);
	cr_assert_eq(cJSON_GetObjectItem(inputs, "quota")->valuedouble, 3.5);
	cr_assert_str_eq(cJSON_GetObjectItem(inputs, "smt")->valuestring, "cores");
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "cpus"), "pus")->valuedouble, 4);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(root, "thread_variables")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(job, "array_job_id")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(job, "array_task_id")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(threads, "count")));
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(threads, "off")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(threads, "requested")));
	cr_assert_str_eq(cJSON_GetObjectItem(threads, "provenance")->valuestring,
			 "request_off");
	cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "patches"),
					    1)->valuestring, "seurat");
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(root, "variables")));
	cJSON_Delete(root);
	free(json);
}

static void expect_write_error(const az_activation *act, const char *prefix)
{
	az_error err = { "" };
	char *json = (char *)untouched;

	cr_assert_eq(az_activation_to_json(act, &json, &err), AZ_ERR_INVALID);
	cr_assert_eq(json, (char *)untouched, "*json written on failure");
	cr_assert_eq(strncmp(err.message, prefix, strlen(prefix)), 0,
		     "'%s' does not start with '%s'", err.message, prefix);
}

Test(writer, refuses_what_the_reader_would_refuse)
{
	char *bad_patches[] = { "Not A Patch" };
	az_activation act = sample(true, false);

	act.budget.threads = 0;
	expect_write_error(&act, "threads.count:");
	act = sample(true, false);
	act.budget.requested = AZ_THREADS_MAX + 1;
	expect_write_error(&act, "threads.requested:");
	act = sample(true, false);
	act.budget.provenance = (az_provenance)99;
	expect_write_error(&act, "threads.provenance:");
	act = sample(true, false);
	act.patches = bad_patches;
	act.n_patches = 1;
	expect_write_error(&act, "patches[0]:");
	act = sample(true, false);
	act.step = NULL;
	expect_write_error(&act, "job.step:");
	act = sample(true, false);
	act.inputs.base.request.count = 0;
	expect_write_error(&act, "inputs.count:");
	act = sample(true, false);
	act.inputs.base.smt = (az_smt_policy)7;
	expect_write_error(&act, "inputs.smt:");
	act = sample(true, false);
	act.inputs.base.quota_cpus = -1;
	expect_write_error(&act, "inputs.quota:");
	act = sample(true, false);
	act.thread_vars = bad_patches;
	expect_write_error(&act, "thread_variables[0]:");
}

/* -------------------------------------------- a hand-written fixture */

static char *fixture_path(const char *name)
{
	const char *srcdir = getenv("AZ_TEST_SRCDIR");
	char *path;

	cr_assert_neq(asprintf(&path, "%s/tests/unit/data/activation/%s",
			       srcdir ? srcdir : ".", name), -1);
	return path;
}

static az_activation *read_ok(const char *path)
{
	az_error err = { "" };
	az_activation *act = NULL;

	cr_assert_eq(az_activation_read(path, &act, &err), AZ_OK, "%s: %s",
		     path, err.message);
	cr_assert_not_null(act);
	return act;
}

Test(reader, hand_written_document)
{
	char *path = fixture_path("array_task.json");
	az_activation *act = read_ok(path);

	cr_assert_eq(act->job_id, 4242);
	cr_assert_str_eq(act->step, "0");
	cr_assert_eq(act->array_job_id, 4200);
	cr_assert_eq(act->array_task_id, 7);
	cr_assert_eq(act->node_id, 16);
	cr_assert_eq(act->inputs.base.local_tasks, 4);
	cr_assert_str_eq(act->cpuset, "4-7");
	cr_assert_eq(act->inputs.base.launch_pus, 4);
	cr_assert_eq(act->cores, 2);
	cr_assert_eq(act->inputs.base.request.kind, AZ_REQUEST_COUNT);
	cr_assert_eq(act->inputs.base.request.count, 8);
	cr_assert(act->explicit_request);
	cr_assert_eq(act->inputs.base.cpus_per_task, 0);
	cr_assert_eq(act->inputs.base.quota_cpus, 1.5);
	cr_assert(!act->inputs.binding_none);
	cr_assert_eq(act->inputs.base.site_max, 0);
	cr_assert_eq(act->inputs.base.smt, AZ_SMT_CORES);
	cr_assert_eq(act->budget.threads, 2);
	cr_assert_eq(act->budget.provenance, AZ_PROV_CORES);
	cr_assert_eq(act->budget.allocation_provenance, AZ_PROV_CPUSET);
	cr_assert(act->budget.clamped);
	cr_assert_eq(act->budget.requested, 8);
	cr_assert_eq(act->n_patches, 2);
	cr_assert_str_eq(act->patches[1], "cell2location");
	cr_assert_eq(act->n_thread_vars, 2);
	cr_assert_str_eq(act->thread_vars[1], "MKL_NUM_THREADS");
	cr_assert_eq(act->n_variables, 1);
	cr_assert_str_eq(act->variables[0].name, "OMP_PLACES");
	cr_assert_str_eq(act->variables[0].value, "cores");
	az_activation_free(act);
	free(path);
}

/* ------------------------------------------------------ malformed bytes */

/* Every proper prefix of a valid document, in an exactly sized buffer (no
 * NUL after it), must fail cleanly with an offset inside the prefix. */
Test(malformed, every_truncation_fails_cleanly)
{
	char *doc = valid_doc();
	size_t n = strlen(doc);

	for (size_t len = 0; len < n; len++) {
		char *buf = malloc(len ? len : 1);
		az_error err = { "" };
		az_activation *act = untouched;
		size_t offset = (size_t)-1;

		memcpy(buf, doc, len);
		cr_assert_eq(az_activation_from_json(buf, len, &act, &err),
			     AZ_ERR_PARSE, "prefix of %zu bytes", len);
		cr_assert_eq(act, untouched);
		cr_assert_eq(sscanf(err.message,
				    "activation: not valid JSON at byte %zu",
				    &offset), 1, "%s", err.message);
		cr_assert_leq(offset, len, "%s", err.message);
		free(buf);
	}
	free(doc);
}

Test(malformed, buffer_without_nul_is_read_to_len_only)
{
	char *doc = valid_doc();
	size_t n = strlen(doc);
	char *buf = malloc(n + 8);

	memcpy(buf, doc, n);
	az_activation_free(parse_ok(buf, n));
	memcpy(buf + n, " \n garb", 8);
	az_activation_free(parse_ok(buf, n + 3));
	expect_error_len(buf, n + 8, AZ_ERR_PARSE,
			 "activation: unexpected data after the JSON value");
	free(buf);
	free(doc);
}

Test(malformed, not_json)
{
	expect_error("", AZ_ERR_PARSE, "activation: not valid JSON at byte 0");
	expect_error("schema: 1", AZ_ERR_PARSE, "activation: not valid JSON");
	expect_error("{\"schema\": 1,}", AZ_ERR_PARSE, "activation: not valid JSON");
	expect_error("{} {}", AZ_ERR_PARSE, "activation: unexpected data");
	expect_error("[]", AZ_ERR_SCHEMA,
		     "activation: expected a JSON object, got an array");
	expect_error("\"text\"", AZ_ERR_SCHEMA, "activation: expected a JSON object");
}

Test(malformed, deep_nesting_is_refused)
{
	size_t depth = 100000;
	char *buf = malloc(2 * depth);

	memset(buf, '[', depth);
	memset(buf + depth, ']', depth);
	expect_error_len(buf, 2 * depth, AZ_ERR_PARSE, "activation: not valid JSON");
	free(buf);
}

/* A valid document padded with blanks to `size` bytes (no NUL). */
static char *padded_doc(size_t size)
{
	char *doc = valid_doc(), *buf = malloc(size);
	size_t n = strlen(doc);

	cr_assert_leq(n, size);
	memcpy(buf, doc, n);
	memset(buf + n, ' ', size - n);
	free(doc);
	return buf;
}

Test(malformed, size_limit_on_buffers)
{
	char *buf = padded_doc(AZ_ACTIVATION_SIZE_MAX + 1);

	az_activation_free(parse_ok(buf, AZ_ACTIVATION_SIZE_MAX));
	expect_error_len(buf, AZ_ACTIVATION_SIZE_MAX + 1, AZ_ERR_TOO_LARGE,
			 "activation: 1048577 bytes exceeds the limit");
	free(buf);
}

/* ------------------------------------------------------------ the schema */

Test(schema, unsupported_versions)
{
	expect_mutation_error("schema", "3", AZ_ERR_SCHEMA,
			      "schema: unsupported version 3, expected 2");
	expect_mutation_error("schema", "1", AZ_ERR_SCHEMA,
			      "schema: version 1 is the per-task file of a plugin older than this runtime: expected 2 (upgrade the node's plugin)");
	expect_mutation_error("schema", "\"2\"", AZ_ERR_SCHEMA,
			      "schema: unsupported version \"2\", expected 2");
	expect_mutation_error("schema", "1.5", AZ_ERR_SCHEMA,
			      "schema: unsupported version 1.5");
	expect_mutation_error("schema", "null", AZ_ERR_SCHEMA,
			      "schema: unsupported version (null)");
	expect_mutation_error("schema", NULL, AZ_ERR_SCHEMA, "schema: missing");
}

static const char *const required_fields[] = {
	"job", "job.id", "job.step", "job.array_job_id", "job.array_task_id",
	"node", "node.id",
	"cpus", "cpus.list", "cpus.pus", "cpus.cores",
	"inputs", "inputs.request", "inputs.count", "inputs.explicit",
	"inputs.cpus_per_task", "inputs.quota", "inputs.local_tasks",
	"inputs.binding_none", "inputs.default_threads", "inputs.max_threads",
	"inputs.smt",
	"threads", "threads.count", "threads.off", "threads.provenance",
	"threads.allocation", "threads.allocation_provenance",
	"threads.clamped", "threads.requested",
	"patches", "thread_variables", "variables",
};

Test(schema, every_required_field_missing)
{
	for (size_t i = 0; i < sizeof(required_fields) / sizeof(*required_fields);
	     i++) {
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "%s: missing, expected ",
			 required_fields[i]);
		expect_mutation_error(required_fields[i], NULL, AZ_ERR_SCHEMA,
				      prefix);
	}
}

/* One field at a time set to a JSON value of the wrong type. */
static const struct wrong_type {
	const char *path;
	const char *value;
} wrong_types[] = {
	{ "job", "\"1234\"" }, { "job", "[]" },
	{ "job.id", "\"1234\"" }, { "job.id", "null" }, { "job.id", "true" },
	{ "job.step", "0" }, { "job.step", "null" },
	{ "job.array_job_id", "\"1200\"" }, { "job.array_job_id", "false" },
	{ "job.array_task_id", "{}" },
	{ "node", "\"node001\"" },
	{ "node.id", "\"0\"" },
	{ "inputs", "[]" },
	{ "inputs.request", "3" }, { "inputs.request", "null" },
	{ "inputs.count", "\"8\"" }, { "inputs.explicit", "1" },
	{ "inputs.cpus_per_task", "null" }, { "inputs.quota", "\"1.5\"" },
	{ "inputs.quota", "null" }, { "inputs.local_tasks", "true" },
	{ "inputs.binding_none", "\"no\"" }, { "inputs.default_threads", "\"2\"" },
	{ "inputs.max_threads", "[]" }, { "inputs.smt", "1" },
	{ "cpus", "\"0-3\"" },
	{ "cpus.list", "[0,1,2,3]" }, { "cpus.pus", "\"4\"" },
	{ "cpus.cores", "{}" },
	{ "threads", "2" },
	{ "threads.count", "\"2\"" }, { "threads.count", "true" },
	{ "threads.count", "null" },
	{ "threads.off", "0" }, { "threads.off", "\"false\"" },
	{ "threads.off", "null" },
	{ "threads.provenance", "3" }, { "threads.provenance", "null" },
	{ "threads.allocation", "\"4\"" },
	{ "threads.allocation_provenance", "[]" },
	{ "threads.clamped", "1" }, { "threads.clamped", "\"true\"" },
	{ "threads.requested", "\"8\"" }, { "threads.requested", "false" },
	{ "patches", "\"scanpy\"" }, { "patches", "{}" },
	{ "thread_variables", "\"OMP_NUM_THREADS\"" }, { "thread_variables", "{}" },
	{ "variables", "[]" }, { "variables", "\"OMP_PLACES=cores\"" },
	{ "variables.OMP_PLACES", "2" },
	{ "variables.OMP_PLACES", "null" },
	{ "variables.OMP_PROC_BIND", "[\"spread\"]" },
};

/* Each mutation must be refused with an error naming its field's path. */
static void expect_refused_values(const struct wrong_type *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "%s: expected ", table[i].path);
		expect_mutation_error(table[i].path, table[i].value,
				      AZ_ERR_SCHEMA, prefix);
	}
}

Test(schema, every_field_with_a_wrong_type)
{
	expect_refused_values(wrong_types,
			      sizeof(wrong_types) / sizeof(*wrong_types));
}

Test(schema, type_errors_read_well)
{
	expect_mutation_error("threads.provenance", "3", AZ_ERR_SCHEMA,
			      "threads.provenance: expected a string, got 3");
	expect_mutation_error("job.id", "\"1\"", AZ_ERR_SCHEMA,
			      "job.id: expected an integer from 0 to 4294967295, got a string");
	expect_mutation_error("job.array_job_id", "true", AZ_ERR_SCHEMA,
			      "job.array_job_id: expected null or an integer from 0 to 4294967295");
}

static const struct wrong_type bad_integers[] = {
	{ "job.id", "-1" }, { "job.id", "1.5" }, { "job.id", "4294967296" },
	{ "job.id", "1e300" }, { "job.array_task_id", "-1" },
	{ "node.id", "-0.5" }, { "inputs.local_tasks", "4294967296" },
	{ "inputs.count", "0" }, { "inputs.max_threads", "4097" },
	{ "cpus.pus", "2.000001" }, { "threads.allocation", "-4" },
	{ "threads.count", "0" }, { "threads.count", "4097" },
	{ "threads.count", "2.5" },
	{ "threads.requested", "0" }, { "threads.requested", "4097" },
};

Test(schema, integers_must_be_integral_and_in_range)
{
	expect_refused_values(bad_integers,
			      sizeof(bad_integers) / sizeof(*bad_integers));
	expect_mutation_error("threads.count", "4097", AZ_ERR_SCHEMA,
			      "threads.count: expected an integer from 1 to 4096, got 4097");
}

Test(schema, integer_bounds_accepted)
{
	expect_mutation_ok("job.id", "4294967295");
	expect_mutation_ok("job.id", "0");
	expect_mutation_ok("node.id", "1e0");
	expect_mutation_ok("threads.count", "4096");
	expect_mutation_ok("threads.count", "1");
	expect_mutation_ok("threads.requested", "null");
}

Test(schema, count_agrees_with_off)
{
	char *doc = mutated("threads.off", "true");

	expect_error(doc, AZ_ERR_SCHEMA,
		     "threads.count: expected null when threads.off is true, got 2");
	free(doc);
}

Test(schema, unknown_provenance)
{
	expect_mutation_error("threads.provenance", "\"because\"", AZ_ERR_SCHEMA,
			      "threads.provenance: unknown provenance 'because'");
	expect_mutation_error("threads.allocation_provenance", "\"CPUSET\"",
			      AZ_ERR_SCHEMA,
			      "threads.allocation_provenance: unknown provenance");
}

Test(schema, invalid_patch_names)
{
	expect_mutation_error("patches", "[\"scanpy\", \"Not A Patch\"]",
			      AZ_ERR_SCHEMA,
			      "patches[1]: invalid patch name 'Not A Patch'");
	expect_mutation_error("patches", "[\"\"]", AZ_ERR_SCHEMA,
			      "patches[0]: invalid patch name ''");
	expect_mutation_error("patches", "[\"scanpy\", 3]", AZ_ERR_SCHEMA,
			      "patches[1]: expected a string, got 3");
	expect_mutation_error("patches", "[\"a,b\"]", AZ_ERR_SCHEMA,
			      "patches[0]: invalid patch name");
	expect_mutation_error("thread_variables", "[\"OMP_NUM_THREADS\", \"A=B\"]",
			      AZ_ERR_SCHEMA, "thread_variables[1]: invalid variable name 'A=B'");
}

Test(schema, enums_name_their_values)
{
	expect_mutation_error("inputs.request", "\"some\"", AZ_ERR_SCHEMA,
			      "inputs.request: unknown value 'some': expected \"unset\", \"auto\", \"off\" or \"count\"");
	expect_mutation_error("inputs.smt", "\"threads\"", AZ_ERR_SCHEMA,
			      "inputs.smt: unknown value 'threads': expected \"pus\" or \"cores\"");
	expect_mutation_error("inputs.quota", "-1", AZ_ERR_SCHEMA,
			      "inputs.quota: expected a number of CPUs >= 0 (0: no quota), got -1");
}

Test(schema, request_count_agrees_with_its_kind)
{
	expect_mutation_error("inputs.count", "null", AZ_ERR_SCHEMA,
			      "inputs.count: expected a count when inputs.request is \"count\", else null");
	expect_mutation_error("inputs.request", "\"auto\"", AZ_ERR_SCHEMA,
			      "inputs.count: expected a count");
}

/* Forward compatibility within schema 2: unknown members are ignored. */
Test(schema, unknown_fields_are_allowed)
{
	char *doc = valid_doc();
	cJSON *root = cJSON_Parse(doc);
	char *extended;

	cJSON_AddStringToObject(root, "future", "field");
	cJSON_AddNumberToObject(cJSON_GetObjectItem(root, "threads"), "hint", 3);
	extended = cJSON_PrintUnformatted(root);
	az_activation_free(parse_ok(extended, strlen(extended)));
	cJSON_Delete(root);
	free(extended);
	free(doc);
}

/* A duplicate key would be read as the first by cJSON and as the last by
 * Python's json and R's jsonlite: refused, naming it, at any depth read. */
static void expect_duplicate(const char *section, const char *key,
			     const char *value, const char *message)
{
	char *doc = valid_doc(), *text;
	cJSON *root = cJSON_Parse(doc);
	cJSON *parent = section ? cJSON_GetObjectItem(root, section) : root;

	cJSON_AddItemToObject(parent, key, cJSON_Parse(value));
	text = cJSON_PrintUnformatted(root);
	expect_error(text, AZ_ERR_SCHEMA, message);
	cJSON_Delete(root);
	free(text);
	free(doc);
}

Test(schema, duplicate_keys_are_refused)
{
	expect_duplicate(NULL, "schema", "1", "schema: duplicate key");
	expect_duplicate(NULL, "threads", "{}", "threads: duplicate key");
	expect_duplicate("threads", "count", "64", "threads.count: duplicate key");
	expect_duplicate("variables", "OMP_PLACES", "\"64\"",
			 "variables.OMP_PLACES: duplicate key");
	expect_duplicate("inputs", "smt", "\"pus\"", "inputs.smt: duplicate key");
}

/* ----------------------------------------------------------- the file */

static char tmpdir[] = "/tmp/az-activation-XXXXXX";
static char *tmp_files[8];
static size_t n_tmp_files;

static char *tmp_path(const char *name)
{
	char *path;

	cr_assert_neq(asprintf(&path, "%s/%s", tmpdir, name), -1);
	cr_assert_lt(n_tmp_files, 8);
	tmp_files[n_tmp_files++] = path;
	return path;
}

static void make_tmpdir(void)
{
	/* mkdtemp fills the template in: renew it for every test. */
	strcpy(tmpdir, "/tmp/az-activation-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	while (n_tmp_files) {
		char *path = tmp_files[--n_tmp_files];

		if (unlink(path) != 0)
			rmdir(path);
		free(path);
	}
	rmdir(tmpdir);
}

TestSuite(file, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 20);

static char *write_file(const char *name, const char *data, size_t len)
{
	char *path = tmp_path(name);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static char *write_valid_file(void)
{
	char *doc = valid_doc();
	char *path = write_file("valid.json", doc, strlen(doc));

	free(doc);
	return path;
}

static void expect_read_error(const char *path, az_status status,
			      const char *needle)
{
	az_error err = { "" };
	az_activation *act = untouched;
	az_status got = az_activation_read(path, &act, &err);

	assert_failure(got, status, act, err.message, path);
	cr_assert_not_null(strstr(err.message, needle), "'%s' lacks '%s'",
			   err.message, needle);
}

Test(file, reads_a_valid_file)
{
	az_activation expected = sample(true, false);
	az_activation *act = read_ok(write_valid_file());

	assert_same(&expected, act);
	az_activation_free(act);
}

Test(file, size_limit_is_checked_before_reading)
{
	char *path = tmp_path("huge.json");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, AZ_ACTIVATION_SIZE_MAX + 1), 0);
	close(fd);
	expect_read_error(path, AZ_ERR_TOO_LARGE,
			  "1048577 bytes exceeds the limit of 1048576 bytes");
}

Test(file, file_at_the_size_limit_is_read)
{
	char *buf = padded_doc(AZ_ACTIVATION_SIZE_MAX);
	char *path = write_file("limit.json", buf, AZ_ACTIVATION_SIZE_MAX);

	az_activation_free(read_ok(path));
	free(buf);
}

/* A directory, a FIFO no writer ever opens (a blocking open would hang
 * here) and a device. */
Test(file, non_regular_files_refused)
{
	char *dir = tmp_path("dir");
	char *fifo = tmp_path("fifo");

	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	expect_read_error(dir, AZ_ERR_IO, "not a regular file");
	expect_read_error(fifo, AZ_ERR_IO, "not a regular file");
	expect_read_error("/dev/null", AZ_ERR_IO, "not a regular file");
}

/* O_NOFOLLOW: a link to a perfectly valid file is still refused. */
Test(file, symlink_refused)
{
	char *target = write_valid_file();
	char *link = tmp_path("link.json");

	cr_assert_eq(symlink(target, link), 0);
	expect_read_error(link, AZ_ERR_IO, "symbolic link");
	az_activation_free(read_ok(target));
}

Test(file, missing_file)
{
	expect_read_error(tmp_path("absent.json"), AZ_ERR_NOT_FOUND,
			  "cannot open");
}

Test(file, content_errors_name_the_file_and_field)
{
	char *doc = mutated("threads.provenance", "7");
	char *path = write_file("bad.json", doc, strlen(doc));
	char *needle;

	cr_assert_neq(asprintf(&needle, "%s: threads.provenance: expected a string",
			       path), -1);
	expect_read_error(path, AZ_ERR_SCHEMA, needle);
	free(needle);
	free(doc);
}

Test(file, truncated_file)
{
	char *doc = valid_doc();
	char *path = write_file("short.json", doc, strlen(doc) / 2);

	expect_read_error(path, AZ_ERR_PARSE, "not valid JSON");
	free(doc);
}

/* ------------------------------------------------- one task of the step */

/* The plugin's task_init and the runtime decide through this call: it is
 * the budget's decision on the step's inputs and the task's own cpuset. */
Test(task, budget_is_the_decision_on_the_tasks_cpuset)
{
	az_activation act = sample(false, false);
	az_cpus cpus = { .pus = 2, .cores = 1, .list = "0-1" };
	az_budget got, want;
	az_budget_input in;
	az_error err = { "" };

	az_budget_input_for_cpus(&act.inputs, &cpus, &in);
	cr_assert_eq(az_budget_decide(&in, &want, &err), AZ_OK, "%s", err.message);
	cr_assert_eq(az_activation_task_budget(&act, &cpus, &got, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(got.threads, want.threads);
	cr_expect_eq(got.provenance, want.provenance);
	cr_expect_eq(got.allocation, want.allocation);
	/* smt=cores: one core of the two PUs, and 8 asked for. */
	cr_expect_eq(got.threads, 1);
	cr_expect_eq(got.provenance, AZ_PROV_CPUS_PER_TASK);
	cr_expect(got.clamped);
	cr_expect_eq(got.requested, 8);
	cr_expect_eq(az_activation_task_budget(NULL, &cpus, &got, &err), AZ_ERR_INVALID);
}

static cJSON *record_of(const az_activation *act, const az_task_record *task)
{
	az_error err = { "" };
	char *json = NULL;
	cJSON *doc;

	cr_assert_eq(az_task_record_json(act, task, &json, &err), AZ_OK, "%s", err.message);
	doc = cJSON_Parse(json);
	free(json);
	cr_assert_not_null(doc);
	return doc;
}

static double number_at(const cJSON *doc, const char *section, const char *key)
{
	const cJSON *item = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, section), key);

	cr_assert(cJSON_IsNumber(item), "%s.%s is not a number", section, key);
	return item->valuedouble;
}

static const char *string_at(const cJSON *doc, const char *section, const char *key)
{
	const cJSON *item = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, section), key);

	cr_assert(cJSON_IsString(item), "%s.%s is not a string", section, key);
	return item->valuestring;
}

/* The record is what a per-task file held: the step's ids and patches, the
 * task's ranks, cpuset and budget, and the variables with its values. */
Test(task, record_holds_the_tasks_own_values)
{
	az_activation act = sample(true, false);
	az_task_record task = {
		.node = "node017", .global_rank = 5, .local_rank = 1,
		.cpus = { .pus = 1, .cores = 1, .list = "2" },
		.budget = { .threads = 1, .provenance = AZ_PROV_CPUSET, .allocation = 1,
			    .allocation_provenance = AZ_PROV_CPUSET },
	};
	cJSON *doc = record_of(&act, &task);

	cr_expect_eq(number_at(doc, "job", "id"), 1234);
	cr_expect_eq(number_at(doc, "job", "array_task_id"), 34);
	cr_expect_str_eq(string_at(doc, "node", "name"), "node017");
	cr_expect_eq(number_at(doc, "task", "global_rank"), 5);
	cr_expect_eq(number_at(doc, "task", "local_rank"), 1);
	cr_expect_eq(number_at(doc, "task", "local_tasks"), 2);
	cr_expect_str_eq(string_at(doc, "cpus", "list"), "2");
	cr_expect_eq(number_at(doc, "threads", "count"), 1);
	cr_expect_str_eq(string_at(doc, "threads", "provenance"), "cpuset");
	cr_expect_str_eq(string_at(doc, "variables", "OMP_NUM_THREADS"), "1");
	cr_expect_str_eq(string_at(doc, "variables", "MKL_NUM_THREADS"), "1");
	cr_expect_str_eq(string_at(doc, "variables", "OMP_PLACES"), "cores");
	cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "patches"), 0)->valuestring,
			 "scanpy");
	cr_expect_null(cJSON_GetObjectItem(doc, "schema"), "a record is not a file");
	cJSON_Delete(doc);
}

Test(task, record_under_off_holds_no_thread_variable)
{
	az_activation act = sample(false, true);
	az_task_record task = { .node = "n1", .budget = act.budget };
	cJSON *doc = record_of(&act, &task);

	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "threads"), "count")));
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "variables")), 0);
	cJSON_Delete(doc);
}

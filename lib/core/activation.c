/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "internal.h"

/* The field table stores counts straight into `unsigned` members. */
_Static_assert(sizeof(unsigned) == sizeof(uint32_t),
	       "unsigned must be 32 bits wide");

/* ====================================================== schema 2's fields */

/*
 * The scalar sections of the file, described once for the writer, the
 * reader and the writer's checks, so that the two directions cannot drift
 * apart.  "patches", "thread_variables" and "variables" are lists and have
 * their own code.
 */
typedef enum field_kind {
	FIELD_UINT,       /* an integer from 0 to UINT32_MAX */
	FIELD_ID,         /* the same, or null for AZ_ID_NONE */
	FIELD_COUNT,      /* budget.threads: 1..AZ_THREADS_MAX, null when off */
	FIELD_REQUESTED,  /* 1..AZ_THREADS_MAX, or null for 0 (none) */
	FIELD_STRING,
	FIELD_BOOL,
	FIELD_PROVENANCE, /* a name az_provenance_from_name knows */
	FIELD_QUOTA,      /* CPUs of a cgroup quota, a number >= 0 (0: none) */
	FIELD_REQUEST,    /* "unset", "auto", "off" or "count" */
	FIELD_SMT         /* "pus" or "cores" */
} field_kind;

typedef struct field {
	const char *path; /* "section.key", as errors name it */
	field_kind kind;
	size_t offset;    /* of the member in az_activation */
} field;

#define FIELD(path, kind, member) { path, kind, offsetof(az_activation, member) }

static const field job_fields[] = {
	FIELD("job.id", FIELD_UINT, job_id),
	FIELD("job.step", FIELD_STRING, step),
	FIELD("job.array_job_id", FIELD_ID, array_job_id),
	FIELD("job.array_task_id", FIELD_ID, array_task_id),
};

static const field node_fields[] = {
	FIELD("node.id", FIELD_UINT, node_id),
};

/* The step's cpuset: what its tasks were launched on together. */
static const field cpus_fields[] = {
	FIELD("cpus.list", FIELD_STRING, cpuset),
	FIELD("cpus.pus", FIELD_UINT, inputs.base.launch_pus),
	FIELD("cpus.cores", FIELD_UINT, cores),
};

/* "request" precedes "count": the reader needs it to know the count's form. */
static const field inputs_fields[] = {
	FIELD("inputs.request", FIELD_REQUEST, inputs.base.request.kind),
	FIELD("inputs.count", FIELD_REQUESTED, inputs.base.request.count),
	FIELD("inputs.explicit", FIELD_BOOL, explicit_request),
	FIELD("inputs.cpus_per_task", FIELD_UINT, inputs.base.cpus_per_task),
	FIELD("inputs.quota", FIELD_QUOTA, inputs.base.quota_cpus),
	FIELD("inputs.local_tasks", FIELD_UINT, inputs.base.local_tasks),
	FIELD("inputs.binding_none", FIELD_BOOL, inputs.binding_none),
	FIELD("inputs.default_threads", FIELD_REQUESTED, inputs.base.site_default),
	FIELD("inputs.max_threads", FIELD_REQUESTED, inputs.base.site_max),
	FIELD("inputs.smt", FIELD_SMT, inputs.base.smt),
};

/* "off" precedes "count": the reader needs it to know the count's form. */
static const field threads_fields[] = {
	FIELD("threads.off", FIELD_BOOL, budget.off),
	FIELD("threads.count", FIELD_COUNT, budget.threads),
	FIELD("threads.provenance", FIELD_PROVENANCE, budget.provenance),
	FIELD("threads.allocation", FIELD_UINT, budget.allocation),
	FIELD("threads.allocation_provenance", FIELD_PROVENANCE,
	      budget.allocation_provenance),
	FIELD("threads.clamped", FIELD_BOOL, budget.clamped),
	FIELD("threads.requested", FIELD_REQUESTED, budget.requested),
};

typedef struct section {
	const char *name;
	const field *fields;
	size_t n_fields;
} section;

#define SECTION(name, fields) { name, fields, sizeof(fields) / sizeof(fields[0]) }

static const section job_section = SECTION("job", job_fields);
static const section threads_section = SECTION("threads", threads_fields);

static const section sections[] = {
	SECTION("job", job_fields),
	SECTION("node", node_fields),
	SECTION("cpus", cpus_fields),
	SECTION("inputs", inputs_fields),
	SECTION("threads", threads_fields),
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static const char *const request_names[] = {
	[AZ_REQUEST_UNSET] = "unset",
	[AZ_REQUEST_AUTO] = "auto",
	[AZ_REQUEST_OFF] = "off",
	[AZ_REQUEST_COUNT] = "count",
};

static const char *const smt_names[] = {
	[AZ_SMT_PUS] = "pus",
	[AZ_SMT_CORES] = "cores",
};

#define N_NAMES(names) (sizeof(names) / sizeof(names[0]))

/* The name of enum value `value` in `names`, NULL when out of range. */
static const char *enum_name(const char *const *names, size_t n, int value)
{
	return value >= 0 && (size_t)value < n ? names[value] : NULL;
}

/* A field's key in its section: the last component of its dotted path. */
static const char *field_key(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

/* The integer member a FIELD_UINT, _ID, _COUNT or _REQUESTED field names. */
static uint32_t field_number(const az_activation *act, const field *f)
{
	return *(const uint32_t *)((const char *)act + f->offset);
}

/* ================================================================ writing */

static bool provenance_known(az_provenance prov)
{
	const char *name = az_provenance_name(prov);
	az_provenance back;

	return name && az_provenance_from_name(name, &back) == AZ_OK &&
	       back == prov;
}

/* A thread count in min..AZ_THREADS_MAX (0 stands for none), unless off. */
static az_status check_count(const char *path, uint32_t count, uint32_t min,
			     bool off, az_error *err)
{
	if (off || (count >= min && count <= AZ_THREADS_MAX))
		return AZ_OK;
	return azi_fail(err, AZ_ERR_INVALID,
			"%s: invalid value %u: expected %san integer from 1 to %u",
			path, count, min ? "" : "0 (none) or ", AZ_THREADS_MAX);
}

/* Refuse what the strict reader would refuse, so every file written reads
 * back. */
static az_status check_field(const az_activation *act, const field *f,
			     az_error *err)
{
	const char *slot = (const char *)act + f->offset;

	switch (f->kind) {
	case FIELD_STRING:
		if (*(char *const *)slot)
			return AZ_OK;
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: missing, expected a string", f->path);
	case FIELD_PROVENANCE:
		if (provenance_known(*(const az_provenance *)slot))
			return AZ_OK;
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: unknown provenance %d", f->path,
				(int)*(const az_provenance *)slot);
	case FIELD_COUNT:
		return check_count(f->path, field_number(act, f), 1,
				   act->budget.off, err);
	case FIELD_REQUESTED:
		return check_count(f->path, field_number(act, f), 0, false,
				   err);
	case FIELD_QUOTA:
		if (*(const double *)slot >= 0 && *(const double *)slot <= UINT32_MAX)
			return AZ_OK;
		return azi_fail(err, AZ_ERR_INVALID, "%s: expected a number of CPUs >= 0",
				f->path);
	case FIELD_REQUEST:
		if (enum_name(request_names, N_NAMES(request_names), *(const int *)slot))
			return AZ_OK;
		return azi_fail(err, AZ_ERR_INVALID, "%s: unknown request kind %d",
				f->path, *(const int *)slot);
	case FIELD_SMT:
		if (enum_name(smt_names, N_NAMES(smt_names), *(const int *)slot))
			return AZ_OK;
		return azi_fail(err, AZ_ERR_INVALID, "%s: unknown SMT policy %d",
				f->path, *(const int *)slot);
	default:
		return AZ_OK;
	}
}

/* A count exactly when the request is one: the reader refuses the rest. */
static az_status check_request(const az_request *request, az_error *err)
{
	if ((request->kind == AZ_REQUEST_COUNT) == (request->count != 0))
		return AZ_OK;
	return azi_fail(err, AZ_ERR_SCHEMA,
			"inputs.count: expected a count when inputs.request is \"count\", else null");
}

static az_status check_lists(const az_activation *act, az_error *err)
{
	for (size_t i = 0; i < act->n_thread_vars; i++)
		if (!act->thread_vars[i] ||
		    !az_var_name_valid(act->thread_vars[i], strlen(act->thread_vars[i])))
			return azi_fail(err, AZ_ERR_INVALID,
					"thread_variables[%zu]: expected a variable name", i);
	for (size_t i = 0; i < act->n_patches; i++)
		if (!act->patches[i] || !az_patch_name_valid(act->patches[i]))
			return azi_fail(err, AZ_ERR_INVALID,
					"patches[%zu]: invalid patch name '%s': expected %s",
					i, act->patches[i] ? act->patches[i] : "",
					AZI_PATCH_NAME_FORM);
	for (size_t i = 0; i < act->n_variables; i++)
		if (!act->variables[i].name || !act->variables[i].value)
			return azi_fail(err, AZ_ERR_INVALID,
					"variables[%zu]: expected a name and a value", i);
	return AZ_OK;
}

static az_status check_writable(const az_activation *act, az_error *err)
{
	for (size_t s = 0; s < N_SECTIONS; s++)
		for (size_t i = 0; i < sections[s].n_fields; i++) {
			az_status status = check_field(act, &sections[s].fields[i],
						       err);
			if (status != AZ_OK)
				return status;
		}
	if (check_request(&act->inputs.base.request, err) != AZ_OK)
		return AZ_ERR_INVALID;
	return check_lists(act, err);
}

/* A value that may not apply: `none` is written as null. */
static cJSON *add_optional(cJSON *obj, const char *key, uint32_t value,
			   uint32_t none)
{
	if (value == none)
		return cJSON_AddNullToObject(obj, key);
	return cJSON_AddNumberToObject(obj, key, value);
}

/* The add_* writers fail only when cJSON runs out of memory. */
static cJSON *add_field(cJSON *obj, const field *f, const az_activation *act)
{
	const char *slot = (const char *)act + f->offset;
	const char *key = field_key(f->path);

	switch (f->kind) {
	case FIELD_UINT:
		return cJSON_AddNumberToObject(obj, key, field_number(act, f));
	case FIELD_ID:
		return add_optional(obj, key, field_number(act, f), AZ_ID_NONE);
	case FIELD_COUNT:
		if (act->budget.off)
			return cJSON_AddNullToObject(obj, key);
		return cJSON_AddNumberToObject(obj, key, field_number(act, f));
	case FIELD_REQUESTED:
		return add_optional(obj, key, field_number(act, f), 0);
	case FIELD_STRING:
		return cJSON_AddStringToObject(obj, key, *(char *const *)slot);
	case FIELD_BOOL:
		return cJSON_AddBoolToObject(obj, key, *(const bool *)slot);
	case FIELD_PROVENANCE:
		return cJSON_AddStringToObject(obj, key,
			az_provenance_name(*(const az_provenance *)slot));
	case FIELD_QUOTA:
		return cJSON_AddNumberToObject(obj, key, *(const double *)slot);
	case FIELD_REQUEST:
		return cJSON_AddStringToObject(obj, key,
			enum_name(request_names, N_NAMES(request_names), *(const int *)slot));
	case FIELD_SMT:
		return cJSON_AddStringToObject(obj, key,
			enum_name(smt_names, N_NAMES(smt_names), *(const int *)slot));
	}
	return NULL;
}

static bool add_section(cJSON *root, const section *s,
			const az_activation *act)
{
	cJSON *obj = cJSON_AddObjectToObject(root, s->name);

	if (!obj)
		return false;
	for (size_t i = 0; i < s->n_fields; i++)
		if (!add_field(obj, &s->fields[i], act))
			return false;
	return true;
}

static bool add_names(cJSON *root, const char *key, char *const *names, size_t count)
{
	cJSON *list = cJSON_AddArrayToObject(root, key);

	if (!list)
		return false;
	for (size_t i = 0; i < count; i++)
		if (!cJSON_AddItemToArray(list, cJSON_CreateString(names[i])))
			return false;
	return true;
}

/* `count` is the thread count the thread variables hold, NULL: none. */
static bool add_variables(cJSON *root, const az_activation *act, const char *count)
{
	cJSON *vars = cJSON_AddObjectToObject(root, "variables");

	if (!vars)
		return false;
	for (size_t i = 0; count && i < act->n_thread_vars; i++)
		if (!cJSON_AddStringToObject(vars, act->thread_vars[i], count))
			return false;
	for (size_t i = 0; i < act->n_variables; i++)
		if (!cJSON_AddStringToObject(vars, act->variables[i].name,
					     act->variables[i].value))
			return false;
	return true;
}

static bool add_document(cJSON *root, const az_activation *act)
{
	if (!cJSON_AddNumberToObject(root, "schema", AZ_ACTIVATION_SCHEMA))
		return false;
	for (size_t s = 0; s < N_SECTIONS; s++)
		if (!add_section(root, &sections[s], act))
			return false;
	if (!add_names(root, "patches", act->patches, act->n_patches) ||
	    !add_names(root, "thread_variables", act->thread_vars, act->n_thread_vars))
		return false;
	return add_variables(root, act, NULL);
}

az_status az_activation_to_json(const az_activation *act, char **json,
				az_error *err)
{
	cJSON *root;
	char *text = NULL;
	az_status status;

	if (!act || !json)
		return azi_fail(err, AZ_ERR_INVALID,
				"activation: expected a record and an output");
	status = check_writable(act, err);
	if (status != AZ_OK)
		return status;
	root = cJSON_CreateObject();
	if (root && add_document(root, act))
		text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return azi_fail(err, AZ_ERR_NOMEM,
				"activation: out of memory while writing JSON");
	*json = text;
	return AZ_OK;
}

/* ================================================================ reading */

/*
 * Every field is required with its type.  Members the reader does not know
 * are ignored on purpose: a newer writer may add fields within schema 1
 * (forward compatibility); anything incompatible bumps the schema instead.
 */

static const cJSON *member(const cJSON *obj, const char *path)
{
	return cJSON_GetObjectItemCaseSensitive(obj, field_key(path));
}

static const char *json_type_name(const cJSON *item)
{
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsArray(item))
		return "an array";
	return "an object";
}

static az_status field_error(az_error *err, const char *path,
			     const cJSON *item, const char *expected)
{
	if (!item)
		return azi_fail(err, AZ_ERR_SCHEMA, "%s: missing, expected %s",
				path, expected);
	if (cJSON_IsNumber(item))
		return azi_fail(err, AZ_ERR_SCHEMA, "%s: expected %s, got %.15g",
				path, expected, item->valuedouble);
	return azi_fail(err, AZ_ERR_SCHEMA, "%s: expected %s, got %s", path,
			expected, json_type_name(item));
}

/* Integral and in range: 2.5, -1 and 1e10 are all refused. */
static bool integer_in_range(const cJSON *item, uint32_t min, uint32_t max)
{
	double value;

	if (!cJSON_IsNumber(item))
		return false;
	value = item->valuedouble;
	return value >= min && value <= max &&
	       value == (double)(uint32_t)value;
}

/* `or_null` prefixes the accepted form of fields that may be null. */
static az_status read_integer_item(const cJSON *item, const char *path,
				   uint32_t min, uint32_t max,
				   const char *or_null, uint32_t *out,
				   az_error *err)
{
	char expected[64];

	if (integer_in_range(item, min, max)) {
		*out = (uint32_t)item->valuedouble;
		return AZ_OK;
	}
	snprintf(expected, sizeof(expected), "%san integer from %u to %u",
		 or_null, min, max);
	return field_error(err, path, item, expected);
}

static az_status read_integer(const cJSON *obj, const char *path,
			      uint32_t min, uint32_t max, uint32_t *out,
			      az_error *err)
{
	return read_integer_item(member(obj, path), path, min, max, "", out,
				 err);
}

/* An integer or null; null reads as `none`. */
static az_status read_optional(const cJSON *obj, const char *path,
			       uint32_t min, uint32_t max, uint32_t none,
			       uint32_t *out, az_error *err)
{
	const cJSON *item = member(obj, path);

	if (cJSON_IsNull(item)) {
		*out = none;
		return AZ_OK;
	}
	return read_integer_item(item, path, min, max, "null or ", out, err);
}

/* The thread count is null exactly when threads.off (read before) is true. */
static az_status read_count(const cJSON *obj, const char *path,
			    az_budget *b, az_error *err)
{
	const cJSON *count = member(obj, path);

	if (!b->off)
		return read_integer(obj, path, 1, AZ_THREADS_MAX, &b->threads,
				    err);
	if (!cJSON_IsNull(count))
		return field_error(err, path, count,
				   "null when threads.off is true");
	b->threads = 0;
	return AZ_OK;
}

static az_status read_bool(const cJSON *obj, const char *path, bool *out,
			   az_error *err)
{
	const cJSON *item = member(obj, path);

	if (!cJSON_IsBool(item))
		return field_error(err, path, item, "true or false");
	*out = cJSON_IsTrue(item);
	return AZ_OK;
}

static az_status copy_string(const char *text, const char *path, char **out,
			     az_error *err)
{
	*out = strdup(text);
	if (!*out)
		return azi_fail(err, AZ_ERR_NOMEM, "%s: out of memory", path);
	return AZ_OK;
}

static az_status read_string(const cJSON *obj, const char *path, char **out,
			     az_error *err)
{
	const cJSON *item = member(obj, path);

	if (!cJSON_IsString(item))
		return field_error(err, path, item, "a string");
	return copy_string(item->valuestring, path, out, err);
}

static az_status read_provenance(const cJSON *obj, const char *path,
				 az_provenance *out, az_error *err)
{
	const cJSON *item = member(obj, path);

	if (!cJSON_IsString(item))
		return field_error(err, path, item, "a string");
	if (az_provenance_from_name(item->valuestring, out) != AZ_OK)
		return azi_fail(err, AZ_ERR_SCHEMA,
				"%s: unknown provenance '%s': expected a name such as 'cpus_per_task'",
				path, item->valuestring);
	return AZ_OK;
}

static az_status read_quota(const cJSON *obj, const char *path, double *out,
			    az_error *err)
{
	const cJSON *item = member(obj, path);

	if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0) ||
	    item->valuedouble > UINT32_MAX)
		return field_error(err, path, item, "a number of CPUs >= 0 (0: no quota)");
	*out = item->valuedouble;
	return AZ_OK;
}

/* One of `names` (their index goes to *out), naming them all in errors. */
static az_status read_enum(const cJSON *obj, const char *path,
			   const char *const *names, size_t n, int *out,
			   az_error *err)
{
	const cJSON *item = member(obj, path);
	char expected[128] = "";

	for (size_t i = 0; cJSON_IsString(item) && i < n; i++)
		if (strcmp(item->valuestring, names[i]) == 0) {
			*out = (int)i;
			return AZ_OK;
		}
	for (size_t i = 0; i < n; i++)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
			 "%s\"%s\"", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	if (cJSON_IsString(item))
		return azi_fail(err, AZ_ERR_SCHEMA, "%s: unknown value '%s': expected %s",
				path, item->valuestring, expected);
	return field_error(err, path, item, expected);
}

static az_status read_field(const cJSON *obj, const field *f,
			    az_activation *act, az_error *err)
{
	char *slot = (char *)act + f->offset;

	switch (f->kind) {
	case FIELD_UINT:
		return read_integer(obj, f->path, 0, UINT32_MAX,
				    (uint32_t *)slot, err);
	case FIELD_ID:
		return read_optional(obj, f->path, 0, UINT32_MAX, AZ_ID_NONE,
				     (uint32_t *)slot, err);
	case FIELD_COUNT:
		return read_count(obj, f->path, &act->budget, err);
	case FIELD_REQUESTED:
		return read_optional(obj, f->path, 1, AZ_THREADS_MAX, 0,
				     (uint32_t *)slot, err);
	case FIELD_STRING:
		return read_string(obj, f->path, (char **)slot, err);
	case FIELD_BOOL:
		return read_bool(obj, f->path, (bool *)slot, err);
	case FIELD_PROVENANCE:
		return read_provenance(obj, f->path, (az_provenance *)slot, err);
	case FIELD_QUOTA:
		return read_quota(obj, f->path, (double *)slot, err);
	case FIELD_REQUEST:
		return read_enum(obj, f->path, request_names, N_NAMES(request_names),
				 (int *)slot, err);
	case FIELD_SMT:
		return read_enum(obj, f->path, smt_names, N_NAMES(smt_names),
				 (int *)slot, err);
	}
	return azi_fail(err, AZ_ERR_INVALID, "%s: unknown field kind", f->path);
}

static az_status read_section(const cJSON *root, const section *s,
			      az_activation *act, az_error *err)
{
	const cJSON *obj = member(root, s->name);

	if (!cJSON_IsObject(obj))
		return field_error(err, s->name, obj, "an object");
	for (size_t i = 0; i < s->n_fields; i++) {
		az_status status = read_field(obj, &s->fields[i], act, err);

		if (status != AZ_OK)
			return status;
	}
	return AZ_OK;
}

static az_status read_schema(const cJSON *root, az_error *err)
{
	const cJSON *schema;

	if (!cJSON_IsObject(root))
		return field_error(err, "activation", root, "a JSON object");
	schema = member(root, "schema");
	if (!schema)
		return azi_fail(err, AZ_ERR_SCHEMA,
				"schema: missing, expected version %d",
				AZ_ACTIVATION_SCHEMA);
	if (cJSON_IsNumber(schema) &&
	    schema->valuedouble == AZ_ACTIVATION_SCHEMA)
		return AZ_OK;
	if (cJSON_IsNumber(schema) && schema->valuedouble == 1)
		return azi_fail(err, AZ_ERR_SCHEMA,
				"schema: version 1 is the per-task file of a plugin older than this runtime: expected %d (upgrade the node's plugin)",
				AZ_ACTIVATION_SCHEMA);
	if (cJSON_IsNumber(schema))
		return azi_fail(err, AZ_ERR_SCHEMA,
				"schema: unsupported version %.15g, expected %d",
				schema->valuedouble, AZ_ACTIVATION_SCHEMA);
	if (cJSON_IsString(schema))
		return azi_fail(err, AZ_ERR_SCHEMA,
				"schema: unsupported version \"%s\", expected %d",
				schema->valuestring, AZ_ACTIVATION_SCHEMA);
	return azi_fail(err, AZ_ERR_SCHEMA,
			"schema: unsupported version (%s), expected %d",
			json_type_name(schema), AZ_ACTIVATION_SCHEMA);
}

/* One name of a list: a patch name, or a variable's under `var_names`. */
static az_status read_name(const cJSON *item, const char *key, size_t index,
			   bool var_names, char **out, az_error *err)
{
	char path[48];

	snprintf(path, sizeof(path), "%s[%zu]", key, index);
	if (!cJSON_IsString(item))
		return field_error(err, path, item, "a string");
	if (var_names && !az_var_name_valid(item->valuestring, strlen(item->valuestring)))
		return azi_fail(err, AZ_ERR_SCHEMA,
				"%s: invalid variable name '" AZ_QUOTE "': expected letters, digits and _",
				path, AZ_QUOTE_ARGS(item->valuestring));
	if (!var_names && !az_patch_name_valid(item->valuestring))
		return azi_fail(err, AZ_ERR_SCHEMA,
				"%s: invalid patch name '%s': expected %s",
				path, item->valuestring, AZI_PATCH_NAME_FORM);
	return copy_string(item->valuestring, path, out, err);
}

/* patches (var_names false) or thread_variables (true). */
static az_status read_names(const cJSON *root, const char *key, bool var_names,
			    char ***names, size_t *count, az_error *err)
{
	const cJSON *list = member(root, key);
	const cJSON *item;
	size_t n;

	if (!cJSON_IsArray(list))
		return field_error(err, key, list,
				   var_names ? "an array of variable names" : "an array of patch names");
	n = (size_t)cJSON_GetArraySize(list);
	if (n && !(*names = calloc(n, sizeof(**names))))
		return azi_fail(err, AZ_ERR_NOMEM, "%s: out of memory", key);
	cJSON_ArrayForEach(item, list) {
		az_status status = read_name(item, key, *count, var_names,
					     &(*names)[*count], err);
		if (status != AZ_OK)
			return status;
		(*count)++;
	}
	return AZ_OK;
}

static az_status read_variable(const cJSON *item, az_variable *out,
			       az_error *err)
{
	az_status status;

	if (!cJSON_IsString(item))
		return azi_fail(err, AZ_ERR_SCHEMA,
				"variables.%s: expected a string, got %s",
				item->string, json_type_name(item));
	status = copy_string(item->string, "variables", &out->name, err);
	if (status == AZ_OK)
		status = copy_string(item->valuestring, "variables",
				     &out->value, err);
	return status;
}

static az_status read_variables(const cJSON *root, az_activation *act,
				az_error *err)
{
	const cJSON *vars = member(root, "variables");
	const cJSON *item;
	size_t count;

	if (!cJSON_IsObject(vars))
		return field_error(err, "variables", vars,
				   "an object of string values");
	count = (size_t)cJSON_GetArraySize(vars);
	if (count &&
	    !(act->variables = calloc(count, sizeof(*act->variables))))
		return azi_fail(err, AZ_ERR_NOMEM, "variables: out of memory");
	cJSON_ArrayForEach(item, vars) {
		/* Counted before reading, so a half-read pair is freed too. */
		az_status status = read_variable(item,
						 &act->variables[act->n_variables++],
						 err);
		if (status != AZ_OK)
			return status;
	}
	return AZ_OK;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A key twice in one object: cJSON would keep the first, Python's json and
 * R's jsonlite the last, so the plugin and a script could read different
 * budgets.  Sorting the keys keeps this O(n log n) on any file size.
 */
static az_status check_unique_keys(const cJSON *obj, const char *where,
				   az_error *err)
{
	size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
	const char **keys;
	const cJSON *item;
	az_status status = AZ_OK;

	if (n < 2)
		return AZ_OK;
	if (!(keys = malloc(n * sizeof(*keys))))
		return azi_fail(err, AZ_ERR_NOMEM, "activation: out of memory");
	cJSON_ArrayForEach(item, obj)
		keys[i++] = item->string;
	qsort(keys, n, sizeof(*keys), compare_keys);
	for (i = 1; i < n && status == AZ_OK; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			status = azi_fail(err, AZ_ERR_SCHEMA,
					  "%s" AZ_QUOTE ": duplicate key",
					  where, AZ_QUOTE_ARGS(keys[i]));
	free(keys);
	return status;
}

/* The document and each object directly in it: the ones the reader reads. */
static az_status check_duplicates(const cJSON *root, az_error *err)
{
	const cJSON *item;
	char where[AZ_QUOTE_MAX + 8];
	az_status status = check_unique_keys(root, "", err);

	cJSON_ArrayForEach(item, root) {
		if (status != AZ_OK)
			break;
		if (!cJSON_IsObject(item))
			continue;
		snprintf(where, sizeof(where), AZ_QUOTE ".", AZ_QUOTE_ARGS(item->string));
		status = check_unique_keys(item, where, err);
	}
	return status;
}

static az_status read_document(const cJSON *root, az_activation *act,
			       az_error *err)
{
	az_status status = read_schema(root, err);

	if (status == AZ_OK)
		status = check_duplicates(root, err);
	for (size_t s = 0; status == AZ_OK && s < N_SECTIONS; s++)
		status = read_section(root, &sections[s], act, err);
	if (status == AZ_OK)
		status = check_request(&act->inputs.base.request, err);
	if (status == AZ_OK)
		status = read_names(root, "patches", false, &act->patches,
				    &act->n_patches, err);
	if (status == AZ_OK)
		status = read_names(root, "thread_variables", true, &act->thread_vars,
				    &act->n_thread_vars, err);
	if (status == AZ_OK)
		status = read_variables(root, act, err);
	return status;
}

/*
 * Parse exactly `len` bytes, which need not end in a NUL.  cJSON's
 * require_null_terminated would demand a NUL inside the buffer, so it is
 * off and trailing bytes other than whitespace are refused here instead.
 */
static az_status parse_document(const char *json, size_t len, cJSON **out,
				az_error *err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);

	if (!root)
		return azi_fail(err, AZ_ERR_PARSE,
				"activation: not valid JSON at byte %zu of %zu",
				end ? (size_t)(end - json) : (size_t)0, len);
	while ((size_t)(end - json) < len && *end != '\0' &&
	       strchr(" \t\r\n", *end))
		end++;
	if ((size_t)(end - json) < len) {
		cJSON_Delete(root);
		return azi_fail(err, AZ_ERR_PARSE,
				"activation: unexpected data after the JSON value at byte %zu",
				(size_t)(end - json));
	}
	*out = root;
	return AZ_OK;
}

az_status az_activation_from_json(const char *json, size_t len,
				  az_activation **out, az_error *err)
{
	cJSON *root = NULL;
	az_activation *act;
	az_status status;

	if (!json || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"activation: expected a buffer and an output");
	if (len > AZ_ACTIVATION_SIZE_MAX)
		return azi_fail(err, AZ_ERR_TOO_LARGE,
				"activation: %zu bytes exceeds the limit of %d bytes",
				len, AZ_ACTIVATION_SIZE_MAX);
	status = parse_document(json, len, &root, err);
	if (status != AZ_OK)
		return status;
	act = calloc(1, sizeof(*act));
	status = act ? read_document(root, act, err)
		     : azi_fail(err, AZ_ERR_NOMEM, "activation: out of memory");
	cJSON_Delete(root);
	if (status != AZ_OK) {
		az_activation_free(act);
		return status;
	}
	*out = act;
	return AZ_OK;
}

/* ====================================================== reading the file */

/*
 * O_NOFOLLOW: the file lives in a directory other users may write to, so a
 * symbolic link planted there is refused rather than followed.  O_NONBLOCK:
 * opening a FIFO must not hang the task before fstat can refuse it.
 */
static az_status open_activation(const char *path, int *fd, az_error *err)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*fd >= 0)
		return AZ_OK;
	if (errno == ELOOP)
		return azi_fail(err, AZ_ERR_IO,
				"%s: refusing a symbolic link: expected a regular file",
				path);
	return azi_fail(err, errno == ENOENT ? AZ_ERR_NOT_FOUND : AZ_ERR_IO,
			"%s: cannot open: %s", path, strerror(errno));
}

static az_status check_activation_file(int fd, const char *path,
				       size_t *size, az_error *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return azi_fail(err, AZ_ERR_IO, "%s: cannot stat: %s", path,
				strerror(errno));
	if (!S_ISREG(st.st_mode))
		return azi_fail(err, AZ_ERR_IO,
				"%s: not a regular file: expected an activation file",
				path);
	if (st.st_size > AZ_ACTIVATION_SIZE_MAX)
		return azi_fail(err, AZ_ERR_TOO_LARGE,
				"%s: %lld bytes exceeds the limit of %d bytes",
				path, (long long)st.st_size,
				AZ_ACTIVATION_SIZE_MAX);
	*size = (size_t)st.st_size;
	return AZ_OK;
}

static az_status read_contents(int fd, const char *path, char **buf,
			       size_t *len, az_error *err)
{
	size_t size = 0;
	az_status status = check_activation_file(fd, path, &size, err);

	if (status != AZ_OK)
		return status;
	status = azi_read_all(fd, path, size, buf, len, err);
	/* More than fstat announced: someone is writing it as we read. */
	if (status == AZ_ERR_TOO_LARGE)
		status = azi_fail(err, AZ_ERR_IO,
				  "%s: the file changed while it was read", path);
	return status;
}

az_status az_activation_read(const char *path, az_activation **out,
			     az_error *err)
{
	az_error inner;
	char *buf;
	size_t len = 0;
	int fd;
	az_status status;

	if (!path || !*path || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"activation file: expected a path and an output");
	status = open_activation(path, &fd, err);
	if (status != AZ_OK)
		return status;
	status = read_contents(fd, path, &buf, &len, err);
	close(fd);
	if (status != AZ_OK)
		return status;
	status = az_activation_from_json(buf, len, out, &inner);
	free(buf);
	if (status != AZ_OK)
		return azi_fail(err, status, "%s: %s", path, inner.message);
	return AZ_OK;
}

void az_activation_free(az_activation *act)
{
	if (!act)
		return;
	free(act->step);
	free(act->cpuset);
	for (size_t i = 0; i < act->n_patches; i++)
		free(act->patches[i]);
	free(act->patches);
	for (size_t i = 0; i < act->n_thread_vars; i++)
		free(act->thread_vars[i]);
	free(act->thread_vars);
	for (size_t i = 0; i < act->n_variables; i++) {
		free(act->variables[i].name);
		free(act->variables[i].value);
	}
	free(act->variables);
	free(act);
}

/* ======================================================= one task's record */

az_status az_activation_task_budget(const az_activation *act, const az_cpus *cpus,
				    az_budget *out, az_error *err)
{
	az_budget_input in;

	if (!act || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"activation: expected a step's file and an output");
	az_budget_input_for_cpus(&act->inputs, cpus, &in);
	return az_budget_decide(&in, out, err);
}

static cJSON *add_number(cJSON *obj, const char *key, uint32_t value)
{
	return cJSON_AddNumberToObject(obj, key, value);
}

static bool add_task_facts(cJSON *root, const az_activation *act,
			   const az_task_record *task)
{
	cJSON *node = cJSON_AddObjectToObject(root, "node");
	cJSON *facts = cJSON_AddObjectToObject(root, "task");
	cJSON *cpus = cJSON_AddObjectToObject(root, "cpus");

	return node && facts && cpus &&
	       cJSON_AddStringToObject(node, "name", task->node ? task->node : "") &&
	       add_number(node, "id", act->node_id) &&
	       add_number(facts, "global_rank", task->global_rank) &&
	       add_number(facts, "local_rank", task->local_rank) &&
	       add_number(facts, "local_tasks", act->inputs.base.local_tasks) &&
	       cJSON_AddStringToObject(cpus, "list", task->cpus.list ? task->cpus.list : "") &&
	       add_number(cpus, "pus", task->cpus.pus) &&
	       add_number(cpus, "cores", task->cpus.cores);
}

az_status az_task_record_json(const az_activation *act, const az_task_record *task,
			      char **json, az_error *err)
{
	az_activation view;
	char count[16];
	cJSON *root;
	char *text = NULL;

	if (!act || !task || !json)
		return azi_fail(err, AZ_ERR_INVALID,
				"task record: expected a step's file, a task and an output");
	/* The step's sections, with the task's budget in place of the step's. */
	view = *act;
	view.budget = task->budget;
	snprintf(count, sizeof(count), "%u", task->budget.threads);
	root = cJSON_CreateObject();
	if (root && add_section(root, &job_section, &view) &&
	    add_task_facts(root, act, task) && add_section(root, &threads_section, &view) &&
	    add_names(root, "patches", act->patches, act->n_patches) &&
	    add_variables(root, &view, task->budget.off ? NULL : count))
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return azi_fail(err, AZ_ERR_NOMEM,
				"task record: out of memory while writing JSON");
	*json = text;
	return AZ_OK;
}

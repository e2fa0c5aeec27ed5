/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * autozyme-info: what AutoZyme decided for this process and why, for users
 * debugging a job (`srun autozyme-info`) and for support tickets
 * (`autozyme-info --json`).  The runtime's answers come from libautozyme's
 * public API, the same calls the Python and R runtimes make, so this tool
 * shows exactly what set_threads()/activate() would use; the file formats
 * and the registry from the core, linked in (libautozyme does not export
 * it).  It decides nothing itself.
 *
 * It gathers one JSON document, then prints it either as one line of JSON
 * (one line per task, so the output of `srun -n4 autozyme-info --json`
 * cannot interleave within a document) or as readable lines.
 *
 * Exit status: 0; 1 when AutoZyme cannot tell (AUTOZYME_ACTIVATION_FILE set
 * but unreadable, a malformed AUTOZYME_THREADS, a broken patch registry),
 * after printing what it could; 2 on a usage error.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "azcore.h"

#define PROG "autozyme-info"
#define MAX_LOADS 16

/*
 * Loaded before asking for the thread pools, so that the report shows what
 * this task's environment makes them run: the system BLAS (Debian's
 * alternatives pick OpenBLAS, BLIS ... behind it) and GNU OpenMP.  Other
 * OpenMP runtimes only with --load: two of them in one process can abort.
 */
static const char *const default_loads[] = { "libblas.so.3", "libgomp.so.1", NULL };

struct options {
	bool json;
	bool load_defaults;
	const char *loads[MAX_LOADS];
	size_t n_loads;
};

/* Problems found on the way: reported on stderr, and they set the exit status. */
static cJSON *problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void problem(const char *fmt, ...)
{
	char text[AZ_ERROR_MAX + 512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(problems, cJSON_CreateString(text));
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [--json] [--no-load] [--load=LIB]... [--version] [--help]\n"
		"       " PROG " --thread-variables\n"
		"Print the AutoZyme thread budget of this process and its provenance, the\n"
		"cpuset, the activation file, the patches and the BLAS/OpenMP libraries.\n"
		"\n"
		"  --json       one line of JSON (for support tickets; one line per task)\n"
		"  --no-load    do not load the system BLAS (libblas.so.3) and libgomp.so.1\n"
		"               to report the threads they would run\n"
		"  --load=LIB   also load LIB (a soname or path), e.g. libmkl_rt.so.2\n"
		"  --version    AutoZyme's version and the Slurm release it was built for\n"
		"  --thread-variables\n"
		"               the thread variables set to the count by default (the\n"
		"               site's plugstack.conf vars= replaces them), one a line\n"
		"\n"
		"Exit status: 0; 1 when AutoZyme cannot tell (AUTOZYME_ACTIVATION_FILE set\n"
		"but unreadable, a malformed AUTOZYME_THREADS, a broken patch registry);\n"
		"2 on a usage error.  See autozyme(1).\n");
}

/* The shared object that holds libautozyme's runtime: which copy answers matters. */
static const char *library_path(void)
{
	Dl_info info;

	if (dladdr((const void *)az_runtime_thread_info, &info) && info.dli_fname)
		return info.dli_fname;
	return "unknown";
}

static void print_version(void)
{
	printf(PROG " %s (libautozyme %s, %s)\n", PACKAGE_VERSION, az_version(),
	       library_path());
	printf("built against Slurm %s: the plugin loads only into Slurm %s.x\n",
	       AZ_SLURM_VERSION, AZ_SLURM_SERIES);
	printf("plugin %s/autozyme.so%s\n", AZ_SLURM_PLUGINDIR,
	       access(AZ_SLURM_PLUGINDIR "/autozyme.so", R_OK) == 0 ? "" : " (not installed)");
}

/* The core's default list (lib/core/env.c), the one the tests and the
 * benchmarks read instead of a copy of their own. */
static void print_thread_variables(void)
{
	const char *const *vars = az_thread_vars_default();

	for (size_t i = 0; vars[i]; i++)
		puts(vars[i]);
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-load", no_argument, NULL, 'n' },
		{ "load", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "thread-variables", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opt = (struct options){ .load_defaults = true };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': opt->json = true; break;
		case 'n': opt->load_defaults = false; break;
		case 'l':
			if (opt->n_loads == MAX_LOADS) {
				fprintf(stderr, PROG ": --load: at most %d libraries\n", MAX_LOADS);
				return 2;
			}
			opt->loads[opt->n_loads++] = optarg;
			break;
		case 'V': print_version(); return 0;
		case 't': print_thread_variables(); return 0;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s': expected only options\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

/* ------------------------------------------------------------ gathering */

/* Load the libraries whose threads are reported; an absent default is fine. */
static void load_libraries(const struct options *opt)
{
	size_t i;

	for (i = 0; opt->load_defaults && default_loads[i]; i++)
		dlopen(default_loads[i], RTLD_NOW | RTLD_LOCAL);
	for (i = 0; i < opt->n_loads; i++)
		if (!dlopen(opt->loads[i], RTLD_NOW | RTLD_LOCAL))
			problem("--load=%s: %s", opt->loads[i], dlerror());
}

static void add_string_or_null(cJSON *obj, const char *key, const char *text)
{
	if (text)
		cJSON_AddStringToObject(obj, key, text);
	else
		cJSON_AddNullToObject(obj, key);
}

static cJSON *gather_autozyme(void)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "version", az_version());
	cJSON_AddStringToObject(obj, "library", library_path());
	cJSON_AddStringToObject(obj, "slurm_built_against", AZ_SLURM_VERSION);
	cJSON_AddStringToObject(obj, "plugin", AZ_SLURM_PLUGINDIR "/autozyme.so");
	return obj;
}

/* thread_info(): threads, provenance, budget, cpuset, activation file, pools. */
static cJSON *gather_runtime(void)
{
	char *json = NULL;
	az_error err = { "" };
	cJSON *info;

	if (az_runtime_thread_info(&json, &err) != AZ_OK) {
		problem("%s", err.message);
		return cJSON_CreateNull();
	}
	info = cJSON_Parse(json);
	free(json);
	if (!info) {
		problem("thread_info: libautozyme returned malformed JSON");
		return cJSON_CreateNull();
	}
	if (cJSON_IsString(cJSON_GetObjectItem(info, "activation_error")))
		problem("%s: %s (so the plugin's decision is unknown; the budget shown is decided here)",
			AZ_ENV_ACTIVATION_FILE,
			cJSON_GetObjectItem(info, "activation_error")->valuestring);
	return info;
}

static cJSON *names_array(char **names, size_t count)
{
	cJSON *list = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < count; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(names[i]));
	return list;
}

/* A copy of record[section][key], null when absent. */
static cJSON *copy_of(const cJSON *record, const char *section, const char *key)
{
	const cJSON *item = cJSON_GetObjectItem(cJSON_GetObjectItem(record, section), key);

	return item ? cJSON_Duplicate(item, true) : cJSON_CreateNull();
}

/* The task the plugin decided for, the runtime's record of it derived from
 * the step's activation file; null without one. */
static cJSON *gather_task(const cJSON *record)
{
	static const char *const fields[][3] = {
		{ "job_id", "job", "id" }, { "step", "job", "step" },
		{ "array_job_id", "job", "array_job_id" },
		{ "array_task_id", "job", "array_task_id" }, { "node", "node", "name" },
		{ "global_rank", "task", "global_rank" }, { "local_rank", "task", "local_rank" },
		{ "local_tasks", "task", "local_tasks" }, { "clamped", "threads", "clamped" },
	};
	cJSON *task;
	size_t i;

	if (!cJSON_IsObject(record))
		return cJSON_CreateNull();
	task = cJSON_CreateObject();
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		cJSON_AddItemToObject(task, fields[i][0], copy_of(record, fields[i][1], fields[i][2]));
	if (cJSON_IsTrue(cJSON_GetObjectItem(task, "clamped")))
		cJSON_AddItemToObject(task, "requested", copy_of(record, "threads", "requested"));
	return task;
}

/* The patches asked for: AUTOZYME_ACTIVATE and the activation file's list. */
static cJSON *gather_patches(const cJSON *record)
{
	const char *text = getenv(AZ_ENV_ACTIVATE);
	cJSON *obj = cJSON_CreateObject();
	char **names = NULL;
	size_t count = 0;
	az_error err = { "" };

	add_string_or_null(obj, "AUTOZYME_ACTIVATE", text);
	if (text && *text && az_names_parse(text, AZ_ENV_ACTIVATE, &names, &count, &err) != AZ_OK)
		problem("%s", err.message);
	cJSON_AddItemToObject(obj, "requested", names_array(names, count));
	az_names_free(names, count);
	cJSON_AddItemToObject(obj, "activation_file",
			      cJSON_IsObject(record)
				      ? cJSON_Duplicate(cJSON_GetObjectItem(record, "patches"), true)
				      : cJSON_CreateNull());
	return obj;
}

static cJSON *describe_patch(const az_patch *patch)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "name", az_patch_name(patch));
	add_string_or_null(obj, "version", az_patch_version(patch));
	add_string_or_null(obj, "python", az_patch_upstream(patch, "python"));
	add_string_or_null(obj, "r", az_patch_upstream(patch, "r"));
	add_string_or_null(obj, "description", az_patch_description(patch));
	return obj;
}

/* The registry activate() reads: AUTOZYME_PATCH_PATH, then the installed one. */
static cJSON *gather_registry(void)
{
	cJSON *obj = cJSON_CreateObject(), *list;
	az_registry *reg = NULL;
	az_error err = { "" };
	char *path;
	size_t i;

	if (az_registry_search_path(getenv(AZ_ENV_PATCH_PATH), &path, &err) != AZ_OK) {
		problem("patch registry: %s", err.message);
		return obj;
	}
	cJSON_AddStringToObject(obj, "path", path);
	list = cJSON_AddArrayToObject(obj, "patches");
	if (az_registry_load(path, &reg, &err) != AZ_OK)
		problem("patch registry: %s", err.message);
	for (i = 0; reg && i < az_registry_count(reg); i++)
		cJSON_AddItemToArray(list, describe_patch(az_registry_at(reg, i)));
	az_registry_free(reg);
	free(path);
	return obj;
}

static void add_variable(cJSON *list, const az_env *env, const char *name)
{
	cJSON *item = cJSON_CreateObject();
	const char *value = getenv(name);

	cJSON_AddStringToObject(item, "name", name);
	add_string_or_null(item, "value", value);
	cJSON_AddStringToObject(item, "set_by", !value ? "nobody"
				: az_env_user_value(env, name) ? "user" : "autozyme");
	cJSON_AddItemToArray(list, item);
}

/* The thread variables (the default list and any the site's `vars` added). */
static cJSON *gather_variables(const cJSON *record)
{
	const char *const *defaults = az_thread_vars_default();
	const cJSON *item;
	cJSON *list = cJSON_CreateArray();
	az_env env = az_env_process();
	size_t i;

	for (i = 0; defaults[i]; i++)
		add_variable(list, &env, defaults[i]);
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(record, "variables")) {
		bool known = false;

		for (i = 0; defaults[i] && !known; i++)
			known = strcmp(defaults[i], item->string) == 0;
		if (!known)
			add_variable(list, &env, item->string);
	}
	return list;
}

static cJSON *gather(const struct options *opt)
{
	cJSON *doc = cJSON_CreateObject(), *runtime, *record;
	char host[256] = "";

	problems = cJSON_AddArrayToObject(doc, "problems");
	load_libraries(opt);
	gethostname(host, sizeof(host) - 1);
	cJSON_AddItemToObject(doc, "autozyme", gather_autozyme());
	cJSON_AddStringToObject(doc, "host", host);
	runtime = gather_runtime();
	cJSON_AddItemToObject(doc, "runtime", runtime);
	/* thread_info()'s record of the task: its ids, ranks, patches, variables. */
	record = cJSON_GetObjectItem(runtime, "task");
	cJSON_AddItemToObject(doc, "task", gather_task(record));
	cJSON_AddItemToObject(doc, "patches", gather_patches(record));
	cJSON_AddItemToObject(doc, "registry", gather_registry());
	cJSON_AddItemToObject(doc, "variables", gather_variables(record));
	return doc;
}

/* ------------------------------------------------------------ rendering */

#define LABEL "%-13s"

static const char *text_of(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItem(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static long number_of(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItem(obj, key);

	return cJSON_IsNumber(item) ? (long)item->valuedouble : -1;
}

static void print_threads(const cJSON *rt)
{
	const cJSON *budget = cJSON_GetObjectItem(rt, "budget");

	if (cJSON_IsTrue(cJSON_GetObjectItem(rt, "off")))
		printf(LABEL "off (%s): AutoZyme sets no thread variable\n", "threads",
		       text_of(rt, "provenance"));
	else
		printf(LABEL "%ld (%s)\n", "threads", number_of(rt, "threads"),
		       text_of(rt, "provenance"));
	if (number_of(budget, "threads") >= 0)
		printf(LABEL "%ld (%s) of an allocation of %ld\n", "budget",
		       number_of(budget, "threads"), text_of(budget, "provenance"),
		       number_of(budget, "allocation"));
}

static void print_cpus(const cJSON *rt)
{
	const cJSON *cpus = cJSON_GetObjectItem(rt, "cpus");

	if (cJSON_IsObject(cpus))
		printf(LABEL "%s (%ld PUs, %ld cores)\n", "cpuset", text_of(cpus, "list"),
		       number_of(cpus, "pus"), number_of(cpus, "cores"));
	else
		printf(LABEL "unknown\n", "cpuset");
}

static void print_activation(const cJSON *rt)
{
	const char *path = text_of(rt, "activation_file");

	if (!path)
		printf(LABEL "none: %s is not set, so the budget is decided here "
		       "(not in a task the plugin started)\n", "activation", AZ_ENV_ACTIVATION_FILE);
	else if (cJSON_IsTrue(cJSON_GetObjectItem(rt, "activation_file_read")))
		printf(LABEL "%s (read: the plugin's decision)\n", "activation", path);
	else
		printf(LABEL "%s UNREADABLE: %s\n", "activation", path,
		       text_of(rt, "activation_error"));
}

static void print_task(const cJSON *task)
{
	if (!cJSON_IsObject(task))
		return;
	printf(LABEL "job %ld step %s", "task", number_of(task, "job_id"), text_of(task, "step"));
	if (number_of(task, "array_job_id") >= 0)
		printf(" (array %ld_%ld)", number_of(task, "array_job_id"),
		       number_of(task, "array_task_id"));
	printf(", node %s, rank %ld, local rank %ld of %ld\n", text_of(task, "node"),
	       number_of(task, "global_rank"), number_of(task, "local_rank"),
	       number_of(task, "local_tasks"));
	if (cJSON_IsTrue(cJSON_GetObjectItem(task, "clamped")))
		printf(LABEL "%ld threads were requested; lowered to the allocation\n", "",
		       number_of(task, "requested"));
}

/* "a, b" for an array of strings; "none" when empty or null. */
static void print_names(const cJSON *list)
{
	const cJSON *item;
	const char *sep = "";

	if (cJSON_GetArraySize(list) == 0)
		fputs("none", stdout);
	cJSON_ArrayForEach(item, list) {
		printf("%s%s", sep, item->valuestring);
		sep = ", ";
	}
}

static void print_patches(const cJSON *patches, const cJSON *registry)
{
	const cJSON *from_file = cJSON_GetObjectItem(patches, "activation_file");
	const cJSON *patch;

	printf(LABEL, "patches");
	print_names(cJSON_IsArray(from_file) ? from_file
					     : cJSON_GetObjectItem(patches, "requested"));
	if (text_of(patches, "AUTOZYME_ACTIVATE"))
		printf(" (%s=%s)\n", AZ_ENV_ACTIVATE, text_of(patches, "AUTOZYME_ACTIVATE"));
	else
		printf(" (%s is not set)\n", AZ_ENV_ACTIVATE);
	printf(LABEL "%s%s\n", "registry", text_of(registry, "path"),
	       cJSON_GetArraySize(cJSON_GetObjectItem(registry, "patches")) ? ""
	       : ": no patch manifest found");
	cJSON_ArrayForEach(patch, cJSON_GetObjectItem(registry, "patches"))
		printf(LABEL "  %-16s python %-16s r %s\n", "", text_of(patch, "name"),
		       text_of(patch, "python") ? text_of(patch, "python") : "-",
		       text_of(patch, "r") ? text_of(patch, "r") : "-");
}

static void print_variables(const cJSON *variables)
{
	const char *label = "variables";
	const cJSON *var;
	char pair[512];

	cJSON_ArrayForEach(var, variables) {
		const char *by = text_of(var, "set_by");

		snprintf(pair, sizeof(pair), "%s=%s", text_of(var, "name"),
			 text_of(var, "value") ? text_of(var, "value") : "");
		printf(LABEL "%-32s %s\n", label, strcmp(by, "nobody") ? pair : text_of(var, "name"),
		       strcmp(by, "user") == 0 ? "(yours: kept)"
		       : strcmp(by, "autozyme") == 0 ? "(autozyme)" : "(unset)");
		label = "";
	}
}

static void print_libraries(const cJSON *rt)
{
	const char *label = "libraries";
	const cJSON *pool;

	cJSON_ArrayForEach(pool, cJSON_GetObjectItem(rt, "pools")) {
		printf(LABEL "%-10s ", label, text_of(pool, "kind"));
		if (number_of(pool, "threads") >= 0)
			printf("%3ld threads  ", number_of(pool, "threads"));
		else
			printf("  ? threads  ");
		printf("%s\n", text_of(pool, "path"));
		label = "";
	}
	if (*label)
		printf(LABEL "no BLAS or OpenMP library loaded\n", label);
}

static void print_text(const cJSON *doc)
{
	const cJSON *az = cJSON_GetObjectItem(doc, "autozyme");
	const cJSON *rt = cJSON_GetObjectItem(doc, "runtime");

	printf(LABEL "%s (%s), built against Slurm %s\n", "autozyme", text_of(az, "version"),
	       text_of(az, "library"), text_of(az, "slurm_built_against"));
	printf(LABEL "%s\n", "host", text_of(doc, "host"));
	if (cJSON_IsObject(rt)) {
		print_threads(rt);
		print_cpus(rt);
		print_activation(rt);
	}
	print_task(cJSON_GetObjectItem(doc, "task"));
	print_patches(cJSON_GetObjectItem(doc, "patches"), cJSON_GetObjectItem(doc, "registry"));
	print_variables(cJSON_GetObjectItem(doc, "variables"));
	if (cJSON_IsObject(rt))
		print_libraries(rt);
}

static int print_json(const cJSON *doc)
{
	char *json = cJSON_PrintUnformatted(doc);

	if (!json) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	puts(json);
	free(json);
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt;
	const cJSON *item;
	cJSON *doc;
	int status = parse_options(argc, argv, &opt);

	if (status >= 0)
		return status;
	doc = gather(&opt);
	status = 0;
	if (opt.json)
		status = print_json(doc);
	else
		print_text(doc);
	cJSON_ArrayForEach(item, problems)
		fprintf(stderr, PROG ": %s\n", item->valuestring);
	if (cJSON_GetArraySize(problems) > 0)
		status = 1;
	cJSON_Delete(doc);
	return status;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* env_snapshot(): the JSON's fields, and what it must never contain. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "azcore.h"

static const az_active_patch two_patches[] = {
	{ "scanpy", "scanpy", "1.10.1" },
	{ "seurat", "Seurat", NULL },
};

static cJSON *snapshot(const char *language, const char *version,
		       const az_active_patch *patches, size_t n)
{
	char *json = NULL;
	az_error err = { "" };
	cJSON *doc;

	cr_assert_eq(az_snapshot_json(language, version, patches, n, &json,
				      &err),
		     AZ_OK, "%s", err.message);
	cr_assert_not_null(json);
	doc = cJSON_Parse(json);
	free(json);
	cr_assert(cJSON_IsObject(doc), "not a JSON object");
	return doc;
}

/* The string at a dotted path of objects, e.g. "os.sysname". */
static const char *string_at(const cJSON *doc, const char *a, const char *b)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, a);

	if (b)
		item = cJSON_GetObjectItemCaseSensitive(item, b);
	cr_assert(cJSON_IsString(item), "%s%s%s: not a string", a, b ? "." : "",
		  b ? b : "");
	return item->valuestring;
}

Test(snapshot, versions_and_language)
{
	cJSON *doc = snapshot("python", "3.11.2", NULL, 0);

	cr_expect_str_eq(string_at(doc, "autozyme_version", NULL), az_version());
	cr_expect_str_eq(string_at(doc, "language", "name"), "python");
	cr_expect_str_eq(string_at(doc, "language", "version"), "3.11.2");
	cJSON_Delete(doc);
}

Test(snapshot, os_matches_uname)
{
	struct utsname uts;
	cJSON *doc = snapshot("r", "4.2.2", NULL, 0);

	cr_assert_eq(uname(&uts), 0);
	cr_expect_str_eq(string_at(doc, "os", "sysname"), uts.sysname);
	cr_expect_str_eq(string_at(doc, "os", "release"), uts.release);
	cr_expect_str_eq(string_at(doc, "os", "machine"), uts.machine);
	cJSON_Delete(doc);
}

Test(snapshot, unknown_language_version_is_null)
{
	cJSON *doc = snapshot("r", NULL, NULL, 0);
	cJSON *lang = cJSON_GetObjectItemCaseSensitive(doc, "language");

	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(lang, "version")));
	cJSON_Delete(doc);
}

Test(snapshot, patches_in_order_with_null_when_not_installed)
{
	cJSON *doc = snapshot("python", "3.11", two_patches, 2);
	cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "patches");
	cJSON *first = cJSON_GetArrayItem(list, 0);
	cJSON *second = cJSON_GetArrayItem(list, 1);

	cr_assert(cJSON_IsArray(list));
	cr_assert_eq(cJSON_GetArraySize(list), 2);
	cr_expect_str_eq(string_at(first, "name", NULL), "scanpy");
	cr_expect_str_eq(string_at(first, "upstream", NULL), "scanpy");
	cr_expect_str_eq(string_at(first, "upstream_version", NULL), "1.10.1");
	cr_expect_str_eq(string_at(second, "name", NULL), "seurat");
	cr_expect_str_eq(string_at(second, "upstream", NULL), "Seurat");
	cr_expect(cJSON_IsNull(
		cJSON_GetObjectItemCaseSensitive(second, "upstream_version")));
	cJSON_Delete(doc);
}

Test(snapshot, no_patches_is_an_empty_list)
{
	cJSON *doc = snapshot("python", "3.11", NULL, 0);
	cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "patches");

	cr_assert(cJSON_IsArray(list));
	cr_expect_eq(cJSON_GetArraySize(list), 0);
	cJSON_Delete(doc);
}

Test(snapshot, exactly_the_documented_top_level_keys)
{
	static const char *const keys[] = { "autozyme_version", "language",
					    "os", "patches" };
	cJSON *doc = snapshot("python", "3.11", two_patches, 2);
	size_t i;

	cr_expect_eq(cJSON_GetArraySize(doc), 4);
	for (i = 0; i < 4; i++)
		cr_expect_not_null(cJSON_GetObjectItemCaseSensitive(doc, keys[i]),
				   "%s missing", keys[i]);
	cJSON_Delete(doc);
}

/* True when a key or string anywhere under `item` contains `needle`. */
static bool mentions(const cJSON *item, const char *needle)
{
	const cJSON *child;

	if (item->string && strstr(item->string, needle))
		return true;
	if (cJSON_IsString(item) && strstr(item->valuestring, needle))
		return true;
	cJSON_ArrayForEach(child, item)
		if (mentions(child, needle))
			return true;
	return false;
}

Test(snapshot, no_thread_variables_even_when_set)
{
	static const char *const vars[] = {
		"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
		"NUMBA_NUM_THREADS", "MC_CORES", "AUTOZYME_THREADS",
	};
	cJSON *doc;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		cr_assert_eq(setenv(vars[i], "7", 1), 0);
	doc = snapshot("python", "3.11", two_patches, 2);
	cr_expect_not(mentions(doc, "THREADS"));
	cr_expect_not(mentions(doc, "MC_CORES"));
	cr_expect_not(mentions(doc, "threads"));
	cJSON_Delete(doc);
}

/* The self-check of `mentions`: without it the test above could not fail. */
Test(snapshot, mentions_finds_nested_keys)
{
	cJSON *doc = cJSON_Parse("{\"a\":[{\"OMP_NUM_THREADS\":1}]}");

	cr_assert_not_null(doc);
	cr_expect(mentions(doc, "THREADS"));
	cJSON_Delete(doc);
}

static void expect_refused(const char *language,
			   const az_active_patch *patches, size_t n,
			   const char *needle)
{
	char *json = (char *)&json; /* must stay untouched */
	char *before = json;
	az_error err = { "" };

	cr_assert_eq(az_snapshot_json(language, "1", patches, n, &json, &err),
		     AZ_ERR_INVALID);
	cr_expect_eq(json, before);
	cr_expect_not_null(strstr(err.message, needle), "message '%s'",
			   err.message);
}

Test(snapshot, invalid_inputs_refused)
{
	const az_active_patch bad_name[] = { { "Scanpy", "scanpy", "1" } };
	const az_active_patch null_name[] = { { NULL, "scanpy", "1" } };
	const az_active_patch no_upstream[] = { { "scanpy", NULL, "1" } };
	const az_active_patch empty_upstream[] = { { "scanpy", "", "1" } };

	expect_refused(NULL, NULL, 0, "language: expected a non-empty");
	expect_refused("", NULL, 0, "language: expected a non-empty");
	expect_refused("python", NULL, 1, "patches: expected an array of 1 patches, got NULL");
	expect_refused("python", bad_name, 1, "patches[0].name: invalid patch name 'Scanpy'");
	expect_refused("python", null_name, 1, "patches[0].name");
	expect_refused("python", no_upstream, 1, "patches[0].upstream");
	expect_refused("python", empty_upstream, 1, "patches[0].upstream");
}

Test(snapshot, error_pointer_may_be_null)
{
	char *json = NULL;

	cr_expect_eq(az_snapshot_json("", NULL, NULL, 0, &json, NULL),
		     AZ_ERR_INVALID);
	cr_expect_null(json);
}

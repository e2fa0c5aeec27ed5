/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/runtime/report.c: env_snapshot() and thread_info().
 */
#define _GNU_SOURCE /* asprintf, CPU_COUNT */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime_fixture.h"

TestSuite(report, .init = clean_env);

/* ------------------------------------------------------------ snapshot */

static const cJSON *snapshot_patch(const cJSON *doc, int index)
{
	const cJSON *patches = field(doc, "patches");

	cr_assert(cJSON_IsArray(patches));
	cr_assert_gt(cJSON_GetArraySize(patches), index);
	return cJSON_GetArrayItem(patches, index);
}

Test(report, snapshot_lists_patches_without_thread_variables)
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

Test(report, snapshot_uses_the_languages_upstream)
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

Test(report, upstream_version_needs_an_active_patch)
{
	az_error err = { "" };

	cr_expect_eq(az_runtime_set_upstream_version("scanpy", "1.0", &err),
		     AZ_ERR_NOT_FOUND);
	cr_expect_str_eq(err.message,
			 "set_upstream_version: patch 'scanpy' is not active: activate it first");
}

/* --------------------------------------------------------- thread_info */

Test(report, thread_info_has_every_field)
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

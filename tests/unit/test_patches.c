/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/runtime/patches.c: activate(), find_patch() and the list a process
 * exports to its workers.
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

TestSuite(patches, .init = clean_env);

Test(patches, activate_unknown_lists_known_patches)
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

Test(patches, activate_refuses_invalid_input)
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

Test(patches, activate_language_mismatch)
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

Test(patches, find_patch_does_not_activate)
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

Test(patches, find_patch_of_an_active_patch)
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
Test(patches, find_patch_refuses_as_activate_does)
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

Test(patches, find_patch_with_no_patch_installed)
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

Test(patches, activate_exports_the_active_list)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	expect_exported("scanpy", "scanpy");
	expect_exported("cell2location", "scanpy,cell2location");
}

Test(patches, activate_merges_the_parents_list)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv(AZ_ENV_ACTIVATE, "seurat,scanpy", 1);
	expect_exported("cell2location", "seurat,scanpy,cell2location");
	expect_exported("scanpy", "seurat,scanpy,cell2location");
}

Test(patches, activate_replaces_a_malformed_list)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv(AZ_ENV_ACTIVATE, "Not A List,,", 1);
	expect_exported("scanpy", "scanpy");
}

Test(patches, activate_twice_changes_nothing)
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

Test(patches, fork_child_keeps_the_active_patches)
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

/* ------------------------------------------- upstream version, inherited */

Test(patches, check_upstream_version_by_release_numbers)
{
	az_error err = { "" };

	/* The shipped scanpy patch's Python side needs scanpy >= 1.9. */
	cr_expect_eq(az_runtime_check_upstream_version("scanpy", "python",
						       "1.9", &err), AZ_OK);
	cr_expect_eq(az_runtime_check_upstream_version("scanpy", "python",
						       "1.10.0rc1", &err), AZ_OK);
	cr_expect_eq(az_runtime_check_upstream_version("scanpy", "python",
						       "unknown", &err), AZ_OK);
	cr_expect_eq(az_runtime_check_upstream_version("scanpy", "python",
						       NULL, &err), AZ_OK);
	cr_assert_eq(az_runtime_check_upstream_version("scanpy", "python",
						       "1.8.2", &err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "activate: patch 'scanpy' needs scanpy >= 1.9, found 1.8.2");
	cr_expect_null(getenv(AZ_ENV_ACTIVATE), "a check activates nothing");
	cr_expect_eq(az_runtime_check_upstream_version("scanpy", "r", "1.0",
						       &err), AZ_ERR_NOT_FOUND);
	cr_expect_str_eq(err.message,
			 "activate: patch 'scanpy' has no R side (languages: Python)");
}

static char *inherited(const char *value, az_status want, az_error *err)
{
	char *json = NULL;

	if (value)
		setenv(AZ_ENV_ACTIVATE, value, 1);
	cr_assert_eq(az_runtime_inherited_patches(&json, err), want, "%s",
		     err->message);
	return json;
}

Test(patches, inherited_patches_as_the_core_parses_them)
{
	az_error err = { "" };
	char *json = inherited(NULL, AZ_OK, &err);

	cr_expect_str_eq(json, "[]");
	free(json);
	json = inherited("", AZ_OK, &err);
	cr_expect_str_eq(json, "[]");
	free(json);
	json = inherited("scanpy,seurat,scanpy", AZ_OK, &err);
	cr_expect_str_eq(json, "[\"scanpy\",\"seurat\"]");
	free(json);
}

Test(patches, inherited_patches_refuse_a_bad_list_naming_the_variable)
{
	az_error err = { "" };

	cr_expect_null(inherited("scanpy,Bad Name", AZ_ERR_INVALID, &err));
	cr_expect_eq(strncmp(err.message,
			     "AUTOZYME_ACTIVATE: invalid patch name 'Bad Name': ",
			     50), 0, "%s", err.message);
	cr_expect_eq(az_runtime_inherited_patches(NULL, &err), AZ_ERR_INVALID);
}

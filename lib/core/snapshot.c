/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * env_snapshot(): what a user pastes into a bug report to say which
 * AutoZyme, language, OS and patches were in effect.  Thread variables are
 * deliberately left out (the documentation promises it): they are read from
 * the environment directly, and thread_info() reports the budget.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "internal.h"

/* Add `value` as a string, or null when it is NULL; false when out of memory. */
static bool add_string_or_null(cJSON *obj, const char *key, const char *value)
{
	if (value)
		return cJSON_AddStringToObject(obj, key, value) != NULL;
	return cJSON_AddNullToObject(obj, key) != NULL;
}

static bool add_language(cJSON *root, const char *name, const char *version)
{
	cJSON *language = cJSON_AddObjectToObject(root, "language");

	return language && add_string_or_null(language, "name", name) &&
	       add_string_or_null(language, "version", version);
}

static bool add_os(cJSON *root, const struct utsname *uts)
{
	cJSON *os = cJSON_AddObjectToObject(root, "os");

	return os && add_string_or_null(os, "sysname", uts->sysname) &&
	       add_string_or_null(os, "release", uts->release) &&
	       add_string_or_null(os, "machine", uts->machine);
}

/* cJSON has AddObjectToObject but no array twin. */
static cJSON *add_object_to_array(cJSON *list)
{
	cJSON *item = cJSON_CreateObject();

	if (item && !cJSON_AddItemToArray(list, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

static bool add_patches(cJSON *root, const az_active_patch *patches,
			size_t n_patches)
{
	cJSON *list = cJSON_AddArrayToObject(root, "patches");
	cJSON *item;
	size_t i;

	if (!list)
		return false;
	for (i = 0; i < n_patches; i++) {
		item = add_object_to_array(list);
		if (!item ||
		    !add_string_or_null(item, "name", patches[i].name) ||
		    !add_string_or_null(item, "upstream", patches[i].upstream) ||
		    !add_string_or_null(item, "upstream_version",
					patches[i].upstream_version))
			return false;
	}
	return true;
}

static az_status check_inputs(const char *language,
			      const az_active_patch *patches, size_t n_patches,
			      az_error *err)
{
	size_t i;

	if (!language || !*language)
		return azi_fail(err, AZ_ERR_INVALID,
				"language: expected a non-empty language name");
	if (n_patches && !patches)
		return azi_fail(err, AZ_ERR_INVALID,
				"patches: expected an array of %zu patches, got NULL",
				n_patches);
	for (i = 0; i < n_patches; i++) {
		if (!az_patch_name_valid(patches[i].name))
			return azi_fail(err, AZ_ERR_INVALID,
					"patches[%zu].name: invalid patch name '%s': expected " AZI_PATCH_NAME_FORM,
					i, patches[i].name ? patches[i].name : "");
		if (!patches[i].upstream || !*patches[i].upstream)
			return azi_fail(err, AZ_ERR_INVALID,
					"patches[%zu].upstream: expected a non-empty package name",
					i);
	}
	return AZ_OK;
}

az_status az_snapshot_json(const char *language, const char *language_version,
			   const az_active_patch *patches, size_t n_patches,
			   char **json, az_error *err)
{
	struct utsname uts;
	cJSON *root;
	bool built;
	az_status status;

	status = check_inputs(language, patches, n_patches, err);
	if (status != AZ_OK)
		return status;
	if (uname(&uts) != 0)
		return azi_fail(err, AZ_ERR_SYSTEM, "uname: %s", strerror(errno));
	root = cJSON_CreateObject();
	built = root &&
		cJSON_AddStringToObject(root, "autozyme_version", az_version()) &&
		add_language(root, language, language_version) &&
		add_os(root, &uts) && add_patches(root, patches, n_patches);
	*json = built ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (!*json)
		return azi_fail(err, AZ_ERR_NOMEM, "snapshot: out of memory");
	return AZ_OK;
}

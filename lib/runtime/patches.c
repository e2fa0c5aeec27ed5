/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The runtime's patches: the registry (the shipped manifests, then
 * AUTOZYME_PATCH_PATH), find_patch for each language's side, and the active
 * patches a process exports to its workers in AUTOZYME_ACTIVATE.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "process_budget.h"
#include "state.h"
#include "threads.h"

/* ---------------------------------------------------------- the registry */

/* AUTOZYME_PATCH_PATH first (its directories win), then the installed one. */
static az_status ensure_registry(az_error *err)
{
	char *path_list;
	az_status status;

	if (azi_rt.registry)
		return AZ_OK;
	status = az_registry_search_path(getenv(AZ_ENV_PATCH_PATH), &path_list, err);
	if (status != AZ_OK)
		return status;
	status = az_registry_load(path_list, &azi_rt.registry, err);
	free(path_list);
	return status;
}

/* Append `item` to the ", "-separated `list`, truncating at `size`. */
static void append_listed(char *list, size_t size, const char *item)
{
	size_t used = strlen(list);

	snprintf(list + used, size - used, "%s%s", used ? ", " : "", item);
}

static az_status unknown_patch(const char *name, az_error *err)
{
	char known[AZ_ERROR_MAX] = "";
	size_t i, count = az_registry_count(azi_rt.registry);

	if (count == 0)
		return azi_fail(err, AZ_ERR_NOT_FOUND,
				"activate: unknown patch '%s': no patches are installed (searched %s and %s)",
				name, AZ_ENV_PATCH_PATH, az_registry_default_dir());
	for (i = 0; i < count; i++)
		append_listed(known, sizeof(known),
			      az_patch_name(az_registry_at(azi_rt.registry, i)));
	return azi_fail(err, AZ_ERR_NOT_FOUND,
			"activate: unknown patch '%s': known patches are %s",
			name, known);
}

/* A manifest's languages, with the names users know them by. */
static const struct language {
	const char *key;
	const char *title;
} languages[] = {
	{ "python", "Python" },
	{ "r", "R" },
};
#define LANGUAGE_COUNT (sizeof(languages) / sizeof(languages[0]))

/* The language of manifest key `key`, NULL when there is none. */
static const struct language *language_of(const char *key)
{
	size_t i;

	for (i = 0; key && i < LANGUAGE_COUNT; i++)
		if (strcmp(languages[i].key, key) == 0)
			return &languages[i];
	return NULL;
}

/* Lock held; `language` is one of languages[]. */
static az_status check_language_side(const az_patch *patch,
				     const char *language, az_error *err)
{
	char sides[32] = "";
	size_t i;

	if (az_patch_upstream(patch, language))
		return AZ_OK;
	for (i = 0; i < LANGUAGE_COUNT; i++)
		if (az_patch_upstream(patch, languages[i].key))
			append_listed(sides, sizeof(sides), languages[i].title);
	return azi_fail(err, AZ_ERR_NOT_FOUND,
			"activate: patch '%s' has no %s side (languages: %s)",
			az_patch_name(patch), language_of(language)->title,
			sides);
}

/* Lock held. */
static az_status find_patch(const char *name, const char *language,
			    const az_patch **out, az_error *err)
{
	az_status status = ensure_registry(err);

	if (status != AZ_OK)
		return status;
	if (az_registry_find(azi_rt.registry, name, out) != AZ_OK)
		return unknown_patch(name, err);
	return check_language_side(*out, language, err);
}

static az_status check_find_args(const char *name, const char *language,
				 const az_patch **patch, az_error *err)
{
	if (!patch)
		return azi_fail(err, AZ_ERR_INVALID,
				"activate: expected an output for the patch");
	if (!az_patch_name_valid(name))
		return azi_fail(err, AZ_ERR_INVALID,
				"activate: invalid patch name '" AZ_QUOTE "': expected " AZI_PATCH_NAME_FORM,
				AZ_QUOTE_ARGS(name ? name : ""));
	if (!language_of(language))
		return azi_fail(err, AZ_ERR_INVALID,
				"activate: invalid language '%s': expected python or r",
				language ? language : "");
	return AZ_OK;
}

/* *patch is set only when found, with the side of `language`. */
az_status az_runtime_find_patch(const char *name, const char *language,
				const az_patch **patch, az_error *err)
{
	const az_patch *found = NULL;
	az_status status = check_find_args(name, language, patch, err);

	if (status != AZ_OK)
		return status;
	azi_runtime_lock();
	status = find_patch(name, language, &found, err);
	azi_runtime_unlock();
	if (status == AZ_OK)
		*patch = found;
	return status;
}

/* ------------------------------------------------------- active patches */

static azi_active *find_active(const char *name)
{
	size_t i;

	for (i = 0; name && i < azi_rt.n_active; i++)
		if (strcmp(az_patch_name(azi_rt.active[i].patch), name) == 0)
			return &azi_rt.active[i];
	return NULL;
}

static az_status mark_active(const az_patch *patch, const char *language,
			     az_error *err)
{
	azi_active *grown = realloc(azi_rt.active,
				    (azi_rt.n_active + 1) * sizeof(*grown));

	if (!grown)
		return azi_fail(err, AZ_ERR_NOMEM, "activate: out of memory");
	azi_rt.active = grown;
	grown[azi_rt.n_active++] = (azi_active){
		.patch = patch,
		.upstream = az_patch_upstream(patch, language),
	};
	return AZ_OK;
}

/* `parent` (the names already exported) then every active patch missing
 * from it, comma-separated; NULL when out of memory. */
static char *join_active(char *const *parent, size_t n_parent)
{
	const char **names = calloc(n_parent + azi_rt.n_active + 1, sizeof(*names));
	size_t i, n = 0;
	char *list;

	if (!names)
		return NULL;
	for (i = 0; i < n_parent; i++)
		names[n++] = parent[i];
	for (i = 0; i < azi_rt.n_active; i++) {
		const char *name = az_patch_name(azi_rt.active[i].patch);

		if (!azi_names_contain(parent, n_parent, name))
			names[n++] = name;
	}
	list = az_names_join(names, n);
	free(names);
	return list;
}

/*
 * AUTOZYME_ACTIVATE for child processes: the parent's list (so a worker
 * passes it on whole) merged with this process's patches.  A list that
 * does not parse names nothing activate() could load, so only ours stays.
 */
static az_status export_active(az_error *err)
{
	const char *inherited = getenv(AZ_ENV_ACTIVATE);
	char **parent = NULL, *list;
	size_t n_parent = 0;
	az_status status = AZ_OK;

	if (inherited && *inherited &&
	    az_names_parse(inherited, AZ_ENV_ACTIVATE, &parent, &n_parent,
			   NULL) != AZ_OK)
		n_parent = 0;
	list = join_active(parent, n_parent);
	az_names_free(parent, n_parent);
	if (!list)
		return azi_fail(err, AZ_ERR_NOMEM, "activate: out of memory");
	if (setenv(AZ_ENV_ACTIVATE, list, 1) != 0)
		status = azi_fail(err, AZ_ERR_SYSTEM,
				  "%s: could not set the variable",
				  AZ_ENV_ACTIVATE);
	free(list);
	return status;
}

/*
 * A patch already active is returned as it is: nothing is applied again.
 * The registry is never freed, so the patch found before taking the lock
 * again is still the registry's.  *patch is set only on success.
 */
az_status az_runtime_activate(const char *name, const char *language,
			      const az_patch **patch, az_error *err)
{
	const az_patch *found = NULL;
	/* NULL for NULL: find refuses a missing output as activate must. */
	az_status status = az_runtime_find_patch(name, language,
						 patch ? &found : NULL, err);

	if (status != AZ_OK)
		return status;
	azi_runtime_lock();
	if (!find_active(name)) {
		status = azi_apply_threads(err);
		if (status == AZ_OK)
			status = mark_active(found, language, err);
		if (status == AZ_OK)
			status = export_active(err);
	}
	azi_runtime_unlock();
	if (status == AZ_OK)
		*patch = found;
	return status;
}

az_status az_runtime_check_upstream_version(const char *name,
					    const char *language,
					    const char *found, az_error *err)
{
	const az_patch *patch;
	const char *minimum;
	az_status status = az_runtime_find_patch(name, language, &patch, err);

	if (status != AZ_OK)
		return status;
	minimum = az_patch_min_version(patch, language);
	if (minimum && az_version_older(found, minimum))
		return azi_fail(err, AZ_ERR_INVALID,
				"activate: patch '%s' needs %s >= %s, found %s",
				name, az_patch_upstream(patch, language),
				minimum, found);
	return AZ_OK;
}

/*
 * The list is the core's to parse, so that Python and R read it alike: a
 * list that does not parse is an error naming the variable, for the
 * language to report on one line.
 */
az_status az_runtime_inherited_patches(char **json, az_error *err)
{
	const char *value = getenv(AZ_ENV_ACTIVATE);
	char **names = NULL;
	size_t count = 0, i;
	cJSON *array;
	az_status status = AZ_OK;

	if (!json)
		return azi_fail(err, AZ_ERR_INVALID,
				"inherited_patches: no place for the list");
	if (value && *value)
		status = az_names_parse(value, AZ_ENV_ACTIVATE, &names, &count,
					err);
	if (status != AZ_OK)
		return status;
	array = cJSON_CreateArray();
	for (i = 0; array && i < count; i++)
		if (!cJSON_AddItemToArray(array, cJSON_CreateString(names[i]))) {
			cJSON_Delete(array);
			array = NULL;
		}
	*json = array ? cJSON_PrintUnformatted(array) : NULL;
	cJSON_Delete(array);
	az_names_free(names, count);
	if (!*json)
		return azi_fail(err, AZ_ERR_NOMEM,
				"inherited_patches: out of memory");
	return AZ_OK;
}

az_status az_runtime_set_upstream_version(const char *name, const char *version,
					  az_error *err)
{
	char *copy = version ? strdup(version) : NULL;
	az_status status = AZ_OK;
	azi_active *entry;

	if (version && !copy)
		return azi_fail(err, AZ_ERR_NOMEM,
				"set_upstream_version: out of memory");
	azi_runtime_lock();
	entry = find_active(name);
	if (entry) {
		free(entry->upstream_version);
		entry->upstream_version = copy;
	} else {
		free(copy);
		status = azi_fail(err, AZ_ERR_NOT_FOUND,
				  "set_upstream_version: patch '%s' is not active: activate it first",
				  name ? name : "");
	}
	azi_runtime_unlock();
	return status;
}

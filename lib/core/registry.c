/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The patch registry: JSON manifests, one per patch, named NAME.json.
 *
 *   {
 *     "schema": 1,                       integer, must be 1
 *     "name": "scanpy",                  a valid patch name == file basename
 *     "description": "...",              non-empty string
 *     "version": "1",                    the patch's own version string
 *     "languages": {                     at least one of "python" and "r"
 *       "python": {
 *         "upstream": "scanpy",          the upstream package (non-empty)
 *         "min_version": "1.9",          optional: oldest upstream supported
 *         "hook": "autozyme.patches.scanpy"  what the runtime calls
 *       }
 *     }
 *   }
 *
 * Reading is strict: unknown or duplicate keys are refused, so a typo in a
 * site's manifest fails loudly at load time instead of silently dropping a
 * hook.  Directories are searched like PATH: the first manifest of a name
 * wins and later ones are not even read.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MANIFEST_SCHEMA 1
#define MANIFEST_SIZE_MAX (256 * 1024)
#define MANIFEST_SUFFIX ".json"

typedef struct azi_patch_side {
	const char *upstream; /* NULL when the patch has no such side */
	const char *min_version;
	const char *hook;
} azi_patch_side;

/* Strings point into `doc`, which the patch owns. */
struct az_patch {
	cJSON *doc;
	const char *name;
	const char *description;
	const char *version;
	azi_patch_side python;
	azi_patch_side r;
};

struct az_registry {
	az_patch **patches;
	size_t count;
	size_t capacity;
};

/* What a manifest is checked against, for messages naming file and field. */
typedef struct azi_manifest_ctx {
	const char *path;
	const char *stem; /* the file name without MANIFEST_SUFFIX */
	az_error *err;
} azi_manifest_ctx;

/* -------------------------------------------------------- field checks */

/* Refuse keys outside `allowed` (NULL-terminated) and repeated keys. */
static az_status check_keys(const cJSON *obj, const char *const *allowed,
			    const char *where, const azi_manifest_ctx *ctx)
{
	const cJSON *item;
	unsigned seen = 0, i;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; allowed[i] && strcmp(allowed[i], item->string); i++)
			;
		if (!allowed[i])
			return azi_fail(ctx->err, AZ_ERR_SCHEMA,
					"%s: %s%s: unknown key", ctx->path,
					where, item->string);
		if (seen & (1u << i))
			return azi_fail(ctx->err, AZ_ERR_SCHEMA,
					"%s: %s%s: duplicate key", ctx->path,
					where, item->string);
		seen |= 1u << i;
	}
	return AZ_OK;
}

/* A non-empty string member; absent is fine only when `optional`. */
static az_status get_string(const cJSON *obj, const char *key,
			    const char *where, bool optional,
			    const char **out, const azi_manifest_ctx *ctx)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (!item && optional)
		return AZ_OK;
	if (!cJSON_IsString(item) || !item->valuestring[0])
		return azi_fail(ctx->err, AZ_ERR_SCHEMA,
				"%s: %s%s: expected a non-empty string",
				ctx->path, where, key);
	*out = item->valuestring;
	return AZ_OK;
}

static az_status check_schema(const cJSON *doc, const azi_manifest_ctx *ctx)
{
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");

	if (!cJSON_IsNumber(schema))
		return azi_fail(ctx->err, AZ_ERR_SCHEMA,
				"%s: schema: expected the number %d",
				ctx->path, MANIFEST_SCHEMA);
	if (schema->valuedouble != MANIFEST_SCHEMA)
		return azi_fail(ctx->err, AZ_ERR_SCHEMA,
				"%s: schema: unsupported schema %g: expected %d",
				ctx->path, schema->valuedouble, MANIFEST_SCHEMA);
	return AZ_OK;
}

static az_status check_name(az_patch *patch, const azi_manifest_ctx *ctx)
{
	az_status status;

	status = get_string(patch->doc, "name", "", false, &patch->name, ctx);
	if (status != AZ_OK)
		return status;
	if (!az_patch_name_valid(patch->name))
		return azi_fail(ctx->err, AZ_ERR_INVALID,
				"%s: name: invalid patch name '%s': expected " AZI_PATCH_NAME_FORM,
				ctx->path, patch->name);
	if (strcmp(patch->name, ctx->stem) != 0)
		return azi_fail(ctx->err, AZ_ERR_INVALID,
				"%s: name: '%s' does not match the file name: expected '%s'",
				ctx->path, patch->name, ctx->stem);
	return AZ_OK;
}

/* ------------------------------------------------------------ languages */

static az_status parse_side(const cJSON *obj, const char *language,
			    azi_patch_side *side, const azi_manifest_ctx *ctx)
{
	static const char *const keys[] = { "upstream", "min_version", "hook",
					    NULL };
	char where[32];
	az_status status;

	snprintf(where, sizeof(where), "languages.%s.", language);
	if (!cJSON_IsObject(obj))
		return azi_fail(ctx->err, AZ_ERR_SCHEMA,
				"%s: languages.%s: expected an object",
				ctx->path, language);
	status = check_keys(obj, keys, where, ctx);
	if (status == AZ_OK)
		status = get_string(obj, "upstream", where, false,
				    &side->upstream, ctx);
	if (status == AZ_OK)
		status = get_string(obj, "min_version", where, true,
				    &side->min_version, ctx);
	if (status == AZ_OK)
		status = get_string(obj, "hook", where, false, &side->hook, ctx);
	return status;
}

static az_status parse_languages(az_patch *patch, const azi_manifest_ctx *ctx)
{
	static const char *const keys[] = { "python", "r", NULL };
	const cJSON *langs, *python, *r;
	az_status status;

	langs = cJSON_GetObjectItemCaseSensitive(patch->doc, "languages");
	if (!cJSON_IsObject(langs) || !langs->child)
		return azi_fail(ctx->err, AZ_ERR_SCHEMA,
				"%s: languages: expected an object with at least one of python, r",
				ctx->path);
	status = check_keys(langs, keys, "languages.", ctx);
	if (status != AZ_OK)
		return status;
	python = cJSON_GetObjectItemCaseSensitive(langs, "python");
	r = cJSON_GetObjectItemCaseSensitive(langs, "r");
	if (python)
		status = parse_side(python, "python", &patch->python, ctx);
	if (status == AZ_OK && r)
		status = parse_side(r, "r", &patch->r, ctx);
	return status;
}

/* ------------------------------------------------------------- manifest */

static az_status parse_fields(az_patch *patch, const azi_manifest_ctx *ctx)
{
	static const char *const keys[] = { "schema", "name", "description",
					    "version", "languages", NULL };
	az_status status;

	if (!cJSON_IsObject(patch->doc))
		return azi_fail(ctx->err, AZ_ERR_SCHEMA,
				"%s: expected a JSON object", ctx->path);
	status = check_keys(patch->doc, keys, "", ctx);
	if (status == AZ_OK)
		status = check_schema(patch->doc, ctx);
	if (status == AZ_OK)
		status = check_name(patch, ctx);
	if (status == AZ_OK)
		status = get_string(patch->doc, "description", "", false,
				    &patch->description, ctx);
	if (status == AZ_OK)
		status = get_string(patch->doc, "version", "", false,
				    &patch->version, ctx);
	if (status == AZ_OK)
		status = parse_languages(patch, ctx);
	return status;
}

static void patch_free(az_patch *patch)
{
	if (!patch)
		return;
	cJSON_Delete(patch->doc);
	free(patch);
}

/* `text` is NUL-terminated and `len` long. */
static az_status patch_parse(const char *text, size_t len, az_patch **out,
			     const azi_manifest_ctx *ctx)
{
	const char *end = NULL;
	az_patch *patch;
	az_status status;

	/* cJSON stops at a NUL byte; anything after it would go unchecked. */
	if (memchr(text, '\0', len))
		return azi_fail(ctx->err, AZ_ERR_PARSE,
				"%s: not well-formed JSON: contains a NUL byte",
				ctx->path);
	patch = calloc(1, sizeof(*patch));
	if (!patch)
		return azi_fail(ctx->err, AZ_ERR_NOMEM, "%s: out of memory",
				ctx->path);
	patch->doc = cJSON_ParseWithOpts(text, &end, true);
	if (!patch->doc) {
		free(patch);
		return azi_fail(ctx->err, AZ_ERR_PARSE,
				"%s: not well-formed JSON near byte %td",
				ctx->path, end ? end - text : (ptrdiff_t)0);
	}
	status = parse_fields(patch, ctx);
	if (status != AZ_OK) {
		patch_free(patch);
		return status;
	}
	*out = patch;
	return AZ_OK;
}

/* --------------------------------------------------------------- files */

static az_status too_large(const azi_manifest_ctx *ctx)
{
	return azi_fail(ctx->err, AZ_ERR_TOO_LARGE, "%s: larger than %d bytes",
			ctx->path, MANIFEST_SIZE_MAX);
}

/*
 * Load one manifest; *out stays NULL for something that is not a regular
 * file (a directory named x.json).  O_NONBLOCK keeps a FIFO from hanging us.
 */
static az_status manifest_load(const azi_manifest_ctx *ctx, az_patch **out)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	az_status status;
	int fd = open(ctx->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return azi_fail(ctx->err, AZ_ERR_IO, "%s: cannot open: %s",
				ctx->path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return AZ_OK;
	}
	if (st.st_size > MANIFEST_SIZE_MAX)
		status = too_large(ctx);
	else
		status = azi_read_all(fd, ctx->path, MANIFEST_SIZE_MAX, &text,
				      &len, ctx->err);
	close(fd);
	if (status != AZ_OK)
		return status;
	status = patch_parse(text, len, out, ctx);
	free(text);
	return status;
}

/* ------------------------------------------------------------- registry */

static az_status registry_append(az_registry *reg, az_patch *patch,
				 az_error *err)
{
	az_patch **grown;
	size_t capacity;

	if (reg->count == reg->capacity) {
		capacity = reg->capacity ? 2 * reg->capacity : 8;
		grown = realloc(reg->patches, capacity * sizeof(*grown));
		if (!grown)
			return azi_fail(err, AZ_ERR_NOMEM,
					"patch registry: out of memory");
		reg->patches = grown;
		reg->capacity = capacity;
	}
	reg->patches[reg->count++] = patch;
	return AZ_OK;
}

/* NAME.json, not hidden: dot files are editor and package-manager leftovers. */
static int is_manifest_entry(const struct dirent *entry)
{
	size_t len = strlen(entry->d_name);
	size_t suffix = strlen(MANIFEST_SUFFIX);

	return entry->d_name[0] != '.' && len > suffix &&
	       strcmp(entry->d_name + len - suffix, MANIFEST_SUFFIX) == 0;
}

/* Byte order, not alphasort's strcoll: the load order must not follow the locale. */
static int compare_entries(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static char *join_path(const char *dir, const char *file)
{
	size_t len = strlen(dir) + 1 + strlen(file) + 1;
	char *path = malloc(len);

	if (path)
		snprintf(path, len, "%s/%s", dir, file);
	return path;
}

/* Load the manifest `file` of `dir` unless an earlier directory had it. */
static az_status registry_load_entry(az_registry *reg, const char *dir,
				     const char *file, az_error *err)
{
	azi_manifest_ctx ctx = { .err = err };
	const az_patch *existing;
	az_patch *patch = NULL;
	az_status status = AZ_OK;
	char *path = join_path(dir, file);
	char *stem = strndup(file, strlen(file) - strlen(MANIFEST_SUFFIX));

	if (!path || !stem) {
		free(path);
		free(stem);
		return azi_fail(err, AZ_ERR_NOMEM, "%s: out of memory", dir);
	}
	ctx.path = path;
	ctx.stem = stem;
	if (az_registry_find(reg, stem, &existing) != AZ_OK)
		status = manifest_load(&ctx, &patch);
	if (status == AZ_OK && patch)
		status = registry_append(reg, patch, err);
	if (status != AZ_OK)
		patch_free(patch);
	free(path);
	free(stem);
	return status;
}

static az_status registry_load_dir(az_registry *reg, const char *dir,
				   az_error *err)
{
	struct dirent **entries;
	az_status status = AZ_OK;
	int n, i;

	n = scandir(dir, &entries, is_manifest_entry, compare_entries);
	if (n < 0) {
		/* Like PATH, a directory that does not exist is no error. */
		if (errno == ENOENT || errno == ENOTDIR)
			return AZ_OK;
		return azi_fail(err, AZ_ERR_IO, "%s: cannot read directory: %s",
				dir, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (status == AZ_OK)
			status = registry_load_entry(reg, dir,
						     entries[i]->d_name, err);
		free(entries[i]);
	}
	free(entries);
	return status;
}

/* Empty components are skipped: unlike PATH they never mean ".", which
 * would make the registry depend on the working directory. */
static az_status registry_load_list(az_registry *reg, const char *path_list,
				    az_error *err)
{
	const char *item, *colon;
	az_status status = AZ_OK;
	char *dir;

	for (item = path_list; status == AZ_OK && *item; item = colon) {
		colon = strchr(item, ':');
		if (!colon)
			colon = item + strlen(item);
		if (colon > item) {
			dir = strndup(item, (size_t)(colon - item));
			if (!dir)
				return azi_fail(err, AZ_ERR_NOMEM,
						"patch registry: out of memory");
			status = registry_load_dir(reg, dir, err);
			free(dir);
		}
		if (*colon == ':')
			colon++;
	}
	return status;
}

az_status az_registry_load(const char *path_list, az_registry **out,
			   az_error *err)
{
	az_registry *reg = calloc(1, sizeof(*reg));
	az_status status;

	*out = NULL;
	if (!reg)
		return azi_fail(err, AZ_ERR_NOMEM, "patch registry: out of memory");
	status = registry_load_list(reg, path_list ? path_list : "", err);
	if (status != AZ_OK) {
		az_registry_free(reg);
		return status;
	}
	*out = reg;
	return AZ_OK;
}

void az_registry_free(az_registry *reg)
{
	size_t i;

	if (!reg)
		return;
	for (i = 0; i < reg->count; i++)
		patch_free(reg->patches[i]);
	free(reg->patches);
	free(reg);
}

size_t az_registry_count(const az_registry *reg)
{
	return reg ? reg->count : 0;
}

const az_patch *az_registry_at(const az_registry *reg, size_t index)
{
	return reg && index < reg->count ? reg->patches[index] : NULL;
}

az_status az_registry_find(const az_registry *reg, const char *name,
			   const az_patch **out)
{
	size_t i;

	for (i = 0; name && i < az_registry_count(reg); i++) {
		if (strcmp(reg->patches[i]->name, name) == 0) {
			*out = reg->patches[i];
			return AZ_OK;
		}
	}
	return AZ_ERR_NOT_FOUND;
}

const char *az_registry_default_dir(void)
{
	return AZ_PATCH_DIR;
}

az_status az_registry_search_path(const char *extra, char **out, az_error *err)
{
	bool has_extra = extra && *extra;

	if (!out)
		return azi_fail(err, AZ_ERR_INVALID, "registry search path: no output given");
	if (asprintf(out, "%s%s%s", has_extra ? extra : "", has_extra ? ":" : "",
		     AZ_PATCH_DIR) < 0) {
		*out = NULL;
		return azi_fail(err, AZ_ERR_NOMEM, "registry search path: out of memory");
	}
	return AZ_OK;
}

/* ------------------------------------------------------------ accessors */

const char *az_patch_name(const az_patch *patch)
{
	return patch ? patch->name : NULL;
}

const char *az_patch_description(const az_patch *patch)
{
	return patch ? patch->description : NULL;
}

const char *az_patch_version(const az_patch *patch)
{
	return patch ? patch->version : NULL;
}

static const azi_patch_side *patch_side(const az_patch *patch,
					const char *language)
{
	if (!patch || !language)
		return NULL;
	if (strcmp(language, "python") == 0)
		return &patch->python;
	if (strcmp(language, "r") == 0)
		return &patch->r;
	return NULL;
}

const char *az_patch_upstream(const az_patch *patch, const char *language)
{
	const azi_patch_side *side = patch_side(patch, language);

	return side ? side->upstream : NULL;
}

const char *az_patch_min_version(const az_patch *patch, const char *language)
{
	const azi_patch_side *side = patch_side(patch, language);

	return side ? side->min_version : NULL;
}

const char *az_patch_hook(const az_patch *patch, const char *language)
{
	const azi_patch_side *side = patch_side(patch, language);

	return side ? side->hook : NULL;
}

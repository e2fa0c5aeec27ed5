/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/core/registry.c: the registry of JSON manifests, the shipped patches/
 * directory, plus manifests generated at run time in a scratch directory. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azcore.h"

/* ------------------------------------------------------------- helpers */

#include "scratch.h"

static char scratch[SCRATCH_MAX];

static void scratch_create(void)
{
	scratch_make(scratch, sizeof(scratch), "registry");
}

static void scratch_delete(void)
{
	scratch_remove(scratch);
}

/* A path under the scratch directory, in a static rotating buffer. */
static const char *in_scratch(const char *rel)
{
	static char paths[4][4096];
	static unsigned next;
	char *path = paths[next++ % 4];

	snprintf(path, sizeof(paths[0]), "%s/%s", scratch, rel);
	return path;
}

static void write_bytes(const char *rel, const char *bytes, size_t len)
{
	FILE *f = fopen(in_scratch(rel), "wb");

	cr_assert_not_null(f, "cannot create %s", rel);
	cr_assert_eq(fwrite(bytes, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void write_text(const char *rel, const char *text)
{
	write_bytes(rel, text, strlen(text));
}

static void make_dir(const char *rel)
{
	cr_assert_eq(mkdir(in_scratch(rel), 0755), 0, "mkdir %s", rel);
}

/* A manifest from its five fields, each given as raw JSON. */
#define MANIFEST(schema, name, description, version, languages)             \
	"{\"schema\":" schema ",\"name\":" name ",\"description\":"          \
	description ",\"version\":" version ",\"languages\":" languages "}"
#define PYTHON_SIDE "{\"python\":{\"upstream\":\"up\",\"hook\":\"mod.hook\"}}"
/* A well-formed manifest for a patch called `name` (a C string literal). */
#define VALID(name, description)                                            \
	MANIFEST("1", "\"" name "\"", "\"" description "\"", "\"1\"",        \
		 PYTHON_SIDE)

static const char *srcdir_path(const char *rel)
{
	static char path[4096];
	const char *srcdir = getenv("AZ_TEST_SRCDIR");

	snprintf(path, sizeof(path), "%s/%s", srcdir ? srcdir : ".", rel);
	return path;
}

static az_registry *load_ok(const char *path_list)
{
	az_registry *reg = NULL;
	az_error err = { "" };

	cr_assert_eq(az_registry_load(path_list, &reg, &err), AZ_OK,
		     "loading '%s': %s", path_list, err.message);
	cr_assert_not_null(reg);
	return reg;
}

static const az_patch *find_ok(const az_registry *reg, const char *name)
{
	const az_patch *patch = NULL;

	cr_assert_eq(az_registry_find(reg, name, &patch), AZ_OK,
		     "patch %s not found", name);
	cr_assert_str_eq(az_patch_name(patch), name);
	return patch;
}

/* ----------------------------------------------------- the shipped ones */

Test(shipped, three_manifests_in_name_order)
{
	az_registry *reg = load_ok(srcdir_path("patches"));

	cr_assert_eq(az_registry_count(reg), 3);
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 0)), "cell2location");
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 1)), "scanpy");
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 2)), "seurat");
	az_registry_free(reg);
}

/* What one shipped manifest must say; it has no side for `other`. */
typedef struct shipped_patch {
	const char *name, *language, *other;
	const char *upstream, *hook, *min_version;
	const char *knob; /* the upstream setting its description names */
} shipped_patch;

static void expect_shipped(const shipped_patch *want)
{
	az_registry *reg = load_ok(srcdir_path("patches"));
	const az_patch *p = find_ok(reg, want->name);

	cr_expect_str_eq(az_patch_upstream(p, want->language), want->upstream);
	cr_expect_str_eq(az_patch_hook(p, want->language), want->hook);
	cr_expect_str_eq(az_patch_min_version(p, want->language),
			 want->min_version);
	cr_expect_str_eq(az_patch_version(p), "1");
	cr_expect_not_null(strstr(az_patch_description(p), want->knob),
			   "%s: description does not name %s", want->name,
			   want->knob);
	cr_expect_null(az_patch_upstream(p, want->other));
	cr_expect_null(az_patch_hook(p, want->other));
	az_registry_free(reg);
}

Test(shipped, scanpy)
{
	expect_shipped(&(shipped_patch){
		"scanpy", "python", "r", "scanpy", "autozyme.patches.scanpy",
		"1.9", "settings.n_jobs" });
}

Test(shipped, seurat)
{
	expect_shipped(&(shipped_patch){
		"seurat", "r", "python", "Seurat", "autozyme:::patch_seurat",
		"4.0.0", "future" });
}

Test(shipped, cell2location)
{
	expect_shipped(&(shipped_patch){
		"cell2location", "python", "r", "cell2location",
		"autozyme.patches.cell2location", "0.1",
		"torch.set_num_threads" });
}

Test(shipped, default_dir_is_the_installed_patches_dir)
{
	const char *dir = az_registry_default_dir();
	size_t len = strlen(dir);

	cr_assert_gt(len, strlen("/autozyme/patches"));
	cr_expect_str_eq(dir + len - strlen("/autozyme/patches"),
			 "/autozyme/patches");
	cr_expect_eq(dir[0], '/');
}

/* AUTOZYME_PATCH_PATH's directories win, then the installed one; the
 * runtime and autozyme-info both read this one path. */
static void expect_search_path(const char *extra, const char *expected_prefix)
{
	char *path = NULL, *expected = NULL;
	az_error err = { "" };

	cr_assert_eq(az_registry_search_path(extra, &path, &err), AZ_OK, "%s", err.message);
	cr_assert_neq(asprintf(&expected, "%s%s", expected_prefix, az_registry_default_dir()), -1);
	cr_expect_str_eq(path, expected);
	free(path);
	free(expected);
}

Test(shipped, search_path_puts_extra_directories_first)
{
	az_error err = { "" };

	expect_search_path(NULL, "");
	expect_search_path("", "");
	expect_search_path("/site/patches", "/site/patches:");
	expect_search_path("/a:/b", "/a:/b:");
	cr_expect_eq(az_registry_search_path("/a", NULL, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "no output") != NULL, "%s", err.message);
}

/* ---------------------------------------------------------- malformed */

TestSuite(malformed, .init = scratch_create, .fini = scratch_delete);

/* Loading the scratch directory holding `bytes` as `file` must fail with
 * `status`, leave *out NULL, and name the file and `needle` (a field). */
static void expect_bytes_refused(const char *file, const char *bytes,
				 size_t len, az_status status,
				 const char *needle)
{
	az_registry *reg = (az_registry *)&reg; /* anything but NULL */
	az_error err = { "" };

	write_bytes(file, bytes, len);
	cr_assert_eq(az_registry_load(scratch, &reg, &err), status,
		     "%s: got '%s'", file, err.message);
	cr_expect_null(reg);
	cr_expect_not_null(strstr(err.message, in_scratch(file)),
			   "message '%s' does not name the file", err.message);
	cr_expect_not_null(strstr(err.message, needle),
			   "message '%s' does not contain '%s'", err.message,
			   needle);
}

#define REFUSED(test, file, text, status, needle)                           \
	Test(malformed, test)                                               \
	{                                                                   \
		expect_bytes_refused(file, text, strlen(text), status,      \
				     needle);                               \
	}

/* A manifest whose only fault is in its "languages" object. */
#define REFUSED_LANGUAGES(test, languages, needle)                         \
	REFUSED(test, "bad.json",                                           \
		MANIFEST("1", "\"bad\"", "\"d\"", "\"1\"", languages),        \
		AZ_ERR_SCHEMA, needle)

REFUSED(not_json, "bad.json", "hello", AZ_ERR_PARSE, "not well-formed JSON")
REFUSED(empty_file, "bad.json", "", AZ_ERR_PARSE, "not well-formed JSON")
REFUSED(truncated, "bad.json", "{\"schema\":1,\"name\":\"bad\"",
	AZ_ERR_PARSE, "not well-formed JSON")
REFUSED(trailing_garbage, "bad.json", VALID("bad", "d") " {}",
	AZ_ERR_PARSE, "not well-formed JSON")
REFUSED(top_level_array, "bad.json", "[" VALID("bad", "d") "]",
	AZ_ERR_SCHEMA, "expected a JSON object")
REFUSED(schema_missing, "bad.json",
	"{\"name\":\"bad\",\"description\":\"d\",\"version\":\"1\","
	"\"languages\":" PYTHON_SIDE "}",
	AZ_ERR_SCHEMA, "schema: expected the number 1")
REFUSED(schema_string, "bad.json",
	MANIFEST("\"1\"", "\"bad\"", "\"d\"", "\"1\"", PYTHON_SIDE),
	AZ_ERR_SCHEMA, "schema: expected the number 1")
REFUSED(schema_2, "bad.json",
	MANIFEST("2", "\"bad\"", "\"d\"", "\"1\"", PYTHON_SIDE),
	AZ_ERR_SCHEMA, "schema: unsupported schema 2: expected 1")
REFUSED(name_missing, "bad.json",
	"{\"schema\":1,\"description\":\"d\",\"version\":\"1\","
	"\"languages\":" PYTHON_SIDE "}",
	AZ_ERR_SCHEMA, "name: expected a non-empty string")
REFUSED(name_number, "bad.json",
	MANIFEST("1", "7", "\"d\"", "\"1\"", PYTHON_SIDE),
	AZ_ERR_SCHEMA, "name: expected a non-empty string")
REFUSED(name_invalid, "bad.json",
	MANIFEST("1", "\"bad!\"", "\"d\"", "\"1\"", PYTHON_SIDE),
	AZ_ERR_INVALID, "name: invalid patch name 'bad!'")
REFUSED(name_uppercase_in_file_of_that_name, "Bad.json", VALID("Bad", "d"),
	AZ_ERR_INVALID, "name: invalid patch name 'Bad'")
REFUSED(name_differs_from_file, "bad.json", VALID("other", "d"),
	AZ_ERR_INVALID, "'other' does not match the file name: expected 'bad'")
REFUSED(description_missing, "bad.json",
	"{\"schema\":1,\"name\":\"bad\",\"version\":\"1\","
	"\"languages\":" PYTHON_SIDE "}",
	AZ_ERR_SCHEMA, "description: expected a non-empty string")
REFUSED(description_number, "bad.json",
	MANIFEST("1", "\"bad\"", "3", "\"1\"", PYTHON_SIDE),
	AZ_ERR_SCHEMA, "description: expected a non-empty string")
REFUSED(version_missing, "bad.json",
	"{\"schema\":1,\"name\":\"bad\",\"description\":\"d\","
	"\"languages\":" PYTHON_SIDE "}",
	AZ_ERR_SCHEMA, "version: expected a non-empty string")
REFUSED(version_number, "bad.json",
	MANIFEST("1", "\"bad\"", "\"d\"", "1", PYTHON_SIDE),
	AZ_ERR_SCHEMA, "version: expected a non-empty string")
REFUSED(languages_missing, "bad.json",
	"{\"schema\":1,\"name\":\"bad\",\"description\":\"d\","
	"\"version\":\"1\"}",
	AZ_ERR_SCHEMA, "languages: expected an object")
REFUSED_LANGUAGES(languages_array,
	"[" PYTHON_SIDE "]",
	"languages: expected an object")
REFUSED_LANGUAGES(languages_empty,
	"{}",
	"at least one of python, r")
REFUSED_LANGUAGES(language_unknown,
	"{\"julia\":{\"upstream\":\"up\",\"hook\":\"h\"}}",
	"languages.julia: unknown key")
REFUSED_LANGUAGES(language_not_object,
	"{\"python\":\"scanpy\"}",
	"languages.python: expected an object")
REFUSED_LANGUAGES(hook_missing,
	"{\"python\":{\"upstream\":\"up\"}}",
	"languages.python.hook: expected a non-empty string")
REFUSED_LANGUAGES(hook_empty,
	"{\"python\":{\"upstream\":\"up\",\"hook\":\"\"}}",
	"languages.python.hook: expected a non-empty string")
REFUSED_LANGUAGES(hook_number,
	"{\"r\":{\"upstream\":\"up\",\"hook\":1}}",
	"languages.r.hook: expected a non-empty string")
REFUSED_LANGUAGES(upstream_missing,
	"{\"python\":{\"hook\":\"h\"}}",
	"languages.python.upstream: expected a non-empty string")
REFUSED_LANGUAGES(upstream_array,
	"{\"python\":{\"upstream\":[\"up\"],\"hook\":\"h\"}}",
	"languages.python.upstream: expected a non-empty string")
REFUSED_LANGUAGES(min_version_number,
	"{\"r\":{\"upstream\":\"up\",\"hook\":\"h\",\"min_version\":4}}",
	"languages.r.min_version: expected a non-empty string")
REFUSED(unknown_top_level_key, "bad.json",
	"{\"schema\":1,\"name\":\"bad\",\"description\":\"d\",\"version\":\"1\","
	"\"hooks\":{},\"languages\":" PYTHON_SIDE "}",
	AZ_ERR_SCHEMA, "hooks: unknown key")
REFUSED_LANGUAGES(unknown_language_key,
	"{\"python\":{\"upstream\":\"up\",\"hok\":\"h\"}}",
	"languages.python.hok: unknown key")
REFUSED(duplicate_key, "bad.json",
	"{\"schema\":1,\"name\":\"bad\",\"name\":\"bad\",\"description\":\"d\","
	"\"version\":\"1\",\"languages\":" PYTHON_SIDE "}",
	AZ_ERR_SCHEMA, "name: duplicate key")
REFUSED_LANGUAGES(duplicate_language,
	"{\"r\":{\"upstream\":\"u\",\"hook\":\"h\"},"
	"\"r\":{\"upstream\":\"u\",\"hook\":\"h\"}}",
	"languages.r: duplicate key")

Test(malformed, nul_byte_inside)
{
	static const char text[] = VALID("bad", "d") "\0{}";

	expect_bytes_refused("bad.json", text, sizeof(text) - 1, AZ_ERR_PARSE,
			     "NUL byte");
}

/* A valid manifest padded with trailing blanks to `size` bytes. */
static void write_padded(const char *file, size_t size)
{
	static const char text[] = VALID("big", "d");
	char *buf = malloc(size);

	cr_assert_not_null(buf);
	memset(buf, ' ', size);
	memcpy(buf, text, strlen(text));
	write_bytes(file, buf, size);
	free(buf);
}

Test(malformed, oversized_file)
{
	az_registry *reg = NULL;
	az_error err = { "" };

	write_padded("big.json", 256 * 1024 + 1);
	cr_assert_eq(az_registry_load(scratch, &reg, &err), AZ_ERR_TOO_LARGE);
	cr_expect_null(reg);
	cr_expect_not_null(strstr(err.message, in_scratch("big.json")),
			   "%s", err.message);
}

Test(malformed, exactly_the_size_limit_loads)
{
	az_registry *reg;

	write_padded("big.json", 256 * 1024);
	reg = load_ok(scratch);
	cr_expect_eq(az_registry_count(reg), 1);
	az_registry_free(reg);
}

Test(malformed, one_bad_manifest_fails_the_whole_load)
{
	az_registry *reg = NULL;

	write_text("good.json", VALID("good", "d"));
	write_text("zbad.json", "{");
	cr_expect_eq(az_registry_load(scratch, &reg, NULL), AZ_ERR_PARSE);
	cr_expect_null(reg);
}

/* ------------------------------------------------------------ loading */

TestSuite(load, .init = scratch_create, .fini = scratch_delete);

Test(load, both_languages_and_optional_min_version)
{
	az_registry *reg;
	const az_patch *p;

	write_text("both.json",
		   MANIFEST("1", "\"both\"", "\"two sides\"", "\"2.1\"",
			    "{\"python\":{\"upstream\":\"pyup\",\"hook\":\"py.hook\","
			    "\"min_version\":\"3\"},"
			    "\"r\":{\"upstream\":\"Rup\",\"hook\":\"pkg:::h\"}}"));
	reg = load_ok(scratch);
	p = find_ok(reg, "both");
	cr_expect_str_eq(az_patch_description(p), "two sides");
	cr_expect_str_eq(az_patch_version(p), "2.1");
	cr_expect_str_eq(az_patch_upstream(p, "python"), "pyup");
	cr_expect_str_eq(az_patch_hook(p, "python"), "py.hook");
	cr_expect_str_eq(az_patch_min_version(p, "python"), "3");
	cr_expect_str_eq(az_patch_upstream(p, "r"), "Rup");
	cr_expect_str_eq(az_patch_hook(p, "r"), "pkg:::h");
	cr_expect_null(az_patch_min_version(p, "r"));
	az_registry_free(reg);
}

Test(load, earlier_directory_wins_a_duplicate_name)
{
	az_registry *reg;
	char list[8192];

	make_dir("first");
	make_dir("second");
	write_text("first/dup.json", VALID("dup", "first"));
	write_text("second/dup.json", VALID("dup", "second"));
	write_text("second/extra.json", VALID("extra", "d"));
	snprintf(list, sizeof(list), "%s:%s", in_scratch("first"),
		 in_scratch("second"));
	reg = load_ok(list);
	cr_expect_eq(az_registry_count(reg), 2);
	cr_expect_str_eq(az_patch_description(find_ok(reg, "dup")), "first");
	find_ok(reg, "extra");
	az_registry_free(reg);
}

Test(load, a_shadowed_manifest_is_not_read)
{
	az_registry *reg;
	char list[8192];

	make_dir("first");
	make_dir("second");
	write_text("first/dup.json", VALID("dup", "first"));
	write_text("second/dup.json", "not even JSON");
	snprintf(list, sizeof(list), "%s:%s", in_scratch("first"),
		 in_scratch("second"));
	reg = load_ok(list);
	cr_expect_eq(az_registry_count(reg), 1);
	az_registry_free(reg);
}

Test(load, missing_and_empty_entries_are_skipped)
{
	az_registry *reg;
	char list[8192];

	make_dir("real");
	write_text("real/one.json", VALID("one", "d"));
	write_text("plain-file", "x");
	snprintf(list, sizeof(list), ":%s::%s:%s:", in_scratch("missing"),
		 in_scratch("plain-file"), in_scratch("real"));
	reg = load_ok(list);
	cr_expect_eq(az_registry_count(reg), 1);
	find_ok(reg, "one");
	az_registry_free(reg);
}

Test(load, nothing_to_load_is_an_empty_registry)
{
	const char *lists[] = { "", ":::", "/nonexistent/autozyme", NULL };
	az_registry *reg;
	size_t i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		reg = load_ok(lists[i]);
		cr_expect_eq(az_registry_count(reg), 0, "path list %zu", i);
		cr_expect_null(az_registry_at(reg, 0));
		az_registry_free(reg);
	}
	reg = load_ok(scratch);
	cr_expect_eq(az_registry_count(reg), 0);
	az_registry_free(reg);
}

Test(load, only_visible_regular_json_files_are_manifests)
{
	az_registry *reg;

	write_text("one.json", VALID("one", "d"));
	write_text("README.md", "not a manifest");
	write_text("two.json.bak", "{");
	write_text(".hidden.json", "{");
	make_dir("dir.json");
	reg = load_ok(scratch);
	cr_expect_eq(az_registry_count(reg), 1);
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 0)), "one");
	az_registry_free(reg);
}

Test(load, manifests_load_in_byte_order_of_file_names)
{
	az_registry *reg;

	write_text("b.json", VALID("b", "d"));
	write_text("a-2.json", VALID("a-2", "d"));
	write_text("a.json", VALID("a", "d"));
	write_text("a_2.json", VALID("a_2", "d"));
	reg = load_ok(scratch);
	cr_assert_eq(az_registry_count(reg), 4);
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 0)), "a-2");
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 1)), "a");
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 2)), "a_2");
	cr_expect_str_eq(az_patch_name(az_registry_at(reg, 3)), "b");
	az_registry_free(reg);
}

/* ------------------------------------------------------------- lookup */

Test(lookup, not_found)
{
	az_registry *reg = load_ok(srcdir_path("patches"));
	const az_patch *patch = NULL;

	cr_expect_eq(az_registry_find(reg, "nosuch", &patch), AZ_ERR_NOT_FOUND);
	cr_expect_eq(az_registry_find(reg, "Scanpy", &patch), AZ_ERR_NOT_FOUND);
	cr_expect_eq(az_registry_find(reg, NULL, &patch), AZ_ERR_NOT_FOUND);
	cr_expect_null(patch);
	cr_expect_null(az_registry_at(reg, az_registry_count(reg)));
	az_registry_free(reg);
}

Test(lookup, unknown_language_has_no_side)
{
	az_registry *reg = load_ok(srcdir_path("patches"));
	const az_patch *p = find_ok(reg, "scanpy");

	cr_expect_null(az_patch_upstream(p, "julia"));
	cr_expect_null(az_patch_hook(p, "Python"));
	cr_expect_null(az_patch_min_version(p, NULL));
	az_registry_free(reg);
}

Test(lookup, null_registry_is_empty)
{
	const az_patch *patch = NULL;

	cr_expect_eq(az_registry_count(NULL), 0);
	cr_expect_null(az_registry_at(NULL, 0));
	cr_expect_eq(az_registry_find(NULL, "scanpy", &patch), AZ_ERR_NOT_FOUND);
	cr_expect_null(az_patch_name(NULL));
	cr_expect_null(az_patch_hook(NULL, "python"));
}

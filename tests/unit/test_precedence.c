/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spank/precedence.c: what a job gets when the command line, the job's
 * variables and the site's plugstack.conf disagree.  The command line
 * wins, then the variables, then the site; every refusal names its source.
 * Slurm's slurm_error is tests/unit/slurm_stub.c, which keeps the message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precedence.h"
#include "slurm_stub.h"

/* A job environment of up to four NAME=VALUE pairs; nothing else is set. */
typedef struct fake_env {
	const char *vars[4][2];
} fake_env;

static const char *fake_get(void *ctx, const char *name)
{
	fake_env *e = ctx;

	for (int i = 0; i < 4; i++)
		if (e->vars[i][0] && strcmp(e->vars[i][0], name) == 0)
			return e->vars[i][1];
	return NULL;
}

static az_env env_of(fake_env *e)
{
	return (az_env){ .get = fake_get, .ctx = e };
}

static struct az_config site(char **av, int ac)
{
	struct az_config config = { 0 };

	cr_assert_eq(az_plugstack_parse(&config, ac, av), 0, "%s", az_plugstack_error());
	return config;
}

static az_request request_of(const struct az_options *options, fake_env *vars,
			     bool *explicit_count)
{
	az_env env = env_of(vars);
	az_request out = { (az_request_kind)-1, 0 };

	cr_assert_eq(az_precedence_request(options, &env, &out, explicit_count), 0, "%s",
		     slurm_stub_last_error);
	return out;
}

Test(request, the_option_wins_over_the_variables)
{
	struct az_options options = { .threads_given = true,
				      .threads = { AZ_REQUEST_COUNT, 3 } };
	fake_env vars = { { { "AUTOZYME_THREADS", "8" } } };
	bool explicit_count = false;
	az_request r = request_of(&options, &vars, &explicit_count);

	cr_expect_eq(r.kind, AZ_REQUEST_COUNT);
	cr_expect_eq(r.count, 3);
	cr_expect(explicit_count, "an option is the user's explicit count");
}

Test(request, autozyme_threads_then_autozymer_threads)
{
	struct az_options none = { 0 };
	fake_env both = { { { "AUTOZYMER_THREADS", "2" }, { "AUTOZYME_THREADS", "5" } } };
	fake_env older = { { { "AUTOZYMER_THREADS", "2" } } };
	fake_env nothing = { 0 };
	bool explicit_count = true;

	cr_expect_eq(request_of(&none, &both, &explicit_count).count, 5);
	cr_expect_not(explicit_count, "a variable is not --autozyme-threads");
	cr_expect_eq(request_of(&none, &older, &explicit_count).count, 2);
	cr_expect_eq(request_of(&none, &nothing, &explicit_count).kind, AZ_REQUEST_UNSET);
}

Test(request, a_malformed_variable_is_refused_naming_it)
{
	struct az_options none = { 0 };
	fake_env vars = { { { "AUTOZYME_THREADS", "lots" } } };
	az_env env = env_of(&vars);
	az_request out;
	bool explicit_count;

	cr_assert_eq(az_precedence_request(&none, &env, &out, &explicit_count), -1);
	cr_expect(strstr(slurm_stub_last_error, "autozyme: AUTOZYME_THREADS: invalid value 'lots'"),
		  "message: %s", slurm_stub_last_error);
}

static char **patches_of(const struct az_options *options, fake_env *vars,
			 const struct az_config *config, size_t *count, const char **field)
{
	az_env env = env_of(vars);
	char **names = NULL;

	cr_assert_eq(az_precedence_patches(options, &env, config, &names, count), 0, "%s",
		     slurm_stub_last_error);
	*field = az_precedence_patches_field(options, &env, config);
	return names;
}

Test(patches, the_option_then_the_variable_then_the_site)
{
	char *av[] = { "default_activate=seurat" };
	struct az_config config = site(av, 1);
	struct az_options option = { .activate = "scanpy" }, none = { 0 };
	fake_env vars = { { { "AUTOZYME_ACTIVATE", "cell2location" } } }, nothing = { 0 };
	const char *field;
	size_t count;
	char **names;

	names = patches_of(&option, &vars, &config, &count, &field);
	cr_expect_eq(count, 1);
	cr_expect_str_eq(names[0], "scanpy");
	cr_expect_str_eq(field, "--autozyme-activate");
	az_names_free(names, count);
	names = patches_of(&none, &vars, &config, &count, &field);
	cr_expect_str_eq(names[0], "cell2location");
	cr_expect_str_eq(field, "AUTOZYME_ACTIVATE");
	az_names_free(names, count);
	names = patches_of(&none, &nothing, &config, &count, &field);
	cr_expect_str_eq(names[0], "seurat");
	cr_expect_str_eq(field, "plugstack.conf: default_activate");
	az_names_free(names, count);
	az_plugstack_free(&config);
}

Test(patches, nothing_anywhere_is_no_patch)
{
	struct az_config config = site(NULL, 0);
	struct az_options none = { 0 };
	fake_env nothing = { 0 };
	const char *field;
	size_t count = 7;

	cr_expect_null(patches_of(&none, &nothing, &config, &count, &field));
	cr_expect_eq(count, 0);
	az_plugstack_free(&config);
}

static az_registry *shipped_registry(void)
{
	const char *src = getenv("AZ_TEST_SRCDIR");
	char dir[4096];
	az_registry *registry = NULL;
	az_error err = { "" };

	snprintf(dir, sizeof(dir), "%s/patches", src ? src : ".");
	cr_assert_eq(az_registry_load(dir, &registry, &err), AZ_OK, "%s", err.message);
	return registry;
}

Test(patches, the_site_allows_and_the_registry_knows)
{
	char *av[] = { "allowed_patches=scanpy" };
	struct az_config config = site(av, 1);
	az_registry *registry = shipped_registry();
	char *scanpy[] = { "scanpy" }, *seurat[] = { "seurat" }, *nope[] = { "nope" };

	cr_expect_eq(az_precedence_check_patches(&config, registry, scanpy, 1), 0);
	cr_expect_eq(az_precedence_check_patches_from(&config, registry, seurat, 1,
						      "AUTOZYME_ACTIVATE"), -1);
	cr_expect(strstr(slurm_stub_last_error,
			 "AUTOZYME_ACTIVATE: patch 'seurat' is not allowed on this cluster"),
		  "message: %s", slurm_stub_last_error);
	cr_expect_eq(az_precedence_check_patches(&config, registry, nope, 1), -1);
	cr_expect(strstr(slurm_stub_last_error,
			 "--autozyme-activate: unknown patch 'nope': expected NAME[,NAME...]"),
		  "message: %s", slurm_stub_last_error);
	az_registry_free(registry);
	az_plugstack_free(&config);
}

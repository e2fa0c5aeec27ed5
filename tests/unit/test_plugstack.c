/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spank/plugstack.c: the site's key=value arguments, strict: defaults when
 * none is given, each key's accepted form, and an unknown key or a bad
 * value refused with a message naming it (also fuzzed: fuzz_plugstack.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "plugstack.h"
#include "slurm_stub.h"

Test(plugstack, defaults)
{
	struct az_config c = { 0 };

	cr_assert_eq(az_plugstack_parse(&c, 0, NULL), 0);
	cr_expect_eq(c.default_threads, 0, "auto");
	cr_expect_eq(c.max_threads, 0, "none");
	cr_expect_null(c.default_activate);
	cr_expect_null(c.allowed_patches, "every patch");
	cr_expect_str_eq(c.activation_dir, "/tmp");
	cr_expect_null(c.vars, "the default list");
	cr_expect(c.respect_user_env);
	cr_expect_null(c.omp_bind);
	cr_expect_eq(c.smt, AZ_SMT_PUS);
	az_plugstack_free(&c);
}

Test(plugstack, every_key)
{
	char *av[] = { "default_threads=4", "max_threads=16", "default_activate=scanpy",
		       "allowed_patches=scanpy,seurat", "patch_dir=/a:/b",
		       "activation_dir=/run/az", "vars=OMP_NUM_THREADS,MC_CORES",
		       "respect_user_env=no", "omp_bind=spread", "smt=cores" };
	struct az_config c = { 0 };

	cr_assert_eq(az_plugstack_parse(&c, 10, av), 0, "%s", az_plugstack_error());
	cr_expect_eq(c.default_threads, 4);
	cr_expect_eq(c.max_threads, 16);
	cr_expect_str_eq(c.default_activate, "scanpy");
	cr_assert_eq(c.n_allowed_patches, 2);
	cr_expect_str_eq(c.allowed_patches[1], "seurat");
	cr_expect_str_eq(c.patch_dir, "/a:/b");
	cr_expect_str_eq(c.activation_dir, "/run/az");
	cr_expect_str_eq(c.vars[0], "OMP_NUM_THREADS");
	cr_expect_str_eq(c.vars[1], "MC_CORES");
	cr_expect_null(c.vars[2]);
	cr_expect_not(c.respect_user_env);
	cr_expect_str_eq(c.omp_bind, "spread");
	cr_expect_eq(c.smt, AZ_SMT_CORES);
	az_plugstack_free(&c);
}

static void expect_refused(char *arg, const char *message)
{
	struct az_config c = { 0 };

	cr_expect_eq(az_plugstack_parse(&c, 1, &arg), -1, "'%s' accepted", arg);
	cr_expect_str_eq(az_plugstack_error(), message);
	cr_expect(strstr(slurm_stub_last_error, message), "log: %s", slurm_stub_last_error);
	az_plugstack_free(&c);
}

Test(plugstack, bad_arguments_name_the_key_and_the_form)
{
	expect_refused("threads=4",
		       "unknown argument 'threads=4': expected key=value with a key among default_threads, max_threads, default_activate, allowed_patches, patch_dir, activation_dir, vars, respect_user_env, omp_bind, smt");
	expect_refused("max_threads=", "max_threads: empty value: expected N");
	expect_refused("vars=OMP_NUM_THREADS,1BAD",
		       "vars: invalid value 'OMP_NUM_THREADS,1BAD': expected NAME[,NAME...] of environment variable names");
	expect_refused("vars=A,", "vars: invalid value 'A,': expected NAME[,NAME...] of environment variable names");
	expect_refused("smt=threads", "smt: invalid value 'threads': expected pus or cores");
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/runtime/guard.c: the oversubscription guard.
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

#include "guard.h"
#include "runtime_fixture.h"

TestSuite(guard, .init = clean_env);

/* ------------------------------------------------ the oversubscription guard */

static void expect_stderr(const char *expected)
{
	fflush(stderr);
	cr_expect_stderr_eq_str(expected);
}

Test(guard, oversubscribed_set_threads_warns_once,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;

	cr_assert_eq(az_runtime_set_threads(2 * n, NULL, NULL), AZ_OK);
	cr_assert_eq(az_runtime_set_threads(4 * n, NULL, NULL), AZ_OK);
	cr_expect_eq(threads_in_force(), 4 * n);
	cr_assert_geq(asprintf(&said, "autozyme: warning: set_threads(%u) runs %u threads on %u CPU%s (2.00x oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences this, =error refuses it\n",
			       2 * n, 2 * n, n, n == 1 ? "" : "s"), 0);
	expect_stderr(said);
	free(said);
	remove_file(path);
}

Test(guard, oversubscribed_pool_warns_once,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;

	pool_start(1);
	pool_start(3 * n);
	pool_start(4 * n);
	cr_assert_geq(asprintf(&said, "autozyme: warning: a pool of %u workers x 1 thread runs %u threads on %u CPU%s (3.00x oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences this, =error refuses it\n",
			       3 * n, 3 * n, n, n == 1 ? "" : "s"), 0);
	expect_stderr(said);
	free(said);
	remove_file(path);
}

Test(guard, oversubscription_ignored_is_silent,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n);
	cJSON *info;

	setenv(AZ_ENV_OVERSUBSCRIPTION, "ignore", 1);
	cr_assert_eq(az_runtime_set_threads(2 * n, NULL, NULL), AZ_OK);
	pool_start(4 * n);
	info = thread_info();
	cr_expect_eq(number_field(field(info, "oversubscription"), "ratio"), 4);
	cr_expect_str_eq(string_field(field(info, "oversubscription"), "policy"),
			 "ignore");
	cJSON_Delete(info);
	expect_stderr("");
	remove_file(path);
}

Test(guard, within_the_cpus_nothing_is_said,
     .init = clean_env_and_capture_stderr)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n);

	cr_assert_eq(az_runtime_set_threads(n, NULL, NULL), AZ_OK);
	pool_start(n);
	pool_start(1);
	expect_stderr("");
	remove_file(path);
}

Test(guard, oversubscription_error_refuses_and_changes_nothing)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;
	const char *cpus = n == 1 ? "CPU" : "CPUs";
	az_worker_share share;
	az_error err = { "" };

	setenv(AZ_ENV_OVERSUBSCRIPTION, "error", 1);
	cr_assert_eq(az_runtime_set_threads(2 * n, NULL, &err), AZ_ERR_INVALID);
	cr_assert_geq(asprintf(&said, "set_threads(%u) runs %u threads on %u %s (2.00x oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn or ignore allow it)",
			       2 * n, 2 * n, n, cpus), 0);
	cr_expect_str_eq(err.message, said);
	free(said);
	cr_expect_eq(threads_in_force(), n);
	cr_expect_null(getenv("OMP_NUM_THREADS"));
	cr_assert_eq(az_runtime_pool_start(2 * n, &share, &err), AZ_ERR_INVALID);
	cr_assert_geq(asprintf(&said, "a pool of %u workers x 1 thread runs %u threads on %u %s (2.00x oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn or ignore allow it)",
			       2 * n, 2 * n, n, cpus), 0);
	cr_expect_str_eq(err.message, said);
	free(said);
	cr_expect_eq(share.workers, 2 * n);
	cr_assert_eq(az_runtime_set_threads(n, NULL, &err), AZ_OK, "%s", err.message);
	remove_file(path);
}

Test(guard, a_workers_set_threads_counts_its_siblings)
{
	unsigned n = own_pus();
	char *path = write_activation_file(n), *said;
	az_error err = { "" };

	setenv(AZ_ENV_WORKER_SHARE, n >= 2 ? "2/2" : "1/2", 1);
	setenv(AZ_ENV_OVERSUBSCRIPTION, "error", 1);
	if (n >= 2)
		cr_assert_eq(az_runtime_set_threads(n / 2, NULL, &err), AZ_OK, "%s", err.message);
	cr_assert_eq(az_runtime_set_threads(n, NULL, &err), AZ_ERR_INVALID);
	cr_assert_geq(asprintf(&said, "set_threads(%u) in each of 2 workers runs %u threads on %u CPU%s (2.00x oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn or ignore allow it)",
			       n, 2 * n, n, n == 1 ? "" : "s"), 0);
	cr_expect_str_eq(err.message, said);
	free(said);
	remove_file(path);
}

Test(guard, bad_oversubscription_policy_is_refused)
{
	static const char expected[] =
		"AUTOZYME_OVERSUBSCRIPTION: invalid value 'loud': expected warn, error or ignore";
	az_worker_share share;
	az_error err = { "" };
	char *json = NULL;

	setenv(AZ_ENV_OVERSUBSCRIPTION, "loud", 1);
	cr_expect_eq(az_runtime_set_threads(1, NULL, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, expected);
	err.message[0] = '\0';
	cr_expect_eq(az_runtime_pool_start(1, &share, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, expected);
	err.message[0] = '\0';
	cr_expect_eq(az_runtime_thread_info(&json, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, expected);
}

/* ------------------------------------------------------ the policy */

Test(policy, names_and_default)
{
	static const char *const names[] = { "warn", "error", "ignore" };
	az_oversubscription policy;
	unsigned i;

	for (i = 0; i < 3; i++) {
		cr_assert_eq(azi_oversubscription_parse(names[i], "X", &policy,
						       NULL), AZ_OK);
		cr_expect_str_eq(azi_oversubscription_name(policy), names[i]);
	}
	cr_assert_eq(azi_oversubscription_parse(NULL, "X", &policy, NULL), AZ_OK);
	cr_expect_eq(policy, AZ_OVERSUB_WARN);
	cr_assert_eq(azi_oversubscription_parse("", "X", &policy, NULL), AZ_OK);
	cr_expect_eq(policy, AZ_OVERSUB_WARN);
	cr_expect_str_eq(azi_oversubscription_name((az_oversubscription)9),
			 "unknown");
}

Test(policy, refuses_other_values)
{
	az_oversubscription policy = AZ_OVERSUB_IGNORE;
	az_error err = { "" };

	cr_expect_eq(azi_oversubscription_parse("WARN", "AUTOZYME_OVERSUBSCRIPTION",
					       &policy, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_OVERSUBSCRIPTION: invalid value 'WARN': expected warn, error or ignore");
	cr_expect_eq(azi_oversubscription_parse("warn ", "X", &policy, NULL),
		     AZ_ERR_INVALID);
	cr_expect_eq(policy, AZ_OVERSUB_IGNORE, "output written on failure");
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/runtime/workers.c: worker pools and the shares of their workers.
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

#include "workers.h"
#include "runtime_fixture.h"

TestSuite(workers, .init = clean_env);

/* ---------------------------------------------------------- worker pools */

static void expect_share(const cJSON *share, unsigned threads,
			 unsigned workers, unsigned each)
{
	cr_assert(cJSON_IsObject(share), "no share");
	cr_expect_eq(number_field(share, "threads"), threads);
	cr_expect_eq(number_field(share, "workers"), workers);
	cr_expect_eq(number_field(share, "threads_per_worker"), each);
}

Test(workers, pool_start_shares_and_the_parent_keeps_its_threads)
{
	unsigned n = own_pus(), each = n / 3 ? n / 3 : 1;
	char *path = write_activation_file(n);
	az_worker_share share = pool_start(3);
	const cJSON *over;
	cJSON *info;

	cr_expect_eq(share.threads, n);
	cr_expect_eq(threads_in_force(), n);
	expect_budget(n, AZ_PROV_CPUS_PER_TASK);
	info = thread_info();
	expect_share(field(info, "pool"), n, 3, each);
	cr_expect(cJSON_IsNull(field(info, "worker")));
	over = field(info, "oversubscription");
	cr_expect_eq(number_field(over, "workers"), 3);
	cr_expect_eq(number_field(over, "threads_per_worker"), each);
	cr_expect_eq(number_field(over, "running_threads"), 3 * each);
	cr_expect_eq(number_field(over, "cpus"), n);
	cr_expect_eq(number_field(over, "ratio"), 3.0 * each / n);
	cr_expect_str_eq(string_field(over, "policy"), "warn");
	cJSON_Delete(info);
	remove_file(path);
}

Test(workers, pool_start_after_set_threads_shares_its_value)
{
	char *path = write_activation_file(4);

	cr_assert_eq(az_runtime_set_threads(2, NULL, NULL), AZ_OK);
	cr_expect_eq(pool_start(2).threads, 2);
	remove_file(path);
}

Test(workers, pool_start_under_off_shares_nothing)
{
	setenv("AUTOZYME_THREADS", "off", 1);
	cr_expect_eq(pool_start(2).threads, 0);
}

Test(workers, pool_start_refuses_bad_counts)
{
	az_worker_share share;
	az_error err = { "" };

	cr_expect_eq(az_runtime_pool_start(0, &share, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "pool_start: invalid worker count 0: expected an integer from 1 to 4096");
	cr_expect_eq(az_runtime_pool_start(4097, &share, NULL), AZ_ERR_INVALID);
	cr_expect_eq(az_runtime_pool_start(2, NULL, NULL), AZ_ERR_INVALID);
	/* A refused count leaves share.workers 0: the guard's refusal does not. */
	share = (az_worker_share){ 7, 7 };
	cr_expect_eq(az_runtime_pool_start(-1, &share, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "pool_start: invalid worker count -1: expected an integer from 1 to 4096");
	cr_expect_eq(share.workers, 0);
	cr_expect_eq(share.threads, 0);
	share = (az_worker_share){ 7, 7 };
	cr_expect_eq(az_runtime_pool_start(LLONG_MAX, &share, NULL),
		     AZ_ERR_INVALID);
	cr_expect_eq(share.workers, 0);
}

Test(workers, a_worker_runs_its_share)
{
	const char *const *vars = az_thread_vars_default();
	az_worker_share share = { 4, 2 };
	az_error err = { "" };
	cJSON *info;

	setenv("OMP_NUM_THREADS", "7", 1);
	cr_assert_eq(az_runtime_enter_worker(&share, &err), AZ_OK, "%s",
		     err.message);
	for (size_t i = 0; vars[i]; i++)
		expect_var(vars[i], "2");
	expect_var(AZ_ENV_WORKER_SHARE, "4/2");
	cr_expect_eq(threads_in_force(), 2);
	info = thread_info();
	cr_expect_str_eq(string_field(info, "provenance"), "worker_share");
	expect_share(field(info, "worker"), 4, 2, 2);
	cr_expect_eq(number_field(field(info, "oversubscription"),
				  "running_threads"), 4);
	cJSON_Delete(info);
	/* The worker's own choice wins. */
	cr_assert_eq(az_runtime_set_threads(1, NULL, NULL), AZ_OK);
	cr_expect_eq(threads_in_force(), 1);
}

Test(workers, activate_in_a_worker_keeps_the_share)
{
	az_worker_share share = { 4, 4 };

	cr_assert_eq(az_runtime_enter_worker(&share, NULL), AZ_OK);
	activate("scanpy", "python");
	expect_var("OPENBLAS_NUM_THREADS", "1");
	cr_expect_eq(threads_in_force(), 1);
}

/* A fresh worker: the share its parent exported. */
Test(workers, worker_share_variable_gives_the_share)
{
	char *path = write_activation_file(1);
	cJSON *info;

	setenv(AZ_ENV_WORKER_SHARE, "4/3", 1);
	expect_budget(1, AZ_PROV_WORKER_SHARE);
	cr_expect_eq(budget().allocation, 1);
	info = thread_info();
	expect_share(field(info, "worker"), 4, 3, 1);
	cJSON_Delete(info);
	cr_assert_eq(az_runtime_enter_worker(NULL, NULL), AZ_OK);
	expect_var("MKL_NUM_THREADS", "1");
	remove_file(path);
}

Test(workers, malformed_worker_share_names_the_variable)
{
	az_budget b;
	az_error err = { "" };

	setenv(AZ_ENV_WORKER_SHARE, "4", 1);
	cr_assert_eq(azi_runtime_budget(&b, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_WORKER_SHARE: invalid value '4': expected THREADS/WORKERS, two integers from 1 to 4096 (e.g. 8/4)");
}

Test(workers, enter_worker_refuses_bad_shares)
{
	az_worker_share zero_threads = { 0, 2 }, zero_workers = { 2, 0 };
	az_error err = { "" };

	cr_expect_eq(az_runtime_enter_worker(&zero_threads, &err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "worker share: invalid thread count 0: expected an integer from 1 to 4096");
	cr_expect_eq(az_runtime_enter_worker(&zero_workers, &err),
		     AZ_ERR_INVALID);
	cr_expect_eq(az_runtime_enter_worker(NULL, &err), AZ_ERR_INVALID);
	cr_expect(strncmp(err.message, "AUTOZYME_WORKER_SHARE: ", 23) == 0,
		  "%s", err.message);
}

/* A fork worker drops the parent's set_threads and pool: they are not its own. */
Test(workers, fork_worker_enters_its_share)
{
	az_worker_share share;
	int status;
	pid_t pid;

	cr_assert_eq(az_runtime_set_threads(4, NULL, NULL), AZ_OK);
	share = pool_start(2);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		unsigned threads = 0;
		bool off = true;
		char *json = NULL;
		bool ok = az_runtime_enter_worker(&share, NULL) == AZ_OK &&
			  az_runtime_threads(&threads, &off, NULL) == AZ_OK &&
			  threads == 2 &&
			  az_runtime_thread_info(&json, NULL) == AZ_OK &&
			  strstr(json, "\"explicit\":null") &&
			  strstr(json, "\"pool\":null");

		free(json);
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the worker did not run its share alone");
	cr_expect_eq(threads_in_force(), 4, "the parent lost its threads");
}

Test(workers, worker_env_lists_the_share)
{
	const char *const *vars = az_thread_vars_default();
	az_worker_share share = { 8, 3 };
	char *json = NULL;
	cJSON *env;
	size_t n = 0;

	cr_assert_eq(az_runtime_worker_env(&share, &json, NULL), AZ_OK);
	env = cJSON_Parse(json);
	free(json);
	for (; vars[n]; n++)
		cr_expect_str_eq(string_field(env, vars[n]), "2");
	cr_expect_str_eq(string_field(env, AZ_ENV_WORKER_SHARE), "8/3");
	cr_expect_eq((size_t)cJSON_GetArraySize(env), n + 1);
	cJSON_Delete(env);
	share.workers = 0;
	cr_expect_eq(az_runtime_worker_env(&share, &json, NULL), AZ_ERR_INVALID);
}

/* ------------------------------------------------- the "T/W" form */

Test(worker_share, parses_and_formats)
{
	az_worker_share share;
	char text[32];

	cr_assert_eq(azi_worker_share_parse("8/4", "X", &share, NULL), AZ_OK);
	cr_expect_eq(share.threads, 8);
	cr_expect_eq(share.workers, 4);
	azi_worker_share_format(&share, text, sizeof(text));
	cr_expect_str_eq(text, "8/4");
	cr_assert_eq(azi_worker_share_parse("4096/4096", "X", &share, NULL),
		     AZ_OK);
	cr_expect_eq(share.workers, 4096);
}

Test(worker_share, refuses_other_forms)
{
	static const char *const bad[] = {
		"", "8", "8/", "/4", "0/4", "8/0", "4097/1", "1/4097", "8/4/2",
		"8/4 ", " 8/4", "+8/4", "8/-4", "x/y", "8.0/4", "8/4x",
		"99999999999999999999/1",
	};
	az_worker_share share = { 7, 7 };
	az_error err = { "" };
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(azi_worker_share_parse(bad[i], "AUTOZYME_WORKER_SHARE",
						   &share, NULL),
			     AZ_ERR_INVALID, "'%s' accepted", bad[i]);
	cr_expect_eq(share.threads, 7, "output written on failure");
	azi_worker_share_parse("8", "AUTOZYME_WORKER_SHARE", &share, &err);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_WORKER_SHARE: invalid value '8': expected THREADS/WORKERS, two integers from 1 to 4096 (e.g. 8/4)");
	cr_expect_eq(azi_worker_share_parse(NULL, "X", &share, NULL),
		     AZ_ERR_INVALID);
}

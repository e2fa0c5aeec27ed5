/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/runtime/threads.c: set_threads() and activate() writing the count to
 * the thread variables and the loaded BLAS and OpenMP pools.
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

#include "blas_openmp.h"
#include "runtime_fixture.h"

TestSuite(threads, .init = clean_env);

/* --------------------------------------------------------- set_threads */

Test(threads, set_threads_sets_every_variable)
{
	const char *const *vars = az_thread_vars_default();
	az_error err = { "" };
	unsigned threads = 0, applied = 0;
	bool off = true;
	size_t n;

	setenv("AUTOZYME_THREADS", "1", 1);
	setenv("OMP_NUM_THREADS", "7", 1);
	cr_assert_eq(az_runtime_set_threads(3, &applied, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(applied, 3);
	for (n = 0; vars[n]; n++)
		expect_var(vars[n], "3");
	cr_expect_eq(n, 10);
	cr_assert_eq(az_runtime_threads(&threads, &off, &err), AZ_OK);
	cr_expect_eq(threads, 3);
	cr_expect_not(off);
}

Test(threads, set_threads_values_are_the_users)
{
	az_env env = az_env_process();

	cr_assert_eq(az_runtime_set_threads(3, NULL, NULL), AZ_OK);
	cr_expect(az_env_user_value(&env, "OMP_NUM_THREADS"));
	cr_expect(az_env_user_value(&env, "AUTOZYME_THREADS"));
}

Test(threads, set_threads_refuses_out_of_range)
{
	az_error err = { "" };
	unsigned applied = 99;

	cr_expect_eq(az_runtime_set_threads(0, NULL, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "set_threads(n): n must be a single whole number from 1 to 4096, got 0");
	cr_expect_eq(az_runtime_set_threads(AZ_THREADS_MAX + 1, NULL, &err),
		     AZ_ERR_INVALID);
	/* The languages pass their value as it is: a negative one, one beyond unsigned. */
	cr_expect_eq(az_runtime_set_threads(-1, &applied, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "set_threads(n): n must be a single whole number from 1 to 4096, got -1");
	cr_expect_eq(az_runtime_set_threads(4294967297LL, &applied, &err),
		     AZ_ERR_INVALID);
	cr_expect_eq(az_runtime_set_threads(LLONG_MIN, &applied, &err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "set_threads(n): n must be a single whole number from 1 to 4096, got -9223372036854775808");
	cr_expect_eq(az_runtime_set_threads(LLONG_MAX, &applied, NULL),
		     AZ_ERR_INVALID);
	cr_expect_eq(applied, 99);
	cr_expect_null(getenv("OMP_NUM_THREADS"));
}

Test(threads, set_threads_returns_the_count_applied)
{
	unsigned applied = 0;

	cr_assert_eq(az_runtime_set_threads(AZ_THREADS_MAX, &applied, NULL),
		     AZ_OK);
	cr_expect_eq(applied, AZ_THREADS_MAX);
	cr_assert_eq(az_runtime_set_threads(1, &applied, NULL), AZ_OK);
	cr_expect_eq(applied, 1);
	expect_var("OMP_NUM_THREADS", "1");
}

Test(threads, set_threads_shows_in_thread_info)
{
	cJSON *info;

	setenv("AUTOZYME_THREADS", "1", 1);
	cr_assert_eq(az_runtime_set_threads(2, NULL, NULL), AZ_OK);
	info = thread_info();
	cr_expect_eq(number_field(info, "threads"), 2);
	cr_expect_eq(number_field(info, "explicit"), 2);
	cr_expect_str_eq(string_field(info, "provenance"), "set_threads");
	cr_expect_eq(number_field(field(info, "budget"), "threads"), 1);
	cr_expect_str_eq(string_field(field(info, "budget"), "provenance"),
			 "request");
	cJSON_Delete(info);
}

/* ------------------------------------------------------------ activate */

Test(threads, activate_keeps_a_user_variable)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv("NUMBA_NUM_THREADS", "4", 1);
	activate("scanpy", "python");
	expect_var("NUMBA_NUM_THREADS", "4");
	expect_var("OMP_NUM_THREADS", "1");
	expect_var("MKL_NUM_THREADS", "1");
}

Test(threads, activate_after_set_threads_keeps_its_value)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	cr_assert_eq(az_runtime_set_threads(3, NULL, NULL), AZ_OK);
	activate("scanpy", "python");
	expect_var("OMP_NUM_THREADS", "3");
	expect_var("AUTOZYME_THREADS", "3");
}

Test(threads, activate_under_off_sets_nothing)
{
	unsigned threads = 5;
	bool off = false;
	cJSON *info;

	setenv("AUTOZYME_THREADS", "off", 1);
	activate("scanpy", "python");
	cr_expect_null(getenv("OMP_NUM_THREADS"));
	cr_assert_eq(az_runtime_threads(&threads, &off, NULL), AZ_OK);
	cr_expect(off);
	cr_expect_eq(threads, 0);
	info = thread_info();
	cr_expect(cJSON_IsNull(field(info, "threads")));
	cr_expect(cJSON_IsTrue(field(info, "off")));
	cJSON_Delete(info);
}

static const cJSON *find_pool(const cJSON *info, const char *kind)
{
	const cJSON *pool;

	cJSON_ArrayForEach(pool, field(info, "pools"))
		if (strcmp(string_field(pool, "kind"), kind) == 0)
			return pool;
	return NULL;
}

Test(threads, set_threads_drives_a_loaded_openblas)
{
	void *openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
	const cJSON *pool;
	cJSON *info;

	if (!openblas)
		cr_skip_test("libopenblas.so.0 is not installed: %s", dlerror());
	cr_assert_eq(az_runtime_set_threads(1, NULL, NULL), AZ_OK);
	info = thread_info();
	pool = find_pool(info, "openblas");
	cr_assert_not_null(pool, "OpenBLAS is loaded but not listed");
	cr_expect_eq(number_field(pool, "threads"), 1);
	cr_expect(strstr(string_field(pool, "path"), "openblas"));
	cJSON_Delete(info);
	dlclose(openblas);
}

/* Debian's OpenBLAS and libgomp, each set to 5 through its own setter so
 * that any other count it reports later is activate()'s doing. */
typedef struct runtimes {
	void *openblas, *gomp;
} runtimes;

static void *runtime_symbol(void *handle, const char *name)
{
	void *symbol = dlsym(handle, name);

	cr_assert_not_null(symbol, "no %s", name);
	return symbol;
}

/* NODELETE: a runtime's threads must outlive our dlclose. */
static void *load_or_skip(const char *name)
{
	void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!handle)
		cr_skip_test("%s is not installed: %s", name, dlerror());
	return handle;
}

static runtimes load_runtimes(void)
{
	runtimes rts = { load_or_skip("libopenblas.so.0"),
			 load_or_skip("libgomp.so.1") };

	((void (*)(int))runtime_symbol(rts.openblas, "openblas_set_num_threads"))(5);
	((void (*)(int))runtime_symbol(rts.gomp, "omp_set_num_threads"))(5);
	return rts;
}

/* What each runtime reports through its own getter; then unloads them. */
static void expect_runtimes(runtimes rts, int openblas, int gomp)
{
	cr_expect_eq(((int (*)(void))runtime_symbol(rts.openblas,
						    "openblas_get_num_threads"))(),
		     openblas, "OpenBLAS");
	cr_expect_eq(((int (*)(void))runtime_symbol(rts.gomp,
						    "omp_get_max_threads"))(),
		     gomp, "libgomp");
	dlclose(rts.gomp);
	dlclose(rts.openblas);
}

/*
 * The page: a thread variable the user set before activate() is kept, by
 * the library that reads it too.  OpenBLAS follows OPENBLAS_NUM_THREADS=1;
 * libgomp, whose OMP_NUM_THREADS the user left alone, gets the budget.
 */
Test(threads, activate_keeps_a_user_variable_for_its_pool)
{
	runtimes rts;
	char *path;
	cJSON *info;

	/* The file's 2 threads must differ from the user's 1. */
	if (own_pus() < 2)
		cr_skip_test("needs 2 CPUs");
	rts = load_runtimes();
	path = write_activation_file(2);

	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	activate("scanpy", "python");
	expect_var("OPENBLAS_NUM_THREADS", "1");
	expect_var("OMP_NUM_THREADS", "2");
	info = thread_info();
	cr_expect_eq(number_field(info, "threads"), 2);
	cr_expect_eq(number_field(find_pool(info, "openblas"), "threads"), 1);
	cr_expect_eq(number_field(find_pool(info, "gomp"), "threads"), 2);
	cJSON_Delete(info);
	expect_runtimes(rts, 1, 2);
	remove_file(path);
}

/* A value AutoZyme injected earlier (a parent's activate()) is no choice
 * of the user's, nor is a value that is no count: the pool gets the budget. */
Test(threads, activate_ignores_an_injected_or_malformed_variable)
{
	runtimes rts;
	char *path;

	/* The file's 2 threads must differ from the user's 1. */
	if (own_pus() < 2)
		cr_skip_test("needs 2 CPUs");
	rts = load_runtimes();
	path = write_activation_file(2);

	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	setenv("OMP_NUM_THREADS", "many", 1);
	setenv(AZ_ENV_INJECTED, "OPENBLAS_NUM_THREADS", 1);
	setenv(AZ_ENV_INJECTED_VALUE, "1", 1);
	activate("scanpy", "python");
	expect_var("OPENBLAS_NUM_THREADS", "2");
	expect_var("OMP_NUM_THREADS", "many");
	expect_runtimes(rts, 2, 2);
	remove_file(path);
}

/* After set_threads(n) every pool holds n, whatever the variables say. */
Test(threads, activate_after_set_threads_gives_every_pool_its_value)
{
	runtimes rts = load_runtimes();

	cr_assert_eq(az_runtime_set_threads(3, NULL, NULL), AZ_OK);
	((void (*)(int))runtime_symbol(rts.gomp, "omp_set_num_threads"))(5);
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	activate("scanpy", "python");
	expect_runtimes(rts, 3, 3);
}

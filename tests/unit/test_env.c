/* SPDX-License-Identifier: BSD-3-Clause */
#include <criterion/criterion.h>
#include "azcore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * An in-memory environment: a test double for the SPANK job environment
 * (spank_getenv/spank_setenv), which only exists inside slurmstepd and so
 * cannot be reached from a unit test.  `refuse` names a variable whose set
 * fails, to exercise the error path.
 */
#define TABLE_MAX 512

typedef struct table {
	char *names[TABLE_MAX];
	char *values[TABLE_MAX];
	size_t count;
	const char *refuse;
} table;

static table mem;

static int table_find(const table *t, const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (strcmp(t->names[i], name) == 0)
			return (int)i;
	return -1;
}

static const char *table_get(void *ctx, const char *name)
{
	table *t = ctx;
	int i = table_find(t, name);

	return i < 0 ? NULL : t->values[i];
}

static int table_set(void *ctx, const char *name, const char *value)
{
	table *t = ctx;
	int i = table_find(t, name);

	if (t->refuse && strcmp(t->refuse, name) == 0)
		return -1;
	if (i < 0) {
		cr_assert_lt(t->count, TABLE_MAX);
		i = (int)t->count++;
		t->names[i] = strdup(name);
	} else {
		free(t->values[i]);
	}
	t->values[i] = strdup(value);
	return 0;
}

static int table_unset(void *ctx, const char *name)
{
	table *t = ctx;
	int i = table_find(t, name);

	if (i >= 0) {
		free(t->names[i]);
		free(t->values[i]);
		t->count--;
		t->names[i] = t->names[t->count];
		t->values[i] = t->values[t->count];
	}
	return 0;
}

static az_env mem_env(void)
{
	return (az_env){ table_get, table_set, table_unset, &mem };
}

static void mem_clear(void)
{
	while (mem.count)
		table_unset(&mem, mem.names[0]);
	mem.refuse = NULL;
}

/* Every default variable plus the markers, so each test starts clean even
 * when Criterion runs the tests in one process (--no-fork). */
static void process_clear(void)
{
	for (const char *const *v = az_thread_vars_default(); *v; v++)
		unsetenv(*v);
	unsetenv(AZ_ENV_INJECTED);
	unsetenv(AZ_ENV_INJECTED_VALUE);
	unsetenv("FOO_THREADS");
	unsetenv("BAR");
}

static const char *const expected_defaults[] = {
	"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
	"BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
	"NUMBA_NUM_THREADS", "RCPP_PARALLEL_NUM_THREADS", "MC_CORES",
	"AUTOZYME_THREADS",
};
#define N_DEFAULTS (sizeof(expected_defaults) / sizeof(expected_defaults[0]))

static const char *get(const az_env *env, const char *name)
{
	return env->get(env->ctx, name);
}

static void put(const az_env *env, const char *name, const char *value)
{
	cr_assert_eq(env->set(env->ctx, name, value), 0);
}

/* What an earlier apply (the batch step's) leaves behind. */
static void mark_injected(const az_env *env, const char *names,
			  const char *value)
{
	put(env, AZ_ENV_INJECTED, names);
	put(env, AZ_ENV_INJECTED_VALUE, value);
}

static void assert_value(const az_env *env, const char *name,
			 const char *expected)
{
	const char *value = get(env, name);

	cr_assert_not_null(value, "%s is unset", name);
	cr_assert_str_eq(value, expected, "%s", name);
}

static unsigned apply(const az_env *env, const char *const *vars,
		      unsigned threads, az_user_policy policy)
{
	az_error err = { "" };
	unsigned n_set = 12345;

	cr_assert_eq(az_thread_vars_apply(env, vars, threads, policy, &n_set,
					  &err),
		     AZ_OK, "%s", err.message);
	return n_set;
}

/* ------------------------------------------------------ the default list */

Test(defaults, canonical_list_in_order)
{
	const char *const *vars = az_thread_vars_default();

	for (size_t i = 0; i < N_DEFAULTS; i++) {
		cr_assert_not_null(vars[i], "list ends early at %zu", i);
		cr_assert_str_eq(vars[i], expected_defaults[i]);
	}
	cr_assert_null(vars[N_DEFAULTS], "list not NULL-terminated");
}

/* ------------------------------------- scenarios, on both environments */

static void check_sets_all(const az_env *env)
{
	cr_assert_eq(apply(env, NULL, 4, AZ_KEEP_USER_VALUES), N_DEFAULTS);
	for (size_t i = 0; i < N_DEFAULTS; i++)
		assert_value(env, expected_defaults[i], "4");
	assert_value(env, AZ_ENV_INJECTED,
		     "OMP_NUM_THREADS,OPENBLAS_NUM_THREADS,MKL_NUM_THREADS,"
		     "BLIS_NUM_THREADS,VECLIB_MAXIMUM_THREADS,NUMEXPR_NUM_THREADS,"
		     "NUMBA_NUM_THREADS,RCPP_PARALLEL_NUM_THREADS,MC_CORES,"
		     "AUTOZYME_THREADS");
	assert_value(env, AZ_ENV_INJECTED_VALUE, "4");
}

static void check_keeps_user_value(const az_env *env)
{
	put(env, "OMP_NUM_THREADS", "3");
	cr_assert(az_env_user_value(env, "OMP_NUM_THREADS"));
	cr_assert_eq(apply(env, NULL, 4, AZ_KEEP_USER_VALUES), N_DEFAULTS - 1);
	assert_value(env, "OMP_NUM_THREADS", "3");
	assert_value(env, "MKL_NUM_THREADS", "4");
	cr_assert_null(strstr(get(env, AZ_ENV_INJECTED), "OMP_NUM_THREADS"),
		       "a kept value must not be marked injected");
}

static void check_overrides_user_value(const az_env *env)
{
	put(env, "OMP_NUM_THREADS", "3");
	cr_assert_eq(apply(env, NULL, 4, AZ_OVERRIDE_USER_VALUES), N_DEFAULTS);
	assert_value(env, "OMP_NUM_THREADS", "4");
}

/* The batch step injected 8; an srun step with a budget of 2 inherits it. */
static void check_recomputes_leaked_value(const az_env *env)
{
	put(env, "OMP_NUM_THREADS", "8");
	mark_injected(env, "MKL_NUM_THREADS,OMP_NUM_THREADS", "8");
	cr_assert_not(az_env_user_value(env, "OMP_NUM_THREADS"));
	cr_assert_eq(apply(env, NULL, 2, AZ_KEEP_USER_VALUES), N_DEFAULTS);
	assert_value(env, "OMP_NUM_THREADS", "2");
	assert_value(env, AZ_ENV_INJECTED_VALUE, "2");
}

/* The user changed an injected value afterwards: it is theirs now. */
static void check_keeps_modified_value(const az_env *env)
{
	put(env, "OMP_NUM_THREADS", "5");
	mark_injected(env, "OMP_NUM_THREADS", "8");
	cr_assert(az_env_user_value(env, "OMP_NUM_THREADS"));
	cr_assert_eq(apply(env, NULL, 2, AZ_KEEP_USER_VALUES), N_DEFAULTS - 1);
	assert_value(env, "OMP_NUM_THREADS", "5");
}

static void check_custom_list(const az_env *env)
{
	const char *const vars[] = { "FOO_THREADS", "BAR", NULL };

	cr_assert_eq(apply(env, vars, 6, AZ_KEEP_USER_VALUES), 2);
	assert_value(env, "FOO_THREADS", "6");
	assert_value(env, "BAR", "6");
	cr_assert_null(get(env, "OMP_NUM_THREADS"));
	assert_value(env, AZ_ENV_INJECTED, "FOO_THREADS,BAR");
}

TestSuite(mem, .init = mem_clear, .fini = mem_clear);
TestSuite(process, .init = process_clear, .fini = process_clear);

#define BOTH(name, check)                                   \
	Test(mem, name) { az_env env = mem_env(); check(&env); } \
	Test(process, name) { az_env env = az_env_process(); check(&env); }

BOTH(sets_all_ten, check_sets_all)
BOTH(keep_policy_keeps_user_value, check_keeps_user_value)
BOTH(override_policy_overwrites_user_value, check_overrides_user_value)
BOTH(leaked_injected_value_is_recomputed, check_recomputes_leaked_value)
BOTH(user_modified_injected_value_is_kept, check_keeps_modified_value)
BOTH(custom_variable_list, check_custom_list)

/* ------------------------------------------------------------ user values */

Test(mem, unset_variable_is_not_a_user_value)
{
	az_env env = mem_env();

	cr_assert_not(az_env_user_value(&env, "OMP_NUM_THREADS"));
}

/* A marker listing a longer name must not mark its prefix. */
Test(mem, marker_matches_whole_names_only)
{
	az_env env = mem_env();

	put(&env, "OMP_NUM_THREADS", "8");
	mark_injected(&env, "OMP_NUM_THREADS_X,XOMP_NUM_THREADS", "8");
	cr_assert(az_env_user_value(&env, "OMP_NUM_THREADS"));
	put(&env, AZ_ENV_INJECTED, "OMP_NUM_THREADS_X,OMP_NUM_THREADS");
	cr_assert_not(az_env_user_value(&env, "OMP_NUM_THREADS"));
}

Test(mem, overlong_marker_value_marks_nothing)
{
	az_env env = mem_env();
	char value[200];

	memset(value, '8', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	put(&env, "OMP_NUM_THREADS", value);
	mark_injected(&env, "OMP_NUM_THREADS", value);
	cr_assert(az_env_user_value(&env, "OMP_NUM_THREADS"));
}

Test(mem, all_kept_records_empty_injected_list)
{
	az_env env = mem_env();
	const char *const vars[] = { "OMP_NUM_THREADS", NULL };

	put(&env, "OMP_NUM_THREADS", "3");
	cr_assert_eq(apply(&env, vars, 4, AZ_KEEP_USER_VALUES), 0);
	assert_value(&env, AZ_ENV_INJECTED, "");
}

/* The injected list is sized from the names, not a fixed buffer. */
Test(mem, long_variable_list)
{
	az_env env = mem_env();
	static char names[300][101];
	const char *vars[301];
	const char *list;

	for (size_t i = 0; i < 300; i++) {
		memset(names[i], 'V', 100);
		snprintf(names[i] + 90, 11, "_%09zu", i);
		vars[i] = names[i];
	}
	vars[300] = NULL;
	cr_assert_eq(apply(&env, vars, 7, AZ_OVERRIDE_USER_VALUES), 300);
	list = get(&env, AZ_ENV_INJECTED);
	cr_assert_eq(strlen(list), 300 * 100 + 299);
	cr_assert_eq(strncmp(list + 101 * 299, names[299], 100), 0);
	assert_value(&env, names[299], "7");
}

/* ----------------------------------------------------------------- errors */

static void assert_refused(const az_env *env, const char *const *vars,
			   unsigned threads, az_status status,
			   const char *needle)
{
	az_error err = { "" };
	unsigned n_set = 12345;

	cr_assert_eq(az_thread_vars_apply(env, vars, threads,
					  AZ_OVERRIDE_USER_VALUES, &n_set, &err),
		     status);
	cr_assert_not_null(strstr(err.message, needle), "'%s' lacks '%s'",
			   err.message, needle);
	cr_assert_eq(n_set, 12345, "n_set written on failure");
}

Test(mem, invalid_variable_names_rejected_naming_them)
{
	az_env env = mem_env();
	const char *bad[] = { "1OMP", "OMP-THREADS", "OMP=1", "A B", "Ä" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *vars[] = { "OMP_NUM_THREADS", bad[i], NULL };

		assert_refused(&env, vars, 4, AZ_ERR_INVALID, bad[i]);
	}
	cr_assert_null(get(&env, "OMP_NUM_THREADS"),
		       "nothing may be written before validation passes");
}

Test(mem, empty_variable_name_rejected)
{
	az_env env = mem_env();
	const char *vars[] = { "", NULL };

	assert_refused(&env, vars, 4, AZ_ERR_INVALID, "invalid name ''");
}

Test(mem, thread_counts_out_of_range_rejected)
{
	az_env env = mem_env();

	assert_refused(&env, NULL, 0, AZ_ERR_INVALID, "threads: invalid value 0");
	assert_refused(&env, NULL, AZ_THREADS_MAX + 1, AZ_ERR_INVALID,
		       "threads: invalid value 4097");
	cr_assert_eq(mem.count, 0, "nothing may be written");
}

Test(mem, failed_set_names_the_variable)
{
	az_env env = mem_env();

	mem.refuse = "MKL_NUM_THREADS";
	assert_refused(&env, NULL, 4, AZ_ERR_SYSTEM, "MKL_NUM_THREADS");
	/* What was written before the failure is still marked injected. */
	assert_value(&env, AZ_ENV_INJECTED,
		     "OMP_NUM_THREADS,OPENBLAS_NUM_THREADS");
}

Test(mem, failed_marker_write_is_reported)
{
	az_env env = mem_env();

	mem.refuse = AZ_ENV_INJECTED;
	assert_refused(&env, NULL, 4, AZ_ERR_SYSTEM, AZ_ENV_INJECTED);
}

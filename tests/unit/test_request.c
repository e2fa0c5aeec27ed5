/* SPDX-License-Identifier: BSD-3-Clause */
/* Thread requests ("N", "auto", "off") and plain counts. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azcore.h"

#define FIELD "--autozyme-threads"

static void expect_parsed(const char *text, az_request_kind kind,
			  unsigned count)
{
	az_request req = { (az_request_kind)-1, 12345 };
	az_error err = { "" };

	cr_assert_eq(az_request_parse(text, FIELD, &req, &err), AZ_OK,
		     "'%s' refused: %s", text, err.message);
	cr_expect_eq(req.kind, kind, "'%s': kind %d", text, (int)req.kind);
	cr_expect_eq(req.count, count, "'%s': count %u", text, req.count);
}

Test(request, parses_a_count)
{
	expect_parsed("8", AZ_REQUEST_COUNT, 8);
	expect_parsed("1", AZ_REQUEST_COUNT, 1);
	expect_parsed("4096", AZ_REQUEST_COUNT, AZ_THREADS_MAX);
}

Test(request, parses_auto_and_off)
{
	expect_parsed("auto", AZ_REQUEST_AUTO, 0);
	expect_parsed("off", AZ_REQUEST_OFF, 0);
}

/* Texts live in the parameter (an array, not a pointer): Criterion copies
 * parameters into the worker process. */
typedef struct bad_request {
	char text[32];
	bool null_text;
} bad_request;

#define BAD(text_) { .text = text_ }
static bad_request bad_requests[] = {
	BAD("abc"), BAD("0"), BAD("-1"), BAD("99999999999"),
	BAD("99999999999999999999999999"), BAD(""), BAD("4097"), BAD(" 4"),
	BAD("4 "), BAD("+4"), BAD("0x10"), BAD("4.0"), BAD("AUTO"),
	BAD("Off"), BAD("auto "), BAD("8threads"), { .null_text = true },
};

ParameterizedTestParameters(request, rejects)
{
	return cr_make_param_array(bad_request, bad_requests,
				   sizeof(bad_requests) /
					   sizeof(bad_requests[0]));
}

ParameterizedTest(bad_request *c, request, rejects)
{
	const char *text = c->null_text ? NULL : c->text;
	az_request req = { AZ_REQUEST_AUTO, 77 };
	az_error err = { "" };
	char expected[160];

	cr_assert_eq(az_request_parse(text, FIELD, &req, &err),
		     AZ_ERR_INVALID, "'%s' accepted", c->text);
	snprintf(expected, sizeof(expected),
		 FIELD ": invalid value '%s': expected N (1 to 4096), auto or off",
		 c->text);
	cr_expect_str_eq(err.message, expected);
	cr_expect(req.kind == AZ_REQUEST_AUTO && req.count == 77,
		  "'%s': output written on failure", c->text);
	cr_expect_eq(az_request_parse(text, FIELD, &req, NULL),
		     AZ_ERR_INVALID);
}

Test(request, message_names_the_given_field)
{
	az_request req;
	az_error err = { "" };

	az_request_parse("lots", "AUTOZYME_THREADS", &req, &err);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_THREADS: invalid value 'lots': expected N (1 to 4096), auto or off");
}

/* Found by tests/fuzz: a long value used to push the accepted form out of
 * the message.  Now the value is cut (on a UTF-8 boundary) and the form stays. */
Test(request, long_value_keeps_the_accepted_form)
{
	char text[4096];
	az_request req;
	az_error err = { "" };

	memset(text, '7', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_assert_eq(az_request_parse(text, FIELD, &req, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "...': expected N (1 to 4096), auto or off") != NULL,
		  "message: %s", err.message);
	/* 79 ASCII bytes, then a 2-byte character across the 80-byte cut. */
	memset(text, 'x', 79);
	strcpy(text + 79, "\xc3\xa9tail");
	cr_assert_eq(az_request_parse(text, FIELD, &req, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "xxx...': expected N") != NULL,
		  "cut inside a character: %s", err.message);
	cr_expect_eq(az_count_parse(text, "max_threads", 1, 64, &(unsigned){ 0 }, &err),
		     AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "...': expected an integer from 1 to 64") != NULL,
		  "message: %s", err.message);
}

/* ----------------------------------------------------------------- counts */

Test(count, accepts_the_range_bounds)
{
	unsigned value = 0;

	cr_expect_eq(az_count_parse("1", "max_threads", 1, 64, &value, NULL),
		     AZ_OK);
	cr_expect_eq(value, 1);
	cr_expect_eq(az_count_parse("64", "max_threads", 1, 64, &value, NULL),
		     AZ_OK);
	cr_expect_eq(value, 64);
	cr_expect_eq(az_count_parse("0", "default_threads", 0, 64, &value,
				    NULL), AZ_OK);
	cr_expect_eq(value, 0);
	cr_expect_eq(az_count_parse("4294967295", "n", 0, 4294967295u,
				    &value, NULL), AZ_OK);
	cr_expect_eq(value, 4294967295u);
}

static void expect_count_refused(const char *text, unsigned min,
				 unsigned max)
{
	unsigned value = 99;
	az_error err = { "" };
	char expected[160];

	cr_expect_eq(az_count_parse(text, "SLURM_CPUS_PER_TASK", min, max,
				    &value, &err), AZ_ERR_INVALID,
		     "'%s' accepted in [%u, %u]", text ? text : "(null)", min,
		     max);
	snprintf(expected, sizeof(expected),
		 "SLURM_CPUS_PER_TASK: invalid value '%s': expected an integer from %u to %u",
		 text ? text : "", min, max);
	cr_expect_str_eq(err.message, expected);
	cr_expect_eq(value, 99, "'%s': output written on failure",
		     text ? text : "(null)");
}

Test(count, rejects_outside_the_range)
{
	expect_count_refused("0", 1, 64);
	expect_count_refused("65", 1, 64);
	expect_count_refused("4294967296", 0, 4294967295u);
	expect_count_refused("99999999999999999999999999", 1, 64);
}

Test(count, rejects_malformed_text)
{
	static const char *const bad[] = {
		"", "abc", "-1", "+4", " 4", "4 ", "0x10", "4.0", "1e3", "4\n",
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_count_refused(bad[i], 1, 64);
	expect_count_refused(NULL, 1, 64);
}

/* ------------------------------------------------ inputs from the environment */

static void clear_request_vars(void)
{
	unsetenv("AUTOZYME_THREADS");
	unsetenv("AUTOZYMER_THREADS");
	unsetenv(AZ_ENV_INJECTED);
	unsetenv(AZ_ENV_INJECTED_VALUE);
	unsetenv("SLURM_CPUS_PER_TASK");
}

static az_request request_from_env(void)
{
	az_env env = az_env_process();
	az_request req = { (az_request_kind)-1, 12345 };
	az_error err = { "" };

	cr_assert_eq(az_request_from_env(&env, &req, &err), AZ_OK, "%s", err.message);
	return req;
}

Test(inputs, autozyme_threads_then_autozymer_threads, .init = clear_request_vars)
{
	cr_expect_eq(request_from_env().kind, AZ_REQUEST_UNSET);
	setenv("AUTOZYMER_THREADS", "off", 1);
	cr_expect_eq(request_from_env().kind, AZ_REQUEST_OFF);
	setenv("AUTOZYME_THREADS", "3", 1);
	cr_expect_eq(request_from_env().kind, AZ_REQUEST_COUNT);
	cr_expect_eq(request_from_env().count, 3);
}

/* A value AutoZyme injected into an earlier step is no request: the next one wins. */
Test(inputs, injected_value_is_no_request, .init = clear_request_vars)
{
	setenv("AUTOZYME_THREADS", "2", 1);
	setenv(AZ_ENV_INJECTED, "OMP_NUM_THREADS,AUTOZYME_THREADS", 1);
	setenv(AZ_ENV_INJECTED_VALUE, "2", 1);
	cr_expect_eq(request_from_env().kind, AZ_REQUEST_UNSET);
	setenv("AUTOZYMER_THREADS", "auto", 1);
	cr_expect_eq(request_from_env().kind, AZ_REQUEST_AUTO);
}

Test(inputs, malformed_request_names_the_variable, .init = clear_request_vars)
{
	az_env env = az_env_process();
	az_request req;
	az_error err = { "" };

	setenv("AUTOZYMER_THREADS", "many", 1);
	cr_expect_eq(az_request_from_env(&env, &req, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "AUTOZYMER_THREADS: invalid value 'many'"), "%s",
		  err.message);
}

Test(inputs, cpus_per_task_ignores_what_does_not_parse, .init = clear_request_vars)
{
	az_env env = az_env_process();

	cr_expect_eq(az_cpus_per_task_from_env(&env), 0);
	setenv("SLURM_CPUS_PER_TASK", "4", 1);
	cr_expect_eq(az_cpus_per_task_from_env(&env), 4);
	setenv("SLURM_CPUS_PER_TASK", "4x", 1);
	cr_expect_eq(az_cpus_per_task_from_env(&env), 0);
	setenv("SLURM_CPUS_PER_TASK", "0", 1);
	cr_expect_eq(az_cpus_per_task_from_env(&env), 0);
}

/* --------------------------------------------------- gathering the inputs */

static az_budget_input gathered(const az_process_facts *facts)
{
	az_budget_input in;
	az_error err = { "" };

	cr_assert_eq(az_budget_gather(facts, &in, &err), AZ_OK, "%s", err.message);
	return in;
}

Test(gather, the_option_wins_then_the_variables, .init = clear_request_vars)
{
	az_env env = az_env_process();
	az_process_facts facts = { .env = &env };

	setenv("AUTOZYME_THREADS", "3", 1);
	cr_expect_eq(gathered(&facts).request.count, 3);
	facts.option = (az_request){ AZ_REQUEST_COUNT, 5 };
	cr_expect_eq(gathered(&facts).request.count, 5);
	facts.env = NULL;
	facts.option = (az_request){ AZ_REQUEST_UNSET, 0 };
	cr_expect_eq(gathered(&facts).request.kind, AZ_REQUEST_UNSET,
		     "no variables read without an environment");
}

Test(gather, slurms_cpus_per_task_then_the_variable, .init = clear_request_vars)
{
	az_env env = az_env_process();
	az_process_facts facts = { .env = &env };

	setenv("SLURM_CPUS_PER_TASK", "4", 1);
	cr_expect_eq(gathered(&facts).cpus_per_task, 4);
	facts.slurm_cpus_per_task = 2;
	cr_expect_eq(gathered(&facts).cpus_per_task, 2);
}

Test(gather, copies_the_facts_it_does_not_read, .init = clear_request_vars)
{
	az_cpus cpus = { .pus = 8, .cores = 4 };
	az_process_facts facts = { .cpus = &cpus, .quota_cpus = 1.5,
				   .local_tasks = 2, .local_source = AZ_LOCAL_SLURM,
				   .launch_pus = 8, .site_default = 3,
				   .site_max = 6, .smt = AZ_SMT_CORES };
	az_budget_input in = gathered(&facts);

	cr_expect_eq(in.cpuset_pus, 8);
	cr_expect_eq(in.cpuset_cores, 4);
	cr_expect_eq(in.quota_cpus, 1.5);
	cr_expect_eq(in.local_tasks, 2);
	cr_expect_eq(in.launch_pus, 8);
	cr_expect_not(in.tasks_bound, "a task seeing all the launch PUs shares them");
	cr_expect_eq(in.site_default, 3);
	cr_expect_eq(in.site_max, 6);
	cr_expect_eq(in.smt, AZ_SMT_CORES);
	cpus.pus = 4;
	cr_expect(gathered(&facts).tasks_bound);
}

Test(gather, a_malformed_variable_is_reported_and_left_unset, .init = clear_request_vars)
{
	az_env env = az_env_process();
	az_process_facts facts = { .env = &env };
	az_budget_input in;
	az_error err = { "" };

	setenv("AUTOZYME_THREADS", "lots", 1);
	setenv("SLURM_CPUS_PER_TASK", "2", 1);
	cr_expect_eq(az_budget_gather(&facts, &in, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "AUTOZYME_THREADS"), "%s", err.message);
	cr_expect_eq(in.request.kind, AZ_REQUEST_UNSET);
	cr_expect_eq(in.cpus_per_task, 2, "the rest is still gathered");
}

Test(gather, once_for_the_step_then_each_task_from_its_cpuset, .init = clear_request_vars)
{
	az_env env = az_env_process();
	az_cpus step_cpus = { .pus = 8, .cores = 4 }, own = { .pus = 2, .cores = 1 };
	az_process_facts facts = { .env = &env, .quota_cpus = 6, .local_tasks = 4,
				   .slurm_tasks = true, .launch_pus = 8, .site_max = 7 };
	az_shared_input shared;
	az_budget_input in, whole;
	az_error err = { "" };

	setenv("AUTOZYME_THREADS", "3", 1);
	setenv("SLURM_CPUS_PER_TASK", "2", 1);
	cr_assert_eq(az_budget_gather_shared(&facts, &shared, &err), AZ_OK, "%s", err.message);
	az_budget_input_for_cpus(&shared, &own, &in);
	cr_expect_eq(in.request.count, 3);
	cr_expect_eq(in.cpus_per_task, 2);
	cr_expect_eq(in.cpuset_pus, 2);
	cr_expect_eq(in.cpuset_cores, 1);
	cr_expect(in.tasks_bound, "2 of the 8 PUs the 4 tasks were launched on");
	facts.cpus = &own;
	whole = gathered(&facts);
	cr_expect(in.request.kind == whole.request.kind && in.request.count == whole.request.count &&
		  in.cpus_per_task == whole.cpus_per_task && in.cpuset_pus == whole.cpuset_pus &&
		  in.cpuset_cores == whole.cpuset_cores && in.quota_cpus == whole.quota_cpus &&
		  in.local_tasks == whole.local_tasks && in.launch_pus == whole.launch_pus &&
		  in.tasks_bound == whole.tasks_bound && in.site_max == whole.site_max,
		  "the two stages are az_budget_gather");
	az_budget_input_for_cpus(&shared, &step_cpus, &in);
	cr_expect_not(in.tasks_bound, "a task seeing all the launch PUs shares them");
	setenv("SLURM_CPU_BIND_TYPE", "none", 1);
	cr_assert_eq(az_budget_gather_shared(&facts, &shared, &err), AZ_OK, "%s", err.message);
	unsetenv("SLURM_CPU_BIND_TYPE");
	az_budget_input_for_cpus(&shared, &own, &in);
	cr_expect_not(in.tasks_bound, "--cpu-bind=none: Slurm says they share");
}

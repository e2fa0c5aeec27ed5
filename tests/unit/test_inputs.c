/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/core/inputs.c: the budget's inputs from the environment and the
 * process's facts (az_budget_gather, once per step and per task). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azcore.h"

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

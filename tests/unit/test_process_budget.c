/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/runtime/process_budget.c: the count a process runs with, in its order
 * (the activation file, ranks, a worker's share, set_threads).
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

#include "process_budget.h"
#include "runtime_fixture.h"

TestSuite(process_budget, .init = clean_env);

/* -------------------------------------------------------------- budget */

Test(process_budget, budget_from_activation_file)
{
	char *path = write_activation_file(1);
	const cJSON *task;
	cJSON *info;

	setenv("SLURM_PROCID", "3", 1);
	setenv("SLURM_LOCALID", "1", 1);
	setenv("SLURMD_NODENAME", "node007", 1);
	expect_budget(1, AZ_PROV_CPUS_PER_TASK);
	cr_expect_eq(budget().allocation, 1);
	cr_expect(azi_runtime_from_activation_file());
	info = thread_info();
	cr_expect_eq(number_field(info, "threads"), 1);
	cr_expect_str_eq(string_field(info, "provenance"), "cpus_per_task");
	cr_expect_str_eq(string_field(info, "activation_file"), path);
	cr_expect(cJSON_IsTrue(field(info, "activation_file_read")));
	cr_expect(cJSON_IsNull(field(info, "activation_error")));
	cr_expect_eq(number_field(field(info, "cpus"), "pus"), own_pus());
	/* The task's record: the step's ids, its own ranks, node and budget. */
	task = field(info, "task");
	cr_expect_eq(number_field(field(task, "job"), "id"), 7);
	cr_expect_str_eq(string_field(field(task, "node"), "name"), "node007");
	cr_expect_eq(number_field(field(task, "task"), "global_rank"), 3);
	cr_expect_eq(number_field(field(task, "task"), "local_rank"), 1);
	cr_expect_eq(number_field(field(task, "cpus"), "pus"), own_pus());
	cr_expect_eq(number_field(field(task, "threads"), "count"), 1);
	cr_expect_str_eq(string_field(field(task, "threads"), "provenance"), "cpus_per_task");
	cr_expect_str_eq(string_field(field(task, "variables"), "OMP_NUM_THREADS"), "1");
	cJSON_Delete(info);
	remove_file(path);
}

/* The public view of the budget: its count and provenance's name; 0 when off. */
Test(process_budget, budget_threads_names_the_provenance)
{
	char *path = write_activation_file(1);
	const char *provenance = NULL;
	unsigned threads = 0;
	az_error err = { "" };

	cr_assert_eq(az_runtime_budget_threads(&threads, &provenance, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(threads, 1);
	cr_expect_str_eq(provenance, "cpus_per_task");
	cr_expect_eq(az_runtime_budget_threads(NULL, &provenance, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "provenance"), "%s", err.message);
	remove_file(path);
}

Test(process_budget, budget_threads_is_zero_when_off)
{
	const char *provenance = NULL;
	unsigned threads = 7;
	az_error err = { "" };

	setenv("AUTOZYME_THREADS", "off", 1);
	cr_assert_eq(az_runtime_budget_threads(&threads, &provenance, &err), AZ_OK, "%s",
		     err.message);
	cr_expect_eq(threads, 0);
	cr_expect_str_eq(provenance, "request_off");
}

Test(process_budget, broken_activation_file_falls_back_to_discovery)
{
	char *path = write_file("{\"schema\": 1, \"job\"");
	cJSON *info;

	setenv(AZ_ENV_ACTIVATION_FILE, path, 1);
	setenv("AUTOZYME_THREADS", "1", 1);
	cr_expect_eq(budget().provenance, AZ_PROV_REQUEST);
	cr_expect_not(azi_runtime_from_activation_file());
	info = thread_info();
	cr_expect_str_eq(string_field(info, "activation_file"), path);
	cr_expect(cJSON_IsFalse(field(info, "activation_file_read")));
	cr_expect(strstr(string_field(info, "activation_error"), path),
		  "the error does not name the file");
	cJSON_Delete(info);
	remove_file(path);
}

Test(process_budget, missing_activation_file_falls_back_to_discovery)
{
	cJSON *info;

	setenv(AZ_ENV_ACTIVATION_FILE, "/nonexistent/az/activation.json", 1);
	cr_expect_not(azi_runtime_from_activation_file());
	info = thread_info();
	cr_expect(cJSON_IsString(field(info, "activation_error")));
	cr_expect(cJSON_IsNumber(field(info, "threads")));
	cJSON_Delete(info);
}

/* A container that does not bind activation_dir: one line once the count is
 * used, however often, naming the variable, the file and why; thread_info()
 * alone (autozyme-info) only reports it. */
Test(process_budget, unreadable_activation_file_warns_once, .init = clean_env_and_capture_stderr)
{
	unsigned threads;
	bool off;

	setenv(AZ_ENV_ACTIVATION_FILE, "/nonexistent/az/activation.json", 1);
	cJSON_Delete(thread_info());
	cr_expect_not(azi_runtime_from_activation_file());
	cr_assert_eq(az_runtime_threads(&threads, &off, NULL), AZ_OK);
	cr_assert_eq(az_runtime_threads(&threads, &off, NULL), AZ_OK);
	budget();
	fflush(stderr);
	cr_expect_stderr_eq_str("autozyme: warning: cannot use AUTOZYME_ACTIVATION_FILE: "
				"/nonexistent/az/activation.json: cannot open: No such file or directory; "
				"the thread count comes from this process's own CPUs and variables instead "
				"(in a container, bind the node's activation_dir into it at the same path)\n");
}

/* A hostile name (a newline, a non-UTF-8 byte) still makes one printable line. */
Test(process_budget, unreadable_activation_file_line_is_printable, .init = clean_env_and_capture_stderr)
{
	setenv(AZ_ENV_ACTIVATION_FILE, "/nonexistent/a\nb\xff.json", 1);
	budget();
	fflush(stderr);
	cr_expect_stderr_eq_str("autozyme: warning: cannot use AUTOZYME_ACTIVATION_FILE: "
				"/nonexistent/a\\x0ab\\xff.json: cannot open: No such file or directory; "
				"the thread count comes from this process's own CPUs and variables instead "
				"(in a container, bind the node's activation_dir into it at the same path)\n");
}

/* A pool worker inherits the variable; its parent already said it. */
Test(process_budget, unreadable_activation_file_silent_in_a_worker,
     .init = clean_env_and_capture_stderr)
{
	setenv(AZ_ENV_ACTIVATION_FILE, "/nonexistent/az/activation.json", 1);
	setenv(AZ_ENV_WORKER_SHARE, "1/2", 1);
	budget();
	fflush(stderr);
	cr_expect_stderr_eq_str("");
}

Test(process_budget, autozyme_threads_is_a_request)
{
	cJSON *info;

	setenv("AUTOZYME_THREADS", "1", 1);
	expect_budget(1, AZ_PROV_REQUEST);
	info = thread_info();
	cr_expect_str_eq(string_field(info, "provenance"), "request");
	cr_expect(cJSON_IsNull(field(info, "activation_file")));
	cJSON_Delete(info);
}

Test(process_budget, autozymer_threads_is_the_fallback)
{
	setenv("AUTOZYMER_THREADS", "1", 1);
	expect_budget(1, AZ_PROV_REQUEST);
}

Test(process_budget, autozyme_threads_beats_autozymer_threads)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv("AUTOZYMER_THREADS", "off", 1);
	expect_budget(1, AZ_PROV_REQUEST);
}

Test(process_budget, injected_autozyme_threads_is_no_request)
{
	setenv("AUTOZYME_THREADS", "1", 1);
	setenv(AZ_ENV_INJECTED, "OMP_NUM_THREADS,AUTOZYME_THREADS", 1);
	setenv(AZ_ENV_INJECTED_VALUE, "1", 1);
	cr_expect_neq(budget().provenance, AZ_PROV_REQUEST);
}

Test(process_budget, malformed_request_names_the_variable)
{
	az_budget b;
	az_error err = { "" };

	setenv("AUTOZYME_THREADS", "many", 1);
	cr_assert_eq(azi_runtime_budget(&b, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_THREADS: invalid value 'many': expected N (1 to 4096), auto or off");
}

Test(process_budget, discovery_uses_the_affinity_cpuset)
{
	cpu_set_t set;
	cJSON *info;
	az_budget b = budget();

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	cr_expect_eq(b.allocation, b.threads);
	cr_expect_leq(b.threads, (unsigned)CPU_COUNT(&set));
	info = thread_info();
	cr_expect_eq(number_field(field(info, "cpus"), "pus"), CPU_COUNT(&set));
	cJSON_Delete(info);
}

Test(process_budget, slurm_cpus_per_task_limits_discovery)
{
	setenv("SLURM_CPUS_PER_TASK", "1", 1);
	expect_budget(1, AZ_PROV_CPUS_PER_TASK);
}

/* ------------------------------------------------------------- MPI ranks */

/* Pin this test process to one CPU: smaller than its parent's cpuset. */
static void pin_to_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (own_pus() < 2)
		cr_skip_test("needs 2 CPUs");
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

static void open_mpi_ranks(const char *size, const char *rank)
{
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", size, 1);
	setenv("OMPI_COMM_WORLD_LOCAL_RANK", rank, 1);
}

static unsigned half(unsigned pus)
{
	return pus / 2 ? pus / 2 : 1;
}

Test(process_budget, unbound_mpi_ranks_split_the_cpuset)
{
	unsigned pus = own_pus();
	const cJSON *ranks;
	cJSON *info;

	open_mpi_ranks("2", "1");
	expect_budget(half(pus), AZ_PROV_MPI_ENV);
	cr_expect_eq(budget().allocation, half(pus));
	info = thread_info();
	cr_expect_str_eq(string_field(info, "provenance"), "mpi_env");
	ranks = field(info, "ranks");
	cr_expect_eq(number_field(ranks, "local_size"), 2);
	cr_expect_eq(number_field(ranks, "local_rank"), 1);
	cr_expect_str_eq(string_field(ranks, "source"), "mpi_env");
	cr_expect(cJSON_IsFalse(field(ranks, "bound")));
	cr_expect(cJSON_IsFalse(field(ranks, "slurm_tasks")));
	cJSON_Delete(info);
}

Test(process_budget, bound_mpi_rank_keeps_its_cpuset)
{
	cJSON *info;

	pin_to_one_cpu();
	open_mpi_ranks("4", "0");
	expect_budget(1, AZ_PROV_CPUSET);
	info = thread_info();
	cr_expect(cJSON_IsTrue(field(field(info, "ranks"), "bound")));
	cJSON_Delete(info);
}

Test(process_budget, one_rank_is_no_split)
{
	cJSON *info;

	open_mpi_ranks("1", "0");
	expect_budget(own_pus(), AZ_PROV_CPUSET);
	info = thread_info();
	cr_expect(cJSON_IsNull(field(info, "ranks")));
	cJSON_Delete(info);
}

/* mpirun inside a Slurm task: its ranks share the task's file budget. */
Test(process_budget, unbound_ranks_inside_a_task_split_its_file)
{
	unsigned pus = own_pus();
	char *path = write_activation_file_of(pus, pus);

	open_mpi_ranks("2", "0");
	expect_budget(half(pus), AZ_PROV_MPI_ENV);
	cr_expect_eq(budget().allocation, half(pus));
	cr_expect(azi_runtime_from_activation_file());
	remove_file(path);
}

Test(process_budget, bound_ranks_inside_a_task_run_on_their_cpuset)
{
	unsigned pus = own_pus();
	char *path = write_activation_file_of(pus, pus);
	cJSON *info;

	pin_to_one_cpu();
	open_mpi_ranks("2", "1");
	expect_budget(1, AZ_PROV_CPUSET);
	info = thread_info();
	cr_expect_eq(number_field(field(info, "cpus"), "pus"), 1);
	cJSON_Delete(info);
	remove_file(path);
}

/* srun's tasks are what the plugin decided the file for. */
Test(process_budget, srun_tasks_keep_their_file)
{
	char *path = write_activation_file_of(1, 4);

	setenv("SLURM_STEP_TASKS_PER_NODE", "2", 1);
	setenv("SLURM_NODEID", "0", 1);
	setenv("SLURM_LOCALID", "1", 1);
	expect_budget(1, AZ_PROV_CPUS_PER_TASK);
	cr_expect_eq(budget().allocation, 1);
	remove_file(path);
}

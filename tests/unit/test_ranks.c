/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/runtime/ranks.c: co-located ranks from the launchers' variables
 * (Open MPI, srun) and the bound/unbound decision.  PMIx itself needs a server and MPI_Init: tests/slurm/test_mpi.sh
 * runs it under mpirun and srun --mpi=pmix.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "ranks.h"
#include "mapped.h"

/* ------------------------------------------------------- a fake environment */

#define VARS_MAX 8

typedef struct fake_env {
	char names[VARS_MAX][48];
	char values[VARS_MAX][48];
} fake_env;

static const char *fake_get(void *ctx, const char *name)
{
	fake_env *vars = ctx;
	unsigned i;

	for (i = 0; i < VARS_MAX && vars->names[i][0]; i++)
		if (strcmp(vars->names[i], name) == 0)
			return vars->values[i];
	return NULL;
}

static az_env env_of(fake_env *vars)
{
	return (az_env){ .get = fake_get, .ctx = vars };
}

/* One table row: the variables, and the ranks they give. */
typedef struct ranks_case {
	char name[64];
	fake_env vars;
	unsigned size;
	unsigned rank;
	bool slurm_tasks;
} ranks_case;

#define VARS(...) { __VA_ARGS__ }
#define OMPI(size, rank) \
	.names = { "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK" }, \
	.values = { size, rank }
#define SRUN(per_node, node, local) \
	.names = { "SLURM_STEP_TASKS_PER_NODE", "SLURM_NODEID", "SLURM_LOCALID" }, \
	.values = { per_node, node, local }

static ranks_case cases[] = {
	{ "nothing set", VARS(.names = { "" }), 0, 0, false },
	{ "mpirun -np 2, rank 1", VARS(OMPI("2", "1")), 2, 1, false },
	{ "mpirun -np 1", VARS(OMPI("1", "0")), 1, 0, false },
	{ "Open MPI rank beyond the size", VARS(OMPI("2", "2")), 0, 0, false },
	{ "Open MPI size 0", VARS(OMPI("0", "0")), 0, 0, false },
	{ "Open MPI size not a number", VARS(OMPI("two", "0")), 0, 0, false },
	{ "Open MPI rank missing",
	  VARS(.names = { "OMPI_COMM_WORLD_LOCAL_SIZE" }, .values = { "2" }),
	  0, 0, false },
	{ "srun -n4 on one node", VARS(SRUN("4", "0", "3")), 4, 3, true },
	{ "srun, node 2 of 2(x3),1", VARS(SRUN("2(x3),1", "2", "1")), 2, 1,
	  true },
	{ "srun, node 3 of 2(x3),1", VARS(SRUN("2(x3),1", "3", "0")), 1, 0,
	  true },
	{ "srun, node beyond the list", VARS(SRUN("2(x3),1", "4", "0")), 0, 0,
	  false },
	{ "srun, malformed repeat", VARS(SRUN("2(x3,1", "0", "0")), 0, 0,
	  false },
	{ "srun, trailing comma", VARS(SRUN("2,", "1", "0")), 0, 0, false },
	{ "srun, local id beyond its node", VARS(SRUN("2", "0", "2")), 0, 0,
	  false },
	{ "a batch script: SLURM_TASKS_PER_NODE is the job's, not ranks",
	  VARS(.names = { "SLURM_TASKS_PER_NODE", "SLURM_NODEID", "SLURM_LOCALID" },
	       .values = { "2", "0", "0" }),
	  0, 0, false },
	{ "mpirun inside an srun step: Open MPI's count wins",
	  VARS(.names = { "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
			  "SLURM_STEP_TASKS_PER_NODE", "SLURM_NODEID",
			  "SLURM_LOCALID" },
	       .values = { "2", "0", "1", "0", "0" }),
	  2, 0, false },
};

ParameterizedTestParameters(ranks, from_env)
{
	return cr_make_param_array(ranks_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(ranks_case *c, ranks, from_env)
{
	az_env env = env_of(&c->vars);
	az_local_ranks out;

	memset(&out, 0xff, sizeof(out));
	cr_assert_eq(azi_local_ranks_from_env(&env, &out, NULL), AZ_OK);
	cr_expect_eq(out.size, c->size, "%s: size %u", c->name, out.size);
	cr_expect_eq(out.rank, c->rank, "%s: rank %u", c->name, out.rank);
	cr_expect_eq(out.slurm_tasks, c->slurm_tasks, "%s", c->name);
	if (out.size)
		cr_expect_eq(out.source, AZ_LOCAL_MPI_ENV, "%s", c->name);
}

/* Open MPI's variables say 3 ranks, this one 2: they count, and no libpmix
 * is mapped. */
static void expect_variables_count(fake_env *vars)
{
	az_env env = env_of(vars);
	az_local_ranks out;

	cr_assert_eq(azi_local_ranks_discover(&env, &out, NULL), AZ_OK);
	cr_expect_eq(out.size, 3);
	cr_expect_eq(out.rank, 2);
	cr_expect_eq(out.source, AZ_LOCAL_MPI_ENV);
	cr_expect_eq(mapped_objects("libpmix"), 0);
}

Test(ranks, without_a_pmix_server_the_variables_count)
{
	fake_env vars = { OMPI("3", "2") };

	expect_variables_count(&vars);
}

/*
 * Under a PMIx server (mpirun's variables), before anything in the process
 * initialised PMIx: libautozyme must neither load libpmix nor initialise
 * PMIx (that makes Open MPI 5's MPI_Init fail), so the launcher's
 * variables count the ranks.  The server is not real here (no mpirun):
 * its variables are all this path reads before it would call PMIx.
 */
Test(ranks, under_a_pmix_server_before_mpi_init_the_variables_count)
{
	fake_env vars = {
		.names = { "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
			   "PMIX_NAMESPACE", "PMIX_SERVER_URI41" },
		.values = { "3", "2", "prterun-node-1@1", "prterun-node-1;tcp4://127.0.0.1:1" },
	};

	expect_variables_count(&vars);
}

Test(ranks, refuses_missing_arguments)
{
	fake_env vars = { .names = { "" } };
	az_env env = env_of(&vars);
	az_local_ranks out;
	az_error err = { "" };

	cr_expect_eq(azi_local_ranks_discover(NULL, &out, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "local ranks: an environment and an output are required");
	cr_expect_eq(azi_local_ranks_from_env(&env, NULL, NULL), AZ_ERR_INVALID);
}

Test(ranks, pmix_support_matches_the_build)
{
#ifdef HAVE_PMIX
	cr_expect(azi_local_ranks_have_pmix());
#else
	cr_expect_not(azi_local_ranks_have_pmix());
#endif
}

/* ---------------------------------------------------------------- bound */

/* Whether two ranks of `own` PUs each, launched on `launch`, are bound:
 * the facts as the runtime gathers them. */
static bool two_bound(const az_env *env, bool slurm_tasks, unsigned own,
		      unsigned launch)
{
	az_cpus cpus = { .pus = own };
	az_process_facts facts = { .env = env, .cpus = &cpus, .local_tasks = 2,
				   .local_source = AZ_LOCAL_PMIX,
				   .slurm_tasks = slurm_tasks,
				   .launch_pus = launch };
	az_budget_input in;

	cr_assert_eq(az_budget_gather(&facts, &in, NULL), AZ_OK);
	return in.tasks_bound;
}

Test(bound, a_cpuset_smaller_than_the_task_is_bound)
{
	cr_expect(two_bound(NULL, false, 1, 2));
	cr_expect_not(two_bound(NULL, false, 2, 2));
	cr_expect_not(two_bound(NULL, false, 0, 2),
		      "an unknown cpuset counts as shared");
	cr_expect_not(two_bound(NULL, false, 1, 0),
		      "an unknown launch cpuset counts as shared");
}

Test(bound, one_rank_is_never_bound)
{
	cr_expect_not(az_budget_tasks_bound(1, 1, 8, false));
	cr_expect_not(az_budget_tasks_bound(0, 1, 8, false));
}

Test(bound, srun_cpu_bind_none_is_never_bound)
{
	fake_env vars = { .names = { "SLURM_CPU_BIND_TYPE" },
			  .values = { "none" } };
	az_env env = env_of(&vars);

	cr_expect_not(two_bound(&env, true, 1, 2));
	cr_expect_not(az_budget_tasks_bound(2, 1, 2, true));
	strcpy(vars.values[0], "mask_cpu:");
	cr_expect(two_bound(&env, true, 1, 2));
	/* Only Slurm's own tasks: mpirun's ranks inherit the variable. */
	strcpy(vars.values[0], "none");
	cr_expect(two_bound(&env, false, 1, 2));
}

/* /proc writes "Cpus_allowed_list:\t0-3,5\n"; hwloc alone drops a last
 * single CPU followed by the newline ("0,2\n" was one CPU, "5\n" none). */
Test(bound, cpu_lists_as_proc_writes_them)
{
	cr_expect_eq(azi_cpu_list_weight("\t0\n"), 1);
	cr_expect_eq(azi_cpu_list_weight("\t5\n"), 1);
	cr_expect_eq(azi_cpu_list_weight("\t0,2\n"), 2);
	cr_expect_eq(azi_cpu_list_weight("\t0-3,5\n"), 5);
	cr_expect_eq(azi_cpu_list_weight("0-1"), 2);
	cr_expect_eq(azi_cpu_list_weight("\t\n"), 0);
	cr_expect_eq(azi_cpu_list_weight("\tnone\n"), 0);
}

/* The launcher's cpuset is the parent's: here, Criterion's runner. */
Test(bound, the_parents_cpuset_is_the_launchers)
{
	cpu_set_t all, one;
	int first = -1, cpu;

	cr_assert_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	cr_expect_eq(azi_cpus_of_parent(), (unsigned)CPU_COUNT(&all));
	if (CPU_COUNT(&all) < 2)
		cr_skip_test("needs 2 CPUs");
	for (cpu = 0; cpu < CPU_SETSIZE && first < 0; cpu++)
		if (CPU_ISSET(cpu, &all))
			first = cpu;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	cr_expect_eq(azi_cpus_of_parent(), (unsigned)CPU_COUNT(&all),
		     "the parent's, not this process's");
	cr_expect(az_budget_tasks_bound(2, 1, azi_cpus_of_parent(), false));
}

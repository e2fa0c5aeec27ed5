/* SPDX-License-Identifier: BSD-3-Clause */
/* The thread budget: one table of named cases, each asserting the whole
 * decision, then the rejected inputs, provenance names and clamp messages. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "azcore.h"

/* Names are arrays, not pointers: Criterion copies parameters into the
 * worker process, where a pointer into this binary's data is not valid. */
typedef struct budget_case {
	char name[64];
	az_budget_input in;
	bool off;
	unsigned threads;
	az_provenance provenance;
	unsigned allocation;
	az_provenance allocation_provenance;
	bool clamped;
	unsigned requested;
} budget_case;

#define COUNT(n) .request = { AZ_REQUEST_COUNT, (n) }
#define AUTO .request = { AZ_REQUEST_AUTO, 0 }
#define OFF .request = { AZ_REQUEST_OFF, 0 }
#define P(name) AZ_PROV_##name

/* CASE(name, input, threads, provenance, allocation, its provenance) */
#define CASE(name_, in_, threads_, prov_, alloc_, alloc_prov_, ...) \
	{ .name = name_, .in = { in_ }, .threads = threads_, \
	  .provenance = prov_, .allocation = alloc_, \
	  .allocation_provenance = alloc_prov_, __VA_ARGS__ }
#define CLAMPED(n) .clamped = true, .requested = (n)
#define IN(...) __VA_ARGS__

static budget_case cases[] = {
	/* Slurm task layouts */
	CASE("srun -n2 -c1, each task bound to 1 CPU",
	     IN(.cpuset_pus = 1, .cpuset_cores = 1, .cpus_per_task = 1,
		.local_tasks = 2, .tasks_bound = true),
	     1, P(CPUS_PER_TASK), 1, P(CPUS_PER_TASK)),
	CASE("bound tasks ignore the local task count",
	     IN(.cpuset_pus = 4, .local_tasks = 4, .tasks_bound = true),
	     4, P(CPUSET), 4, P(CPUSET)),
	CASE("--cpu-bind=none -n2 on 2 CPUs: 1 each",
	     IN(.cpuset_pus = 2, .cpuset_cores = 2, .local_tasks = 2),
	     1, P(LOCAL_TASKS), 1, P(LOCAL_TASKS)),
	CASE("-n3 unbound on 2 CPUs: still 1",
	     IN(.cpuset_pus = 2, .local_tasks = 3),
	     1, P(LOCAL_TASKS), 1, P(LOCAL_TASKS)),
	CASE("-n2 unbound on 8 CPUs: 4 each",
	     IN(.cpuset_pus = 8, .local_tasks = 2),
	     4, P(LOCAL_TASKS), 4, P(LOCAL_TASKS)),
	CASE("one unbound task keeps the cpuset",
	     IN(.cpuset_pus = 8, .local_tasks = 1),
	     8, P(CPUSET), 8, P(CPUSET)),
	/* MPI ranks counted outside Slurm */
	CASE("mpirun --bind-to none -np 2 on 8 CPUs, PMIx: 4 each",
	     IN(.cpuset_pus = 8, .local_tasks = 2,
		.local_source = AZ_LOCAL_PMIX),
	     4, P(PMIX), 4, P(PMIX)),
	CASE("-np 3 on 8 CPUs, launcher variables: 2 each",
	     IN(.cpuset_pus = 8, .local_tasks = 3,
		.local_source = AZ_LOCAL_MPI_ENV),
	     2, P(MPI_ENV), 2, P(MPI_ENV)),
	CASE("bound PMIx ranks keep their cpuset",
	     IN(.cpuset_pus = 2, .local_tasks = 4, .tasks_bound = true,
		.local_source = AZ_LOCAL_PMIX),
	     2, P(CPUSET), 2, P(CPUSET)),
	CASE("mpirun -np 32 bound by socket (16 PUs) on 32: its share, 1",
	     IN(.cpuset_pus = 16, .local_tasks = 32, .tasks_bound = true,
		.launch_pus = 32, .local_source = AZ_LOCAL_PMIX),
	     1, P(PMIX), 1, P(PMIX)),
	CASE("bound by core, one each: the cpuset",
	     IN(.cpuset_pus = 1, .local_tasks = 2, .tasks_bound = true,
		.launch_pus = 2, .local_source = AZ_LOCAL_PMIX),
	     1, P(CPUSET), 1, P(CPUSET)),
	CASE("bound to 4 of 16 with 2 ranks: the cpuset, below the share",
	     IN(.cpuset_pus = 4, .local_tasks = 2, .tasks_bound = true,
		.launch_pus = 16, .local_source = AZ_LOCAL_MPI_ENV),
	     4, P(CPUSET), 4, P(CPUSET)),
	CASE("launch_pus counts PUs: ignored under the SMT policy cores",
	     IN(.cpuset_pus = 16, .cpuset_cores = 8, .local_tasks = 32,
		.tasks_bound = true, .launch_pus = 32, .smt = AZ_SMT_CORES),
	     8, P(CORES), 8, P(CORES)),
	CASE("launch_pus without several tasks changes nothing",
	     IN(.cpuset_pus = 16, .local_tasks = 1, .tasks_bound = true,
		.launch_pus = 32),
	     16, P(CPUSET), 16, P(CPUSET)),
	CASE("a request below an MPI rank's share",
	     IN(COUNT(1), .cpuset_pus = 8, .local_tasks = 2,
		.local_source = AZ_LOCAL_MPI_ENV),
	     1, P(REQUEST), 4, P(MPI_ENV)),
	CASE("a request above an MPI rank's share is clamped",
	     IN(COUNT(8), .cpuset_pus = 8, .local_tasks = 2,
		.local_source = AZ_LOCAL_PMIX),
	     4, P(PMIX), 4, P(PMIX), CLAMPED(8)),
	CASE("-n2 -c1 unbound on 4 CPUs: cpus_per_task wins",
	     IN(.cpuset_pus = 4, .cpus_per_task = 1, .local_tasks = 2),
	     1, P(CPUS_PER_TASK), 1, P(CPUS_PER_TASK)),
	/* cpus_per_task against the cpuset */
	CASE("cpuset alone", IN(.cpuset_pus = 8),
	     8, P(CPUSET), 8, P(CPUSET)),
	CASE("cpus_per_task equal to the cpuset wins the tie",
	     IN(.cpuset_pus = 4, .cpus_per_task = 4),
	     4, P(CPUS_PER_TASK), 4, P(CPUS_PER_TASK)),
	CASE("cpus_per_task below the cpuset",
	     IN(.cpuset_pus = 8, .cpus_per_task = 2),
	     2, P(CPUS_PER_TASK), 2, P(CPUS_PER_TASK)),
	CASE("cpus_per_task above the cpuset loses",
	     IN(.cpuset_pus = 2, .cpus_per_task = 8),
	     2, P(CPUSET), 2, P(CPUSET)),
	/* cgroup quota */
	CASE("quota 1.5 below the cpuset rounds up to 2",
	     IN(.cpuset_pus = 8, .quota_cpus = 1.5),
	     2, P(CGROUP_QUOTA), 2, P(CGROUP_QUOTA)),
	CASE("quota 0.2 gives 1",
	     IN(.cpuset_pus = 8, .quota_cpus = 0.2),
	     1, P(CGROUP_QUOTA), 1, P(CGROUP_QUOTA)),
	CASE("quota equal to the cpuset does not win",
	     IN(.cpuset_pus = 4, .quota_cpus = 4.0),
	     4, P(CPUSET), 4, P(CPUSET)),
	CASE("quota above the cpuset is ignored",
	     IN(.cpuset_pus = 4, .quota_cpus = 6.0),
	     4, P(CPUSET), 4, P(CPUSET)),
	CASE("quota 2.5 below cpus_per_task 4",
	     IN(.cpuset_pus = 8, .cpus_per_task = 4, .quota_cpus = 2.5),
	     3, P(CGROUP_QUOTA), 3, P(CGROUP_QUOTA)),
	/* explicit requests */
	CASE("count below the allocation", IN(COUNT(2), .cpuset_pus = 8),
	     2, P(REQUEST), 8, P(CPUSET)),
	CASE("count equal to the allocation is not clamped",
	     IN(COUNT(4), .cpuset_pus = 4),
	     4, P(REQUEST), 4, P(CPUSET)),
	CASE("count above cpus_per_task is clamped",
	     IN(COUNT(8), .cpuset_pus = 4, .cpus_per_task = 2),
	     2, P(CPUS_PER_TASK), 2, P(CPUS_PER_TASK), CLAMPED(8)),
	CASE("count 4096 on 8 CPUs is clamped",
	     IN(COUNT(AZ_THREADS_MAX), .cpuset_pus = 8),
	     8, P(CPUSET), 8, P(CPUSET), CLAMPED(AZ_THREADS_MAX)),
	CASE("auto takes the allocation", IN(AUTO, .cpuset_pus = 6),
	     6, P(CPUSET), 6, P(CPUSET)),
	/* site default and maximum */
	CASE("unset without a site default is auto", IN(.cpuset_pus = 6),
	     6, P(CPUSET), 6, P(CPUSET)),
	CASE("unset takes a site default that fits",
	     IN(.cpuset_pus = 8, .site_default = 4),
	     4, P(SITE_DEFAULT), 8, P(CPUSET)),
	CASE("site default equal to the allocation",
	     IN(.cpuset_pus = 4, .site_default = 4),
	     4, P(SITE_DEFAULT), 4, P(CPUSET)),
	CASE("site default above the allocation: not clamped",
	     IN(.cpuset_pus = 2, .site_default = 4),
	     2, P(CPUSET), 2, P(CPUSET)),
	CASE("auto ignores the site default",
	     IN(AUTO, .cpuset_pus = 8, .site_default = 4),
	     8, P(CPUSET), 8, P(CPUSET)),
	CASE("count ignores the site default",
	     IN(COUNT(6), .cpuset_pus = 8, .site_default = 4),
	     6, P(REQUEST), 8, P(CPUSET)),
	CASE("site max caps auto without a clamp",
	     IN(AUTO, .cpuset_pus = 16, .site_max = 4),
	     4, P(SITE_MAX), 16, P(CPUSET)),
	CASE("site max clamps an explicit count",
	     IN(COUNT(8), .cpuset_pus = 16, .site_max = 4),
	     4, P(SITE_MAX), 16, P(CPUSET), CLAMPED(8)),
	CASE("site max below both count and allocation",
	     IN(COUNT(8), .cpuset_pus = 6, .site_max = 4),
	     4, P(SITE_MAX), 6, P(CPUSET), CLAMPED(8)),
	CASE("site max above the count is ignored",
	     IN(COUNT(2), .cpuset_pus = 16, .site_max = 4),
	     2, P(REQUEST), 16, P(CPUSET)),
	CASE("site max caps the site default",
	     IN(.cpuset_pus = 16, .site_default = 8, .site_max = 4),
	     4, P(SITE_MAX), 16, P(CPUSET)),
	/* off */
	CASE("off alone", IN(OFF), 0, P(REQUEST_OFF), 1, P(FALLBACK),
	     .off = true),
	CASE("off with every other input set",
	     IN(OFF, .cpuset_pus = 8, .cpuset_cores = 4, .cpus_per_task = 4,
		.quota_cpus = 1.5, .site_default = 2, .site_max = 1,
		.workers = 4),
	     0, P(REQUEST_OFF), 2, P(CGROUP_QUOTA), .off = true),
	/* pool workers */
	CASE("8 threads over 3 workers: 2 each",
	     IN(.cpuset_pus = 8, .workers = 3),
	     2, P(WORKER_SHARE), 8, P(CPUSET)),
	CASE("2 threads over 8 workers: still 1",
	     IN(.cpuset_pus = 2, .workers = 8),
	     1, P(WORKER_SHARE), 2, P(CPUSET)),
	CASE("one worker keeps the budget", IN(.cpuset_pus = 8, .workers = 1),
	     8, P(CPUSET), 8, P(CPUSET)),
	CASE("workers split after the site max",
	     IN(COUNT(8), .cpuset_pus = 16, .site_max = 4, .workers = 2),
	     2, P(WORKER_SHARE), 16, P(CPUSET), CLAMPED(8)),
	/* SMT: 8 PUs on 4 cores */
	CASE("smt cores: 8 PUs on 4 cores gives 4",
	     IN(.cpuset_pus = 8, .cpuset_cores = 4, .smt = AZ_SMT_CORES),
	     4, P(CORES), 4, P(CORES)),
	CASE("smt pus: 8 PUs on 4 cores gives 8",
	     IN(.cpuset_pus = 8, .cpuset_cores = 4, .smt = AZ_SMT_PUS),
	     8, P(CPUSET), 8, P(CPUSET)),
	CASE("smt cores: cpus_per_task 4 PUs is 2 cores",
	     IN(.cpuset_pus = 8, .cpuset_cores = 4, .cpus_per_task = 4,
		.smt = AZ_SMT_CORES),
	     2, P(CPUS_PER_TASK), 2, P(CPUS_PER_TASK)),
	CASE("smt cores: cpus_per_task 1 stays 1",
	     IN(.cpuset_pus = 8, .cpuset_cores = 4, .cpus_per_task = 1,
		.smt = AZ_SMT_CORES),
	     1, P(CPUS_PER_TASK), 1, P(CPUS_PER_TASK)),
	CASE("smt cores with unknown cores counts PUs",
	     IN(.cpuset_pus = 8, .cpus_per_task = 4, .smt = AZ_SMT_CORES),
	     4, P(CPUS_PER_TASK), 4, P(CPUS_PER_TASK)),
	/* unknown cpuset */
	CASE("nothing known: one thread", IN(AUTO), 1, P(FALLBACK), 1,
	     P(FALLBACK)),
	CASE("unknown cpuset uses cpus_per_task", IN(.cpus_per_task = 4),
	     4, P(CPUS_PER_TASK), 4, P(CPUS_PER_TASK)),
	CASE("unknown cpuset: cpus_per_task is not split",
	     IN(.cpus_per_task = 4, .local_tasks = 2),
	     4, P(CPUS_PER_TASK), 4, P(CPUS_PER_TASK)),
	CASE("unknown cpuset: a count is clamped to 1",
	     IN(COUNT(8)), 1, P(FALLBACK), 1, P(FALLBACK), CLAMPED(8)),
	/* absurd but valid sizes */
	CASE("cpuset of 1e6 PUs is capped at 4096",
	     IN(.cpuset_pus = 1000000),
	     AZ_THREADS_MAX, P(CPUSET), AZ_THREADS_MAX, P(CPUSET)),
	CASE("1e6 PUs split among 1000 unbound tasks",
	     IN(.cpuset_pus = 1000000, .local_tasks = 1000),
	     1000, P(LOCAL_TASKS), 1000, P(LOCAL_TASKS)),
	CASE("UINT_MAX local tasks",
	     IN(.cpuset_pus = 8, .local_tasks = UINT_MAX),
	     1, P(LOCAL_TASKS), 1, P(LOCAL_TASKS)),
	CASE("UINT_MAX workers", IN(.cpuset_pus = 8, .workers = UINT_MAX),
	     1, P(WORKER_SHARE), 8, P(CPUSET)),
	CASE("quota of 1e300 CPUs is ignored",
	     IN(.cpuset_pus = 8, .quota_cpus = 1e300),
	     8, P(CPUSET), 8, P(CPUSET)),
	CASE("UINT_MAX everywhere",
	     IN(.cpuset_pus = UINT_MAX, .cpuset_cores = UINT_MAX,
		.cpus_per_task = UINT_MAX, .site_default = UINT_MAX,
		.site_max = UINT_MAX, .smt = AZ_SMT_CORES),
	     AZ_THREADS_MAX, P(CPUS_PER_TASK), AZ_THREADS_MAX,
	     P(CPUS_PER_TASK)),
	CASE("more cores than PUs (inconsistent) does not divide by zero",
	     IN(.cpuset_pus = 2, .cpuset_cores = 4, .cpus_per_task = 2,
		.smt = AZ_SMT_CORES),
	     2, P(CPUS_PER_TASK), 2, P(CPUS_PER_TASK)),
};

ParameterizedTestParameters(budget, decide)
{
	return cr_make_param_array(budget_case, cases,
				   sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(budget_case *c, budget, decide)
{
	az_budget out;
	az_error err = { "" };

	memset(&out, 0xa5, sizeof(out));
	cr_assert_eq(az_budget_decide(&c->in, &out, &err), AZ_OK, "%s: %s",
		     c->name, err.message);
	cr_expect_eq(out.off, c->off, "%s: off", c->name);
	cr_expect_eq(out.threads, c->threads, "%s: threads %u, expected %u",
		     c->name, out.threads, c->threads);
	cr_expect_eq(out.provenance, c->provenance,
		     "%s: provenance %s, expected %s", c->name,
		     az_provenance_name(out.provenance),
		     az_provenance_name(c->provenance));
	cr_expect_eq(out.allocation, c->allocation,
		     "%s: allocation %u, expected %u", c->name,
		     out.allocation, c->allocation);
	cr_expect_eq(out.allocation_provenance, c->allocation_provenance,
		     "%s: allocation provenance %s, expected %s", c->name,
		     az_provenance_name(out.allocation_provenance),
		     az_provenance_name(c->allocation_provenance));
	cr_expect_eq(out.clamped, c->clamped, "%s: clamped", c->name);
	cr_expect_eq(out.requested, c->requested, "%s: requested %u",
		     c->name, out.requested);
}

Test(budget, table_is_large_enough)
{
	cr_expect_geq(sizeof(cases) / sizeof(cases[0]), 30);
}

/* ------------------------------------------------------- rejected inputs */

typedef struct invalid_case {
	char name[48];
	az_budget_input in;
	char field[24];
} invalid_case;

static invalid_case invalid_cases[] = {
	{ "count 0", { COUNT(0), .cpuset_pus = 4 }, "request.count" },
	{ "count 4097", { COUNT(AZ_THREADS_MAX + 1) }, "request.count" },
	{ "count UINT_MAX", { COUNT(UINT_MAX) }, "request.count" },
	{ "unknown request kind", { .request = { (az_request_kind)42, 1 } },
	  "request.kind" },
	{ "NaN quota", { .quota_cpus = NAN }, "quota_cpus" },
	{ "negative quota", { .quota_cpus = -1.0 }, "quota_cpus" },
	{ "small negative quota", { .quota_cpus = -0.01 }, "quota_cpus" },
	{ "infinite quota", { .quota_cpus = INFINITY }, "quota_cpus" },
	{ "minus infinite quota", { .quota_cpus = -INFINITY }, "quota_cpus" },
	{ "unknown smt policy", { .smt = (az_smt_policy)7 }, "smt" },
	{ "unknown local source", { .local_source = (az_local_source)3 },
	  "local_source" },
};

ParameterizedTestParameters(budget, rejects)
{
	return cr_make_param_array(invalid_case, invalid_cases,
				   sizeof(invalid_cases) /
					   sizeof(invalid_cases[0]));
}

ParameterizedTest(invalid_case *c, budget, rejects)
{
	az_budget out;
	az_error err = { "" };
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "%s: ", c->field);
	cr_assert_eq(az_budget_decide(&c->in, &out, &err), AZ_ERR_INVALID,
		     "%s accepted", c->name);
	cr_expect_eq(strncmp(err.message, prefix, strlen(prefix)), 0,
		     "%s: message '%s' does not start with '%s'", c->name,
		     err.message, prefix);
	cr_expect(strstr(err.message, "expected") != NULL,
		  "%s: message '%s' gives no accepted form", c->name,
		  err.message);
	/* Without an error buffer the status alone is reported. */
	cr_expect_eq(az_budget_decide(&c->in, &out, NULL), AZ_ERR_INVALID);
}

Test(budget, quota_message_names_expected_form)
{
	az_budget_input in = { .quota_cpus = -2.0 };
	az_budget out;
	az_error err = { "" };

	az_budget_decide(&in, &out, &err);
	cr_expect_str_eq(err.message,
			 "quota_cpus: invalid value -2: expected a number >= 0 (0 = no quota)");
}

Test(budget, rejects_missing_arguments)
{
	az_budget_input in = { .cpuset_pus = 2 };
	az_budget out;

	cr_expect_eq(az_budget_decide(NULL, &out, NULL), AZ_ERR_INVALID);
	cr_expect_eq(az_budget_decide(&in, NULL, NULL), AZ_ERR_INVALID);
}

/* ------------------------------------------------------ provenance names */

Test(provenance, names_are_stable)
{
	static const char *const expected[] = {
		"request", "request_off", "site_default", "site_max",
		"cpuset", "cores", "cpus_per_task", "cgroup_quota",
		"local_tasks", "worker_share", "fallback", "pmix", "mpi_env",
	};
	unsigned i;

	cr_assert_eq(sizeof(expected) / sizeof(expected[0]),
		     AZ_PROV_MPI_ENV + 1);
	for (i = 0; i <= AZ_PROV_MPI_ENV; i++)
		cr_expect_str_eq(az_provenance_name((az_provenance)i),
				 expected[i]);
}

Test(provenance, names_round_trip)
{
	az_provenance back;
	unsigned i;

	for (i = 0; i <= AZ_PROV_MPI_ENV; i++) {
		back = (az_provenance)-1;
		cr_expect_eq(az_provenance_from_name(
				     az_provenance_name((az_provenance)i),
				     &back), AZ_OK);
		cr_expect_eq(back, (az_provenance)i, "%s",
			     az_provenance_name((az_provenance)i));
	}
}

Test(provenance, rejects_unknown_names)
{
	static const char *const bad[] = {
		"", "CPUSET", "cpuset ", " cpuset", "cpus", "unknown",
		"cpuset\n", "request_offx",
	};
	az_provenance out = AZ_PROV_CORES;
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_neq(az_provenance_from_name(bad[i], &out), AZ_OK,
			      "'%s' accepted", bad[i]);
	cr_expect_neq(az_provenance_from_name(NULL, &out), AZ_OK);
	cr_expect_eq(out, AZ_PROV_CORES, "output written on failure");
}

Test(provenance, out_of_range_value_has_a_name)
{
	cr_expect_str_eq(az_provenance_name((az_provenance)(AZ_PROV_MPI_ENV + 1)),
			 "unknown");
	cr_expect_str_eq(az_provenance_name((az_provenance)-1), "unknown");
}

/* --------------------------------------------------------- clamp message */

static void decide(const az_budget_input *in, az_budget *out)
{
	cr_assert_eq(az_budget_decide(in, out, NULL), AZ_OK);
}

static void expect_clamp_message(az_budget_input in, const char *expected)
{
	az_budget b;
	char msg[256];

	decide(&in, &b);
	az_budget_clamp_message(&b, msg, sizeof(msg));
	cr_expect_str_eq(msg, expected);
}

Test(clamp_message, allocation_clamp)
{
	expect_clamp_message((az_budget_input){ COUNT(8), .cpuset_pus = 4,
						.cpus_per_task = 2 },
			     "autozyme: requested 8 threads but the allocation allows 2 (cpus_per_task); using 2");
}

Test(clamp_message, site_max_clamp)
{
	expect_clamp_message((az_budget_input){ COUNT(8), .cpuset_pus = 16,
						.site_max = 4 },
			     "autozyme: requested 8 threads but the site maximum is 4 (site_max); using 4");
}

Test(clamp_message, empty_when_not_clamped)
{
	az_budget_input in = { COUNT(2), .cpuset_pus = 4 };
	az_budget b;
	char msg[64];

	decide(&in, &b);
	memset(msg, 'x', sizeof(msg));
	az_budget_clamp_message(&b, msg, sizeof(msg));
	cr_expect_str_eq(msg, "");
	memset(msg, 'x', sizeof(msg));
	az_budget_clamp_message(NULL, msg, sizeof(msg));
	cr_expect_str_eq(msg, "");
}

Test(clamp_message, truncates_inside_the_buffer)
{
	az_budget_input in = { COUNT(8), .cpuset_pus = 4 };
	az_budget b;
	char msg[16];

	decide(&in, &b);
	memset(msg, 'x', sizeof(msg));
	az_budget_clamp_message(&b, msg, 10);
	cr_expect_str_eq(msg, "autozyme:");
	cr_expect_eq(msg[10], 'x', "wrote past the given length");
	az_budget_clamp_message(&b, msg, 1);
	cr_expect_str_eq(msg, "");
	msg[0] = 'x';
	az_budget_clamp_message(&b, msg, 0);
	cr_expect_eq(msg[0], 'x', "wrote into a zero-length buffer");
	az_budget_clamp_message(&b, NULL, 0);
}

/* ------------------------------------------------- worker and rank shares */

static const az_budget whole_8 = {
	.threads = 8, .provenance = AZ_PROV_REQUEST, .allocation = 16,
	.allocation_provenance = AZ_PROV_CPUSET,
};

Test(shares, workers_split_the_threads_not_the_allocation)
{
	az_budget out;

	cr_assert_eq(az_budget_worker_share(&whole_8, 3, &out, NULL), AZ_OK);
	cr_expect_eq(out.threads, 2);
	cr_expect_eq(out.provenance, AZ_PROV_WORKER_SHARE);
	cr_expect_eq(out.allocation, 16);
	cr_expect_eq(out.allocation_provenance, AZ_PROV_CPUSET);
	cr_assert_eq(az_budget_worker_share(&whole_8, 64, &out, NULL), AZ_OK);
	cr_expect_eq(out.threads, 1, "at least one thread each");
}

Test(shares, one_worker_or_rank_keeps_the_budget)
{
	az_budget out;

	cr_assert_eq(az_budget_worker_share(&whole_8, 1, &out, NULL), AZ_OK);
	cr_expect_eq(memcmp(&out, &whole_8, sizeof(out)), 0);
	cr_assert_eq(az_budget_rank_share(&whole_8, 1, AZ_LOCAL_PMIX, &out,
					  NULL), AZ_OK);
	cr_expect_eq(memcmp(&out, &whole_8, sizeof(out)), 0);
}

Test(shares, ranks_split_threads_and_allocation)
{
	az_budget out;

	cr_assert_eq(az_budget_rank_share(&whole_8, 3, AZ_LOCAL_PMIX, &out,
					  NULL), AZ_OK);
	cr_expect_eq(out.threads, 2);
	cr_expect_eq(out.allocation, 5);
	cr_expect_eq(out.provenance, AZ_PROV_PMIX);
	cr_expect_eq(out.allocation_provenance, AZ_PROV_PMIX);
	cr_assert_eq(az_budget_rank_share(&whole_8, 2, AZ_LOCAL_MPI_ENV, &out,
					  NULL), AZ_OK);
	cr_expect_eq(out.provenance, AZ_PROV_MPI_ENV);
	cr_assert_eq(az_budget_rank_share(&whole_8, 2, AZ_LOCAL_SLURM, &out,
					  NULL), AZ_OK);
	cr_expect_eq(out.provenance, AZ_PROV_LOCAL_TASKS);
}

Test(shares, off_stays_off)
{
	az_budget off = { .off = true, .provenance = AZ_PROV_REQUEST_OFF,
			  .allocation = 4 }, out;

	cr_assert_eq(az_budget_worker_share(&off, 4, &out, NULL), AZ_OK);
	cr_expect(out.off);
	cr_expect_eq(out.provenance, AZ_PROV_REQUEST_OFF);
	cr_assert_eq(az_budget_rank_share(&off, 4, AZ_LOCAL_PMIX, &out, NULL),
		     AZ_OK);
	cr_expect(out.off);
	cr_expect_eq(out.allocation, 4);
}

Test(shares, refuse_zero_and_missing_arguments)
{
	az_budget out;
	az_error err = { "" };

	cr_expect_eq(az_budget_worker_share(&whole_8, 0, &out, &err),
		     AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, "workers: invalid value 0: expected 1 or more");
	cr_expect_eq(az_budget_rank_share(&whole_8, 0, AZ_LOCAL_PMIX, &out,
					  &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message, "ranks: invalid value 0: expected 1 or more");
	cr_expect_eq(az_budget_rank_share(&whole_8, 2, (az_local_source)9,
					  &out, &err), AZ_ERR_INVALID);
	cr_expect_str_eq(err.message,
			 "local_source: invalid value 9: expected slurm, pmix or mpi_env");
	cr_expect_eq(az_budget_worker_share(NULL, 2, &out, NULL),
		     AZ_ERR_INVALID);
	cr_expect_eq(az_budget_worker_share(&whole_8, 2, NULL, NULL),
		     AZ_ERR_INVALID);
}

Test(shares, decide_splits_workers_like_worker_share)
{
	az_budget_input in = { .cpuset_pus = 8, .workers = 3 };
	az_budget decided, whole, shared;

	decide(&in, &decided);
	in.workers = 0;
	decide(&in, &whole);
	cr_assert_eq(az_budget_worker_share(&whole, 3, &shared, NULL), AZ_OK);
	cr_expect_eq(memcmp(&decided, &shared, sizeof(shared)), 0);
}

/* ------------------------------------------- ranks inside one Slurm task */

static const az_budget rank_4_of_cpuset = {
	.threads = 4, .provenance = AZ_PROV_PMIX, .allocation = 4,
	.allocation_provenance = AZ_PROV_PMIX,
};

Test(within_task, a_limit_of_the_task_is_shared_by_its_ranks)
{
	az_budget out;

	/* The task asked for 6 (whole_8's kind of limit): 4 ranks get 1 each. */
	az_budget task = whole_8;

	task.threads = 6;
	cr_assert_eq(az_budget_within_task(&task, &rank_4_of_cpuset, 4,
					   AZ_LOCAL_PMIX, &out, NULL), AZ_OK);
	cr_expect_eq(out.threads, 1);
	cr_expect_eq(out.provenance, AZ_PROV_PMIX);
	cr_expect_eq(out.allocation, 4, "the rank's allocation stays its own");
	task.provenance = AZ_PROV_CGROUP_QUOTA;
	task.threads = 12;
	cr_assert_eq(az_budget_within_task(&task, &rank_4_of_cpuset, 2,
					   AZ_LOCAL_MPI_ENV, &out, NULL), AZ_OK);
	cr_expect_eq(out.threads, 4, "a share above the rank's own keeps its own");
	cr_expect_eq(out.provenance, AZ_PROV_PMIX);
}

Test(within_task, a_count_of_the_tasks_cpus_is_no_limit)
{
	az_budget task = { .threads = 1, .provenance = AZ_PROV_CPUS_PER_TASK,
			   .allocation = 1,
			   .allocation_provenance = AZ_PROV_CPUS_PER_TASK };
	az_budget out;

	/* mpirun's daemons' step: Slurm counts 1 CPU per task, whatever the cpuset. */
	cr_assert_eq(az_budget_within_task(&task, &rank_4_of_cpuset, 2,
					   AZ_LOCAL_PMIX, &out, NULL), AZ_OK);
	cr_expect_eq(memcmp(&out, &rank_4_of_cpuset, sizeof(out)), 0);
	task.off = true;
	task.provenance = AZ_PROV_REQUEST_OFF;
	cr_assert_eq(az_budget_within_task(&task, &rank_4_of_cpuset, 2,
					   AZ_LOCAL_PMIX, &out, NULL), AZ_OK);
	cr_expect_eq(out.threads, 4);
}

Test(within_task, names_what_is_missing)
{
	az_error err = { "" };
	az_budget out;

	cr_expect_eq(az_budget_within_task(NULL, &rank_4_of_cpuset, 2,
					   AZ_LOCAL_PMIX, &out, &err),
		     AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "az_budget_within_task"), "%s", err.message);
}

/* ------------------------------------------------------ user value policy */

Test(user_policy, the_users_value_wins_only_when_respected_and_not_asked)
{
	cr_expect_eq(az_budget_user_policy(true, false), AZ_KEEP_USER_VALUES);
	cr_expect_eq(az_budget_user_policy(true, true), AZ_OVERRIDE_USER_VALUES);
	cr_expect_eq(az_budget_user_policy(false, false), AZ_OVERRIDE_USER_VALUES);
	cr_expect_eq(az_budget_user_policy(false, true), AZ_OVERRIDE_USER_VALUES);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The thread budget: one pure function (no I/O, no environment) from every
 * input of az_budget_input to a thread count and the input that decided it.
 *
 * Validation.  A COUNT request outside 1..AZ_THREADS_MAX, an unknown request
 * kind, a NaN, infinite or negative quota and an unknown SMT policy are
 * refused with AZ_ERR_INVALID naming the field.  Every other number is
 * valid, however large: the arithmetic below only divides, compares and
 * caps, so nothing can overflow.  Zero means "unknown" for every limiter.
 *
 * Allocation (what the task may use), each limiter applied only when known:
 *  a) the cpuset: its PUs (cpuset), or its cores under the SMT policy
 *     "cores" (cores).  Unknown cpuset: SLURM_CPUS_PER_TASK (cpus_per_task),
 *     else one thread (fallback).
 *  b) tasks not bound to their own CPUs share the cpuset: with more than
 *     one local task it is split among them, at least 1 each, credited to
 *     whoever counted the tasks: Slurm (local_tasks), PMIx (pmix) or the
 *     launcher's variables (mpi_env).  Only a known cpuset is split: the
 *     per-task fallbacks of a) already are one task's share.  Bound tasks
 *     keep their cpuset, but when the PUs they were launched on together
 *     are known (launch_pus) at most their share of those: ranks that
 *     mpirun binds several to a socket share it.
 *  c) SLURM_CPUS_PER_TASK wins when it is at most the allocation; a tie
 *     goes to it, because "Slurm gave you -c N" is the better answer to
 *     "why N threads?".  It counts PUs, so under the SMT policy "cores" it is
 *     divided by the cpuset's PUs per core, at least 1.
 *  d) a cgroup quota, rounded up like loky and Go do, at least 1, wins when
 *     it is below the allocation (cgroup_quota).
 *  Never more than AZ_THREADS_MAX; that cap keeps the limiter's provenance.
 *
 * Decision: off sets nothing (request_off).  A count N gives N (request),
 * or the allocation when N exceeds it, marked clamped.  Auto gives the
 * allocation.  Unset gives the site default when it fits the allocation
 * (site_default), else the allocation (not clamped: clamping is about what
 * a user asked for); without a site default it is auto.
 * Then the site maximum caps the result (site_max), marking an explicit
 * count it lowered as clamped, and last more than one pool worker splits
 * the result, at least 1 each (worker_share).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A value and the input that set it. */
typedef struct azi_limit {
	unsigned value;
	az_provenance provenance;
} azi_limit;

static const char *const provenance_names[] = {
	[AZ_PROV_REQUEST] = "request",
	[AZ_PROV_REQUEST_OFF] = "request_off",
	[AZ_PROV_SITE_DEFAULT] = "site_default",
	[AZ_PROV_SITE_MAX] = "site_max",
	[AZ_PROV_CPUSET] = "cpuset",
	[AZ_PROV_CORES] = "cores",
	[AZ_PROV_CPUS_PER_TASK] = "cpus_per_task",
	[AZ_PROV_CGROUP_QUOTA] = "cgroup_quota",
	[AZ_PROV_LOCAL_TASKS] = "local_tasks",
	[AZ_PROV_WORKER_SHARE] = "worker_share",
	[AZ_PROV_FALLBACK] = "fallback",
	[AZ_PROV_PMIX] = "pmix",
	[AZ_PROV_MPI_ENV] = "mpi_env",
};
#define PROVENANCE_COUNT (sizeof(provenance_names) / sizeof(provenance_names[0]))

const char *az_provenance_name(az_provenance prov)
{
	if ((unsigned)prov >= PROVENANCE_COUNT)
		return "unknown";
	return provenance_names[prov];
}

az_status az_provenance_from_name(const char *name, az_provenance *out)
{
	unsigned i;

	for (i = 0; name && i < PROVENANCE_COUNT; i++)
		if (strcmp(name, provenance_names[i]) == 0) {
			*out = (az_provenance)i;
			return AZ_OK;
		}
	return AZ_ERR_INVALID;
}

static az_status validate_request(const az_request *req, az_error *err)
{
	switch (req->kind) {
	case AZ_REQUEST_UNSET:
	case AZ_REQUEST_AUTO:
	case AZ_REQUEST_OFF:
		return AZ_OK;
	case AZ_REQUEST_COUNT:
		if (req->count >= 1 && req->count <= AZ_THREADS_MAX)
			return AZ_OK;
		return azi_fail(err, AZ_ERR_INVALID,
				"request.count: invalid value %u: expected 1 to %u",
				req->count, AZ_THREADS_MAX);
	}
	return azi_fail(err, AZ_ERR_INVALID,
			"request.kind: invalid value %d: expected unset, auto, off or a count",
			(int)req->kind);
}

static az_status validate_source(az_local_source source, az_error *err)
{
	if (source == AZ_LOCAL_SLURM || source == AZ_LOCAL_PMIX ||
	    source == AZ_LOCAL_MPI_ENV)
		return AZ_OK;
	return azi_fail(err, AZ_ERR_INVALID,
			"local_source: invalid value %d: expected slurm, pmix or mpi_env",
			(int)source);
}

static az_status validate_input(const az_budget_input *in, az_error *err)
{
	az_status status = validate_request(&in->request, err);

	if (status != AZ_OK)
		return status;
	if (!isfinite(in->quota_cpus) || in->quota_cpus < 0)
		return azi_fail(err, AZ_ERR_INVALID,
				"quota_cpus: invalid value %g: expected a number >= 0 (0 = no quota)",
				in->quota_cpus);
	if (in->smt != AZ_SMT_PUS && in->smt != AZ_SMT_CORES)
		return azi_fail(err, AZ_ERR_INVALID,
				"smt: invalid value %d: expected pus or cores",
				(int)in->smt);
	return validate_source(in->local_source, err);
}

/* Lower *limit to value, crediting provenance, when value is at most it. */
static void lower_to(azi_limit *limit, unsigned value, az_provenance provenance)
{
	if (value <= limit->value)
		*limit = (azi_limit){ value, provenance };
}

static unsigned at_least_one(unsigned value)
{
	return value ? value : 1;
}

/* One of `n` (>= 1) equal shares of `value`, at least 1. */
static unsigned share_of(unsigned value, unsigned n)
{
	return at_least_one(value / n);
}

static const az_provenance source_provenance[] = {
	[AZ_LOCAL_SLURM] = AZ_PROV_LOCAL_TASKS,
	[AZ_LOCAL_PMIX] = AZ_PROV_PMIX,
	[AZ_LOCAL_MPI_ENV] = AZ_PROV_MPI_ENV,
};

static azi_limit cpuset_base(const az_budget_input *in)
{
	if (in->smt == AZ_SMT_CORES && in->cpuset_cores)
		return (azi_limit){ in->cpuset_cores, AZ_PROV_CORES };
	if (in->cpuset_pus)
		return (azi_limit){ in->cpuset_pus, AZ_PROV_CPUSET };
	if (in->cpus_per_task)
		return (azi_limit){ in->cpus_per_task, AZ_PROV_CPUS_PER_TASK };
	return (azi_limit){ 1, AZ_PROV_FALLBACK };
}

/* SLURM_CPUS_PER_TASK in the unit the allocation counts (PUs or cores). */
static unsigned cpus_per_task_in_units(const az_budget_input *in)
{
	unsigned pus_per_core;

	if (in->smt != AZ_SMT_CORES || !in->cpuset_pus || !in->cpuset_cores)
		return in->cpus_per_task;
	pus_per_core = at_least_one(in->cpuset_pus / in->cpuset_cores);
	return at_least_one(in->cpus_per_task / pus_per_core);
}

/* b) above: one of several tasks on the node, its cpuset `own` known. */
static azi_limit local_share(const az_budget_input *in, azi_limit own)
{
	az_provenance counted = source_provenance[in->local_source];
	unsigned launched;

	if (!in->tasks_bound)
		return (azi_limit){ share_of(own.value, in->local_tasks), counted };
	if (!in->launch_pus || in->smt == AZ_SMT_CORES) /* launch_pus counts PUs */
		return own;
	launched = share_of(in->launch_pus, in->local_tasks);
	return launched < own.value ? (azi_limit){ launched, counted } : own;
}

static azi_limit allocation(const az_budget_input *in)
{
	azi_limit limit = cpuset_base(in);
	bool cpuset_known = limit.provenance == AZ_PROV_CPUSET ||
			    limit.provenance == AZ_PROV_CORES;
	double quota;

	if (cpuset_known && in->local_tasks > 1)
		limit = local_share(in, limit);
	if (in->cpus_per_task)
		lower_to(&limit, cpus_per_task_in_units(in), AZ_PROV_CPUS_PER_TASK);
	/* Compared as doubles: a quota of 1e300 CPUs must not overflow. */
	quota = fmax(1.0, ceil(in->quota_cpus));
	if (in->quota_cpus > 0 && quota < (double)limit.value)
		limit = (azi_limit){ (unsigned)quota, AZ_PROV_CGROUP_QUOTA };
	if (limit.value > AZ_THREADS_MAX)
		limit.value = AZ_THREADS_MAX;
	return limit;
}

/* The request against the allocation, before the site maximum. */
static void decide_request(const az_budget_input *in, az_budget *out)
{
	azi_limit result = { out->allocation, out->allocation_provenance };
	const az_request *req = &in->request;

	if (req->kind == AZ_REQUEST_COUNT) {
		lower_to(&result, req->count, AZ_PROV_REQUEST);
		out->clamped = req->count > out->allocation;
		out->requested = out->clamped ? req->count : 0;
	} else if (req->kind == AZ_REQUEST_UNSET && in->site_default) {
		lower_to(&result, in->site_default, AZ_PROV_SITE_DEFAULT);
	}
	out->threads = result.value;
	out->provenance = result.provenance;
}

static void apply_site_max(const az_budget_input *in, az_budget *out)
{
	if (!in->site_max || out->threads <= in->site_max)
		return;
	out->threads = in->site_max;
	out->provenance = AZ_PROV_SITE_MAX;
	if (in->request.kind == AZ_REQUEST_COUNT) {
		out->clamped = true;
		out->requested = in->request.count;
	}
}

az_status az_budget_decide(const az_budget_input *in, az_budget *out,
			   az_error *err)
{
	azi_limit alloc;
	az_status status;

	if (!in || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"az_budget_decide: input and output are required");
	status = validate_input(in, err);
	if (status != AZ_OK)
		return status;
	alloc = allocation(in);
	*out = (az_budget){ .allocation = alloc.value,
			    .allocation_provenance = alloc.provenance };
	if (in->request.kind == AZ_REQUEST_OFF) {
		out->off = true;
		out->provenance = AZ_PROV_REQUEST_OFF;
		return AZ_OK;
	}
	decide_request(in, out);
	apply_site_max(in, out);
	return az_budget_worker_share(out, in->workers ? in->workers : 1, out,
				      err);
}

static az_status check_share(const az_budget *whole, unsigned n,
			     const char *field, const az_budget *out,
			     az_error *err)
{
	if (!whole || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: the budget and an output are required",
				field);
	if (n == 0)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: invalid value 0: expected 1 or more", field);
	return AZ_OK;
}

az_status az_budget_worker_share(const az_budget *whole, unsigned workers,
				 az_budget *out, az_error *err)
{
	az_status status = check_share(whole, workers, "workers", out, err);

	if (status != AZ_OK)
		return status;
	*out = *whole;
	if (!whole->off && workers > 1) {
		out->threads = share_of(whole->threads, workers);
		out->provenance = AZ_PROV_WORKER_SHARE;
	}
	return AZ_OK;
}

az_status az_budget_rank_share(const az_budget *whole, unsigned ranks,
			       az_local_source source, az_budget *out,
			       az_error *err)
{
	az_status status = check_share(whole, ranks, "ranks", out, err);

	if (status == AZ_OK)
		status = validate_source(source, err);
	if (status != AZ_OK)
		return status;
	*out = *whole;
	if (whole->off || ranks < 2)
		return AZ_OK;
	out->threads = share_of(whole->threads, ranks);
	out->allocation = share_of(whole->allocation, ranks);
	out->provenance = out->allocation_provenance =
		source_provenance[source];
	return AZ_OK;
}

/* A limit the task's budget set for the whole task (as opposed to the
 * count of its CPUs): the ranks started inside it share it. */
static bool limits_the_task(const az_budget *task)
{
	switch (task->provenance) {
	case AZ_PROV_REQUEST:
	case AZ_PROV_SITE_DEFAULT:
	case AZ_PROV_SITE_MAX:
	case AZ_PROV_CGROUP_QUOTA:
		return true;
	default:
		return false;
	}
}

az_status az_budget_within_task(const az_budget *task, const az_budget *rank,
				unsigned ranks, az_local_source source,
				az_budget *out, az_error *err)
{
	az_budget limit;
	az_status status;

	if (!task || !rank || !out)
		return azi_fail(err, AZ_ERR_INVALID,
				"az_budget_within_task: the task's and the rank's budgets are required");
	*out = *rank;
	if (task->off || !limits_the_task(task))
		return AZ_OK;
	status = az_budget_rank_share(task, ranks, source, &limit, err);
	if (status == AZ_OK && limit.threads < out->threads) {
		out->threads = limit.threads;
		out->provenance = limit.provenance;
	}
	return status;
}

bool az_budget_tasks_bound(unsigned local_tasks, unsigned own_pus,
			   unsigned launch_pus, bool binding_none)
{
	if (local_tasks < 2 || !own_pus || binding_none)
		return false;
	return launch_pus && own_pus < launch_pus;
}

az_user_policy az_budget_user_policy(bool respect_user_env,
				     bool explicit_request)
{
	return respect_user_env && !explicit_request ? AZ_KEEP_USER_VALUES
						     : AZ_OVERRIDE_USER_VALUES;
}

/*
 * The message is about the task's own budget, as the plugin prints it when
 * the task starts: a clamp by the site maximum is told apart by its
 * provenance, so after a worker share it reads as an allocation clamp.
 */
void az_budget_clamp_message(const az_budget *budget, char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (!budget || !budget->clamped)
		return;
	if (budget->provenance == AZ_PROV_SITE_MAX)
		snprintf(buf, len,
			 "autozyme: requested %u threads but the site maximum is %u (site_max); using %u",
			 budget->requested, budget->threads, budget->threads);
	else
		snprintf(buf, len,
			 "autozyme: requested %u threads but the allocation allows %u (%s); using %u",
			 budget->requested, budget->allocation,
			 az_provenance_name(budget->allocation_provenance),
			 budget->threads);
}

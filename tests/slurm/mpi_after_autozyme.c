/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For tests/slurm/test_mpi.sh: ask libautozyme before MPI_Init (the
 * launcher's variables count the ranks: libautozyme must not initialise
 * PMIx, or MPI_Init fails from Open MPI 5 on), then MPI_Init, a collective,
 * the local ranks again (now PMIx, which MPI initialised, counts them) and
 * MPI_Finalize, which must all work.  Prints the rank's budget, the local
 * ranks before and after MPI_Init, and the collective's result.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "process_budget.h"
#include "ranks.h"

/* The local ranks as libautozyme sees them now: "SIZE/RANK/SOURCE". */
static void ranks_now(char *out, size_t len)
{
	az_env env = az_env_process();
	az_local_ranks ranks;
	az_error err;

	if (azi_local_ranks_discover(&env, &ranks, &err) != AZ_OK) {
		fprintf(stderr, "autozyme: %s\n", err.message);
		exit(1);
	}
	snprintf(out, len, "%u/%u/%s", ranks.size, ranks.rank,
		 ranks.source == AZ_LOCAL_PMIX ? "pmix" : "mpi_env");
}

int main(int argc, char **argv)
{
	az_budget budget;
	az_error err;
	char before[64], after[64];
	int rank, size, sum = 0;

	if (azi_runtime_budget(&budget, &err) != AZ_OK) {
		fprintf(stderr, "autozyme: %s\n", err.message);
		return 1;
	}
	ranks_now(before, sizeof(before));
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	ranks_now(after, sizeof(after));
	printf("rank %d of %d: sum %d, %u threads (%s), local ranks %s, after MPI_Init %s\n",
	       rank, size, sum, budget.threads,
	       az_provenance_name(budget.provenance), before, after);
	MPI_Finalize();
	return 0;
}

/*
 * For tests/slurm/test_mpi.sh: ask libautozyme first (its PMIx client
 * initialises PMIx), then MPI_Init, a collective and MPI_Finalize, which
 * must all work; print the rank's budget and the collective's result.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include <autozyme.h>

int main(int argc, char **argv)
{
	az_budget budget;
	az_error err;
	int rank, size, sum = 0;

	if (az_runtime_budget(&budget, &err) != AZ_OK) {
		fprintf(stderr, "autozyme: %s\n", err.message);
		return 1;
	}
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	printf("rank %d of %d: sum %d, %u threads (%s)\n", rank, size, sum,
	       budget.threads, az_provenance_name(budget.provenance));
	MPI_Finalize();
	return 0;
}

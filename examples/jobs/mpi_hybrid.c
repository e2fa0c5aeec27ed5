/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hybrid MPI + OpenMP rank for examples/jobs/mpi.sbatch.  The ranks that
 * mpirun starts on one node share the cpuset of the Slurm task that started
 * them; libautozyme counts them (mpirun's variables before MPI_Init, PMIx
 * after it) and gives each rank its share (provenance "mpi_env" or "pmix").  The count goes to
 * OpenMP and the loaded BLAS with az_runtime_set_threads.
 *
 *   mpicc -fopenmp -o mpi_hybrid mpi_hybrid.c $(pkg-config --cflags --libs autozyme)
 */
#include <mpi.h>
#include <omp.h>
#include <stdio.h>

#include <autozyme.h>

int main(int argc, char **argv)
{
	const char *provenance;
	az_error err;
	unsigned threads;
	int rank, team = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	if (az_runtime_budget_threads(&threads, &provenance, &err) != AZ_OK) {
		fprintf(stderr, "rank %d: %s\n", rank, err.message);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	if (threads == 0) /* the budget is off: leave one thread */
		threads = 1;
	if (az_runtime_set_threads(threads, &threads, &err) != AZ_OK) {
		fprintf(stderr, "rank %d: %s\n", rank, err.message);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
#pragma omp parallel
	{
#pragma omp single
		team = omp_get_num_threads();
	}
	printf("rank %d: %u threads (%s), OpenMP team %d\n",
	       rank, threads, provenance, team);
	MPI_Finalize();
	return 0;
}

/*
 * A hybrid MPI + OpenMP rank for examples/jobs/mpi.sbatch.  The ranks that
 * mpirun starts on one node share the budget of the Slurm task that started
 * them.  A libautozyme that counts them itself gives each rank its share
 * (provenance "pmix" or "mpi_env"); with one that does not, each rank takes
 * budget / (ranks on the node), at least 1.  The count goes to OpenMP and
 * the loaded BLAS with az_runtime_set_threads.
 *
 *   mpicc -fopenmp -o mpi_hybrid mpi_hybrid.c $(pkg-config --cflags --libs autozyme)
 */
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include <autozyme.h>

static int ranks_on_this_node(void)
{
	MPI_Comm node;
	int size;

	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
	MPI_Comm_size(node, &size);
	MPI_Comm_free(&node);
	return size;
}

static int already_shared(const az_budget *budget)
{
	const char *why = az_provenance_name(budget->provenance);

	return strcmp(why, "pmix") == 0 || strcmp(why, "mpi_env") == 0;
}

int main(int argc, char **argv)
{
	az_budget budget;
	az_error err;
	unsigned share;
	int rank, local, team = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	local = ranks_on_this_node();
	if (az_runtime_budget(&budget, &err) != AZ_OK) {
		fprintf(stderr, "rank %d: %s\n", rank, err.message);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	share = budget.off ? 1 : budget.threads;
	if (!already_shared(&budget))
		share /= (unsigned)local;
	if (share < 1)
		share = 1;
	if (az_runtime_set_threads(share, &err) != AZ_OK) {
		fprintf(stderr, "rank %d: %s\n", rank, err.message);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
#pragma omp parallel
	{
#pragma omp single
		team = omp_get_num_threads();
	}
	printf("rank %d: budget %u (%s) shared by %d ranks on this node: %u threads, OpenMP team %d\n",
	       rank, budget.threads, az_provenance_name(budget.provenance), local, share, team);
	MPI_Finalize();
	return 0;
}

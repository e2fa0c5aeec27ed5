/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blas_openmp.h - the thread pools of the BLAS and OpenMP libraries
 * loaded in the process (blas_openmp.c).  Not to be confused with the
 * worker pools of workers.h.  For lib/runtime and its unit tests.
 */
#ifndef AZI_BLAS_OPENMP_H
#define AZI_BLAS_OPENMP_H

#include "azcore.h"

/*
 * BLAS and OpenMP runtimes already loaded in the calling process, found with
 * dl_iterate_phdr and driven through their own setters (like threadpoolctl,
 * but shared by Python and R).
 */
typedef enum az_pool_kind {
	AZ_POOL_OPENBLAS = 0, /* openblas_set_num_threads, also scipy_ / 64_ / _64 */
	AZ_POOL_MKL,          /* MKL_Set_Num_Threads */
	AZ_POOL_BLIS,         /* bli_thread_set_num_threads */
	AZ_POOL_FLEXIBLAS,    /* flexiblas_set_num_threads */
	AZ_POOL_GOMP,         /* GNU libgomp: omp_set_num_threads */
	AZ_POOL_LLVM_OMP,     /* LLVM libomp */
	AZ_POOL_INTEL_OMP     /* Intel libiomp5 */
} az_pool_kind;

/* Stable names: "openblas", "mkl", "blis", "flexiblas", "gomp", "llvm_omp", "intel_omp". */
const char *azi_pool_kind_name(az_pool_kind kind);

typedef struct az_pool {
	az_pool_kind kind;
	char *path;      /* the shared object's path */
	char *api;       /* the symbol prefix/suffix used, e.g. "scipy_openblas" */
	int threads;     /* its current maximum, -1 when it cannot say */
} az_pool;

/* Every pool loaded now.  Free with azi_pools_free. */
az_status azi_pools_list(az_pool **pools, size_t *count, az_error *err);
void azi_pools_free(az_pool *pools, size_t count);

/* Set every loaded pool to `threads` (1..AZ_THREADS_MAX); *changed counts them. */
az_status azi_pools_set_threads(unsigned threads, size_t *changed, az_error *err);

/* Set only the loaded pools of `kind`; *changed counts them (0: none loaded). */
az_status azi_pools_set_kind_threads(az_pool_kind kind, unsigned threads,
				     size_t *changed, az_error *err);

#endif

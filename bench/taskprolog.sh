#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What sites use today instead of the plugin: a task prolog that exports
# the same thread variables as AutoZyme, from --cpus-per-task (else 1).
n=${SLURM_CPUS_PER_TASK:-1}
for v in OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS \
	BLIS_NUM_THREADS VECLIB_MAXIMUM_THREADS NUMEXPR_NUM_THREADS \
	NUMBA_NUM_THREADS RCPP_PARALLEL_NUM_THREADS MC_CORES AUTOZYME_THREADS; do
	echo "export $v=$n"
done

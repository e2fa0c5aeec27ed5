# SPDX-License-Identifier: BSD-3-Clause
# The page's scripted-run snippet: the common thread variables set before
# loading packages; activate() keeps them.
Sys.setenv(OMP_NUM_THREADS = "8")
Sys.setenv(OPENBLAS_NUM_THREADS = "8")
Sys.setenv(MKL_NUM_THREADS = "8")
library(autozyme)
autozyme::activate("seurat")

cat("OMP_NUM_THREADS =", Sys.getenv("OMP_NUM_THREADS"), "\n")

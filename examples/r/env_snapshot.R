# SPDX-License-Identifier: BSD-3-Clause
# The page's "Check what is in effect": active patches, their upstream
# versions, AutoZyme, R and the OS; thread variables are read directly.
library(autozyme)
autozyme::activate("seurat")

autozyme::env_snapshot()
cat(autozyme::env_snapshot(json = TRUE), "\n")
Sys.getenv("OMP_NUM_THREADS")

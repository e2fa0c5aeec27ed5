# SPDX-License-Identifier: BSD-3-Clause
# The page's "Set thread count" snippet: a fixed thread count for AutoZyme
# and the common math libraries, then the Seurat patch.
library(autozyme)
autozyme::set_threads(8)
autozyme::activate("seurat")

cat("OMP_NUM_THREADS =", Sys.getenv("OMP_NUM_THREADS"), "\n")
pools <- autozyme::thread_info()$pools
cat("OpenBLAS threads =", pools$threads[pools$kind == "openblas"], "\n")

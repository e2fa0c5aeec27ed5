# SPDX-License-Identifier: BSD-3-Clause
# The page's fork-based workers: mclapply's workers inherit the activation.
work_fn <- function(i) {
  m <- matrix(stats::runif(200 * 200), 200)
  sum(crossprod(m)) > 0  # a BLAS call, with the thread count in force
}
items <- 1:8

library(autozyme)
autozyme::activate("seurat")
results <- parallel::mclapply(items, work_fn, mc.cores = 4)

cat("mclapply results:", sum(unlist(results)), "of", length(items), "\n")

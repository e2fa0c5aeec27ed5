# SPDX-License-Identifier: BSD-3-Clause
# The page's snow-style workers: separate R sessions, activated inside the
# cluster.  (With AutoZyme's Rprofile.site installed they would activate
# themselves; this explicit form keeps working either way.)
work_fn <- function(i) {
  m <- matrix(stats::runif(200 * 200), 200)
  sum(crossprod(m)) > 0  # a BLAS call, with the thread count in force
}
items <- 1:8

cl <- parallel::makeCluster(4)
parallel::clusterEvalQ(cl, {
  library(autozyme)
  autozyme::activate("seurat")
})
results <- parallel::parLapply(cl, items, work_fn)
parallel::stopCluster(cl)

cat("parLapply results:", sum(unlist(results)), "of", length(items), "\n")

# SPDX-License-Identifier: BSD-3-Clause
# The documentation page's R snippets (examples/r/*.R) run as scripts.

examples_dir <- file.path(Sys.getenv("AZ_TEST_SRCDIR"), "examples", "r")

run_example <- function(name) {
  run <- run_script(file.path(examples_dir, name))
  expect_equal(run$status, 0L, info = paste(run$output, collapse = "\n"))
  run$output
}

# The oversubscription guard's one line where the page asks for more threads
# than this machine's CPUs (the budget: its affinity, no request), else none.
guard_lines <- function(cause, running) {
  cpus <- length(parallel::mcaffinity())
  if (running <= cpus) return(character())
  sprintf("autozyme: warning: %s runs %d threads on %d CPU%s (%.2fx oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences this, =error refuses it",
          cause, running, cpus, if (cpus == 1L) "" else "s", running / cpus)
}

test_that("every example is run by this file", {
  expect_setequal(list.files(examples_dir, pattern = "\\.R$"),
                  c("set_threads.R", "env_before_library.R", "mclapply.R",
                    "cluster.R", "env_snapshot.R"))
})

test_that("set_threads.R: set_threads(8) then activate('seurat')", {
  expect_equal(run_example("set_threads.R"),
               c(guard_lines("set_threads(8)", 8L),
                 "OMP_NUM_THREADS = 8 ", "OpenBLAS threads = 8 "))
})

test_that("env_before_library.R: variables set before library(autozyme) are kept", {
  expect_equal(run_example("env_before_library.R"), "OMP_NUM_THREADS = 8 ")
})

test_that("mclapply.R: fork workers run the work", {
  expect_equal(run_example("mclapply.R"),
               c(guard_lines("a pool of 4 workers x 1 thread", 4L),
                 "mclapply results: 8 of 8 "))
})

test_that("cluster.R: makeCluster + clusterEvalQ + parLapply run the work", {
  output <- run_example("cluster.R")  # clusterEvalQ's value prints first
  expect_equal(output[length(output)], "parLapply results: 8 of 8 ")
})

test_that("env_snapshot.R: the snapshot names the patch and Seurat's version", {
  output <- run_example("env_snapshot.R")
  json <- grep("^\\{", output, value = TRUE)
  expect_length(json, 1L)
  expect_equal(jsonlite::fromJSON(json)$patches$upstream_version,
               as.character(packageVersion("Seurat")))
  expect_true(any(grepl("seurat", output[!grepl("^\\{", output)])))
})

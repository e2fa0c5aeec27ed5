# SPDX-License-Identifier: BSD-3-Clause
# Nested pools and the oversubscription guard in R (test-workers.R has every
# pool style giving its workers their share).  The budget comes from an
# activation file, T = 3 threads (its allocation) where the machine has 3
# CPUs, else as many as it has.

T <- file_threads(3L)

guard_line <- function(cause, running) {
  sprintf("autozyme: warning: %s runs %d threads on %d CPUs (%.2fx oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences this, =error refuses it",
          cause, running, T, running / T)
}

refusal <- function(cause, running) {
  sprintf("autozyme: %s runs %d threads on %d CPUs (%.2fx oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn or ignore allow it)",
          cause, running, T, running / T)
}

# Run R `code` under the budget T; list(status, output, report).
run_pool <- function(code, env = character()) {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script))
  writeLines(c(scenario_prelude, 'library(autozyme)', 'autozyme::activate("seurat")',
               code), script)
  run_script(script, c(AUTOZYME_ACTIVATION_FILE = write_activation(T), env))
}

mclapply_4 <- 'results <- unlist(parallel::mclapply(1:4, function(i) openblas_threads(), mc.cores = 4))'

test_that("an oversubscribed mclapply prints exactly one warning, from the parent", {
  run <- run_pool(c(mclapply_4, mclapply_4, 'report(results)'))
  expect_equal(run$status, 0L)
  expect_equal(run$output, guard_line("a pool of 4 workers x 1 thread", 4L))
  expect_equal(run$report, rep(1L, 4L))
})

test_that("an oversubscribed makeCluster prints exactly one warning", {
  run <- run_pool(c('cl <- parallel::makeCluster(4)', 'parallel::stopCluster(cl)',
                    'report(Sys.getenv("OMP_NUM_THREADS"))'))
  expect_equal(run$status, 0L)
  expect_equal(run$output, guard_line("a pool of 4 workers x 1 thread", 4L))
  expect_equal(run$report, as.character(T))
})

test_that("AUTOZYME_OVERSUBSCRIPTION=error refuses the pool with a clear message", {
  run <- run_pool(c('message <- tryCatch(parallel::makeCluster(4), error = conditionMessage)',
                    'report(list(message = message, omp = Sys.getenv("OMP_NUM_THREADS"),
                                 share = Sys.getenv("AUTOZYME_WORKER_SHARE")))'),
                  env = c(AUTOZYME_OVERSUBSCRIPTION = "error"))
  expect_equal(run$status, 0L)
  expect_equal(run$output, character())
  expect_equal(run$report, list(message = refusal("a pool of 4 workers x 1 thread", 4L),
                                omp = as.character(T), share = ""))
  run <- run_pool(mclapply_4, env = c(AUTOZYME_OVERSUBSCRIPTION = "error"))
  expect_false(run$status == 0L)
  expect_true(paste("Error:", refusal("a pool of 4 workers x 1 thread", 4L)) %in% run$output)
})

test_that("AUTOZYME_OVERSUBSCRIPTION=ignore says nothing", {
  run <- run_pool(c(mclapply_4, 'report(results)'),
                  env = c(AUTOZYME_OVERSUBSCRIPTION = "ignore"))
  expect_equal(run$status, 0L)
  expect_equal(run$output, character())
  expect_equal(run$report, rep(1L, 4L))
})

test_that("set_threads(n) above the CPUs warns once", {
  run <- run_pool(c('autozyme::set_threads(6)', 'autozyme::set_threads(6)', 'report(TRUE)'))
  expect_equal(run$output, guard_line("set_threads(6)", 6L))
})

test_that("a bad AUTOZYME_OVERSUBSCRIPTION names the variable and the accepted form", {
  run <- run_pool(c('report(c(tryCatch(autozyme::set_threads(1), error = conditionMessage),
                              tryCatch(autozyme::thread_info(), error = conditionMessage)))'),
                  env = c(AUTOZYME_OVERSUBSCRIPTION = "loud"))
  form <- "AUTOZYME_OVERSUBSCRIPTION: invalid value 'loud': expected warn, error or ignore"
  expect_equal(run$report, c(paste("set_threads(n):", form), paste("thread_info():", form)))
})

test_that("a worker's own set_threads() wins over its share", {
  run <- run_pool(c('report(unlist(parallel::mclapply(1:2, function(i) {
                       autozyme::set_threads(2)
                       openblas_threads()
                     }, mc.cores = 2)))'), env = c(AUTOZYME_OVERSUBSCRIPTION = "ignore"))
  expect_equal(run$report, c(2L, 2L))
})

test_that("thread_info() reports the latest pool and its ratio; the parent keeps T", {
  run <- run_pool(c('invisible(parallel::mclapply(1:3, identity, mc.cores = 3))',
                    'info <- autozyme::thread_info()',
                    'report(list(threads = info$threads, pool = info$pool,
                                 over = info$oversubscription, openblas = openblas_threads()))'))
  expect_equal(run$report, list(
    threads = T, pool = list(threads = T, workers = 3L, threads_per_worker = 1L),
    over = list(workers = 3L, threads_per_worker = 1L, running_threads = 3L, cpus = T,
                ratio = 3 / T, policy = "warn"),
    openblas = T))
})

# Run `lines` after the scenario prelude under the budget T; the report.
run_lines <- function(lines) {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script))
  writeLines(c(scenario_prelude, lines), script)
  run_script(script, c(AUTOZYME_ACTIVATION_FILE = write_activation(T)))$report
}

mclapply_2 <- 'report(unlist(mclapply(1:2, function(i) openblas_threads(), mc.cores = 2)))'

test_that("parallel attached before activate() is adapted too", {
  expect_equal(run_lines(c('library(parallel)', 'library(autozyme)',
                           'autozyme::activate("seurat")', mclapply_2)), c(1L, 1L))
})

test_that("parallel attached after activate() is adapted too", {
  expect_equal(run_lines(c('library(autozyme)', 'autozyme::activate("seurat")',
                           'library(parallel)', mclapply_2)), c(1L, 1L))
})

test_that("activate() loads neither parallel nor BiocParallel (their hooks wait)", {
  expect_equal(run_lines(c('autozyme::activate("seurat")',
                           'report(c("parallel", "BiocParallel") %in% loadedNamespaces())')),
               c(FALSE, FALSE))
})

test_that("a pool size the C runtime refuses gets no share: the pool's own check speaks", {
  run <- run_pool(c('report(list(zero = tryCatch(parallel::mclapply(1, identity, mc.cores = 0),
                                                 error = conditionMessage),
                                 info = is.null(autozyme::thread_info()$pool)))'))
  expect_equal(run$status, 0L)
  expect_equal(run$output, character())
  expect_equal(run$report, list(zero = "'mc.cores' must be >= 1", info = TRUE))
})

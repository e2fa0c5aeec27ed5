# SPDX-License-Identifier: BSD-3-Clause
# Every R worker style of the documentation page, checking the thread count
# each worker process really has: its OpenBLAS pool (R's BLAS), as the pool
# itself reports it, must equal its share of the budget T, max(1, T %/% W)
# for a pool of W workers, in a process other than the parent.  T comes
# from an activation file (3, or the machine's CPUs when fewer); with W = 2
# each worker's share is 1, which neither its inherited T nor OpenBLAS's
# default on two CPUs or more can be.
# future's multicore futures are no pool (one fork per future): their
# workers keep T.

T <- file_threads(3L)
W <- 2L
S <- max(1L, T %/% W)

# Runs in the worker: what it had before touching autozyme (the Seurat
# hook's option is set by activation only), then its real state.
probe_code <- '
probe <- function(i) {
  loaded <- isNamespaceLoaded("autozyme")
  custom <- getOption("parallelly.availableCores.custom")
  pools <- autozyme::thread_info()$pools
  list(pid = Sys.getpid(), loaded_at_start = loaded,
       custom_at_start = if (is.function(custom)) custom() else NA,
       openblas = pools$threads[pools$kind == "openblas"],
       patches = autozyme::env_snapshot()$patches$name)
}
'

# The parent: activate, run `workers` (code leaving `results`, a list of
# probe() results), report them with the parent's pid and what the parent
# has afterwards.
run_workers <- function(workers, env = character()) {
  run_r(c(probe_code, sprintf('
    library(autozyme)
    autozyme::activate("seurat")
    items <- 1:4
    %s
    report(list(parent = Sys.getpid(), workers = results,
                after = list(threads = autozyme::thread_info()$threads,
                             openblas = openblas_threads(),
                             omp = Sys.getenv("OMP_NUM_THREADS"),
                             share = Sys.getenv("AUTOZYME_WORKER_SHARE"))))', workers)),
    env = c(AUTOZYME_ACTIVATION_FILE = write_activation(T), env))
}

# Each worker: another process, `threads` OpenBLAS threads, the patch active
# from the start, its hook at `hook` threads (BiocParallel's workers take
# the parent's options, exported with its globals, after the fork); the
# parent still has T.
expect_workers <- function(r, threads = S, hook = threads) {
  w <- r$workers
  expect_equal(nrow(w), 4L)
  expect_false(any(w$pid == r$parent))
  expect_equal(w$openblas, rep(threads, 4L))
  expect_equal(unlist(w$patches), rep("seurat", 4L))
  expect_equal(w$loaded_at_start, rep(TRUE, 4L))
  expect_equal(w$custom_at_start, rep(hook, 4L))
  expect_equal(r$after, list(threads = T, openblas = T, omp = as.character(T),
                             share = ""))
}

test_that("parallel::mclapply workers inherit the activation (fork)", {
  expect_workers(run_workers('results <- parallel::mclapply(items, probe, mc.cores = 2)'))
})

test_that("BiocParallel::MulticoreParam workers inherit the activation (fork)", {
  expect_workers(run_workers('
    results <- BiocParallel::bplapply(items, probe,
                                      BPPARAM = BiocParallel::MulticoreParam(workers = 2))'),
    hook = T)
})

test_that("BiocParallel::MulticoreParam started first: its forked workers get their share", {
  expect_workers(run_workers('
    param <- BiocParallel::bpstart(BiocParallel::MulticoreParam(workers = 2))
    results <- BiocParallel::bplapply(items, probe, BPPARAM = param)
    BiocParallel::bpstop(param)'), hook = T)
})

test_that("parallel::makeCluster(type = \"FORK\") workers get their share", {
  expect_workers(run_workers('
    cl <- parallel::makeCluster(2, type = "FORK")
    results <- parallel::parLapply(cl, items, probe)
    parallel::stopCluster(cl)'))
})

test_that("future::multicore workers inherit the activation (fork), and T: no pool", {
  expect_workers(run_workers('
    future::plan(future::multicore, workers = 2)
    results <- lapply(lapply(items, function(i) future::future(probe(i))), future::value)'),
    threads = T)
})

test_that("makeCluster + clusterEvalQ(activate) + parLapply, the page's pattern, gives the share", {
  expect_workers(run_workers('
    cl <- parallel::makeCluster(2)
    parallel::clusterEvalQ(cl, {
      library(autozyme)
      autozyme::activate("seurat")
    })
    results <- parallel::parLapply(cl, items, probe)
    parallel::stopCluster(cl)'))
})

test_that("makeCluster + parLapply workers activate themselves with no code (site profile)", {
  expect_workers(run_workers('
    cl <- parallel::makeCluster(2)
    results <- parallel::parLapply(cl, items, probe)
    parallel::stopCluster(cl)', env = c(R_PROFILE = site_profile())))
})

# SnowParam's default exportglobals = TRUE copies the parent's options() to
# the workers, the hook's closure with them, which loads autozyme there: off,
# so that only the site profile can activate them.
test_that("BiocParallel::SnowParam workers activate themselves with no code (site profile)", {
  expect_workers(run_workers('
    results <- BiocParallel::bplapply(items, probe,
      BPPARAM = BiocParallel::SnowParam(workers = 2, exportglobals = FALSE))',
    env = c(R_PROFILE = site_profile())))
})

test_that("a fresh worker whose auto-activation fails still works, with no patch", {
  r <- run_r('
    Sys.setenv(AUTOZYME_ACTIVATE = "nosuchpatch")
    cl <- parallel::makeCluster(1)
    results <- parallel::parLapply(cl, 1:2, function(i) {
      list(loaded_at_start = isNamespaceLoaded("autozyme"),
           patches = length(autozyme::env_snapshot()$patches), double = i * 2)
    })
    parallel::stopCluster(cl)
    report(results)', env = c(R_PROFILE = site_profile()))
  expect_equal(r, data.frame(loaded_at_start = TRUE, patches = 0L, double = c(2L, 4L)))
})

# A fresh session's start-up, where a worker's auto-activation happens.
start_session <- function(env) {
  script <- tempfile(fileext = ".R")
  writeLines('cat("still running\\n")', script)
  run_script(script, env = c(R_PROFILE = site_profile(), env))
}

test_that("a failed auto-activation is one warning line, never an error", {
  run <- start_session(c(AUTOZYME_ACTIVATE = "nosuchpatch"))
  expect_equal(run$status, 0L)
  expect_equal(run$output[run$output != "still running"],
               "Warning: autozyme: could not activate 'nosuchpatch' named by AUTOZYME_ACTIVATE: activate(name): unknown patch 'nosuchpatch': known patches are cell2location, scanpy, seurat")
  expect_true("still running" %in% run$output)
})

test_that("auto-activation skips, silently, patches of another language", {
  script <- tempfile(fileext = ".R")
  writeLines(c(scenario_prelude, 'report(autozyme::env_snapshot()$patches$name)'), script)
  run <- run_script(script, env = c(R_PROFILE = site_profile(),
                                    AUTOZYME_ACTIVATE = "scanpy,seurat"))
  expect_equal(run$status, 0L)
  expect_equal(run$output, character())
  expect_equal(run$report, "seurat")
})

test_that("the site profile warns in one line when the package cannot be loaded", {
  run <- start_session(c(AUTOZYME_ACTIVATE = "seurat", R_LIBS = tempdir(),
                         R_LIBS_SITE = tempdir(), R_LIBS_USER = tempdir()))
  expect_equal(run$status, 0L)
  expect_length(run$output, 2L)
  expect_match(run$output[1L], "^Warning: autozyme: AUTOZYME_ACTIVATE is set but the R package autozyme cannot be loaded: there is no package called .autozyme.$")
  expect_equal(run$output[2L], "still running")
})

test_that("the site profile does nothing when AUTOZYME_ACTIVATE is unset", {
  r <- run_r('report(isNamespaceLoaded("autozyme"))', env = c(R_PROFILE = site_profile()))
  expect_false(r)
})

test_that("set_threads(n) in the parent: fresh workers get their share of n", {
  r <- run_r(c(probe_code, '
    library(autozyme)
    autozyme::set_threads(2)
    autozyme::activate("seurat")
    cl <- parallel::makeCluster(2)
    results <- parallel::parLapply(cl, 1:2, probe)
    parallel::stopCluster(cl)
    report(results)'), env = c(R_PROFILE = site_profile()))
  expect_equal(r$openblas, c(1L, 1L))
  expect_equal(r$custom_at_start, c(1L, 1L))
})

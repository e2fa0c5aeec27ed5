# SPDX-License-Identifier: BSD-3-Clause
# Shared by the tests: every scenario that depends on the environment a
# process starts with runs in a fresh Rscript (the C runtime decides its
# budget once per process), started with AutoZyme's variables cleared.

rscript <- "/usr/bin/Rscript"

# The thread variables the C runtime sets (lib/core/env.c), and what else must
# not leak from the test runner's environment into a scenario.
thread_vars <- c("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                 "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS",
                 "RCPP_PARALLEL_NUM_THREADS", "MC_CORES", "AUTOZYME_THREADS")
cleared_vars <- c(thread_vars, "AUTOZYMER_THREADS", "AUTOZYME_ACTIVATE",
                  "AUTOZYME_ACTIVATION_FILE", "AUTOZYME_INJECTED",
                  "AUTOZYME_INJECTED_VALUE", "GOTO_NUM_THREADS",
                  "SLURM_CPUS_PER_TASK", "R_PROFILE")

# Defined in every scenario: report(x) hands x back to the test as JSON.
scenario_prelude <- '
report <- function(x) {
  writeLines(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null", digits = NA),
             Sys.getenv("AZ_REPORT"))
}
openblas_threads <- function() {
  pools <- autozyme::thread_info()$pools
  pools$threads[pools$kind == "openblas"]
}
'

# Run `script` (a file) with Rscript in a clean environment plus `env`
# (a named character vector).  Returns list(status, output, report).
run_script <- function(script, env = character()) {
  report_file <- tempfile(fileext = ".json")
  on.exit(unlink(report_file))
  args <- c(as.vector(rbind("-u", cleared_vars)),
            sprintf("%s=%s", c(names(env), "AZ_REPORT"), c(env, report_file)),
            rscript, script)
  output <- suppressWarnings(system2("env", shQuote(args), stdout = TRUE,
                                     stderr = TRUE))
  status <- attr(output, "status")
  list(status = if (is.null(status)) 0L else status, output = output,
       report = if (file.exists(report_file)) jsonlite::fromJSON(report_file))
}

# Run R `code` as a scenario; fails the test unless it exits 0, and returns
# what it report()ed.
run_r <- function(code, env = character()) {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script))
  writeLines(c(scenario_prelude, code), script)
  run <- run_script(script, env)
  if (run$status != 0L)
    stop("scenario failed (exit ", run$status, "):\n",
         paste(run$output, collapse = "\n"), call. = FALSE)
  run$report
}

# A schema-1 activation file, as the Slurm plugin writes it (lib/core/activation.c),
# deciding `threads` threads.
write_activation <- function(threads, patches = character()) {
  path <- tempfile(fileext = ".json")
  activation <- list(
    schema = 1L,
    job = list(id = 4242L, step = "0", array_job_id = NULL, array_task_id = NULL),
    node = list(name = "node001", id = 0L),
    task = list(global_rank = 0L, local_rank = 0L, local_tasks = 1L),
    cpus = list(list = "0-1", pus = 2L, cores = 2L),
    threads = list(count = threads, off = FALSE, provenance = "cpus_per_task",
                   allocation = threads, allocation_provenance = "cpus_per_task",
                   clamped = FALSE, requested = NULL),
    patches = I(patches),
    variables = setNames(as.list(rep(as.character(threads), 2L)),
                         c("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")))
  writeLines(jsonlite::toJSON(activation, auto_unbox = TRUE, null = "null"), path)
  path
}

# The site profile snippet, as installed with the package.
site_profile <- function() {
  path <- system.file("Rprofile.site", package = "autozyme")
  stopifnot(nzchar(path))
  path
}

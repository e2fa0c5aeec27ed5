# SPDX-License-Identifier: BSD-3-Clause
# Shared by the tests: every scenario that depends on the environment a
# process starts with runs in a fresh Rscript (the C runtime decides its
# budget once per process), started with AutoZyme's variables cleared.

rscript <- "/usr/bin/Rscript"

# The thread variables the C runtime sets (lib/core/env.c's list, as the
# build tree's autozyme-info --thread-variables prints it), and what else
# must not leak from the test runner's environment into a scenario.
thread_vars <- local({
  info <- file.path(Sys.getenv("AZ_TEST_BUILDDIR"), "tools", "autozyme-info")
  names <- if (file.exists(info))
    suppressWarnings(system2(info, "--thread-variables", stdout = TRUE))
  if (length(names) == 0L || !is.null(attr(names, "status")))
    stop(sprintf("%s --thread-variables failed (AZ_TEST_BUILDDIR: run tests/r/run.sh BUILDDIR)", info))
  names
})
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

# The CPUs this process may run on (its affinity, as the runtime counts them).
cpus_allowed <- function() {
  line <- grep("^Cpus_allowed_list:", readLines("/proc/self/status"), value = TRUE)
  ranges <- strsplit(strsplit(trimws(sub("^Cpus_allowed_list:", "", line)), ",")[[1]], "-")
  sum(vapply(ranges, function(r) diff(as.integer(c(r, r[1])[1:2])) + 1L, integer(1)))
}

# The threads a task of write_activation()'s step gets here: its cpus per
# task, within the CPUs this process may run on.
file_threads <- function(threads) min(as.integer(threads), cpus_allowed())

# A step's activation file as the Slurm plugin writes it (schema 2,
# lib/core/activation.c): one task with --cpus-per-task=`threads` on this
# machine's CPUs, so its budget is file_threads(threads).
write_activation <- function(threads, patches = character()) {
  path <- tempfile(fileext = ".json")
  count <- file_threads(threads)
  activation <- list(
    schema = 2L,
    job = list(id = 4242L, step = "0", array_job_id = NULL, array_task_id = NULL),
    node = list(id = 0L),
    cpus = list(list = "0", pus = cpus_allowed(), cores = cpus_allowed()),
    inputs = list(request = "unset", count = NULL, explicit = FALSE,
                  cpus_per_task = as.integer(threads), quota = 0L, local_tasks = 1L,
                  binding_none = FALSE, default_threads = NULL, max_threads = NULL,
                  smt = "pus"),
    threads = list(count = count, off = FALSE, provenance = "cpus_per_task",
                   allocation = count, allocation_provenance = "cpus_per_task",
                   clamped = FALSE, requested = NULL),
    patches = I(patches),
    thread_variables = I(c("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")),
    variables = setNames(list(), character()))
  writeLines(jsonlite::toJSON(activation, auto_unbox = TRUE, null = "null"), path)
  path
}

# The site profile snippet, as installed with the package.
site_profile <- function() {
  path <- system.file("Rprofile.site", package = "autozyme")
  stopifnot(nzchar(path))
  path
}

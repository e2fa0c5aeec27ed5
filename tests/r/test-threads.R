# SPDX-License-Identifier: BSD-3-Clause
# set_threads(), the budget's environment requests, and the page's
# "set the variables before loading packages" snippet.

test_that("set_threads(n) sets every thread variable and R's OpenBLAS to n", {
  r <- run_r(sprintf('
    before <- openblas_threads()
    autozyme::set_threads(3)
    report(list(before = before, after = openblas_threads(),
                vars = as.list(Sys.getenv(c(%s))),
                info = autozyme::thread_info()[c("threads", "provenance", "explicit")]))',
    toString(dQuote(thread_vars, FALSE))))
  expect_false(r$before == 3)
  expect_equal(r$after, 3)
  expect_equal(unlist(r$vars), setNames(rep("3", length(thread_vars)), thread_vars))
  expect_equal(r$info, list(threads = 3L, provenance = "set_threads", explicit = 3L))
})

test_that("set_threads(n) overrides values the user exported", {
  r <- run_r('autozyme::set_threads(2)
              report(as.list(Sys.getenv(c("OMP_NUM_THREADS", "MKL_NUM_THREADS"))))',
             env = c(OMP_NUM_THREADS = "8", MKL_NUM_THREADS = "8"))
  expect_equal(r, list(OMP_NUM_THREADS = "2", MKL_NUM_THREADS = "2"))
})

test_that("set_threads(n) before activate() wins over the budget", {
  r <- run_r('library(autozyme)
              autozyme::set_threads(1)
              autozyme::activate("seurat")
              report(list(openblas = openblas_threads(), mc_cores = getOption("mc.cores"),
                          omp = Sys.getenv("OMP_NUM_THREADS")))',
             env = c(AUTOZYME_ACTIVATION_FILE = write_activation(3L)))
  expect_equal(r, list(openblas = 1L, mc_cores = 1L, omp = "1"))
})

test_that("set_threads(n) after activate() re-applies the active patches", {
  r <- run_r('autozyme::activate("seurat")
              first <- getOption("mc.cores")
              autozyme::set_threads(1)
              report(list(first = first, then = getOption("mc.cores"),
                          custom = getOption("parallelly.availableCores.custom")()))',
             env = c(AUTOZYME_ACTIVATION_FILE = write_activation(3L)))
  expect_equal(r, list(first = file_threads(3L), then = 1L, custom = 1L))
})

# The machine's own count (no request) is the budget these requests change.
for (var in c("AUTOZYME_THREADS", "AUTOZYMER_THREADS")) {
  test_that(sprintf("%s=1 is the request activate() applies", var), {
    env <- setNames("1", var)
    r <- run_r('autozyme::activate("seurat")
                info <- autozyme::thread_info()
                report(list(threads = info$threads, provenance = info$provenance,
                            openblas = openblas_threads(),
                            omp = Sys.getenv("OMP_NUM_THREADS")))', env = env)
    expect_equal(r, list(threads = 1L, provenance = "request", openblas = 1L, omp = "1"))
  })
}

test_that("AUTOZYME_THREADS wins over the older AUTOZYMER_THREADS", {
  skip_if(parallel::detectCores() < 2L, "needs 2 CPUs to tell the two requests apart")
  r <- run_r('report(autozyme::thread_info()$threads)',
             env = c(AUTOZYME_THREADS = "1", AUTOZYMER_THREADS = "2"))
  expect_equal(r, 1L)
})

test_that("a malformed AUTOZYME_THREADS is refused naming the variable and the form", {
  r <- run_r('report(tryCatch(autozyme::activate("seurat"), error = conditionMessage))',
             env = c(AUTOZYME_THREADS = "lots"))
  expect_match(r, "^activate\\(name\\): AUTOZYME_THREADS")
  expect_match(r, "auto")
})

# The loaded pools, as list(kind = threads): R's OpenBLAS and libgomp here.
pool_threads <- '
pool_threads <- function() {
  pools <- autozyme::thread_info()$pools
  as.list(setNames(pools$threads, pools$kind))
}
'

test_that("variables set before library(autozyme) are kept by activate() (the page's snippet)", {
  r <- run_r(c(pool_threads, '
    Sys.setenv(OMP_NUM_THREADS = "8")
    Sys.setenv(OPENBLAS_NUM_THREADS = "8")
    Sys.setenv(MKL_NUM_THREADS = "8")
    library(autozyme)
    autozyme::activate("seurat")
    report(list(vars = as.list(Sys.getenv(c("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "MKL_NUM_THREADS", "BLIS_NUM_THREADS"))),
                pools = pool_threads()))'),
    env = c(AUTOZYME_ACTIVATION_FILE = write_activation(3L)))
  expect_equal(r$vars, list(OMP_NUM_THREADS = "8", OPENBLAS_NUM_THREADS = "8",
                            MKL_NUM_THREADS = "8",
                            BLIS_NUM_THREADS = as.character(file_threads(3L))))
  expect_equal(r$pools$openblas, 8L)
  skip_if(is.null(r$pools$gomp), "this R does not load libgomp")
  expect_equal(r$pools$gomp, 8L)
})

test_that("a library whose variable the user left alone gets the budget", {
  r <- run_r(c(pool_threads, '
    Sys.setenv(OPENBLAS_NUM_THREADS = "1")
    library(autozyme)
    autozyme::activate("seurat")
    report(list(omp = Sys.getenv("OMP_NUM_THREADS"), pools = pool_threads()))'),
    env = c(AUTOZYME_ACTIVATION_FILE = write_activation(3L)))
  expect_equal(r$omp, as.character(file_threads(3L)))
  expect_equal(r$pools$openblas, 1L)
  skip_if(is.null(r$pools$gomp), "this R does not load libgomp")
  expect_equal(r$pools$gomp, file_threads(3L))
})

test_that("the activation file's budget drives activate() and thread_info()", {
  file <- write_activation(3L)
  r <- run_r('autozyme::activate("seurat")
              info <- autozyme::thread_info()
              report(list(threads = info$threads, read = info$activation_file_read,
                          file = info$activation_file, openblas = openblas_threads()))',
             env = c(AUTOZYME_ACTIVATION_FILE = file))
  expect_equal(r, list(threads = file_threads(3L), read = TRUE, file = file,
                       openblas = file_threads(3L)))
})

test_that("set_threads() refuses anything but one whole number in range, naming the form", {
  for (bad in list("8", 0, -1, 2.5, 5000, NA_real_, c(1, 2), NULL)) {
    expect_error(autozyme::set_threads(bad),
                 "^set_threads\\(n\\): n must be a single whole number from 1 to 4096, got ")
  }
})

test_that("set_threads() words the C runtime's refusal, naming the value given", {
  expected <- c("-1" = "-1", "1e12" = "1000000000000", "1e30" = "1e+30",
                "-Inf" = "-Inf", "'8'" = "\"8\"", "TRUE" = "TRUE")
  for (bad in names(expected))
    expect_identical(tryCatch(autozyme::set_threads(eval(parse(text = bad))),
                              error = conditionMessage),
                     paste0("set_threads(n): n must be a single whole number from 1 to 4096, got ",
                            expected[[bad]]))
})

test_that("set_threads(n) returns the count it applied, invisibly", {
  r <- run_r('applied <- withVisible(autozyme::set_threads(3))
              report(list(value = applied$value, integer = is.integer(applied$value),
                          visible = applied$visible,
                          threads = autozyme::thread_info()$threads))')
  expect_equal(r, list(value = 3L, integer = TRUE, visible = FALSE, threads = 3L))
})

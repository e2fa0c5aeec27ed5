# SPDX-License-Identifier: BSD-3-Clause
# Malformed input to the R runtime (docs/bad-input.md): a clear error naming
# the argument or variable and the accepted form, or, for an activation file
# that cannot be read, a fallback that thread_info() explains.

test_that("set_threads() refuses overflow, infinities and non-numbers, naming the form", {
  for (bad in list(1e30, Inf, -Inf, NaN, TRUE, list(4), "abc", "", 4097))
    expect_error(autozyme::set_threads(bad),
                 "^set_threads\\(n\\): n must be a single whole number from 1 to 4096, got ")
})

test_that("activate() refuses empty, huge, unicode, path-trick and list names, with the form last", {
  for (bad in c(strrep("x", 100000), "caf\u00e9", "../seurat", "seurat,scanpy", "SEURAT", " seurat")) {
    message <- tryCatch(autozyme::activate(bad), error = conditionMessage)
    expect_match(message, "^activate\\(name\\): invalid patch name '")
    expect_match(message, "expected \\[a-z0-9\\]\\[a-z0-9_.-\\]\\{0,63\\}$")
    expect_lt(nchar(message), 300)
  }
})

test_that("a malformed AUTOZYME_THREADS is refused naming the variable, however long", {
  for (value in c("0", "-1", "4097", "1e3", strrep("7", 100000))) {
    r <- run_r('report(tryCatch(autozyme::activate("seurat"), error = conditionMessage))',
               env = c(AUTOZYME_THREADS = value))
    expect_match(r, "AUTOZYME_THREADS: invalid value '")
    expect_match(r, "expected N \\(1 to 4096\\), auto or off$")
  }
})

test_that("an activation file that cannot be read is named, with the reason, and the budget is discovered", {
  dir <- tempfile()
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  good <- write_activation(1)
  link <- file.path(dir, "link.json")
  file.symlink(good, link)
  dup <- file.path(dir, "dup.json")
  writeLines(sub('"schema": ?2', '"schema": 2, "schema": 2', readLines(good)), dup)
  cases <- list(c(dir, "not a regular file"), c(link, "refusing a symbolic link"),
                c(dup, "schema: duplicate key"),
                c(file.path(dir, "missing.json"), "No such file or directory"))
  for (case in cases) {
    r <- run_r('i <- autozyme::thread_info(); report(list(read = i$activation_file_read, error = i$activation_error))',
               env = c(AUTOZYME_ACTIVATION_FILE = case[1]))
    expect_false(r$read)
    expect_match(r$error, case[2], fixed = TRUE)
  }
})

test_that("a malformed AUTOZYME_ACTIVATE never stops a fresh R session", {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script))
  writeLines(c(scenario_prelude, 'library(autozyme); report("alive")'), script)
  r <- run_script(script, env = c(AUTOZYME_ACTIVATE = "../x,seurat"))
  expect_equal(r$status, 0L)
  expect_equal(r$report, "alive")
  # The core's parse, Python's warning: one line naming the variable.
  expect_equal(grep("autozyme", r$output, value = TRUE),
               paste0("Warning: autozyme: this session did not activate AUTOZYME_ACTIVATE='../x,seurat': ",
                      "AUTOZYME_ACTIVATE: invalid patch name '../x': ",
                      "expected NAME[,NAME...] with names matching [a-z0-9][a-z0-9_.-]{0,63}"))
})

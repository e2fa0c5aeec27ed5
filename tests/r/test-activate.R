# SPDX-License-Identifier: BSD-3-Clause
# activate(): the Seurat patch against Debian's real r-cran-seurat, errors,
# and env_snapshot().

# A registry directory holding `manifests` (name -> JSON text), searched
# before the source tree's patches/.
patch_path <- function(manifests) {
  dir <- tempfile("patches")
  dir.create(dir)
  for (name in names(manifests))
    writeLines(manifests[[name]], file.path(dir, paste0(name, ".json")))
  paste(dir, Sys.getenv("AUTOZYME_PATCH_PATH"), sep = ":")
}

r_manifest <- function(name, upstream, min_version = "1.0",
                       hook = "autozyme:::patch_seurat") {
  sprintf('{"schema": 1, "name": "%s", "description": "test patch", "version": "1",
            "languages": {"r": {"upstream": "%s", "min_version": "%s", "hook": "%s"}}}',
          name, upstream, min_version, hook)
}

test_that("activate('seurat') records Seurat's installed version without loading it", {
  r <- run_r('library(autozyme)
              autozyme::activate("seurat")
              report(list(patches = autozyme::env_snapshot()$patches,
                          loaded = "Seurat" %in% loadedNamespaces(),
                          attached = "package:Seurat" %in% search()))')
  expect_equal(r$patches, data.frame(name = "seurat", upstream = "Seurat",
                                     upstream_version = as.character(packageVersion("Seurat"))))
  expect_false(r$loaded)
  expect_false(r$attached)
})

test_that("activate('seurat') gives Seurat's future workers the thread count", {
  r <- run_r('autozyme::activate("seurat")
              future::plan(future::multicore)
              multicore <- future::nbrOfWorkers()
              future::plan(future::multisession)
              report(list(mc_cores = getOption("mc.cores"),
                          custom = getOption("parallelly.availableCores.custom")(),
                          available = unname(parallelly::availableCores()),
                          multicore = multicore,
                          multisession = future::nbrOfWorkers()))',
             env = c(AUTOZYME_ACTIVATION_FILE = write_activation(1L)))
  expect_equal(r, list(mc_cores = 1L, custom = 1L, available = 1L,
                       multicore = 1L, multisession = 1L))
})

test_that("activate() is idempotent, and exports AUTOZYME_ACTIVATE for workers", {
  r <- run_r('autozyme::activate("seurat")
              autozyme::activate("seurat")
              report(list(patches = autozyme::env_snapshot()$patches$name,
                          exported = Sys.getenv("AUTOZYME_ACTIVATE")))')
  expect_equal(r, list(patches = "seurat", exported = "seurat"))
})

test_that("an unknown patch is refused with the list of known patches", {
  expect_error(autozyme::activate("nosuchpatch"),
               "^activate\\(name\\): unknown patch 'nosuchpatch': known patches are .*seurat")
})

test_that("activate() refuses names that are not one string, naming the form", {
  for (bad in list(1, c("seurat", "scanpy"), NA_character_, "", NULL))
    expect_error(autozyme::activate(bad),
                 "^activate\\(name\\): name must be one patch name as a string, such as \"seurat\", got ")
  expect_error(autozyme::activate("Seurat!"),
               "^activate\\(name\\): invalid patch name 'Seurat!': expected \\[a-z0-9\\]")
})

test_that("a patch with no R side is refused", {
  expect_error(autozyme::activate("scanpy"),
               "^activate\\(name\\): patch 'scanpy' has no R side \\(languages: Python\\)")
})

test_that("a patch whose upstream R package is not installed stops clearly, recording nothing", {
  r <- run_r('report(list(error = tryCatch(autozyme::activate("ghost"), error = conditionMessage),
                          patches = length(autozyme::env_snapshot()$patches),
                          exported = Sys.getenv("AUTOZYME_ACTIVATE")))',
             env = c(AUTOZYME_PATCH_PATH = patch_path(list(ghost = r_manifest("ghost", "autozymeGhostPkg")))))
  expect_match(r$error, "^activate\\(name\\): patch 'ghost' needs the R package 'autozymeGhostPkg', which is not installed in /")
  expect_equal(r$patches, 0L)
  expect_equal(r$exported, "")
})

test_that("an upstream older than the manifest's min_version stops clearly", {
  r <- run_r('report(tryCatch(autozyme::activate("future-new"), error = conditionMessage))',
             env = c(AUTOZYME_PATCH_PATH = patch_path(list(`future-new` = r_manifest("future-new", "future", "99.0")))))
  expect_equal(r, sprintf("activate(name): patch 'future-new' needs future >= 99.0, found %s",
                          packageVersion("future")))
})

test_that("a manifest naming a hook in the wrong form stops clearly", {
  r <- run_r('report(tryCatch(autozyme::activate("badhook"), error = conditionMessage))',
             env = c(AUTOZYME_PATCH_PATH = patch_path(list(badhook = r_manifest("badhook", "future", hook = "patch_seurat")))))
  expect_equal(r, "activate(name): patch 'badhook' names the hook 'patch_seurat': expected the form package::function or package:::function")
})

test_that("a manifest naming a hook that does not exist stops clearly, recording nothing", {
  manifests <- list(nopkg = r_manifest("nopkg", "future", hook = "autozymeGhostPkg:::hook"),
                    nofun = r_manifest("nofun", "future", hook = "autozyme:::patch_nothing"))
  r <- run_r('report(list(nopkg = tryCatch(autozyme::activate("nopkg"), error = conditionMessage),
                          nofun = tryCatch(autozyme::activate("nofun"), error = conditionMessage),
                          patches = length(autozyme::env_snapshot()$patches)))',
             env = c(AUTOZYME_PATCH_PATH = patch_path(manifests)))
  expect_match(r$nopkg, "^activate\\(name\\): patch 'nopkg' names the hook 'autozymeGhostPkg:::hook', whose package autozymeGhostPkg cannot be loaded: there is no package")
  expect_equal(r$nofun, "activate(name): patch 'nofun' names the hook 'autozyme:::patch_nothing', which is not a function of package autozyme")
  expect_equal(r$patches, 0L)
})

test_that("env_snapshot() has patches, versions and platform details, and no thread variables", {
  r <- run_r('autozyme::activate("seurat")
              report(list(snapshot = autozyme::env_snapshot(),
                          json = autozyme::env_snapshot(json = TRUE)))',
             env = c(AUTOZYME_THREADS = "1"))
  snap <- r$snapshot
  expect_setequal(names(snap), c("autozyme_version", "language", "os", "patches"))
  expect_equal(snap$autozyme_version, as.character(packageVersion("autozyme")))
  expect_equal(snap$language, list(name = "R", version = as.character(getRversion())))
  expect_equal(snap$os, as.list(Sys.info()[c("sysname", "release", "machine")]))
  expect_equal(snap$patches$upstream_version, as.character(packageVersion("Seurat")))
  expect_equal(jsonlite::fromJSON(r$json), snap)
  for (name in c(thread_vars, "threads"))
    expect_false(grepl(name, r$json, fixed = TRUE), info = name)
})

test_that("env_snapshot() before any activation lists no patches", {
  expect_length(autozyme::env_snapshot()$patches, 0L)
  expect_error(autozyme::env_snapshot(json = "yes"),
               "^env_snapshot\\(json\\): must be TRUE or FALSE, got \"yes\"")
})

# SPDX-License-Identifier: BSD-3-Clause
# An R Slurm task using the runtime as the documentation page shows: activate
# the task's patch, then print (one JSON line) what the runtime decided, what
# R's OpenBLAS really runs with, the Seurat knob and env_snapshot()'s patches.
library(autozyme)
autozyme::activate("seurat")
info <- autozyme::thread_info()
snapshot <- autozyme::env_snapshot()
cat(jsonlite::toJSON(list(
  rank = as.integer(Sys.getenv("SLURM_PROCID")),
  threads = info$threads,
  provenance = info$provenance,
  file_read = info$activation_file_read,
  openblas = info$pools$threads[info$pools$kind == "openblas"],
  mc_cores = getOption("mc.cores"),
  snapshot_patches = snapshot$patches$name
), auto_unbox = TRUE), "\n", sep = "")

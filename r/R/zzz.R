# Fresh R sessions started inside an activated process (PSOCK / makeCluster
# and SnowParam workers, Rscript in a Slurm task) inherit AUTOZYME_ACTIVATE:
# loading the package activates those patches, so the workers need no code.
# Patches without an R side (Python's, for a Python parent) are skipped; a
# failure costs one warning line, never the worker.
.onLoad <- function(libname, pkgname) {
  auto_activate(Sys.getenv("AUTOZYME_ACTIVATE"))
}

auto_activate <- function(names) {
  for (name in trimws(strsplit(names, ",", fixed = TRUE)[[1L]])) {
    if (!nzchar(name)) next
    if (!.Call(C_has_side, name, "r") && .Call(C_has_side, name, "python")) next
    tryCatch(activate_patch(name), error = function(e) {
      warning(sprintf("autozyme: could not activate '%s' named by AUTOZYME_ACTIVATE: %s",
                      name, conditionMessage(e)), call. = FALSE, immediate. = TRUE)
    })
  }
}

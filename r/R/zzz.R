# SPDX-License-Identifier: BSD-3-Clause
# libautozyme is loaded before the package's own shared object, which needs
# it: glibc then satisfies autozyme.so's NEEDED libautozyme.so.0 with the
# copy already loaded (same SONAME).  So NAMESPACE has no useDynLib, which
# would load autozyme.so before any hook and fail with the loader's message.
# Fresh R sessions started inside an activated process (PSOCK / makeCluster
# and SnowParam workers, Rscript in a Slurm task) inherit AUTOZYME_ACTIVATE:
# loading the package activates those patches, so the workers need no code.
.onLoad <- function(libname, pkgname) {
  dll <- load_dlls(pkgname, libname)
  # What useDynLib(.registration = TRUE, .fixes = "C_") would define.
  routines <- getDLLRegisteredRoutines(dll)$.Call
  for (name in names(routines))
    assign(paste0("C_", name), routines[[name]], envir = asNamespace(pkgname))
  if (nzchar(Sys.getenv("AUTOZYME_ACTIVATE"))) auto_activate()
}

.onUnload <- function(libpath) {
  library.dynam.unload("autozyme", libpath)
}

# libautozyme comes from the first of: AUTOZYME_LIBRARY (a path, for a
# library moved or never installed), the libdir of the AutoZyme the package
# was built for (recorded_libdir, written by configure), the dynamic
# loader's search path, where it looks for autozyme.so's NEEDED
# libautozyme.so.0 (dyn.load takes only paths).  The order of Python's
# autozyme/_lib.py, and its one warning when AUTOZYME_LIBRARY fails and
# another place has the library.  None: one error naming the three, with
# the loader's reason.
load_dlls <- function(pkgname, libname) {
  variable <- Sys.getenv("AUTOZYME_LIBRARY")
  recorded <- if (nzchar(recorded_libdir)) file.path(recorded_libdir, "libautozyme.so.0")
  loaded <- c(place = "the dynamic loader's search path", path = "libautozyme.so.0")
  failed <- NULL
  for (path in c(if (nzchar(variable)) variable, recorded)) {
    outcome <- try(dyn.load(path, local = FALSE), silent = TRUE)
    if (!inherits(outcome, "try-error")) {
      loaded <- c(place = if (identical(path, variable)) "AUTOZYME_LIBRARY"
                          else "the libdir recorded at build time", path = path)
      break
    }
    if (identical(path, variable)) failed <- loader_reason(outcome)
  }
  dll <- tryCatch(library.dynam(pkgname, pkgname, libname), error = function(e) {
    stop(sprintf(paste("autozyme: cannot load libautozyme.so.0; tried AUTOZYME_LIBRARY (%s),",
                       "the recorded libdir (%s) and the dynamic loader's search path",
                       "(LD_LIBRARY_PATH, ld.so.cache), which says: %s. Install AutoZyme's",
                       "library (the Debian package libautozyme0, or AutoZyme's make install),",
                       "or set AUTOZYME_LIBRARY to the path of libautozyme.so.0."),
                 if (nzchar(variable)) variable else "unset",
                 if (nzchar(recorded_libdir)) recorded_libdir else "none",
                 loader_reason(e)),
         call. = FALSE)
  })
  if (!is.null(failed))  # the user's explicit choice failed: say so
    warning(sprintf("autozyme: AUTOZYME_LIBRARY (%s); using %s from %s", failed,
                    loaded[["path"]], loaded[["place"]]), call. = FALSE, immediate. = TRUE)
  dll
}

# The dynamic loader's own words in dyn.load's error (a condition or a
# try-error), without R's "unable to load shared object" line.
loader_reason <- function(error) {
  message <- if (inherits(error, "try-error")) attr(error, "condition") else error
  sub("(?s).*\n\\s*", "", conditionMessage(message), perl = TRUE)
}

# The core parses the list, as for Python and the plugin.  Patches without
# an R side (Python's, for a Python parent) are skipped; a failure costs one
# warning line, never the worker.
auto_activate <- function() {
  names <- tryCatch(jsonlite::fromJSON(.Call(C_inherited_patches)), error = function(e) {
    warning(sprintf("autozyme: this session did not activate AUTOZYME_ACTIVATE='%s': %s",
                    Sys.getenv("AUTOZYME_ACTIVATE"), conditionMessage(e)),
            call. = FALSE, immediate. = TRUE)
    character(0)
  })
  for (name in names) {
    if (!.Call(C_has_side, name, "r") && .Call(C_has_side, name, "python")) next
    tryCatch(activate_patch(name), error = function(e) {
      warning(sprintf("autozyme: could not activate '%s' named by AUTOZYME_ACTIVATE: %s",
                      name, conditionMessage(e)), call. = FALSE, immediate. = TRUE)
    })
  }
}

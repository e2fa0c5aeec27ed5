# SPDX-License-Identifier: BSD-3-Clause
# The R face of the AutoZyme runtime.  The C library decides and records
# (budget, variables, thread pools, active patches, JSON); R adds only what
# R alone can do: find upstream package versions and run R patch hooks.

# Hooks of the active patches, re-run when set_threads() changes the count.
.hooks <- new.env(parent = emptyenv())

# The C runtime checks n's range and words the refusal; the count it
# applied comes back.
set_threads <- function(n) {
  applied <- .Call(C_set_threads, thread_count(n), describe(n))
  apply_hooks(threads = applied)
  install_pool_traces()
  invisible(applied)
}

activate <- function(name) {
  check_name(name)
  activate_patch(name)
}

# After the checks R alone can make (upstream installed and recent enough,
# hook found), so that a refused patch is never recorded nor exported.  The
# C runtime refuses an unknown patch, or one without an R side, here: not in
# a promise of check_side(), where upstream_version() would catch it.
activate_patch <- function(name) {
  side <- .Call(C_find_patch, name)
  checked <- check_side(side)
  .Call(C_activate, name)
  .Call(C_set_upstream_version, name, checked$version)
  assign(name, checked$hook, envir = .hooks)
  apply_hooks(name)
  install_pool_traces()
  invisible(name)
}

check_side <- function(side) {
  version <- upstream_version(side$upstream)
  check_upstream(side, version)
  list(version = version, hook = hook_function(side))
}

env_snapshot <- function(json = FALSE) {
  check_flag(json, "env_snapshot(json)")
  text <- .Call(C_snapshot, paste(R.version$major, R.version$minor, sep = "."))
  if (json) text else jsonlite::fromJSON(text)
}

thread_info <- function() {
  jsonlite::fromJSON(.Call(C_thread_info))
}

# ---------------------------------------------------------------- helpers

check_name <- function(name) {
  if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name))
    stop(sprintf("activate(name): name must be one patch name as a string, such as \"seurat\", got %s",
                 describe(name)), call. = FALSE)
}

# n as the number C_set_threads hands the C runtime: one whole number, as
# a double; NA for anything else, which the C runtime refuses as no count.
thread_count <- function(n) {
  if (is.numeric(n) && length(n) == 1L && !is.na(n) && n == trunc(n))
    as.double(n)
  else NA_real_
}

check_flag <- function(x, where) {
  if (!is.logical(x) || length(x) != 1L || is.na(x))
    stop(sprintf("%s: must be TRUE or FALSE, got %s", where, describe(x)),
         call. = FALSE)
}

# A short rendering of a bad argument for error messages.
describe <- function(x) {
  text <- paste(deparse(x, width.cutoff = 60L, nlines = 1L), collapse = "")
  if (nchar(text) > 60L) paste0(substr(text, 1L, 57L), "...") else text
}

# The installed version, read from its DESCRIPTION: nothing is loaded or attached.
upstream_version <- function(package) {
  tryCatch(as.character(utils::packageVersion(package)),
           error = function(e) NULL)
}

check_upstream <- function(patch, version) {
  if (is.null(version))
    stop(sprintf("activate(name): patch '%s' needs the R package '%s', which is not installed in %s",
                 patch$name, patch$upstream, paste(.libPaths(), collapse = ":")),
         call. = FALSE)
  .Call(C_check_upstream_version, patch$name, version)
}

# The manifest names the hook as "pkg::function" or "pkg:::function".
hook_function <- function(patch) {
  parts <- regmatches(patch$hook, regexec("^([A-Za-z][A-Za-z0-9.]*):::?([A-Za-z.][A-Za-z0-9._]*)$",
                                          patch$hook))[[1L]]
  if (length(parts) != 3L)
    stop(sprintf("activate(name): patch '%s' names the hook '%s': expected the form package::function or package:::function",
                 patch$name, patch$hook), call. = FALSE)
  namespace <- tryCatch(asNamespace(parts[2L]), error = function(e) {
    stop(sprintf("activate(name): patch '%s' names the hook '%s', whose package %s cannot be loaded: %s",
                 patch$name, patch$hook, parts[2L], conditionMessage(e)), call. = FALSE)
  })
  hook <- get0(parts[3L], envir = namespace, inherits = FALSE)
  if (!is.function(hook))
    stop(sprintf("activate(name): patch '%s' names the hook '%s', which is not a function of package %s",
                 patch$name, patch$hook, parts[2L]), call. = FALSE)
  hook
}

# Give the hooks `names` (default: every active patch) `threads` (default:
# the runtime's count); a budget of "off" sets nothing.
apply_hooks <- function(names = ls(.hooks), threads = .Call(C_threads)) {
  if (is.na(threads)) return(invisible())
  for (name in names) get(name, envir = .hooks)(threads)
  invisible()
}

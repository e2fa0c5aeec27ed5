# SPDX-License-Identifier: BSD-3-Clause
# Nested pools: once a session is activated (activate() or set_threads()),
# a pool of W worker processes gives each worker max(1, T %/% W) of the
# session's T threads, and the session keeps T.  Adapted with trace(), the
# sanctioned way to add code to another package's functions:
#
# - parallel::mclapply (W = mc.cores) and BiocParallel's MulticoreParam
#   (W = its workers) fork their workers with parallel's mcfork();
#   parallel::makeCluster(W) starts PSOCK, SOCK (snow, BiocParallel's
#   SnowParam) or FORK workers.
# - Each traced call marks its own frame with the share of its pool.  A
#   forked worker inherits the call stack: mcfork() returning in the child
#   finds the innermost mark and enters the share (variables, BLAS/OpenMP
#   pools, the active patches' hooks).  A fresh R worker (PSOCK, SOCK)
#   inherits the environment: makeCluster() sets the share's variables
#   while it starts them (OpenBLAS reads them when R loads it; autozyme,
#   when loaded there, reads AUTOZYME_WORKER_SHARE) and restores the
#   session's own on exit.
# - A worker's own set_threads() afterwards wins.  future's multicore
#   futures fork one process per future, with no pool size: not adapted.

.pools <- new.env(parent = emptyenv())

# The frame mark's name in a traced function's frame.
pool_mark <- ".autozyme_pool"

# Each package is traced when its namespace loads, or at once when it
# already is: trace() costs about 40 ms, which a session that never starts a
# pool should not pay in activate().
install_pool_traces <- function() {
  if (isTRUE(.pools$installed)) return(invisible())
  .pools$installed <- TRUE
  when_loaded("parallel", trace_parallel)
  when_loaded("BiocParallel", trace_biocparallel)
  invisible()
}

when_loaded <- function(package, install) {
  if (isNamespaceLoaded(package)) install()
  else setHook(packageEvent(package, "onLoad"), function(...) install())
}

trace_parallel <- function() {
  here <- quote(environment())
  trace_function("mclapply", "parallel",
                 tracer = call_to(mark_pool, here, quote(mc.cores)))
  trace_function("makeCluster", "parallel",
                 tracer = call_to(mark_pool, here, quote(spec), fresh = TRUE),
                 exit = call_to(restore_pool_env, here))
  trace_function("mcfork", "parallel", exit = call_to(after_fork))
}

# MulticoreParam: bpstart() forks its workers in .bpfork(); bplapply() on
# one not started forks a process per task from within .bpinit() (its
# TransientMulticoreParam), at most bpnworkers() at a time.  Both are
# evaluated there, where BiocParallel's own functions are found.
trace_biocparallel <- function() {
  here <- quote(environment())
  trace_function(".bpfork", "BiocParallel",
                 tracer = call_to(mark_pool, here, quote(nnodes)))
  trace_function(".bpinit", "BiocParallel",
                 tracer = call_to(mark_pool, here, quote(
                   if (is(BPPARAM, "MulticoreParam") && !bpisup(BPPARAM))
                     bpnworkers(BPPARAM) else NA)))
}

# A call of this package's function `fun` itself (not of its name, which
# the traced package cannot see) with the unevaluated arguments `...`.
call_to <- function(fun, ...) as.call(c(fun, list(...)))

# trace() where calls find the function: the attached package's copy when
# it is attached (trace() then changes the namespace's too), else the
# namespace's (a later library() copies the traced one).
trace_function <- function(what, package, tracer = NULL, exit = NULL) {
  attached <- paste0("package:", package)
  where <- if (attached %in% search() &&
               exists(what, envir = as.environment(attached), inherits = FALSE))
    as.environment(attached) else asNamespace(package)
  args <- list(what, where = where, print = FALSE)
  if (!is.null(tracer)) args$tracer <- tracer
  if (!is.null(exit)) args$exit <- exit
  suppressMessages(do.call(trace, args, quote = TRUE))
  invisible()
}

# The number of workers a pool's size argument asks for: a count, or one
# worker per host name; NA for anything else.  The C runtime checks the
# count's range; a pool it refuses gets no share (the pool's own check
# decides).
pool_size <- function(workers) {
  if (is.numeric(workers) && length(workers) == 1L && !is.na(workers))
    return(as.double(workers))
  if (is.character(workers) && length(workers) >= 1L)
    return(length(workers))
  NA_integer_
}

# Tracer: mark `frame` with the share of a pool of `workers`.  Fresh
# workers also need the share's variables while they start.
mark_pool <- function(frame, workers, fresh = FALSE) {
  size <- pool_size(workers)
  if (is.na(size)) return(invisible())
  share <- .Call(C_pool_start, size)
  if (is.null(share)) return(invisible())
  mark <- list(pid = Sys.getpid(), share = share)
  if (fresh) mark$saved <- set_worker_env(share)
  assign(pool_mark, mark, envir = frame)
  invisible()
}

# Set the variables of a fresh worker of `share`; the values they had
# (NA: unset).
set_worker_env <- function(share) {
  vars <- unlist(jsonlite::fromJSON(.Call(C_worker_env, share)))
  saved <- Sys.getenv(names(vars), unset = NA, names = TRUE)
  do.call(Sys.setenv, as.list(vars))
  saved
}

# Exit tracer of makeCluster(): the session's own variables again.
restore_pool_env <- function(frame) {
  saved <- get0(pool_mark, envir = frame, inherits = FALSE)$saved
  if (is.null(saved)) return(invisible())
  unset <- is.na(saved)
  Sys.unsetenv(names(saved)[unset])
  if (any(!unset)) do.call(Sys.setenv, as.list(saved[!unset]))
  invisible()
}

# Exit tracer of mcfork(), in the parent and in the child: a child enters
# the share of the innermost pool that marked the stack it inherited.  A
# worker never dies of AutoZyme: a failure is one warning line.
after_fork <- function() {
  for (frame in rev(sys.frames())) {
    mark <- get0(pool_mark, envir = frame, inherits = FALSE)
    if (is.null(mark)) next
    if (mark$pid != Sys.getpid()) {
      tryCatch({
        .Call(C_enter_worker, mark$share)
        apply_hooks()
      }, error = function(e) {
        warning(sprintf("autozyme: this worker keeps its parent's threads: %s",
                        conditionMessage(e)), call. = FALSE, immediate. = TRUE)
      })
    }
    break
  }
  invisible()
}

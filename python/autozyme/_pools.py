# SPDX-License-Identifier: BSD-3-Clause
"""Nested pools: every worker of a pool gets its share of the parent's threads.

Once a process is activated (activate() or set_threads()), starting a pool
of W worker processes gives each worker max(1, T // W) threads, T being the
parent's; the parent keeps T.  Adapted: multiprocessing.Pool (every start
method, and joblib's multiprocessing backend, which uses it),
concurrent.futures.ProcessPoolExecutor and joblib's loky backend.  A
ThreadPool runs in this process: it is left alone.

How the share reaches the workers.  Pool and ProcessPoolExecutor run an
initializer in every worker (fork, spawn and forkserver alike, and in the
workers that replace dead ones): ours puts the worker under its share, then
runs the user's own, so that a set_threads() there wins.  loky takes an
environment instead, so its workers start with the share's variables
(numpy's OpenBLAS reads them when it loads) and AUTOZYME_WORKER_SHARE, which
the C runtime reads; an explicit inner_max_num_threads is the user's choice
and stays.  The C runtime's guard sees every pool as it starts.

The classes are adapted when their module is imported, or at once when it
already is (_hooks.when_imported): activate() imports none of them.
"""

import os

from . import _hooks

_MARK = "__autozyme_pool__"


def _core():
    from . import _lib
    return _lib.core()


def _share_for(workers):
    """(T, W) for a pool of `workers`, None when it gets no share: what is
    no int or a count the C runtime refuses (the pool's own check decides),
    or a budget that is off."""
    if isinstance(workers, bool) or not isinstance(workers, int):
        return None
    return _core().pool_start(workers)


def enter_worker(share, initializer, initargs):
    """The initializer of an adapted pool, run in each worker: its share,
    then the user's initializer.  A worker never dies of AutoZyme."""
    try:
        from . import _enter_worker
        _enter_worker(share)
    except Exception as exc:
        _hooks.warn("this worker keeps its parent's threads: {}".format(exc))
    if initializer is not None:
        initializer(*initargs)


def _with_share(workers, initializer, initargs):
    """(initializer, initargs) that first give the worker its share."""
    share = _share_for(workers)
    if share is None:
        return initializer, initargs
    return enter_worker, (share, initializer, tuple(initargs))


def _default_workers(count):
    """What both pools take for None: every CPU of the machine."""
    return count if count is not None else (os.cpu_count() or 1)


def _adapt(cls, name, wrapper):
    """Replace cls.name by wrapper(original), once."""
    # Here, not at the top: functools brings collections, 1.5 ms that
    # activate() would pay for pools it may never start.
    import functools
    original = getattr(cls, name)
    if getattr(original, _MARK, False):
        return
    adapted = functools.wraps(original)(wrapper(original))
    setattr(adapted, _MARK, True)
    setattr(cls, name, adapted)


def _adapt_pool(module):
    thread_pool = module.ThreadPool

    def wrapper(original):
        def __init__(self, processes=None, initializer=None, initargs=(),
                     *args, **kwargs):
            # What Pool.__init__ sets first, so that Pool.__del__ can run
            # when the guard refuses the pool.
            self._pool, self._state = [], module.INIT
            if not isinstance(self, thread_pool):
                initializer, initargs = _with_share(
                    _default_workers(processes), initializer, initargs)
            original(self, processes, initializer, initargs, *args, **kwargs)
        return __init__
    _adapt(module.Pool, "__init__", wrapper)


def _adapt_executor(module):
    def wrapper(original):
        def __init__(self, max_workers=None, mp_context=None,
                     initializer=None, initargs=(), **kwargs):
            initializer, initargs = _with_share(
                _default_workers(max_workers), initializer, initargs)
            original(self, max_workers, mp_context, initializer, initargs,
                     **kwargs)
        return __init__
    _adapt(module.ProcessPoolExecutor, "__init__", wrapper)


def _adapt_loky(module):
    def wrapper(original):
        def _prepare_worker_env(self, n_jobs):
            env = original(self, n_jobs)
            share = None
            if self.inner_max_num_threads is None:
                share = _share_for(n_jobs)
            if share is not None:
                env.update(_core().worker_env(share))
            return env
        return _prepare_worker_env
    _adapt(module.LokyBackend, "_prepare_worker_env", wrapper)


_ADAPTERS = {
    "multiprocessing.pool": _adapt_pool,
    "concurrent.futures.process": _adapt_executor,
    "joblib._parallel_backends": _adapt_loky,
}


def install():
    """Adapt the pool classes, now or when their modules are imported."""
    for name, adapter in _ADAPTERS.items():
        _hooks.when_imported(name, adapter)

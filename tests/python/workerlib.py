# SPDX-License-Identifier: BSD-3-Clause
"""Worker-side code of test_workers.py and test_pools.py: importable by
spawned workers.

report() runs inside a worker and says what that worker really has: the
thread count of the OpenBLAS numpy loaded there (read from OpenBLAS itself
through thread_info()), scanpy's n_jobs, torch's intra-op threads, and the
patches active in the worker.  STYLES[style](workers) starts a pool of
`workers` of that style and returns every worker's report.
"""

import concurrent.futures
import multiprocessing
import os

PATCHES = ("cell2location", "scanpy")


def init_worker():
    """The documentation page's initializer (activating both patches)."""
    import autozyme
    for name in PATCHES:
        autozyme.activate(name)


def report(_item=None):
    import numpy  # loads OpenBLAS in this worker
    import scanpy
    import cell2location  # imports torch, as the real one does
    import torch
    import autozyme
    assert numpy and cell2location
    info = autozyme.thread_info()
    return {
        "pid": os.getpid(),
        "openblas": [p["threads"] for p in info["pools"]
                     if p["kind"] == "openblas"],
        "scanpy_n_jobs": scanpy.settings.n_jobs,
        "torch": torch.get_num_threads(),
        "active": [p["name"] for p in autozyme.env_snapshot()["patches"]],
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def report_after_activate(_item=None):
    """The page's pattern for loky: activate inside the worker first."""
    init_worker()
    return report()


def _pool(method, workers, **kwargs):
    with multiprocessing.get_context(method).Pool(workers, **kwargs) as pool:
        return pool.map(report, range(4))


def _executor(method, workers):
    context = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(workers,
                                                mp_context=context) as ex:
        return list(ex.map(report, range(4)))


def _loky(function, workers):
    from joblib import Parallel, delayed
    return Parallel(n_jobs=workers, backend="loky")(
        delayed(function)(i) for i in range(4))


def _joblib_multiprocessing(workers):
    from joblib import Parallel, delayed
    return Parallel(n_jobs=workers, backend="multiprocessing")(
        delayed(report)(i) for i in range(4))


def set_own_threads(threads):
    """An initializer: the worker's own explicit choice."""
    import autozyme
    autozyme.set_threads(threads)


STYLES = {
    "pool_fork": lambda w: _pool("fork", w),
    "pool_spawn_initializer":
        lambda w: _pool("spawn", w, initializer=init_worker),
    "pool_spawn": lambda w: _pool("spawn", w),
    "pool_forkserver": lambda w: _pool("forkserver", w),
    "executor_fork": lambda w: _executor("fork", w),
    "executor_spawn": lambda w: _executor("spawn", w),
    "loky": lambda w: _loky(report, w),
    "loky_activate_inside": lambda w: _loky(report_after_activate, w),
    "joblib_multiprocessing": _joblib_multiprocessing,
}

"""Worker-side code of test_workers.py: importable by spawned workers.

report() runs inside a worker and says what that worker really has: the
thread count of the OpenBLAS numpy loaded there (read from OpenBLAS itself
through thread_info()), scanpy's n_jobs, torch's intra-op threads, and the
patches active in the worker.
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


def _pool(method, **kwargs):
    with multiprocessing.get_context(method).Pool(2, **kwargs) as pool:
        return pool.map(report, range(4))


def _executor():
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as ex:
        return list(ex.map(report, range(4)))


def _loky(function):
    from joblib import Parallel, delayed
    return Parallel(n_jobs=2, backend="loky")(
        delayed(function)(i) for i in range(4))


STYLES = {
    "pool_fork": lambda: _pool("fork"),
    "pool_spawn_initializer": lambda: _pool("spawn", initializer=init_worker),
    "pool_spawn": lambda: _pool("spawn"),
    "pool_forkserver": lambda: _pool("forkserver"),
    "executor_spawn": _executor,
    "loky": lambda: _loky(report),
    "loky_activate_inside": lambda: _loky(report_after_activate),
}

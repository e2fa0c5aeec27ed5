# SPDX-License-Identifier: BSD-3-Clause
"""The page's "activate inside each worker" snippet, runnable.

    from multiprocessing import Pool

    def init_worker():
        import autozyme
        autozyme.activate("cell2location")

    with Pool(4, initializer=init_worker) as pool:
        pool.map(work_fn, items)

Workers are started with "spawn", as on Windows and macOS: fresh
interpreters that activate through init_worker.  Each worker reports the
thread count of cell2location's PyTorch.  Needs cell2location (and PyTorch).
"""

import multiprocessing
import os
from multiprocessing import Pool


def init_worker():
    import autozyme
    autozyme.activate("cell2location")


def work_fn(item):
    import cell2location  # noqa: F401  (the patch applies on this import)
    import torch
    return os.getpid(), torch.get_num_threads()


items = range(8)

if __name__ == "__main__":  # spawned workers import this file again
    multiprocessing.set_start_method("spawn")
    with Pool(4, initializer=init_worker) as pool:
        results = pool.map(work_fn, items)
    for pid, threads in sorted(set(results)):
        print("worker {}: torch threads {}".format(pid, threads))

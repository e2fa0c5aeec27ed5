# SPDX-License-Identifier: BSD-3-Clause
"""The page's Linux multiprocessing.Pool snippet, runnable.

    from multiprocessing import Pool
    import autozyme
    autozyme.activate("cell2location")
    with Pool(4) as pool:
        pool.map(work_fn, items)

Pool workers on Linux are forked: they inherit the active patch.  Each
worker reports the thread count of cell2location's PyTorch, which the patch
set to the budget.  Needs cell2location (and PyTorch).
"""

import os
from multiprocessing import Pool

import autozyme


def work_fn(item):
    import cell2location  # noqa: F401  (the patch applies on this import)
    import torch
    return os.getpid(), torch.get_num_threads()


items = range(8)

autozyme.activate("cell2location")
with Pool(4) as pool:
    results = pool.map(work_fn, items)

for pid, threads in sorted(set(results)):
    print("worker {}: torch threads {}".format(pid, threads))

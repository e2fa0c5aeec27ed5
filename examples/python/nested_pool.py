# SPDX-License-Identifier: BSD-3-Clause
"""Nested pools: a Pool of W workers, each multiplying numpy matrices with
its share of the threads.

    import autozyme
    autozyme.set_threads(T)
    with Pool(W) as pool:
        pool.map(matmul, items)

Each worker runs max(1, T // W) threads (its own OpenBLAS says so) and the
parent keeps T.  Prints the parent's threads, each worker's, and the ratio
of running threads (workers x threads per worker) to the CPUs of the task;
above 1.0 AutoZyme also prints one warning line.

Usage: nested_pool.py [WORKERS [THREADS]]  (default: 2 workers, the budget)
"""

import os
import sys
import time
from multiprocessing import Pool

import numpy

import autozyme


def openblas_threads(info):
    return [pool["threads"] for pool in info["pools"]
            if pool["kind"] == "openblas"]


def matmul(size):
    """One product; what this worker really runs it with."""
    a = numpy.random.default_rng(size).random((size, size))
    start = time.perf_counter()
    a @ a
    info = autozyme.thread_info()
    return (os.getpid(), info["threads"], openblas_threads(info),
            time.perf_counter() - start)


if __name__ == "__main__":
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else \
        autozyme.thread_info()["threads"]
    autozyme.set_threads(threads)
    print("parent: {} threads".format(threads))
    with Pool(workers) as pool:
        results = pool.map(matmul, [600] * (2 * workers))
    for pid, count, openblas, seconds in sorted(results):
        print("worker {}: {} threads (OpenBLAS {}), matmul {:.3f} s".format(
            pid, count, openblas, seconds))
    info = autozyme.thread_info()
    over = info["oversubscription"]
    print("parent after: {} threads (OpenBLAS {})".format(
        info["threads"], openblas_threads(info)))
    print("pool: {} workers x {} threads = {} threads on {} CPUs, "
          "ratio {:.2f}".format(over["workers"], over["threads_per_worker"],
                                over["running_threads"], over["cpus"],
                                over["ratio"]))

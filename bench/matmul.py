# SPDX-License-Identifier: BSD-3-Clause
"""A numpy matmul loop, the workload of bench/saves.sh.

    matmul.py SIZE COUNT                 one loop in this process
    matmul.py SIZE COUNT --pool W        W fork workers (multiprocessing.Pool),
                                         each running the loop
    ... [--activate NAME]                autozyme.activate(NAME) first, as
                                         the documentation page does

Prints one JSON line: {"start": t0, "end": t1, "matmuls": n, "threads":
[t, ...]} with wall clock times (time.time(), comparable between tasks of
one node) around the loops: in each process two random SIZE x SIZE
matrices, then COUNT + 1 multiplications.  Pool workers are started (and
numpy imported) before the clock runs.  "threads" holds the BLAS threads of
each process that multiplied (threadpoolctl, outside the clock).
"""

import argparse
import json
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("size", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--pool", type=int, default=0, metavar="W")
    parser.add_argument("--activate", metavar="NAME")
    return parser.parse_args(argv)


def matrices(size):
    import numpy
    rng = numpy.random.default_rng(0)
    return rng.random((size, size)), rng.random((size, size))


def loop(size, count):
    a, b = matrices(size)
    a @ b  # BLAS thread start-up
    for _ in range(count):
        a @ b
    return count + 1


def blas_threads(size):
    """The thread count of each BLAS/OpenMP library loaded here (after one
    multiplication): what the variant really ran with."""
    loop(size, 0)
    import threadpoolctl
    return sum(p["num_threads"] for p in threadpoolctl.threadpool_info())


def pool_loops(size, count, workers):
    from multiprocessing import get_context
    with get_context("fork").Pool(workers) as pool:
        # every worker up (and its BLAS started) before the clock runs
        threads = pool.map(blas_threads, [size] * workers)
        start = time.time()
        done = sum(pool.starmap(loop, [(size, count)] * workers))
        return start, time.time(), done, threads


def main(argv):
    args = parse_args(argv)
    if args.activate:
        import autozyme
        autozyme.activate(args.activate)
    import numpy  # noqa: F401  (after activate, as the page says)
    if args.pool:
        start, end, done, threads = pool_loops(args.size, args.count,
                                               args.pool)
    else:
        start = time.time()
        done = loop(args.size, args.count)
        end = time.time()
        threads = [blas_threads(args.size)]
    print(json.dumps({"start": start, "end": end, "matmuls": done,
                      "threads": threads}))


if __name__ == "__main__":
    main(sys.argv[1:])

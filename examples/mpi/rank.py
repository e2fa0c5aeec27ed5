#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""One MPI rank: its thread budget, and a numpy product run with it.

Started by the job scripts beside this file, or outside Slurm:

    mpirun --bind-to none -np 2 python3 rank.py

Ranks that share their node's CPUs split them: the runtime counts the
ranks on the node from the launcher's variables (provenance "mpi_env"), or
through PMIx once the rank has called MPI_Init ("pmix").  Ranks bound to CPUs of their own keep
them ("cpuset").  Under the Slurm plugin, srun's tasks read the split the
plugin already made from their activation file.
"""

import os
import socket
import time

import numpy

import autozyme

info = autozyme.thread_info()
# Apply the rank's budget to the thread variables and numpy's BLAS, as
# activate(patch) does for a patch's task.
autozyme.set_threads(info["threads"])
a = numpy.random.default_rng(0).random((800, 800))
start = time.perf_counter()
a @ a
ranks = info["ranks"] or {"local_rank": 0, "local_size": 1, "bound": False}
print("rank {} on {}: {} threads ({}), local rank {} of {}{}, matmul {:.3f} s"
      .format(os.environ.get("PMIX_RANK", os.environ.get("SLURM_PROCID", "0")),
              os.environ.get("SLURMD_NODENAME", socket.gethostname()),
              info["threads"], info["provenance"], ranks["local_rank"],
              ranks["local_size"], ", bound" if ranks["bound"] else "",
              time.perf_counter() - start), flush=True)

#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""One rank of tests/slurm/test_mpi.sh: what the runtime decided for it,
written as OUTDIR/<rank>.json (one file per rank, so that ranks on several
nodes cannot interleave).  Usage: mpi_rank.py OUTDIR"""
import json
import os
import socket
import sys

import autozyme

info = autozyme.thread_info()
task = None  # the plugin's decision for the Slurm task, as its file says
if info["activation_file_read"]:
    with open(info["activation_file"]) as file:
        task = json.load(file)["threads"]
rank = os.environ.get("PMIX_RANK", os.environ.get(
    "OMPI_COMM_WORLD_RANK", os.environ.get("SLURM_PROCID", "0")))
record = {
    "rank": int(rank),
    "node": os.environ.get("SLURMD_NODENAME", socket.gethostname()),
    "threads": info["threads"],
    "provenance": info["provenance"],
    "ranks": info["ranks"],
    "file_read": info["activation_file_read"],
    "task": task and "{}/{}".format(task["provenance"], task["count"]),
    "cpus": info["cpus"]["pus"] if info["cpus"] else None,
}
with open(os.path.join(sys.argv[1], "{}.json".format(rank)), "w") as out:
    json.dump(record, out)

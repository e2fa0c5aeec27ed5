#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A Python Slurm task using the runtime as the documentation page shows:
activate the task's patch, then print (one JSON line) what the runtime
decided, what numpy's OpenBLAS really runs with, and env_snapshot()."""
import json
import os

import autozyme

autozyme.activate("scanpy")
import numpy  # noqa: E402,F401  (loaded after activate, as the page advises)
import scanpy  # noqa: E402  (the test's stand-in package)

info = autozyme.thread_info()
openblas = [p["threads"] for p in info["pools"] if p["kind"] == "openblas"]
print(json.dumps({
    "rank": int(os.environ["SLURM_PROCID"]),
    "job": os.environ["SLURM_JOB_ID"],
    "array_task": os.environ.get("SLURM_ARRAY_TASK_ID"),
    "threads": info["threads"],
    "provenance": info["provenance"],
    "file_read": info["activation_file_read"],
    "openblas": openblas,
    "n_jobs": scanpy.settings.n_jobs,
    "snapshot_patches": [p["name"] for p in autozyme.env_snapshot()["patches"]],
    "package": os.path.dirname(autozyme.__file__),
}), flush=True)

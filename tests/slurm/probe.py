#!/usr/bin/python3
"""Runs as a Slurm task: prints, as one JSON line, what the task really saw:
its CPU affinity, the AutoZyme variables and its activation file."""
import json
import os

VARS = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
        "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
        "NUMBA_NUM_THREADS", "RCPP_PARALLEL_NUM_THREADS", "MC_CORES",
        "AUTOZYME_THREADS", "AUTOZYME_ACTIVATE", "AUTOZYME_ACTIVATION_FILE",
        "OMP_PLACES", "OMP_PROC_BIND", "SLURM_PROCID", "SLURM_NODEID",
        "SLURMD_NODENAME", "SLURM_STEP_ID"]

path = os.environ.get("AUTOZYME_ACTIVATION_FILE")
activation = None
if path:
    with open(path) as f:
        activation = json.load(f)
print(json.dumps({
    "label": os.environ.get("AZ_PROBE_LABEL", ""),
    "affinity": sorted(os.sched_getaffinity(0)),
    "env": {v: os.environ[v] for v in VARS if v in os.environ},
    "activation": activation,
}, sort_keys=True), flush=True)

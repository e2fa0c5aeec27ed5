#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Runs as a Slurm task: prints, as one JSON line, what the task really saw:
its CPU affinity, the AutoZyme variables, its activation file (the step's)
and the runtime's record of the task derived from it (thread_info()'s
"task", through the built library: $AZ_TEST_CLUSTER/libautozyme.so.0).
The thread variables are the build's `autozyme-info --thread-variables`
(lib/core/env.c's list), also in the record as "thread_variables"."""
import json
import os
import subprocess
import sys


def autozyme_info():
    """The build's autozyme-info: $AZ_TEST_CLUSTER/libautozyme.so.0 links to
    BUILDDIR/lib/.libs/libautozyme.so.0; else the installed one, on PATH
    (tests/pkg/test_deb_cluster.sh, whose cluster runs the packages)."""
    link = os.readlink(os.path.join(os.environ["AZ_TEST_CLUSTER"],
                                    "libautozyme.so.0"))
    built = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        link))), "tools", "autozyme-info")
    return built if os.path.exists(built) else "autozyme-info"


THREAD_VARS = subprocess.run(
    [autozyme_info(), "--thread-variables"], stdout=subprocess.PIPE,
    check=True, universal_newlines=True).stdout.split()
VARS = THREAD_VARS + [
    "AUTOZYME_ACTIVATE", "AUTOZYME_ACTIVATION_FILE", "OMP_PLACES",
    "OMP_PROC_BIND", "SLURM_PROCID", "SLURM_NODEID", "SLURMD_NODENAME",
    "SLURM_STEP_ID"]


def cgroup_cpuset():
    """The task's cpuset cgroup, resolved as the kernel reports it
    (/proc/self/cgroup and mountinfo, never a path built from Slurm's
    naming): {"path": ..., "cpus": [...]}, or None without one."""
    v1 = v2 = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, rel = line.rstrip("\n").split(":", 2)
            if "cpuset" in controllers.split(","):
                v1 = rel
            elif controllers == "":
                v2 = rel
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            root, point = fields[3], fields[4]
            kind = fields[fields.index("-") + 1]
            opts = fields[-1].split(",")
            if kind == "cgroup" and "cpuset" in opts and v1 is not None:
                name, rel = "cpuset.cpus", v1
            elif kind == "cgroup2" and v2 is not None and v1 is None:
                name, rel = "cpuset.cpus.effective", v2
            else:
                continue
            if root != "/" and rel.startswith(root):
                rel = rel[len(root):]
            try:
                with open(os.path.join(point + rel, name)) as c:
                    return {"path": rel, "cpus": expand(c.read().strip())}
            except OSError:
                return None
    return None


def expand(cpulist):
    cpus = []
    for part in filter(None, cpulist.split(",")):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def runtime_record():
    """thread_info() of the built runtime: its record of this task (None
    without a readable activation file) and why the file was not read."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, os.path.join(top, "python"))
    os.environ["AUTOZYME_LIBRARY"] = os.path.join(os.environ["AZ_TEST_CLUSTER"],
                                                  "libautozyme.so.0")
    import autozyme
    info = autozyme.thread_info()
    return info["task"], info["activation_error"]


def step_file(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


env = {v: os.environ[v] for v in VARS if v in os.environ}
path = os.environ.get("AUTOZYME_ACTIVATION_FILE")
activation, why = runtime_record() if path else (None, None)
print(json.dumps({
    "label": os.environ.get("AZ_PROBE_LABEL", ""),
    "affinity": sorted(os.sched_getaffinity(0)),
    "cgroup": cgroup_cpuset(),
    "env": env,
    "thread_variables": THREAD_VARS,
    "activation": activation,
    "activation_error": why,
    "step_file": step_file(path) if path else None,
    # The record's CPU list expanded, to compare with affinity as lists.
    "activation_cpus": expand(activation["cpus"]["list"]) if activation else None,
    # The plugin's variables are the runtime's record of them, one by one.
    "record_matches_env": activation is not None and all(
        env.get(k, os.environ.get(k)) == v for k, v in activation["variables"].items()),
}, sort_keys=True), flush=True)

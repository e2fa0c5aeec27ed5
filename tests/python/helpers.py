# SPDX-License-Identifier: BSD-3-Clause
"""Helpers of the Python suite (run it with tests/python/run.sh BUILDDIR).

Almost every test runs its code in a fresh /usr/bin/python3: the C runtime
decides the budget once per process and keeps set_threads() and the active
patches, so each scenario needs its own process, as a user's script has.

scanpy and cell2location are not packaged in Debian: stubs/ holds small
stand-ins (see stubs/README); torch, numpy and joblib are Debian's own.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.join(HERE, "stubs")
SRCDIR = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"


def _required(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit("{} is not set: run the suite with tests/python/run.sh "
                    "BUILDDIR".format(name), returncode=2)
    return value


def _thread_vars():
    """The thread variables the C runtime sets (lib/core/env.c's list), as
    the build tree's autozyme-info --thread-variables prints them."""
    info = os.path.join(_required("AZ_TEST_BUILDDIR"), "tools",
                        "autozyme-info")
    proc = subprocess.run([info, "--thread-variables"], capture_output=True,
                          text=True)
    if proc.returncode != 0 or not proc.stdout.split():
        pytest.exit("{} --thread-variables failed: {}".format(
            info, proc.stderr.strip()), returncode=2)
    return proc.stdout.split()


# Every variable the runtime reads or writes: scrubbed from the children's
# environment so that only what a test sets is in effect.
THREAD_VARS = _thread_vars()
RUNTIME_VARS = THREAD_VARS + [
    "AUTOZYMER_THREADS", "AUTOZYME_ACTIVATE", "AUTOZYME_ACTIVATION_FILE",
    "AUTOZYME_INJECTED", "AUTOZYME_INJECTED_VALUE", "SLURM_CPUS_PER_TASK",
    "PYTHONUSERBASE"]


def base_env(stubs=True, **extra):
    """The children's environment: the build tree's package and library,
    the source tree's registry, the stand-ins when `stubs`, and `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in RUNTIME_VARS}
    path = [os.path.join(SRCDIR, "python"), HERE] + ([STUBS] if stubs else [])
    env.update(PYTHONPATH=os.pathsep.join(path),
               AUTOZYME_LIBRARY=_required("AUTOZYME_LIBRARY"),
               AUTOZYME_PATCH_PATH=_required("AUTOZYME_PATCH_PATH"))
    env.update(extra)
    return env


def run_python(code, env=None, args=(), timeout=300):
    """Run `code` in a fresh /usr/bin/python3; the finished process."""
    return subprocess.run([PYTHON, "-c", code, *args], env=env or base_env(),
                          capture_output=True, text=True, timeout=timeout)


def run_json(code, env=None, args=()):
    """Run `code`, which prints one JSON document last; that document."""
    proc = run_python(code, env, args)
    assert proc.returncode == 0, "child failed:\n{}{}".format(proc.stdout,
                                                              proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_count():
    return len(os.sched_getaffinity(0))


def file_threads(threads):
    """The threads a task of write_activation_file's step gets here: its
    cpus per task, within the CPUs this process may run on."""
    return min(threads, cpu_count())


def write_activation_file(path, threads, patches=("scanpy",)):
    """A step's activation file as the SPANK plugin writes it (schema 2):
    one task with --cpus-per-task=`threads` on this machine's CPUs, so the
    task's budget is file_threads(threads) (cpus_per_task)."""
    count = file_threads(threads)
    document = {
        "schema": 2,
        "job": {"id": 4242, "step": "0", "array_job_id": None,
                "array_task_id": None},
        "node": {"id": 0},
        "cpus": {"list": "0-{}".format(cpu_count() - 1), "pus": cpu_count(),
                 "cores": cpu_count()},
        "inputs": {"request": "unset", "count": None, "explicit": False,
                   "cpus_per_task": threads, "quota": 0, "local_tasks": 1,
                   "binding_none": False, "default_threads": None,
                   "max_threads": None, "smt": "pus"},
        "threads": {"count": count, "off": False,
                    "provenance": "cpus_per_task", "allocation": count,
                    "allocation_provenance": "cpus_per_task",
                    "clamped": False, "requested": None},
        "patches": list(patches),
        "thread_variables": ["OMP_NUM_THREADS"],
        "variables": {},
    }
    with open(path, "w") as out:
        json.dump(document, out)
    return str(path)


def user_site(base):
    """A user site directory under the PYTHONUSERBASE `base` holding the
    package's autozyme.pth: a .pth never runs from PYTHONPATH."""
    site_dir = os.path.join(str(base), "lib", "python{}.{}".format(
        *sys.version_info[:2]), "site-packages")
    os.makedirs(site_dir, exist_ok=True)
    shutil.copy(os.path.join(SRCDIR, "python", "autozyme.pth"), site_dir)
    return site_dir


def site_patch(directory, name, upstream, hook_source, env, min_version="1"):
    """A site's own patch `name` of `upstream`: its manifest in a registry
    directory searched before the source tree's, its hook module (source
    `hook_source`) importable; returns `env` set up for both."""
    registry = directory / "registry"
    registry.mkdir()
    (registry / "{}.json".format(name)).write_text(json.dumps({
        "schema": 1, "name": name, "version": "1",
        "description": "A test's site patch",
        "languages": {"python": {"upstream": upstream,
                                 "min_version": min_version,
                                 "hook": name + "_hook"}}}))
    (directory / "{}_hook.py".format(name)).write_text(hook_source)
    env["AUTOZYME_PATCH_PATH"] = "{}:{}".format(
        registry, os.path.join(SRCDIR, "patches"))
    env["PYTHONPATH"] += os.pathsep + str(directory)
    return env

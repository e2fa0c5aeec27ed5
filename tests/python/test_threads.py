# SPDX-License-Identifier: BSD-3-Clause
"""set_threads(), the thread-count variables and the activation file.

The page: set_threads(n) "sets the common thread-count environment
variables"; AUTOZYME_THREADS, then AUTOZYMER_THREADS, is honoured; a
NUMBA_NUM_THREADS set before importing AutoZyme is kept.  The DESIGN adds
that the libraries already loaded follow (read here from OpenBLAS itself)
and that under Slurm the activation file decides the budget.
"""

import pytest

from helpers import THREAD_VARS, base_env, cpu_count, run_json, run_python, \
    write_activation_file, file_threads

# What a child reports: the variables (os.environ, and the C environment a
# subprocess gets), the OpenBLAS numpy loaded, and thread_info's count.
REPORT = """
import json, os, subprocess, sys
import numpy, autozyme
{action}
info = autozyme.thread_info()
child = subprocess.run([sys.executable, "-c",
    "import json, os; print(json.dumps(dict(os.environ)))"],
    capture_output=True, text=True, check=True)
print(json.dumps({{
    "environ": dict(os.environ),
    "child_environ": json.loads(child.stdout),
    "openblas": [p["threads"] for p in info["pools"] if p["kind"] == "openblas"],
    "threads": info["threads"],
    "provenance": info["provenance"],
}}))
"""


def _report(action, **env):
    return run_json(REPORT.format(action=action), base_env(**env))


def _thread_vars(environ):
    return {name: environ.get(name) for name in THREAD_VARS}


@pytest.mark.parametrize("n", [1, 3])
def test_set_threads_sets_every_variable_and_openblas(n):
    report = _report("autozyme.set_threads({})".format(n))
    expected = {name: str(n) for name in THREAD_VARS}
    assert _thread_vars(report["environ"]) == expected
    assert _thread_vars(report["child_environ"]) == expected
    assert report["openblas"] == [n]
    assert (report["threads"], report["provenance"]) == (n, "set_threads")


def test_set_threads_overrides_user_values():
    report = _report("autozyme.set_threads(1)", OMP_NUM_THREADS="7")
    assert report["environ"]["OMP_NUM_THREADS"] == "1"


def test_set_threads_before_activate_wins_over_the_budget():
    report = _report("autozyme.set_threads(1); autozyme.activate('scanpy')",
                     AUTOZYME_THREADS="2")
    assert _thread_vars(report["environ"]) == {n: "1" for n in THREAD_VARS}
    assert report["openblas"] == [1]


@pytest.mark.skipif(cpu_count() < 2, reason="needs 2 CPUs to tell 1 from 2")
@pytest.mark.parametrize("env", [
    {"AUTOZYME_THREADS": "1"},
    {"AUTOZYMER_THREADS": "1"},                          # the older spelling
    {"AUTOZYME_THREADS": "1", "AUTOZYMER_THREADS": "2"},  # the new one first
])
def test_threads_variable_sets_the_budget(env):
    report = _report("autozyme.activate('scanpy')", **env)
    assert report["environ"]["OMP_NUM_THREADS"] == "1"
    assert report["environ"]["OPENBLAS_NUM_THREADS"] == "1"
    assert report["openblas"] == [1]
    assert (report["threads"], report["provenance"]) == (1, "request")


@pytest.mark.skipif(cpu_count() < 2, reason="needs 2 CPUs to tell 1 from 2")
def test_without_request_the_budget_is_every_cpu_allowed():
    report = _report("autozyme.activate('scanpy')")
    if report["provenance"] == "cgroup_quota":
        pytest.skip("a cgroup CPU quota below the cpuset applies here")
    assert (report["threads"], report["provenance"]) == (cpu_count(), "cpuset")
    assert report["environ"]["OMP_NUM_THREADS"] == str(cpu_count())


def test_numba_threads_set_before_import_is_kept():
    """The page's snippet, with AUTOZYME_THREADS=1 as the budget."""
    report = run_json("""
import json, os
os.environ["NUMBA_NUM_THREADS"] = "4"
import autozyme
autozyme.activate("scanpy")
print(json.dumps(dict(os.environ)))
""", base_env(AUTOZYME_THREADS="1"))
    assert report["NUMBA_NUM_THREADS"] == "4"
    assert report["OMP_NUM_THREADS"] == "1"
    assert report["MKL_NUM_THREADS"] == "1"


@pytest.mark.parametrize("value", ["1", "8"])
def test_openblas_threads_set_before_import_drive_openblas(tmp_path, value):
    """The page's "set the variables before loading packages": OpenBLAS
    runs the OPENBLAS_NUM_THREADS the user set (8 there, though OpenBLAS
    starts at no more than the CPUs); what the user left alone gets the
    budget (2 where the machine has them, from an activation file)."""
    path = write_activation_file(tmp_path / "activation.json", 2)
    report = run_json("""
import json, os
os.environ["OPENBLAS_NUM_THREADS"] = "{}"
import numpy, autozyme
autozyme.activate("scanpy")
info = autozyme.thread_info()
print(json.dumps({{
    "openblas": [p["threads"] for p in info["pools"] if p["kind"] == "openblas"],
    "threads": info["threads"],
    "environ": dict(os.environ),
}}))
""".format(value), base_env(AUTOZYME_ACTIVATION_FILE=path))
    assert report["openblas"] == [int(value)]
    assert report["threads"] == file_threads(2)
    assert report["environ"]["OPENBLAS_NUM_THREADS"] == value
    assert report["environ"]["OMP_NUM_THREADS"] == str(file_threads(2))


@pytest.mark.parametrize("threads", [1, 3])
def test_activation_file_decides_the_budget(tmp_path, threads):
    """Under Slurm the plugin's file wins over AUTOZYME_THREADS and the CPUs."""
    path = write_activation_file(tmp_path / "activation.json", threads)
    # More than the machine has: the task's cpuset decides.
    provenance = "cpus_per_task" if threads <= cpu_count() else "cpuset"
    threads = file_threads(threads)
    report = _report("autozyme.activate('scanpy')",
                     AUTOZYME_ACTIVATION_FILE=path, AUTOZYME_THREADS="2")
    assert report["environ"]["OMP_NUM_THREADS"] == str(threads)
    assert report["openblas"] == [threads]
    assert (report["threads"], report["provenance"]) == (threads, provenance)
    info = run_json("import json, autozyme; "
                    "print(json.dumps(autozyme.thread_info()))",
                    base_env(AUTOZYME_ACTIVATION_FILE=path))
    assert info["activation_file"] == path and info["activation_file_read"]


@pytest.mark.parametrize("bad", ["0", "-1", "4097", "1.5", "'8'", "True",
                                 "None"])
def test_set_threads_refuses_bad_counts(bad):
    proc = run_python("import autozyme; autozyme.set_threads({})".format(bad))
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: set_threads(n): n must be a single "
                           "whole number from 1 to 4096, got ")


def test_set_threads_returns_the_count_applied():
    code = ("import autozyme; applied = autozyme.set_threads(3); "
            "print(type(applied).__name__, applied, "
            "autozyme.thread_info()['threads'])")
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["int", "3", "3"]


def test_bad_threads_variable_is_named():
    proc = run_python("import autozyme; autozyme.activate('scanpy')",
                      base_env(AUTOZYME_THREADS="many"))
    assert proc.returncode != 0
    assert "AUTOZYME_THREADS" in proc.stderr and "auto or off" in proc.stderr

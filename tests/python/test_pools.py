# SPDX-License-Identifier: BSD-3-Clause
"""Nested pools and the oversubscription guard (test_workers.py has every
pool style giving its workers their share).

The guard: a deliberately oversubscribed run (more workers than CPUs, or
set_threads above them) prints exactly one warning line by default, fails
with a clear message under AUTOZYME_OVERSUBSCRIPTION=error, says nothing
under =ignore, and a bad value is an error naming the variable and its
accepted form.  The budget comes from an activation file (T = the CPUs of
this machine), so the counts below do not depend on the environment.
"""

import json
import os
import re
import subprocess

import pytest

from helpers import PYTHON, SRCDIR, base_env, cpu_count, run_json, \
    run_python, write_activation_file

CPUS = cpu_count()

POOL = """
import json, sys
import numpy
import autozyme, workerlib
autozyme.activate("scanpy")
with __import__("multiprocessing").get_context("fork").Pool(int(sys.argv[1])) as pool:
    reports = pool.map(workerlib.report, range(2))
print(json.dumps([r["openblas"] for r in reports]))
"""

pytestmark = pytest.mark.skipif(CPUS < 2,
                                reason="needs 2 CPUs to tell 1 from 2 threads")


def _env(tmp_path, **extra):
    return base_env(AUTOZYME_ACTIVATION_FILE=write_activation_file(
        tmp_path / "activation.json", CPUS), **extra)


def _warning(cause, running):
    return ("autozyme: warning: {} runs {} threads on {} CPUs ({:.2f}x "
            "oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences "
            "this, =error refuses it\n".format(cause, running, CPUS,
                                               running / CPUS))


def _pool_of(workers):
    return "a pool of {} workers x 1 thread".format(workers)


def test_an_oversubscribed_pool_warns_once(tmp_path):
    """2 x CPUS workers of 1 thread each, twice: one line, from the parent
    (its fork workers inherit that it warned; none warns of its share)."""
    second = "with __import__(\"multiprocessing\").Pool(int(sys.argv[1])):\n" \
             "    pass\n"
    proc = run_python(POOL + second, _env(tmp_path), args=[str(2 * CPUS)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == _warning(_pool_of(2 * CPUS), 2 * CPUS)
    assert json.loads(proc.stdout.splitlines()[-1]) == [[1], [1]]


def test_a_pool_within_the_cpus_says_nothing(tmp_path):
    proc = run_python(POOL, _env(tmp_path), args=[str(CPUS)])
    assert (proc.returncode, proc.stderr) == (0, "")


def test_oversubscription_error_refuses_the_pool(tmp_path):
    proc = run_python(POOL, _env(tmp_path, AUTOZYME_OVERSUBSCRIPTION="error"),
                      args=[str(2 * CPUS)])
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "autozyme._errors.AutoZymeError: {} runs {} threads on {} CPUs "
        "(2.00x oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error "
        "(warn or ignore allow it)".format(_pool_of(2 * CPUS), 2 * CPUS, CPUS))


def test_oversubscription_ignore_is_silent(tmp_path):
    proc = run_python(POOL, _env(tmp_path, AUTOZYME_OVERSUBSCRIPTION="ignore"),
                      args=[str(2 * CPUS)])
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads(proc.stdout.splitlines()[-1]) == [[1], [1]]


def test_set_threads_above_the_cpus_warns_once(tmp_path):
    code = ("import autozyme\nautozyme.set_threads({0})\n"
            "autozyme.set_threads({0})\n".format(2 * CPUS))
    proc = run_python(code, _env(tmp_path))
    assert proc.returncode == 0
    assert proc.stderr == _warning("set_threads({})".format(2 * CPUS),
                                   2 * CPUS)


def test_set_threads_refused_under_error(tmp_path):
    code = """
import autozyme
try:
    autozyme.set_threads({0})
except ValueError as exc:
    print(exc)
print(autozyme.thread_info()["threads"])
""".format(2 * CPUS)
    proc = run_python(code, _env(tmp_path, AUTOZYME_OVERSUBSCRIPTION="error"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "set_threads({0}) runs {0} threads on {1} CPUs (2.00x "
        "oversubscribed): refused by AUTOZYME_OVERSUBSCRIPTION=error (warn "
        "or ignore allow it)".format(2 * CPUS, CPUS), str(CPUS)]


@pytest.mark.parametrize("call", [
    "autozyme.set_threads(1)", "autozyme.thread_info()",
    "autozyme.activate('scanpy'); __import__('multiprocessing').Pool(2)"])
def test_a_bad_policy_names_the_variable(tmp_path, call):
    code = "import autozyme\ntry:\n    {}\nexcept Exception as exc:\n" \
           "    print(type(exc).__name__, exc)\n".format(call)
    proc = run_python(code, _env(tmp_path, AUTOZYME_OVERSUBSCRIPTION="loud"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split(" ", 1)[1].strip() == (
        "AUTOZYME_OVERSUBSCRIPTION: invalid value 'loud': expected warn, "
        "error or ignore")


def test_a_workers_own_set_threads_wins(tmp_path):
    code = """
import json, multiprocessing
import numpy
import autozyme, workerlib
autozyme.activate("scanpy")
with multiprocessing.get_context("spawn").Pool(
        2, initializer=workerlib.set_own_threads, initargs=(2,)) as pool:
    print(json.dumps([r["openblas"] for r in pool.map(workerlib.report, range(2))]))
"""
    proc = run_python(code, _env(tmp_path, AUTOZYME_OVERSUBSCRIPTION="ignore"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [[2], [2]]


def test_a_thread_pool_is_left_alone(tmp_path):
    """ThreadPool's workers are this process's threads: no share, no record."""
    code = """
import json
from multiprocessing.pool import ThreadPool
import autozyme
autozyme.activate("scanpy")
with ThreadPool(8) as pool:
    seen = pool.map(lambda _: autozyme.thread_info()["threads"], range(4))
info = autozyme.thread_info()
print(json.dumps([seen, info["pool"]]))
"""
    proc = run_python(code, _env(tmp_path))
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert json.loads(proc.stdout) == [[CPUS] * 4, None]


def test_explicit_inner_max_num_threads_is_the_users(tmp_path):
    code = """
import json
from joblib import Parallel, delayed, parallel_backend
import autozyme, workerlib
autozyme.activate("scanpy")
with parallel_backend("loky", inner_max_num_threads=1):
    reports = Parallel(n_jobs=2)(delayed(workerlib.report)(i) for i in range(2))
print(json.dumps([[r["openblas"] for r in reports], autozyme.thread_info()["pool"]]))
"""
    proc = run_python(code, _env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [[[1], [1]], None]


def test_nested_pool_example(tmp_path):
    """examples/python/nested_pool.py: W workers of numpy matmul."""
    script = os.path.join(SRCDIR, "examples", "python", "nested_pool.py")
    for workers, stderr in [(CPUS, ""),
                            (2 * CPUS, _warning(_pool_of(2 * CPUS),
                                                2 * CPUS))]:
        proc = subprocess.run([PYTHON, script, str(workers)],
                              env=_env(tmp_path), capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0 and proc.stderr == stderr, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0] == "parent: {} threads".format(CPUS)
        assert re.findall(r"^worker \d+: (\d+) threads \(OpenBLAS \[(\d+)\]\)",
                          proc.stdout, re.M) == [("1", "1")] * (2 * workers)
        assert lines[-2] == "parent after: {0} threads (OpenBLAS [{0}])" \
            .format(CPUS)
        assert lines[-1] == ("pool: {0} workers x 1 threads = {0} threads on "
                             "{1} CPUs, ratio {2:.2f}".format(
                                 workers, CPUS, workers / CPUS))


LEAN_POOL = """
import json, os
import numpy
import autozyme
autozyme.activate("scanpy")
def threads_after_a_matmul(_):
    a = numpy.ones((64, 64))
    a @ a
    return len(os.listdir("/proc/self/task"))
with __import__("multiprocessing").get_context("fork").Pool({workers}) as pool:
    print(json.dumps(pool.map(threads_after_a_matmul, range({workers}))))
"""


def test_a_one_thread_fork_worker_runs_no_idle_openblas_server(tmp_path):
    """The parent's OpenBLAS ran CPUS threads; lowered to 1 in a fork worker,
    OpenBLAS restarts its server, an idle thread spinning beside the worker
    (3-7% slower in bench/saves.sh).  The worker keeps its one thread."""
    code = LEAN_POOL.format(workers=CPUS)
    assert run_json(code, _env(tmp_path)) == [1] * CPUS

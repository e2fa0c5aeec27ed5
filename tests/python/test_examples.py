# SPDX-License-Identifier: BSD-3-Clause
"""examples/python: the page's Python snippets run as they are written.

Each example runs with /usr/bin/python3 and the stand-in scanpy and
cell2location; the budget is AUTOZYME_THREADS=1, which no library would
pick by itself on a node of 2 or more CPUs.  Its stderr is empty, but for
the oversubscription guard's one line where the page asks for more threads
than this machine has: set_threads(8), or Pool(4) in an activated process.
"""

import json
import os
import re
import subprocess

import pytest

from helpers import PYTHON, SRCDIR, base_env, cpu_count

EXAMPLES = os.path.join(SRCDIR, "examples", "python")


def _guard_line(cause, running):
    """The guard's warning when `running` threads exceed this machine's
    CPUs, else nothing."""
    cpus = cpu_count()
    if running <= cpus:
        return ""
    return ("autozyme: warning: {} runs {} threads on {} CPU{} ({:.2f}x "
            "oversubscribed); AUTOZYME_OVERSUBSCRIPTION=ignore silences "
            "this, =error refuses it\n".format(
                cause, running, cpus, "" if cpus == 1 else "s",
                running / cpus))


def _run(example, stderr=""):
    proc = subprocess.run([PYTHON, os.path.join(EXAMPLES, example)],
                          env=base_env(AUTOZYME_THREADS="1"),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stderr == stderr, proc.stderr
    return proc.stdout


def _variables(output):
    return dict(line.split("=", 1) for line in output.splitlines())


def test_set_threads():
    """'It sets the common thread-count environment variables.'"""
    output = _run("set_threads.py", _guard_line("set_threads(8)", 8))
    assert _variables(output) == {
        "OMP_NUM_THREADS": "8", "OPENBLAS_NUM_THREADS": "8",
        "MKL_NUM_THREADS": "8", "NUMEXPR_NUM_THREADS": "8",
        "NUMBA_NUM_THREADS": "8", "scanpy.settings.n_jobs": "8"}


def test_numba_threads():
    """NUMBA_NUM_THREADS set before importing AutoZyme is that exact limit."""
    assert _variables(_run("numba_threads.py")) == {
        "NUMBA_NUM_THREADS": "4", "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1"}


@pytest.mark.skipif(cpu_count() < 2, reason="needs 2 CPUs to tell 1 from 2")
@pytest.mark.parametrize("example,stderr", [
    ("pool_fork.py", _guard_line("a pool of 4 workers x 1 thread", 4)),
    ("pool_init_worker.py", "")])  # the parent never loads AutoZyme
def test_pool_workers_have_the_patch(example, stderr):
    """Fork workers inherit; spawned workers activate in init_worker.  Each
    worker's PyTorch uses the budget, 1, not its default of every CPU."""
    workers = re.findall(r"^worker (\d+): torch threads (\d+)$",
                         _run(example, stderr), re.MULTILINE)
    assert workers and all(threads == "1" for _, threads in workers)


def test_env_snapshot():
    snapshot = json.loads(_run("env_snapshot.py"))
    assert snapshot["patches"] == [{"name": "scanpy", "upstream": "scanpy",
                                    "upstream_version": "1.9.3"}]
    assert snapshot["language"]["name"] == "python"
    assert set(snapshot) == {"autozyme_version", "language", "os", "patches"}

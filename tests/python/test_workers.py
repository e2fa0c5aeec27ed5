# SPDX-License-Identifier: BSD-3-Clause
"""Every worker style of the page's section "Worker & parallel processes".

The parent activates the page's patch (cell2location) and scanpy under the
budget of an activation file, as a Slurm task does, and starts a pool of W
workers; each worker then reports what it really has (workerlib.report):
its OpenBLAS's own thread count, the patches' knobs (scanpy.settings.n_jobs,
torch.get_num_threads()) and the patches active in it.  Each gets its share
of the parent's T threads, max(1, T // W), and the parent keeps T.

Which assertion proves what, on a 2-CPU node with T = 2 and W = 2: each
worker's 1 differs from T, which fork workers inherit in their OpenBLAS and
torch, fresh interpreters read from the inherited variables and joblib
passes to loky workers (the parent's variables, when set): only the share
can have lowered it.  env_snapshot() lists the patches the worker
activated; W = 1 shows that the share is T // W, not always 1.  T is at
most the CPU count: OpenBLAS caps the count it reads from its variable at
start-up to the CPUs of the node.
"""

import json

import pytest

from helpers import base_env, cpu_count, run_python, user_site, \
    write_activation_file

PARENT = """
import json, os, sys
import numpy
import autozyme, workerlib
for name in workerlib.PATCHES:
    autozyme.activate(name)
reports = workerlib.STYLES[sys.argv[1]](int(sys.argv[2]))
info = autozyme.thread_info()
print(json.dumps({"workers": reports, "parent": {
    "threads": info["threads"],
    "openblas": [p["threads"] for p in info["pools"] if p["kind"] == "openblas"],
    "OPENBLAS_NUM_THREADS": os.environ["OPENBLAS_NUM_THREADS"]}}))
"""

pytestmark = pytest.mark.skipif(cpu_count() < 2,
                                reason="needs 2 CPUs to tell 1 from 2 threads")


def _run(tmp_path, style, threads, workers, with_pth, **env_vars):
    """Run PARENT for `style` with a pool of `workers`; the process."""
    env = base_env(AUTOZYME_ACTIVATION_FILE=write_activation_file(
        tmp_path / "activation.json", threads), **env_vars)
    if with_pth:
        user_site(tmp_path / "userbase")
        env["PYTHONUSERBASE"] = str(tmp_path / "userbase")
    return run_python(PARENT, env, args=[style, str(workers)])


def _reports(tmp_path, style, threads, workers, with_pth):
    """The workers' and the parent's reports; no warning from any process."""
    proc = _run(tmp_path, style, threads, workers, with_pth)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "autozyme:" not in proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# (style, whether the workers may use autozyme.pth).  Fork workers inherit;
# the initializer and activate-inside patterns of the page need no .pth;
# the rest activate themselves from AUTOZYME_ACTIVATE through the .pth.
STYLES = [
    ("pool_fork", False),
    ("pool_spawn_initializer", False),
    ("pool_spawn_initializer", True),   # .pth and initializer: idempotent
    ("loky_activate_inside", False),
    ("pool_spawn", True),
    ("pool_forkserver", True),
    ("executor_fork", False),
    ("executor_spawn", True),
    ("loky", True),
    ("joblib_multiprocessing", False),
]


def _expect_workers(result, share):
    reports = result["workers"]
    assert len(reports) == 4
    for report in reports:
        assert report["openblas"] == [share], report
        assert report["OPENBLAS_NUM_THREADS"] == str(share), report
        assert report["scanpy_n_jobs"] == share, report
        assert report["torch"] == share, report
        assert sorted(report["active"]) == ["cell2location", "scanpy"], report


def _expect_parent(result, threads):
    assert result["parent"] == {"threads": threads, "openblas": [threads],
                                "OPENBLAS_NUM_THREADS": str(threads)}


@pytest.mark.parametrize("style,with_pth", STYLES)
def test_each_worker_gets_its_share(tmp_path, style, with_pth):
    """T = 2 over W = 2 workers: 1 each, and the parent keeps 2."""
    result = _reports(tmp_path, style, 2, 2, with_pth)
    _expect_workers(result, 1)
    _expect_parent(result, 2)


@pytest.mark.parametrize("style,with_pth", [
    ("pool_fork", False), ("pool_spawn", True), ("executor_spawn", True)])
def test_a_single_worker_keeps_the_budget(tmp_path, style, with_pth):
    """W = 1: the worker runs all of T = 2 (loky runs n_jobs=1 in the
    parent itself, so it has no such worker)."""
    result = _reports(tmp_path, style, 2, 1, with_pth)
    _expect_workers(result, 2)
    _expect_parent(result, 2)


def test_spawn_worker_without_activation(tmp_path):
    """Control: without the .pth or an initializer a spawned worker
    activates nothing (scanpy keeps its default of 1), so the tests above
    would see a worker that did not activate itself; it still runs its
    share, which the pool's own initializer gave it."""
    for report in _reports(tmp_path, "pool_spawn", 2, 2, False)["workers"]:
        assert report["active"] == []
        assert report["scanpy_n_jobs"] == 1
        assert report["openblas"] == [1]

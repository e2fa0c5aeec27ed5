"""Every worker style of the page's section "Worker & parallel processes".

The parent activates the page's patch (cell2location) and scanpy under the
budget of an activation file, as a Slurm task does; each worker then reports
what it really has (workerlib.report): its OpenBLAS's own thread count, the
patches' knobs (scanpy.settings.n_jobs, torch.get_num_threads()) and the
patches active in it.

Which assertion proves what, on a 2-CPU node: with T=1, the OpenBLAS count
differs from a fresh interpreter's default (every CPU), so the parent's
variables did reach the worker; with T=2 it differs from joblib's default
for loky workers (CPUs // n_jobs = 1), so os.environ was updated, and
scanpy's n_jobs differs from its default 1, so the worker itself activated
the patch (test_spawn_worker_without_activation shows the default).
T is at most the CPU count: OpenBLAS caps the count it reads from its
variable at start-up to the CPUs of the node.
"""

import json

import pytest

from helpers import base_env, cpu_count, run_python, user_site, \
    write_activation_file

PARENT = """
import json, sys
import autozyme, workerlib
for name in workerlib.PATCHES:
    autozyme.activate(name)
print(json.dumps(workerlib.STYLES[sys.argv[1]]()))
"""

pytestmark = pytest.mark.skipif(cpu_count() < 2,
                                reason="needs 2 CPUs to tell 1 from 2 threads")


def _reports(tmp_path, style, threads, with_pth):
    """Run PARENT for `style`; the workers' reports."""
    env = base_env(AUTOZYME_ACTIVATION_FILE=write_activation_file(
        tmp_path / "activation.json", threads))
    if with_pth:
        user_site(tmp_path / "userbase")
        env["PYTHONUSERBASE"] = str(tmp_path / "userbase")
    proc = run_python(PARENT, env, args=[style])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "autozyme:" not in proc.stderr  # no warning from any worker
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
    ("executor_spawn", True),
    ("loky", True),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("style,with_pth", STYLES)
def test_worker_has_the_budget(tmp_path, style, with_pth, threads):
    reports = _reports(tmp_path, style, threads, with_pth)
    assert len(reports) == 4
    for report in reports:
        assert report["openblas"] == [threads], report
        assert report["OPENBLAS_NUM_THREADS"] == str(threads), report
        assert report["scanpy_n_jobs"] == threads, report
        assert report["torch"] == threads, report
        assert sorted(report["active"]) == ["cell2location", "scanpy"], report


def test_spawn_worker_without_activation(tmp_path):
    """Control: without the .pth or an initializer a spawned worker has
    nothing active and scanpy keeps its default, so the tests above would
    see a worker that did not activate itself."""
    for report in _reports(tmp_path, "pool_spawn", 2, with_pth=False):
        assert report["active"] == []
        assert report["scanpy_n_jobs"] == 1

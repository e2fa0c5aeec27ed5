# SPDX-License-Identifier: BSD-3-Clause
"""activate(): the patches' hooks on their upstreams, and activate's errors.

scanpy and cell2location are the stand-ins of stubs/ (not in Debian);
cell2location's stand-in imports Debian's real torch, whose thread count
is read back from torch itself.
"""

import pytest

from helpers import base_env, cpu_count, run_json, run_python, site_patch, \
    write_activation_file, file_threads

SCANPY_BEFORE = """
import json, scanpy, autozyme
{setup}
autozyme.activate("scanpy")
print(json.dumps(scanpy.settings.n_jobs))
"""

SCANPY_AFTER = """
import json, sys, autozyme
{setup}
autozyme.activate("scanpy")
assert "scanpy" not in sys.modules, "activate imported scanpy"
import scanpy
print(json.dumps(scanpy.settings.n_jobs))
"""


@pytest.mark.parametrize("code", [SCANPY_BEFORE, SCANPY_AFTER],
                         ids=["imported-before", "imported-after"])
@pytest.mark.parametrize("setup,env,expected", [
    ("autozyme.set_threads(3)", {}, 3),
    ("", {"AUTOZYME_THREADS": "1", "OMP_NUM_THREADS": "1"}, 1),
    ("", {"AUTOZYME_THREADS": "off"}, 1),  # off: scanpy's default stays
], ids=["set_threads", "budget", "off"])
def test_scanpy_n_jobs(tmp_path, code, setup, env, expected):
    assert run_json(code.format(setup=setup), base_env(**env)) == expected


def test_scanpy_follows_the_activation_file(tmp_path):
    path = write_activation_file(tmp_path / "activation.json", 3)
    code = SCANPY_AFTER.format(setup="")
    assert run_json(code, base_env(AUTOZYME_ACTIVATION_FILE=path)) == file_threads(3)


def test_set_threads_after_activate_reaches_the_knob():
    assert run_json("""
import json, scanpy, autozyme
autozyme.activate("scanpy")
autozyme.set_threads(3)
print(json.dumps(scanpy.settings.n_jobs))
""") == 3


TORCH = """
import json, sys, autozyme
{before}
autozyme.activate("cell2location")
assert {before!r} or "torch" not in sys.modules, "activate imported torch"
import cell2location, torch
print(json.dumps(torch.get_num_threads()))
"""


@pytest.mark.skipif(cpu_count() < 2, reason="needs 2 CPUs to tell 1 from 2")
@pytest.mark.parametrize("before", ["", "import cell2location"],
                         ids=["imported-after", "imported-before"])
def test_cell2location_sets_torch_threads(before):
    """torch's own default is every CPU; the budget here is 1."""
    env = base_env(AUTOZYME_THREADS="1", OMP_NUM_THREADS="2",
                   MKL_NUM_THREADS="2")  # user values torch would read
    assert run_json(TORCH.format(before=before), env) == 1


def test_activate_is_idempotent():
    report = run_json("""
import json, os, autozyme
for _ in range(3):
    autozyme.activate("scanpy")
print(json.dumps([os.environ["AUTOZYME_ACTIVATE"],
                  autozyme.env_snapshot()["patches"]]))
""")
    assert report[0] == "scanpy"
    assert [p["name"] for p in report[1]] == ["scanpy"]


def _error(code, env=None):
    """The last stderr line of `code`, which must fail."""
    proc = run_python(code, env)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip().splitlines()[-1]


def test_unknown_patch_lists_the_known_ones():
    line = _error("""
import autozyme
try:
    autozyme.activate("scanpi")
except LookupError as exc:
    assert isinstance(exc, autozyme.AutoZymeError)
    raise
""")
    assert line.startswith("autozyme._errors.UnknownPatchError: activate: "
                           "unknown patch 'scanpi': known patches are ")
    for known in ("cell2location", "scanpy", "seurat"):
        assert known in line


def test_patch_of_another_language_is_refused():
    line = _error("import autozyme; autozyme.activate('seurat')")
    assert "patch 'seurat' has no Python side (languages: R)" in line


def test_invalid_name_is_refused():
    assert "expected [a-z0-9]" in _error(
        "import autozyme; autozyme.activate('Scan Py')")
    assert "name must be a patch name string" in _error(
        "import autozyme; autozyme.activate(None)")


def test_missing_upstream_is_refused_and_nothing_recorded():
    report = run_json("""
import json, os, autozyme
try:
    autozyme.activate("scanpy")
except autozyme.UpstreamNotInstalledError as exc:
    message = str(exc)
print(json.dumps([message, os.environ.get("AUTOZYME_ACTIVATE"),
                  autozyme.env_snapshot()["patches"]]))
""", base_env(stubs=False))
    message, exported, patches = report
    assert message.startswith("activate('scanpy'): the patch adapts the "
                              "Python package 'scanpy', which is not "
                              "installed for ")
    assert exported is None and patches == []


def test_too_old_upstream_is_refused(tmp_path):
    env = site_patch(tmp_path, "newscanpy", "scanpy",
                     "def apply(module, threads):\n    pass\n", base_env(),
                     min_version="1.10")
    line = _error("import autozyme; autozyme.activate('newscanpy')", env)
    assert line == ("autozyme._errors.UpstreamNotInstalledError: "
                    "activate: patch 'newscanpy' needs scanpy >= 1.10, "
                    "found 1.9.3")


def test_min_version_by_release_numbers_as_r(tmp_path):
    """The core's rule, R's too: scanpy 1.9.3 meets 1.9.3.0 (Python's own
    tuples once made 1.9.3 older than it)."""
    env = site_patch(tmp_path, "samescanpy", "scanpy",
                     "def apply(module, threads):\n    pass\n", base_env(),
                     min_version="1.9.3.0")
    assert run_json("import autozyme, json; autozyme.activate('samescanpy');"
                    " print(json.dumps(autozyme.env_snapshot()['patches']"
                    "[0]['upstream_version']))", env) == "1.9.3"


@pytest.fixture
def broken_patch(tmp_path):
    """A site patch whose hook raises, in a registry ahead of the source's."""
    return site_patch(tmp_path, "broken", "scanpy",
                      "def apply(module, threads):\n"
                      "    raise RuntimeError('knob missing')\n", base_env())


def test_failing_hook_never_breaks_the_import(broken_patch):
    proc = run_python("""
import autozyme
autozyme.activate("broken")
import scanpy
print(scanpy.settings.n_jobs)
""", broken_patch)
    assert proc.returncode == 0 and proc.stdout == "1\n"
    assert proc.stderr == ("autozyme: patch 'broken' not applied to scanpy: "
                           "knob missing\n")


def test_failing_hook_fails_activate_when_upstream_is_imported(broken_patch):
    assert _error("import scanpy, autozyme; autozyme.activate('broken')",
                  broken_patch) == "RuntimeError: knob missing"

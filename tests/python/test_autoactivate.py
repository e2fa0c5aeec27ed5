# SPDX-License-Identifier: BSD-3-Clause
"""autozyme.pth: fresh interpreters activate themselves from AUTOZYME_ACTIVATE.

The .pth sits in a temporary user site directory (PYTHONUSERBASE): a .pth
runs only from a site directory, never from PYTHONPATH.  site.py reads the
user site before Debian's system site directories, so while the .pth runs
numpy and torch cannot be imported yet: the hooks wait for the import.
"""

import json

from helpers import base_env, file_threads, run_python, site_patch, write_activation_file


def test_fresh_interpreter_activates_itself(tmp_path, pth_env):
    """No autozyme code at all in the child."""
    pth_env.update(AUTOZYME_ACTIVATE="scanpy",
                   AUTOZYME_ACTIVATION_FILE=write_activation_file(
                       tmp_path / "activation.json", 3))
    proc = run_python("import os, scanpy; "
                      "print(scanpy.settings.n_jobs, os.environ['OMP_NUM_THREADS'])",
                      pth_env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, "{0} {0}\n".format(file_threads(3)), "")


def test_upstream_from_a_later_site_directory(tmp_path, pth_env):
    """A site patch of Debian's numpy (in /usr/lib/python3/dist-packages,
    not yet on sys.path when the .pth runs) is applied on import and its
    version recorded."""
    site_patch(tmp_path, "numpyknob", "numpy",
               "def apply(numpy, threads):\n"
               "    numpy.autozyme_threads = threads\n", pth_env)
    pth_env.update(AUTOZYME_ACTIVATE="numpyknob", AUTOZYME_THREADS="1")
    proc = run_python("""
import json, numpy, autozyme
print(json.dumps([numpy.autozyme_threads, numpy.__version__,
                  autozyme.env_snapshot()["patches"]]))
""", pth_env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    threads, version, patches = json.loads(proc.stdout)
    assert threads == 1
    assert patches == [{"name": "numpyknob", "upstream": "numpy",
                        "upstream_version": version}]


def _one_warning(proc, *words):
    assert proc.returncode == 0 and proc.stdout == "alive\n", proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("autozyme: this process did not activate ")
    for word in words:
        assert word in lines[0]


def test_unknown_patch_is_one_warning_line(pth_env):
    pth_env["AUTOZYME_ACTIVATE"] = "scanpy,nosuchpatch,otherpatch"
    _one_warning(run_python("print('alive')", pth_env),
                 "unknown patch 'nosuchpatch'", "unknown patch 'otherpatch'")


def test_missing_library_is_one_warning_line(pth_env):
    pth_env.update(AUTOZYME_ACTIVATE="scanpy,cell2location",
                   AUTOZYME_LIBRARY="/nonexistent/libautozyme.so.0")
    _one_warning(run_python("print('alive')", pth_env),
                 "cannot load AutoZyme's C library")


def test_bad_budget_is_one_warning_line(pth_env):
    pth_env.update(AUTOZYME_ACTIVATE="scanpy", AUTOZYME_THREADS="lots")
    _one_warning(run_python("print('alive')", pth_env), "AUTOZYME_THREADS")


def test_spawned_workers_survive_a_failed_activation(pth_env):
    pth_env["AUTOZYME_ACTIVATE"] = "nosuchpatch"
    proc = run_python("""
import multiprocessing
with multiprocessing.get_context("spawn").Pool(2) as pool:
    print(sum(pool.map(abs, range(-10, 0))))
""", pth_env)
    assert proc.returncode == 0 and proc.stdout == "55\n"
    # One line from each interpreter: the parent, spawn's resource tracker
    # and the two workers.
    lines = proc.stderr.splitlines()
    assert 1 <= len(lines) <= 4
    assert all("unknown patch 'nosuchpatch'" in line for line in lines)


def test_r_patches_are_left_to_r(pth_env):
    """Under Slurm AUTOZYME_ACTIVATE names the task's R patches too: Python
    skips them silently and passes them on to its children."""
    pth_env["AUTOZYME_ACTIVATE"] = "seurat"
    proc = run_python("import os, autozyme; autozyme.activate('scanpy'); "
                      "print(os.environ['AUTOZYME_ACTIVATE'])", pth_env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, "seurat,scanpy\n", "")


MODULES = "import sys; print(' '.join(sorted(sys.modules)))"


def test_pth_imports_nothing_without_autozyme_activate(tmp_path, pth_env):
    """The inactive hook's cost is a benchmark's matter (bench/runtime.sh,
    table 3); here, what makes it small: it imports no module."""
    plain = base_env(PYTHONUSERBASE=str(tmp_path / "empty"))
    with_pth = run_python(MODULES, pth_env)
    assert with_pth.stdout == run_python(MODULES, plain).stdout
    assert "autozyme" not in with_pth.stdout

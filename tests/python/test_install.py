# SPDX-License-Identifier: BSD-3-Clause
"""make install: the package and autozyme.pth land in a site directory of
/usr/bin/python3, and work from there.

Installs the build tree given to run.sh into a temporary DESTDIR.
"""

import os
import re
import site
import subprocess
import zipfile

import pytest

from helpers import STUBS, base_env, file_threads, run_python, write_activation_file

# autozyme.pth as installed: its licence line, then the one line that runs.
PTH = ("# SPDX-License-Identifier: BSD-3-Clause\n"
       "import os; os.environ.get('AUTOZYME_ACTIVATE') "
       "and __import__('autozyme._autoactivate')\n")


def _make_variables(builddir):
    """prefix, exec_prefix, libdir and pysitedir of the build, expanded."""
    with open(os.path.join(builddir, "Makefile")) as makefile:
        found = dict(re.findall(r"^(prefix|exec_prefix|libdir|pysitedir|"
                                r"datarootdir|datadir|VERSION) = (.*)$",
                                makefile.read(), re.MULTILINE))
    for _ in range(3):  # ${exec_prefix} -> ${prefix} -> /usr/local
        found = {k: re.sub(r"\$\{(\w+)\}", lambda m: found[m.group(1)], v)
                 for k, v in found.items()}
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    builddir = os.environ["AZ_TEST_BUILDDIR"]
    destdir = tmp_path_factory.mktemp("destdir")
    proc = subprocess.run(["make", "-C", builddir, "install",
                           "DESTDIR={}".format(destdir)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    dirs = _make_variables(builddir)
    return destdir, dirs, "{}{}".format(destdir, dirs["pysitedir"])


def test_files_are_in_the_site_directory(installed):
    destdir, dirs, sitedir = installed
    for name in ("autozyme/__init__.py", "autozyme/_lib.py",
                 "autozyme/patches/scanpy.py",
                 "autozyme/patches/cell2location.py"):
        assert os.path.isfile(os.path.join(sitedir, name)), name
    with open(os.path.join(sitedir, "autozyme.pth")) as pth:
        assert pth.read() == PTH
    with open(os.path.join(sitedir, "autozyme", "_install.py")) as generated:
        assert 'LIBDIR = "{}"\n'.format(dirs["libdir"]) in generated.read()
    assert os.path.exists("{}{}/libautozyme.so.0".format(destdir,
                                                         dirs["libdir"]))


def test_default_prefix_is_a_site_directory_of_debian_python(installed):
    _, dirs, _ = installed
    if dirs["prefix"] not in ("/usr/local", "/usr"):
        pytest.skip("configured with --prefix={}".format(dirs["prefix"]))
    assert dirs["pysitedir"] in site.getsitepackages()


def test_installed_pth_activates(installed, tmp_path):
    """The installed .pth and package, as site.py would process them (the
    DESTDIR copy is not a site directory, site.addsitedir makes it one)."""
    destdir, dirs, sitedir = installed
    env = base_env(AUTOZYME_ACTIVATE="scanpy",
                   AUTOZYME_ACTIVATION_FILE=write_activation_file(
                       tmp_path / "activation.json", 3),
                   AUTOZYME_LIBRARY="{}{}/libautozyme.so.0".format(
                       destdir, dirs["libdir"]), PYTHONPATH=STUBS)
    proc = run_python("""
import site, sys
site.addsitedir(sys.argv[1])
import autozyme, scanpy
print(autozyme.__file__, scanpy.settings.n_jobs)
""", env, args=[sitedir])
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "{} {}\n".format(
        os.path.join(sitedir, "autozyme", "__init__.py"), file_threads(3))


def test_the_wheel_is_installed_for_venvs(installed):
    """make install puts the wheel where users pip install it from; it
    carries configure's version, autozyme.pth and the recorded libdir."""
    destdir, dirs, _ = installed
    name = "autozyme-{}-py3-none-any.whl".format(dirs["VERSION"])
    with zipfile.ZipFile("{}{}/autozyme/python/{}".format(
            destdir, dirs["datadir"], name)) as wheel:
        assert wheel.read("autozyme.pth").decode() == PTH
        assert wheel.read("autozyme/_install.py").decode().endswith(
            'VERSION = "{}"\nLIBDIR = "{}"\n'.format(dirs["VERSION"],
                                                    dirs["libdir"]))
        metadata = wheel.read("autozyme-{}.dist-info/METADATA".format(
            dirs["VERSION"])).decode()
    assert "\nRequires-Python: >=3.8\n" in metadata
    assert "Classifier: Programming Language :: Python :: 3.13\n" in metadata

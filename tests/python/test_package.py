# SPDX-License-Identifier: BSD-3-Clause
"""env_snapshot(), the cost of importing, and how the library is found."""

import json
import os
import platform
import re
import shutil
import subprocess

import pytest

from helpers import PYTHON, SRCDIR, base_env, run_json, run_python


def _configure_version():
    with open(os.path.join(SRCDIR, "configure.ac")) as source:
        return re.search(r"AC_INIT\(\[autozyme\], \[([^]]+)\]",
                         source.read()).group(1)


def test_env_snapshot_records_patches_versions_and_platform():
    """The page: active patches, their upstream versions, AutoZyme, language
    and OS versions.  scanpy's version comes from its __version__ (it is
    imported), cell2location's from its .dist-info (it is not)."""
    snapshot = run_json("""
import json, autozyme, scanpy
autozyme.set_threads(3)
autozyme.activate("scanpy")
autozyme.activate("cell2location")
print(json.dumps(autozyme.env_snapshot()))
""")
    assert snapshot == {
        "autozyme_version": _configure_version(),
        "language": {"name": "python", "version": platform.python_version()},
        "os": {"sysname": platform.system(), "release": platform.release(),
               "machine": platform.machine()},
        "patches": [
            {"name": "scanpy", "upstream": "scanpy",
             "upstream_version": "1.9.3"},
            {"name": "cell2location", "upstream": "cell2location",
             "upstream_version": "0.1.3"},
        ],
    }


def test_env_snapshot_has_no_thread_variables():
    """The page: it does not capture thread-count environment variables."""
    text = json.dumps(run_json("""
import json, autozyme
autozyme.set_threads(3)
autozyme.activate("scanpy")
print(json.dumps(autozyme.env_snapshot()))
"""))
    assert "THREADS" not in text.upper() and "MC_CORES" not in text


def test_env_snapshot_before_any_activate():
    snapshot = run_json("import json, autozyme; "
                        "print(json.dumps(autozyme.env_snapshot()))")
    assert snapshot["patches"] == []


MODULES = """
import json, sys
before = set(sys.modules)
import autozyme
after_import = set(sys.modules) - before
autozyme.activate("scanpy")
after_activate = set(sys.modules) - before
print(json.dumps([sorted(after_import), sorted(after_activate)]))
"""


def test_import_and_activate_stay_cheap():
    """`import autozyme` loads only the package itself; activate adds ctypes
    and the library but neither json (about 5 ms) nor importlib.metadata
    (about 25 ms) nor the upstream package."""
    after_import, after_activate = run_json(MODULES)
    assert after_import == ["autozyme", "autozyme._errors"]
    for heavy in ("json", "importlib.metadata", "scanpy", "numpy"):
        assert heavy not in after_activate
    assert "ctypes" in after_activate


STATUS_NAMES = r"""
import json
from autozyme import _lib
core = _lib.core()
print(json.dumps({
    "library": [core._status(s).decode() for s in range(64)],
    "compared": [name.decode() for name in
                 (_lib._OK, _lib._INVALID, _lib._NOT_FOUND)]}))
"""


def test_the_status_names_python_compares_are_the_librarys():
    """Python maps a C status by az_status_name: each name it compares must
    be the name of exactly one status the loaded library returns."""
    names = run_json(STATUS_NAMES)
    for name in names["compared"]:
        assert names["library"].count(name) == 1, (name, names["library"])
    assert names["library"][0] == "ok"


def test_missing_library_names_the_three_places_tried():
    env = base_env(AUTOZYME_LIBRARY="/nonexistent/libautozyme.so.0")
    proc = run_python("import autozyme; autozyme.activate('scanpy')", env)
    assert proc.returncode != 0
    assert "OSError" not in proc.stderr  # no chained ctypes traceback
    missing = "cannot open shared object file: No such file or directory"
    assert proc.stderr.strip().splitlines()[-1] == (
        "autozyme._errors.AutoZymeError: cannot load AutoZyme's C library "
        "libautozyme.so.0; tried AUTOZYME_LIBRARY (/nonexistent/"
        "libautozyme.so.0: {0}), then the libdir recorded at build time "
        "(unset), then the dynamic loader's search path (libautozyme.so.0: "
        "{0}). Install it (the Debian package libautozyme0, or AutoZyme's "
        "make install) or set AUTOZYME_LIBRARY to the path of "
        "libautozyme.so.0".format(missing))


def test_an_unloadable_library_is_named(tmp_path):
    broken = tmp_path / "libautozyme.so.0"
    broken.write_text("not a shared object\n" * 200)  # past ELF header size
    env = base_env(AUTOZYME_LIBRARY=str(broken))
    proc = run_python("import autozyme; autozyme.set_threads(1)", env)
    assert proc.returncode != 0
    assert "OSError" not in proc.stderr
    assert "tried AUTOZYME_LIBRARY ({}: invalid ELF header)".format(broken) \
        in proc.stderr.strip().splitlines()[-1]


def test_import_succeeds_without_the_library():
    env = base_env(AUTOZYME_LIBRARY="/nonexistent/libautozyme.so.0")
    proc = run_python("import autozyme; print(autozyme.__name__)", env)
    assert (proc.returncode, proc.stdout) == (0, "autozyme\n"), proc.stderr


@pytest.fixture
def package_copy(tmp_path):
    """The package copied, to give it an _install.py of the test's own."""
    shutil.copytree(os.path.join(SRCDIR, "python", "autozyme"),
                    tmp_path / "autozyme",
                    ignore=shutil.ignore_patterns("_install.py*",
                                                  "__pycache__"))
    env = base_env()
    library_dir = os.path.dirname(env.pop("AUTOZYME_LIBRARY"))
    env["PYTHONPATH"] = os.pathsep.join(
        [str(tmp_path)] + env["PYTHONPATH"].split(os.pathsep)[1:])
    return tmp_path / "autozyme", library_dir, env


# The package imported and the libautozyme the process mapped.
LOADED = """
import autozyme, json
autozyme.activate("scanpy")
with open("/proc/self/maps") as maps:
    mapped = {line.split()[-1] for line in maps if "libautozyme" in line}
print(json.dumps([autozyme.__file__, sorted(mapped)]))
"""


def _real(library_dir):
    return [os.path.realpath(os.path.join(library_dir, "libautozyme.so.0"))]


def test_library_found_in_the_installed_libdir(package_copy):
    package, library_dir, env = package_copy
    (package / "_install.py").write_text(
        "LIBDIR = {!r}\n".format(library_dir))
    assert run_json(LOADED, env) == [str(package / "__init__.py"),
                                     _real(library_dir)]


def test_library_found_by_the_dynamic_loader(package_copy):
    package, library_dir, env = package_copy
    env["LD_LIBRARY_PATH"] = library_dir
    assert run_json(LOADED, env) == [str(package / "__init__.py"),
                                     _real(library_dir)]


def test_a_failing_autozyme_library_warns_before_the_fallback(package_copy):
    package, library_dir, env = package_copy
    (package / "_install.py").write_text(
        "LIBDIR = {!r}\n".format(library_dir))
    env["AUTOZYME_LIBRARY"] = "/nonexistent/libautozyme.so.0"
    proc = run_python(LOADED, env)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning: autozyme: AUTOZYME_LIBRARY (/nonexistent/" \
        "libautozyme.so.0: cannot open shared object file" in proc.stderr
    assert "using {} from the libdir recorded at build time".format(
        os.path.join(library_dir, "libautozyme.so.0")) in proc.stderr


# A user's script: the library loads at its first call (line 6).
USER_SCRIPT = """import json, warnings
import autozyme

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    autozyme.thread_info()
print(json.dumps([[w.filename, w.lineno, w.category.__name__, str(w.message)]
                  for w in caught]))
"""


def test_the_autozyme_library_warning_names_the_users_line(tmp_path):
    """One warning, at the line of the importing file that made the package
    load the library, not at the package's own lines."""
    script = tmp_path / "analysis.py"
    script.write_text(USER_SCRIPT)
    env = base_env()
    env["LD_LIBRARY_PATH"] = os.path.dirname(env["AUTOZYME_LIBRARY"])
    env["AUTOZYME_LIBRARY"] = "/nonexistent/libautozyme.so.0"
    proc = subprocess.run([PYTHON, str(script)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [[
        str(script), 6, "RuntimeWarning",
        "autozyme: AUTOZYME_LIBRARY (/nonexistent/libautozyme.so.0: cannot "
        "open shared object file: No such file or directory); using "
        "libautozyme.so.0 from the dynamic loader's search path"]]

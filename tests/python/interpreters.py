# SPDX-License-Identifier: BSD-3-Clause
"""The wheel in every CPython this machine has, each in a fresh venv.

Usage: /usr/bin/python3 tests/python/interpreters.py BUILDDIR

Interpreters are found at run time: Debian's /usr/bin/python3, every
python3.X on PATH, under pyenv's versions/, /opt/*/bin and conda.  In each
venv: pip install --no-index the build tree's wheel and the stand-in scanpy,
then import, set_threads, activate, env_snapshot (reporting THAT
interpreter's version), thread_info, and a spawn Pool worker and a spawn
ProcessPoolExecutor worker that activate themselves through autozyme.pth
with no code of ours in the worker.  Interpreters older than the wheel's
Requires-Python must be refused by pip.  Then a venv of Debian's python3
with --system-site-packages, where numpy's OpenBLAS runs at the budget in the
parent and in spawn workers (thread_info and threadpoolctl agree).  Prints a
table, with a MISSING row for each python3.X the wheel supports (3.8 to
3.13) that this machine does not have; exits 1 when any row failed.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
STUBS = os.path.join(HERE, "stubs")
SUPPORTED = ["3.{}".format(minor) for minor in range(8, 14)]
TIMEOUT = 600

# Run by each venv's python.  The workers only run report(): their
# activation comes from autozyme.pth and the inherited AUTOZYME_ACTIVATE.
PROBE = r'''
import concurrent.futures, json, multiprocessing, os, sys


def report(_item=None):
    import scanpy
    pools = {}
    if "numpy" in sys.argv:
        import numpy, threadpoolctl
        numpy.ones((64, 64)) @ numpy.ones((64, 64))
        pools = {"thread_info": [p["threads"] for p in
                                 __import__("autozyme").thread_info()["pools"]
                                 if p["kind"] == "openblas"],
                 "threadpoolctl": [p["num_threads"] for p in
                                   threadpoolctl.threadpool_info()
                                   if p["internal_api"] == "openblas"]}
    return dict(pools, executable=sys.executable, n_jobs=scanpy.settings.n_jobs,
                autozyme_loaded="autozyme" in sys.modules,
                omp=os.environ.get("OMP_NUM_THREADS"))


if __name__ == "__main__":
    import autozyme
    autozyme.set_threads(int(sys.argv[1]))
    autozyme.activate("scanpy")
    if "numpy" in sys.argv:
        import numpy  # after activate, as the documentation page advises
    snapshot, info = autozyme.env_snapshot(), autozyme.thread_info()
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as pool:
        pool_worker = pool.apply(report)
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as ex:
        executor_worker = ex.submit(report).result()
    print(json.dumps({
        "package": os.path.dirname(autozyme.__file__),
        "snapshot_python": snapshot["language"]["version"],
        "snapshot_patches": [p["name"] for p in snapshot["patches"]],
        "threads": info["threads"], "parent": report(),
        "pool": pool_worker, "executor": executor_worker}))
'''


def run(argv, env=None, **kwargs):
    return subprocess.run(argv, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, **kwargs)


def version_of(python):
    proc = run([python, "-c", "import sys; print('%d.%d.%d' % "
                "sys.version_info[:3])"])
    return proc.stdout.strip() if proc.returncode == 0 else None


def candidates():
    """(where it was found, path) of every python3 here, in a stable order."""
    found = [("Debian", "/usr/bin/python3")]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        for path in sorted(glob.glob(os.path.join(directory, "python3.*"))):
            if re.fullmatch(r"python3\.\d+", os.path.basename(path)):
                found.append(("PATH", path))
    roots = {os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv"),
             "/root/.pyenv"}
    for root in sorted(r for r in roots if r):
        for path in sorted(glob.glob(os.path.join(root, "versions", "*",
                                                  "bin", "python3"))):
            found.append(("pyenv", path))
    for path in sorted(glob.glob("/opt/*/bin/python3") +
                       glob.glob("/opt/conda/envs/*/bin/python3")):
        found.append(("/opt", path))
    return found


def interpreters():
    """One (source, path, version) per distinct real interpreter; pyenv's
    shims resolve to a version directory already listed."""
    seen, result = set(), []
    for source, path in candidates():
        if not os.access(path, os.X_OK) or "/shims/" in path:
            continue
        real = os.path.realpath(path)
        version = version_of(path)
        key = (real, version)
        if version is None or key in seen:
            continue
        seen.add(key)
        result.append((source, path, version))
    return result


def requires_python(wheel):
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist()
                    if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    return re.search(r"^Requires-Python: >=(\d+)\.(\d+)$", metadata,
                     re.MULTILINE).groups()


def make_venv(python, where, system_site=False):
    argv = [python, "-m", "venv", where]
    if system_site:
        argv.insert(3, "--system-site-packages")
    proc = run(argv)
    if proc.returncode != 0:
        raise RuntimeError("venv: " + (proc.stderr or proc.stdout)[-300:])
    return os.path.join(where, "bin", "python")


def install(venv_python, wheel, by_name=False):
    """pip install --no-index the wheel (by_name: `autozyme` from a
    directory named by PIP_FIND_LINKS, as README tells sites), then the
    stand-in scanpy (package and dist-info, as its wheel would) into the
    venv's site directory."""
    env = dict(os.environ, PIP_FIND_LINKS=os.path.dirname(wheel))
    proc = run([venv_python, "-m", "pip", "install", "-q", "--no-index",
                "--disable-pip-version-check",
                "autozyme" if by_name else wheel], env=env)
    if proc.returncode != 0:
        raise RuntimeError("pip: " + (proc.stderr or proc.stdout)[-300:])
    purelib = run([venv_python, "-c", "import sysconfig; "
                   "print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    for name in ("scanpy", "scanpy-1.9.3.dist-info"):
        shutil.copytree(os.path.join(STUBS, name), os.path.join(purelib, name))
    return purelib


def probe(venv_python, env, threads, *extra):
    """PROBE run as a file: spawn workers import the parent's __main__
    from it to find report()."""
    script = os.path.join(os.path.dirname(os.path.dirname(venv_python)),
                          "probe.py")
    with open(script, "w") as out:
        out.write(PROBE)
    proc = run([venv_python, script, str(threads)] + list(extra), env=env,
               cwd=os.path.dirname(script))
    if proc.returncode != 0:
        raise RuntimeError("probe: " + proc.stderr.strip()[-400:])
    return json.loads(proc.stdout.splitlines()[-1])


def problems_of(result, threads, venv_python, purelib):
    """What is wrong with a probe's result, one line each (empty: nothing):
    where the package came from, the parent's budget and patches, and what
    the parent and both spawn workers run."""
    problems = []
    if result["package"] != os.path.join(purelib, "autozyme"):
        problems.append("package from " + result["package"])
    if result["threads"] != threads or "scanpy" not in result["snapshot_patches"]:
        problems.append("parent: threads {threads}, patches "
                        "{snapshot_patches}".format(**result))
    for kind in ("parent", "pool", "executor"):
        got = result[kind]
        if (got["n_jobs"], got["omp"], got["executable"]) != \
                (threads, str(threads), venv_python):
            problems.append("{}: {}".format(kind, got))
        if kind != "parent" and not got["autozyme_loaded"]:
            problems.append(kind + ": did not activate")
        for pools in (got.get("thread_info"), got.get("threadpoolctl")):
            if pools is not None and pools != [threads]:
                problems.append("{} OpenBLAS {}".format(kind, got))
    return problems


def base_env(library):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AUTOZYME", "PYTHON", "OMP_", "OPENBLAS_"))}
    env.update(AUTOZYME_LIBRARY=library, AUTOZYME_OVERSUBSCRIPTION="ignore",
               AUTOZYME_PATCH_PATH=os.path.join(SRCDIR, "patches"))
    return env


def check_one(python, version, wheel, env, tmp, minimum):
    """(venv install, activate, spawn worker threads, result) for one row."""
    where = os.path.join(tmp, "venv-" + version)
    venv_python = make_venv(python, where)
    supported = tuple(map(int, version.split(".")[:2])) >= minimum
    if not supported:
        proc = run([venv_python, "-m", "pip", "install", "-q", "--no-index",
                    wheel])
        # pip 18 (3.6) and later word it differently
        refused = proc.returncode != 0 and re.search(
            r"requires (a different )?Python", proc.stdout + proc.stderr)
        return ("refused (Requires-Python >={}.{})".format(*minimum), "-", "-",
                "ok" if refused else "FAILED: pip did not refuse it")
    purelib = install(venv_python, wheel)
    result = probe(venv_python, env, 2)
    problems = problems_of(result, 2, venv_python, purelib)
    if result["snapshot_python"] != version:
        problems.append("env_snapshot says " + result["snapshot_python"])
    spawn = "{} / {}".format(result["pool"]["n_jobs"],
                             result["executor"]["n_jobs"])
    return ("ok", "scanpy, threads 2", spawn,
            "FAILED: " + "; ".join(problems) if problems else "ok")


def check_numpy(wheel, env, tmp):
    """Debian's python3 in a --system-site-packages venv: numpy's OpenBLAS
    at the budget (1, below the default of every CPU) everywhere."""
    venv_python = make_venv("/usr/bin/python3", os.path.join(tmp, "venv-sys"),
                            system_site=True)
    purelib = install(venv_python, wheel, by_name=True)
    result = probe(venv_python, env, 1, "numpy")
    problems = problems_of(result, 1, venv_python, purelib)
    openblas = "{} / {}".format(result["pool"].get("thread_info"),
                                result["executor"].get("threadpoolctl"))
    return ("ok", "scanpy, threads 1", "OpenBLAS " + openblas,
            "FAILED: " + "; ".join(problems) if problems else "ok")


def main():
    builddir = os.path.abspath(sys.argv[1])  # the probes run in the venvs
    wheels = glob.glob(os.path.join(builddir, "python", "dist",
                                    "autozyme-*-py3-none-any.whl"))
    if len(wheels) != 1:
        print("interpreters: no wheel in {}/python/dist (make builds it when "
              "configure finds setuptools and wheel)".format(builddir))
        return 1
    wheel = wheels[0]
    env = base_env(os.path.join(builddir, "lib", ".libs", "libautozyme.so.0"))
    minimum = tuple(map(int, requires_python(wheel)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, python, version in interpreters():
            label = "{} {}".format(source, python)
            if not version.startswith("3."):
                rows.append((label, version, "-", "-", "-", "not a Python 3"))
                continue
            try:
                rows.append((label, version) + check_one(
                    python, version, wheel, env, tmp, minimum))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                rows.append((label, version, "-", "-", "-",
                             "FAILED: {}".format(exc)))
        try:
            rows.append(("Debian venv --system-site-packages + numpy, "
                         "pip install autozyme from PIP_FIND_LINKS",
                         version_of("/usr/bin/python3")) +
                        check_numpy(wheel, env, tmp))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            rows.append(("Debian venv + numpy", "-", "-", "-", "-",
                         "FAILED: {}".format(exc)))
    found = {".".join(row[1].split(".")[:2]) for row in rows}
    for minor in SUPPORTED:
        if minor not in found:
            rows.append(("python" + minor, "-", "-", "-", "-",
                         "MISSING: not found on this machine"))
    print("| interpreter | version | venv install | activate | spawn worker "
          "threads (Pool / ProcessPoolExecutor) | result |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    failed = [row for row in rows if row[-1].startswith("FAILED")]
    print("interpreters: {} rows, {} failed".format(len(rows), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

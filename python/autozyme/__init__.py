# SPDX-License-Identifier: BSD-3-Clause
"""AutoZyme's Python runtime: thread budget and patches for scientific Python.

    import autozyme
    autozyme.set_threads(8)
    autozyme.activate("scanpy")

A thin layer over libautozyme (ctypes, no compiled extension): the budget,
the thread variables, the BLAS/OpenMP pools and the bookkeeping live in the
C runtime shared with R.  This package adds what only Python can do: run a
patch's hook on its upstream module and find upstream versions.

Importing it loads nothing else (not even ctypes); the library is loaded by
the first call.
"""

import sys

from ._errors import AutoZymeError, UnknownPatchError, UpstreamNotInstalledError

__all__ = ["set_threads", "activate", "env_snapshot", "thread_info",
           "AutoZymeError", "UnknownPatchError", "UpstreamNotInstalledError"]

def _core():
    from . import _lib
    return _lib.core()


def set_threads(n):
    """Use `n` threads: sets every thread variable (overriding the user's),
    the BLAS/OpenMP libraries already loaded and the active patches' knobs.
    Pools of W workers started afterwards give each max(1, n // W).  When
    n is more than the CPUs (times the workers, in a pool worker),
    AUTOZYME_OVERSUBSCRIPTION decides: warn (one line), error (ValueError)
    or ignore.  Returns the count now in force.  The C runtime checks n
    (an int from 1 to AZ_THREADS_MAX of autozyme.h) and words the
    ValueError for anything else."""
    from . import _hooks, _pools
    core = _core()
    applied = core.set_threads(n)
    core.sync_environ()
    _hooks.reapply(core, applied)
    _pools.install()
    return applied


def _enter_worker(share):
    """Run as a worker of a pool: share = (the parent's threads, the
    workers); see _pools."""
    from . import _hooks
    core = _core()
    core.enter_worker(share)
    core.sync_environ()
    _hooks.reapply(core)


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError("activate(name): name must be a patch name string "
                        "such as 'scanpy', got {!r}".format(name))


def _check_upstream(name, upstream, min_version):
    """Refuse an upstream this interpreter cannot import, or one older than
    the manifest's min_version (when its version can be found)."""
    from . import _upstream
    if not _upstream.importable(upstream):
        raise UpstreamNotInstalledError(
            "activate({!r}): the patch adapts the Python package {!r}, which "
            "is not installed for {} (not importable from sys.path); install "
            "{} first".format(name, upstream, sys.executable, upstream))
    if min_version:
        _core().check_upstream_version(name, _upstream.version(upstream))


def _activate(name, strict):
    """activate(); with strict False, what a worker runs from
    AUTOZYME_ACTIVATE, before later site directories are on sys.path, so
    the upstream cannot be looked for yet, and where R's patches are left to
    R.  The upstream is checked before anything is recorded or exported."""
    from . import _hooks
    _check_name(name)
    core = _core()
    try:
        upstream, min_version, hook = core.find_patch(name)
    except UnknownPatchError:
        if strict or not core.has_side(name, "r"):
            raise
        return
    if strict:
        _check_upstream(name, upstream, min_version)
    core.activate(name)
    core.sync_environ()
    _hooks.register(core, name, upstream, hook)
    from . import _pools
    _pools.install()


def activate(name):
    """Activate the patch `name`: apply the thread budget (the activation
    file's under Slurm, else set_threads() or the CPUs this process may use)
    to the thread variables and BLAS/OpenMP libraries whose variable you did
    not set yourself, patch the upstream package now or when it is
    imported, and export AUTOZYME_ACTIVATE so that worker processes activate
    themselves.  Pools of W workers (multiprocessing.Pool,
    ProcessPoolExecutor, joblib/loky) started afterwards give each worker
    max(1, T // W) of this process's T threads.  Calling it again is
    harmless."""
    _activate(name, strict=True)


def _python_version():
    return "{}.{}.{}".format(*sys.version_info[:3])


def env_snapshot():
    """Active patches with their upstream versions, the AutoZyme, Python and
    OS versions; no thread variables (read os.environ for those)."""
    import json
    from . import _hooks
    core = _core()
    _hooks.refresh_versions(core)
    return json.loads(core.snapshot(_python_version()))


def thread_info():
    """Threads in force, why (provenance, activation file, set_threads),
    the MPI ranks sharing the node, the worker share and latest pool, the
    oversubscription ratio (workers x threads per worker over the task's
    CPUs) and every BLAS/OpenMP library loaded with its own thread count."""
    import json
    return json.loads(_core().thread_info())

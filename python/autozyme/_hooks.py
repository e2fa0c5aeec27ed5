# SPDX-License-Identifier: BSD-3-Clause
"""Running patch hooks on their upstream modules (and other code that must
wait for a module's import: _pools adapts the pool classes so).

A hook (a manifest's "hook", e.g. autozyme.patches.scanpy) is a module with
apply(upstream_module, threads).  It runs at once when the upstream is
already imported, else right after the upstream's import finishes: a
sys.meta_path finder wraps the upstream's loader.  So activate() never
imports a heavy package itself, and a worker activated by autozyme.pth
(before the site directories holding the upstream are even on sys.path)
still patches the upstream when the worker's code imports it.
"""

import sys

from . import _upstream

_active = {}   # patch name -> (upstream, hook), in activation order
_waiting = {}  # upstream module name -> patch names waiting for its import
_callbacks = {}  # module name -> functions run with it once imported


def warn(message):
    """One line on stderr: for failures that must not break an import or a worker."""
    sys.stderr.write("autozyme: {}\n".format(message))
    sys.stderr.flush()


def _apply(core, name, module, threads=None):
    """Run patch `name`'s hook on its imported upstream with `threads` (None:
    the runtime's count), record the version."""
    upstream, hook = _active[name]
    core.set_upstream_version(name, _upstream.version(upstream))
    if threads is None:
        threads, off = core.threads()
        if off:  # the user or the site asked AutoZyme to set no thread count
            return
    __import__(hook)
    sys.modules[hook].apply(module, threads)


def _fire(core, module):
    """The upstream `module` has just been imported: run what waited for it."""
    for name in _waiting.pop(module.__name__, []):
        try:
            _apply(core, name, module)
        except Exception as exc:  # never break the user's import
            warn("patch {!r} not applied to {}: {}".format(
                name, module.__name__, exc))
    for callback in _callbacks.pop(module.__name__, []):
        try:
            callback(module)
        except Exception as exc:
            warn("{} not adapted: {}".format(module.__name__, exc))
    if not _waiting and not _callbacks and _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


class _Loader:
    """The upstream's own loader, then the hooks waiting for the module."""

    def __init__(self, loader, core):
        self._loader = loader
        self._core = core

    def __getattr__(self, attr):
        return getattr(self._loader, attr)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        # Give the module its real loader back: reload() and importlib.resources
        # must not meet this wrapper.
        module.__loader__ = self._loader
        module.__spec__.loader = self._loader
        _fire(self._core, module)


class _PostImportFinder:
    """Finds nothing itself: hands out the other finders' specs for waiting
    upstreams with their loader wrapped."""

    core = None

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _waiting and fullname not in _callbacks:
            return None
        spec = _upstream.find_spec(fullname, path, skip=self)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, self.core)
        return spec


_FINDER = _PostImportFinder()


def register(core, name, upstream, hook):
    """Patch `name` is active: apply its hook now if `upstream` is imported,
    else when it is.  Errors of an immediate hook propagate."""
    _active[name] = (upstream, hook)
    module = sys.modules.get(upstream)
    if module is not None:
        _apply(core, name, module)
        return
    core.set_upstream_version(name, _upstream.version(upstream))
    waiting = _waiting.setdefault(upstream, [])
    if name not in waiting:
        waiting.append(name)
    _FINDER.core = core
    _watch()


def _watch():
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def when_imported(name, callback):
    """Run callback(module) once the module `name` is imported: now if it
    is already.  Errors of an immediate callback propagate."""
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    waiting = _callbacks.setdefault(name, [])
    if callback not in waiting:
        waiting.append(callback)
    _watch()


def reapply(core, threads=None):
    """The count changed: apply it to the upstreams imported.  `threads` is
    what set_threads() applied; None (a worker's share) asks the runtime."""
    for name, (upstream, _) in _active.items():
        module = sys.modules.get(upstream)
        if module is not None and name not in _waiting.get(upstream, ()):
            _apply(core, name, module, threads)


def refresh_versions(core):
    """Record the versions of upstreams found since activation (a worker
    activated from autozyme.pth ran before all site directories were known)."""
    for name, (upstream, _) in _active.items():
        core.set_upstream_version(name, _upstream.version(upstream))

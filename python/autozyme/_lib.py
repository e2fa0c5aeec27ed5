# SPDX-License-Identifier: BSD-3-Clause
"""The ctypes binding of libautozyme.

Imported on first use, not by `import autozyme`: ctypes and the library
(with hwloc and cJSON behind it) are only loaded once something is asked of
the runtime.  All the logic (budget, variables, pools, bookkeeping, JSON)
is in the C runtime; this module only converts arguments and errors.
"""

import ctypes
import os
import sys

from ._errors import (AutoZymeError, UnknownPatchError,
                      UpstreamNotInstalledError)

SONAME = "libautozyme.so.0"

_LANGUAGE = b"python"

# az_status values by their az_status_name: the library names them, so no
# number of autozyme.h is copied here.  The names are the header's stable
# interface ("ok", "invalid", ...): test_status.c pins them, and
# test_package.py checks each one compared here is one status's name.
_OK = b"ok"
_INVALID = b"invalid"
_NOT_FOUND = b"not found"

# ctypes passes a Python int to a long long parameter modulo 2**64, without
# a word (2**64 + 1 arrives as 1): an int beyond that range is clamped to
# its edge, which the C runtime refuses as it refuses any count out of its
# own range.
_LLONG_MIN, _LLONG_MAX = -2 ** 63, 2 ** 63 - 1


def _whole(value):
    """An int that is not a bool (the language's check): C checks the range."""
    return isinstance(value, int) and not isinstance(value, bool)


def _long_long(value):
    """`value` as the C runtime's long long parameter receives it."""
    return min(max(value, _LLONG_MIN), _LLONG_MAX)


class _Share(ctypes.Structure):
    """az_worker_share: a parent's threads shared by its workers."""
    _fields_ = [("threads", ctypes.c_uint), ("workers", ctypes.c_uint)]


_P_ERROR = ctypes.c_char_p  # an az_error: a buffer of az_error_size()
_P_SHARE = ctypes.POINTER(_Share)
_P_VOID = ctypes.POINTER(ctypes.c_void_p)
_C_STR = ctypes.c_char_p
_SIGNATURES = {
    "az_status_name": (_C_STR, [ctypes.c_int]),
    "az_error_size": (ctypes.c_size_t, []),
    "az_patch_upstream": (_C_STR, [ctypes.c_void_p, _C_STR]),
    "az_patch_hook": (_C_STR, [ctypes.c_void_p, _C_STR]),
    "az_patch_min_version": (_C_STR, [ctypes.c_void_p, _C_STR]),
    "az_runtime_set_threads": (ctypes.c_int, [ctypes.c_longlong,
                                              ctypes.POINTER(ctypes.c_uint),
                                              _P_ERROR]),
    "az_runtime_threads": (ctypes.c_int, [ctypes.POINTER(ctypes.c_uint),
                                          ctypes.POINTER(ctypes.c_bool),
                                          _P_ERROR]),
    "az_runtime_find_patch": (ctypes.c_int, [_C_STR, _C_STR, _P_VOID,
                                             _P_ERROR]),
    "az_runtime_activate": (ctypes.c_int, [_C_STR, _C_STR, _P_VOID,
                                           _P_ERROR]),
    "az_runtime_set_upstream_version": (ctypes.c_int, [_C_STR, _C_STR,
                                                       _P_ERROR]),
    "az_runtime_check_upstream_version": (ctypes.c_int, [_C_STR, _C_STR,
                                                         _C_STR, _P_ERROR]),
    "az_runtime_inherited_patches": (ctypes.c_int, [_P_VOID, _P_ERROR]),
    "az_runtime_snapshot": (ctypes.c_int, [_C_STR, _C_STR, _P_VOID,
                                           _P_ERROR]),
    "az_runtime_thread_info": (ctypes.c_int, [_P_VOID, _P_ERROR]),
    "az_runtime_pool_start": (ctypes.c_int, [ctypes.c_longlong, _P_SHARE,
                                             _P_ERROR]),
    "az_runtime_enter_worker": (ctypes.c_int, [_P_SHARE, _P_ERROR]),
    "az_runtime_worker_env": (ctypes.c_int, [_P_SHARE, _P_VOID, _P_ERROR]),
}


def _encode(text):
    return None if text is None else os.fsencode(text)


def _decode(raw):
    return None if raw is None else os.fsdecode(raw)


def _candidates():
    """Where to look for the library, in order, as (place, path or None).

    AUTOZYME_LIBRARY first (a site's or user's explicit choice), then the
    libdir make recorded when this copy was built, then the dynamic loader's
    own search (LD_LIBRARY_PATH, ld.so.cache): a wheel installed on another
    machine, with the library in another prefix, still finds it.
    """
    try:
        from ._install import LIBDIR
        recorded = os.path.join(LIBDIR, SONAME)
    except ImportError:  # running from the source tree: nothing recorded
        recorded = None
    return [("AUTOZYME_LIBRARY", os.environ.get("AUTOZYME_LIBRARY") or None),
            ("the libdir recorded at build time", recorded),
            ("the dynamic loader's search path", SONAME)]


def _caller_outside_package():
    """The warnings.warn stacklevel, for its caller, of the first frame
    outside this package: the user's line that made it load the library
    (skip_file_prefixes does this from Python 3.12 on)."""
    package = __name__.partition(".")[0]
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_globals.get(
            "__name__", "").partition(".")[0] == package:
        frame, level = frame.f_back, level + 1
    return level


def _load():
    tried = []
    for place, path in _candidates():
        if path is None:
            tried.append("{} (unset)".format(place))
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError as exc:
            tried.append("{} ({})".format(place, exc))
            continue
        if place != "AUTOZYME_LIBRARY" and os.environ.get("AUTOZYME_LIBRARY"):
            import warnings  # the user's explicit choice failed: say so
            warnings.warn("autozyme: {}; using {} from {}".format(
                tried[0], path, place), RuntimeWarning,
                stacklevel=_caller_outside_package())
        return library
    # Raised outside the except clauses: the message says it all, with no
    # chained ctypes traceback.
    raise AutoZymeError(
        "cannot load AutoZyme's C library {}; tried {}. Install it (the "
        "Debian package libautozyme0, or AutoZyme's make install) or set "
        "AUTOZYME_LIBRARY to the path of {}".format(
            SONAME, ", then ".join(tried), SONAME))


class Core:
    """The C runtime of this process, one instance (see core())."""

    def __init__(self):
        self._lib = _load()
        for name, (restype, argtypes) in _SIGNATURES.items():
            func = getattr(self._lib, name)
            func.restype = restype
            func.argtypes = argtypes
        self._error_size = self._lib.az_error_size()
        libc = ctypes.CDLL(None)
        self._free = libc.free
        self._free.argtypes = [ctypes.c_void_p]
        self._libc = libc

    def _error(self):
        """An az_error for the C runtime to fill."""
        return ctypes.create_string_buffer(self._error_size)

    def _status(self, status):
        """The az_status_name of `status` (bytes): "ok", "invalid", ..."""
        return self._lib.az_status_name(status)

    def _check(self, status, err, classes=None):
        """Raise the C runtime's message (it names the function and the
        accepted form) as classes[status name], else as AutoZymeError."""
        name = self._status(status)
        if name == _OK:
            return
        message = err.value.decode(errors="replace") or _decode(name)
        raise (classes or {}).get(name, AutoZymeError)(message)

    def _take_string(self, pointer):
        """The text of a malloc'ed C string, which is then freed."""
        try:
            return _decode(ctypes.string_at(pointer.value))
        finally:
            self._free(pointer)

    def set_threads(self, n):
        """set_threads(n) in the C runtime, which checks n (the one range
        check) and words the refusal, raised as ValueError: the count now
        in force.  What is no int reaches C as 0, which no count is; the
        message then names n as given, as it does for a clamped int."""
        count = _long_long(n) if _whole(n) else 0
        applied, err = ctypes.c_uint(), self._error()
        status = self._lib.az_runtime_set_threads(count, ctypes.byref(applied),
                                                  err)
        if self._status(status) == _INVALID and (not _whole(n) or count != n):
            message, shown = err.value.decode(errors="replace"), str(count)
            if message.endswith(shown):
                raise ValueError(message[:-len(shown)] + repr(n))
        self._check(status, err, {_INVALID: ValueError})
        return applied.value

    def threads(self):
        """(count, off): the count activate() and the hooks apply."""
        count, off, err = ctypes.c_uint(), ctypes.c_bool(), self._error()
        self._check(self._lib.az_runtime_threads(ctypes.byref(count),
                                                 ctypes.byref(off), err),
                    err)
        return count.value, off.value

    def _call_patch(self, function, name, language=_LANGUAGE):
        """az_runtime_find_patch or az_runtime_activate: (status, error,
        patch)."""
        patch, err = ctypes.c_void_p(), self._error()
        # ctypes would pass only the text before a NUL: the C runtime gets
        # it spelt as Python shows it, which no patch name matches, so it
        # refuses the name and quotes it.
        status = function(_encode(name.replace("\0", "\\x00")), language,
                          ctypes.byref(patch), err)
        return status, err, patch

    def _python_patch(self, function, name):
        """The patch `name`, or the runtime's refusal raised: an unknown
        patch or one without a Python side, an invalid name."""
        status, err, patch = self._call_patch(function, name)
        self._check(status, err, {_NOT_FOUND: UnknownPatchError,
                                  _INVALID: ValueError})
        return patch

    def find_patch(self, name):
        """(upstream, min_version, hook) of `name`'s Python side in the
        runtime's registry, activating nothing; refused as activate() is."""
        patch = self._python_patch(self._lib.az_runtime_find_patch, name)
        return tuple(_decode(get(patch, _LANGUAGE)) for get in (
            self._lib.az_patch_upstream, self._lib.az_patch_min_version,
            self._lib.az_patch_hook))

    def has_side(self, name, language):
        """True when the runtime knows `name` with a `language` side."""
        status, _, _ = self._call_patch(self._lib.az_runtime_find_patch,
                                        name, _encode(language))
        return self._status(status) == _OK

    def activate(self, name):
        """Activate `name` (see find_patch) in the C runtime."""
        self._python_patch(self._lib.az_runtime_activate, name)

    def check_upstream_version(self, name, found):
        """Refuse `found`, the installed upstream's version, when it is older
        than the patch's min_version (the core's rule, R's too)."""
        err = self._error()
        self._check(self._lib.az_runtime_check_upstream_version(
            _encode(name), _LANGUAGE, _encode(found), err), err,
            {_INVALID: UpstreamNotInstalledError})

    def inherited_patches(self):
        """The names AUTOZYME_ACTIVATE holds, as the core parses them."""
        import json
        text, err = ctypes.c_void_p(), self._error()
        self._check(self._lib.az_runtime_inherited_patches(ctypes.byref(text),
                                                           err), err)
        return json.loads(self._take_string(text))

    def set_upstream_version(self, name, version):
        err = self._error()
        self._check(self._lib.az_runtime_set_upstream_version(
            _encode(name), _encode(version), err), err)

    def snapshot(self, language_version):
        text, err = ctypes.c_void_p(), self._error()
        self._check(self._lib.az_runtime_snapshot(
            _LANGUAGE, _encode(language_version), ctypes.byref(text), err),
            err)
        return self._take_string(text)

    def thread_info(self):
        text, err = ctypes.c_void_p(), self._error()
        self._check(self._lib.az_runtime_thread_info(ctypes.byref(text), err),
                    err)
        return self._take_string(text)

    def pool_start(self, workers):
        """A pool of `workers` (an int) is starting: (T, W) to hand its
        workers, None when the budget is off or the C runtime refuses the
        count (share.workers stays 0: the pool's own check decides); the
        oversubscription guard may refuse it (AutoZymeError) or print its
        one warning line."""
        share, err = _Share(), self._error()
        status = self._lib.az_runtime_pool_start(_long_long(workers), share,
                                                 err)
        if not share.workers:
            return None
        self._check(status, err)
        return (share.threads, share.workers) if share.threads else None

    def enter_worker(self, share):
        """Run this process as a worker of `share` (T, W)."""
        err = self._error()
        self._check(self._lib.az_runtime_enter_worker(_Share(*share), err),
                    err)

    def worker_env(self, share):
        """The variables a fresh worker of `share` (T, W) starts with."""
        import json
        text, err = ctypes.c_void_p(), self._error()
        self._check(self._lib.az_runtime_worker_env(
            _Share(*share), ctypes.byref(text), err), err)
        return json.loads(self._take_string(text))

    def sync_environ(self):
        """Make os.environ show what the C runtime wrote with setenv.

        os.environ is a copy taken at start-up; tools that build a child's
        environment from it (joblib's loky, subprocess with env=) would
        otherwise pass the old values and no AUTOZYME_ACTIVATE.
        """
        current = {}
        entries = ctypes.POINTER(ctypes.c_char_p).in_dll(self._libc, "environ")
        index = 0
        while entries[index] is not None:
            name, _, value = entries[index].partition(b"=")
            current[os.fsdecode(name)] = os.fsdecode(value)
            index += 1
        for name, value in current.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
        for name in [n for n in os.environ if n not in current]:
            del os.environ[name]


_CORE = []


def core():
    """The process's Core, loading the library on first use."""
    if not _CORE:
        _CORE.append(Core())
    return _CORE[0]

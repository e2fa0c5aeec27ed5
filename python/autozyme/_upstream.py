# SPDX-License-Identifier: BSD-3-Clause
"""Upstream packages: are they importable, and which version is installed.

Without importlib.metadata (about 25 ms to import): the version is the
module's __version__ when it is already imported, else the name of its
<name>-<version>.dist-info or .egg-info directory on sys.path.
"""

import os
import sys


def _normalise(name):
    """Distribution names compare case-insensitively, '-', '_' and '.' alike."""
    return name.lower().replace("-", "_").replace(".", "_")


def _metadata_entry(entry):
    """(normalised name, version) of a metadata directory name, else None."""
    if entry.endswith(".dist-info"):
        stem = entry[:-len(".dist-info")]
    elif entry.endswith(".egg-info"):
        # Debian's eggs may carry the Python version: name-1.0-py3.11.egg-info
        stem = entry[:-len(".egg-info")].split("-py")[0]
    else:
        return None
    name, _, version = stem.partition("-")
    return (_normalise(name), version) if version else None


def _scan(wanted):
    for directory in sys.path:
        try:
            entries = os.listdir(directory or ".")
        except OSError:  # a zip file or a directory gone since
            continue
        for entry in entries:
            found = _metadata_entry(entry)
            if found and found[0] == wanted:
                return found[1]
    return None


def version(name):
    """The installed version of the upstream `name`, None when unknown."""
    module = sys.modules.get(name)
    found = getattr(module, "__version__", None)
    if isinstance(found, str):
        return found
    return _scan(_normalise(name))


def find_spec(name, path=None, skip=None):
    """The spec the import system would use for `name`, without importing it.

    `path` is the parent package's __path__ (None for a top-level module);
    `skip` is a meta-path finder to leave out (our own post-import finder).
    """
    for finder in sys.meta_path:
        if finder is skip or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(name, path)
        if spec is not None:
            return spec
    return None


def importable(name):
    return name in sys.modules or find_spec(name) is not None

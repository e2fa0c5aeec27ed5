# SPDX-License-Identifier: BSD-3-Clause
"""Activation of a fresh interpreter from its environment.

autozyme.pth imports this module when AUTOZYME_ACTIVATE is set: spawn,
forkserver, ProcessPoolExecutor and joblib/loky workers (and every Python of
a Slurm task) then activate the parent's patches with no code in the worker.
It runs while site.py is still adding site directories, so the upstream
packages are patched later, when the worker imports them.  A failure is one
line on stderr: a worker must never die of it.
"""

import os

from . import _activate, _core
from ._hooks import warn


def _problems():
    try:
        names = _core().inherited_patches()
    except Exception as exc:  # no library, or a list that does not parse
        return [str(exc)]
    problems = []
    for name in names:
        try:
            _activate(name, strict=False)
        except Exception as exc:
            problems.append(str(exc))
    return problems


def _main():
    value = os.environ["AUTOZYME_ACTIVATE"]
    problems = _problems()
    if problems:
        warn("this process did not activate AUTOZYME_ACTIVATE={!r}: {}"
             .format(value, "; ".join(problems)))


_main()

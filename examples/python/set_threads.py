# SPDX-License-Identifier: BSD-3-Clause
"""The page's "Set thread count" snippet, runnable.

    import autozyme
    autozyme.set_threads(8)
    autozyme.activate("scanpy")

Prints the common thread-count variables, which now say 8, and scanpy's own
knob, which the patch set to 8.  Needs scanpy.
"""

import os

import autozyme

autozyme.set_threads(8)
autozyme.activate("scanpy")

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
    print("{}={}".format(name, os.environ[name]))

import scanpy  # noqa: E402  (after activate: the patch applies on import)

print("scanpy.settings.n_jobs={}".format(scanpy.settings.n_jobs))

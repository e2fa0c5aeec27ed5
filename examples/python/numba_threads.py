# SPDX-License-Identifier: BSD-3-Clause
"""The page's NUMBA_NUM_THREADS snippet, runnable.

    import os
    os.environ["NUMBA_NUM_THREADS"] = "4"
    import autozyme
    autozyme.activate("scanpy")

numba reads its thread count very early, so the value set before importing
AutoZyme is kept; the other variables get AutoZyme's budget.  Needs scanpy.
"""

import os

os.environ["NUMBA_NUM_THREADS"] = "4"

import autozyme  # noqa: E402  (the page sets the variable first)

autozyme.activate("scanpy")

for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    print("{}={}".format(name, os.environ[name]))

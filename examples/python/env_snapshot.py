# SPDX-License-Identifier: BSD-3-Clause
"""The page's "Check what is in effect" snippet, runnable.

    autozyme.env_snapshot()

Prints the snapshot after activating scanpy: active patches with their
upstream versions, the AutoZyme, Python and OS versions, and no thread
variables (read those from os.environ).  Needs scanpy.
"""

import json

import autozyme

autozyme.activate("scanpy")
print(json.dumps(autozyme.env_snapshot(), indent=2))

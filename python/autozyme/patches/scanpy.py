# SPDX-License-Identifier: BSD-3-Clause
"""Patch 'scanpy': scanpy's own parallelism knob follows the thread budget.

scanpy.settings.n_jobs is what scanpy's parallel steps (neighbors, the
regress_out workers ...) use; left alone it is 1, or every CPU of the node
when a script sets it to -1.
"""


def apply(scanpy, threads):
    scanpy.settings.n_jobs = threads

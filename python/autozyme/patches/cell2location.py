# SPDX-License-Identifier: BSD-3-Clause
"""Patch 'cell2location': the PyTorch under cell2location follows the budget.

cell2location trains its models with PyTorch, whose intra-op pool sizes
itself from the node's CPUs, not the task's.
"""


def apply(cell2location, threads):
    # cell2location has imported torch by now: this import costs nothing.
    import torch
    torch.set_num_threads(threads)

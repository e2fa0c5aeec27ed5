# SPDX-License-Identifier: BSD-3-Clause
"""Stand-in for cell2location (not in Debian): imports the real PyTorch, as
cell2location does, and has no __version__ (the version comes from its
.dist-info directory)."""

import torch

models = torch.nn

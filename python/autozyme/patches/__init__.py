# SPDX-License-Identifier: BSD-3-Clause
"""AutoZyme's built-in patch hooks, one module per patch.

Each module is named by its manifest's "hook" (patches/<name>.json) and has
apply(upstream_module, threads), run with the imported upstream module and
the thread count in force.  Importing a hook module never imports its
upstream: the upstream module is handed to apply().
"""

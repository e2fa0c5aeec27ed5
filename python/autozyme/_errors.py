# SPDX-License-Identifier: BSD-3-Clause
"""The exceptions of the autozyme package (no other import: kept cheap)."""


class AutoZymeError(RuntimeError):
    """AutoZyme could not do what was asked; the message says why."""


class UnknownPatchError(AutoZymeError, LookupError):
    """activate() was given a name no patch registry knows."""


class UpstreamNotInstalledError(AutoZymeError):
    """The patch exists but the package it adapts is not installed."""

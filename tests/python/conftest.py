# SPDX-License-Identifier: BSD-3-Clause
"""Fixtures of the Python suite; the helpers are in helpers.py."""

import pytest

from helpers import base_env, user_site


@pytest.fixture
def pth_env(tmp_path):
    """base_env() whose interpreters run autozyme.pth (a user site dir)."""
    user_site(tmp_path / "userbase")
    return base_env(PYTHONUSERBASE=str(tmp_path / "userbase"))

# SPDX-License-Identifier: BSD-3-Clause
"""Stand-in for scanpy (not in Debian): only settings.n_jobs, default 1 as in scanpy 1.9."""

__version__ = "1.9.3"


class _Settings:
    n_jobs = 1


settings = _Settings()

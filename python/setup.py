# SPDX-License-Identifier: BSD-3-Clause
"""Only what pyproject.toml cannot say: autozyme.pth goes to the top of the
wheel (the site directory it is installed into), where site.py runs it in
every interpreter of that environment, so spawn, forkserver,
ProcessPoolExecutor and loky workers activate themselves."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "autozyme.pth"


class BuildWithPth(build_py):
    def run(self):
        super().run()
        self.copy_file(PTH, os.path.join(self.build_lib, PTH))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + \
            [os.path.join(self.build_lib, PTH)]


setup(cmdclass={"build_py": BuildWithPth})

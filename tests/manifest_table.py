#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Print README.md's table of checks per scenario file, Slurm release and
site configuration, from tests/checks.manifest (which every run of the test
command compares with what each scenario file really ran).

    python3 tests/manifest_table.py

A cell is "checks" or "checks, K skipped"; "-" where the file does not run
there (the manifest's 0 checks, 1 skipped).  Only the standard library.
"""

import os
import sys

SITES = ["affinity", "cgroup", "cgroup2", "cgroup2-nosystemd"]


def read(path):
    """{(file, release, site): (checks, skipped)} and the files in order."""
    counts, files = {}, []
    for line in open(path):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        name, release, site, checks, skipped = fields
        counts[(name, release, site)] = (int(checks), int(skipped))
        if name not in files:
            files.append(name)
    return counts, files


def cell(value):
    if value is None or value == (0, 1):
        return "-"
    checks, skipped = value
    return str(checks) if not skipped else "%d, %d skipped" % (checks, skipped)


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    counts, files = read(os.path.join(top, "tests", "checks.manifest"))
    columns = sorted({(r, s) for (_, r, s) in counts},
                     key=lambda c: (c[0], SITES.index(c[1]) if c[1] in SITES else 9))
    out = sys.stdout
    out.write("| scenario file | %s |\n" % " | ".join("%s `%s`" % c for c in columns))
    out.write("|---|%s\n" % ("---|" * len(columns)))
    for name in sorted(files):
        out.write("| `%s` | %s |\n" % (
            name, " | ".join(cell(counts.get((name,) + c)) for c in columns)))


if __name__ == "__main__":
    main()

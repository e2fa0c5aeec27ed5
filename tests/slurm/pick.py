#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""pick.py EXPR: evaluate EXPR for each probe.py record on stdin (bound to
`r`, with `env` and `act` as shortcuts), in rank order, and print the
results space-separated.  Lines that are not probe records are ignored."""
import json
import sys

records = []
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    if "affinity" in r and "env" in r:
        records.append(r)
records.sort(key=lambda r: (r["label"], int(r["env"].get("SLURM_PROCID", 0))))
results = []
for r in records:
    value = eval(sys.argv[1], {"r": r, "env": r["env"], "act": r["activation"] or {}})
    results.append("null" if value is None else str(value))
print(" ".join(results))

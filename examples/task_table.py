#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Read probe.py JSON lines on stdin; print one row per task: where it ran,
its cpuset, its thread budget and why, the variables and its step's
activation file (one per node and step)."""
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
rows.sort(key=lambda r: int(r["env"].get("SLURM_PROCID", 0)))
header = ["rank", "node", "cpuset", "threads (why)", "OMP", "OPENBLAS", "MKL",
          "NUMBA", "MC_CORES", "AUTOZYME_ACTIVATE", "activation file"]
table = [header]
for r in rows:
    env, act = r["env"], r["activation"] or {}
    threads = act.get("threads", {})
    count = "off" if threads.get("off") else str(threads.get("count"))
    why = threads.get("provenance", "")
    if threads.get("clamped"):
        why += f", asked {threads.get('requested')}"
    table.append([env.get("SLURM_PROCID", "?"), env.get("SLURMD_NODENAME", "?"),
                  act.get("cpus", {}).get("list", "?"), f"{count} ({why})",
                  env.get("OMP_NUM_THREADS", "-"), env.get("OPENBLAS_NUM_THREADS", "-"),
                  env.get("MKL_NUM_THREADS", "-"), env.get("NUMBA_NUM_THREADS", "-"),
                  env.get("MC_CORES", "-"), env.get("AUTOZYME_ACTIVATE", "-"),
                  env.get("AUTOZYME_ACTIVATION_FILE", "-")])
widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
for n, row in enumerate(table):
    print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    if n == 0:
        print("  ".join("-" * w for w in widths))
for r in rows[:1]:
    print("\nrank 0's record, derived from the step's activation file "
          "(thread_info()[\"task\"]):")
    print(json.dumps(r["activation"], indent=2, sort_keys=True))
sys.exit(0 if rows else 1)

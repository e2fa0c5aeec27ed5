#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The demo's job: every task runs the program given as $1 (the demo passes
# tests/slurm/probe.py, which prints what AutoZyme gave the task as JSON).
#SBATCH --job-name=autozyme-demo
srun "$1"

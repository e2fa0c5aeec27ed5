#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The plugin on two emulated nodes (slurmd -N n1 / n2): tasks on both nodes
# get their own node id, rank and budget, and both nodes stay healthy.
set -u
. "$(dirname "$0")/scenario.sh"
scenario_start 2 || exit 1
use_plugin

out=$(srun_probe -N2 -n4 -c1 --autozyme-activate=scanpy)
check_eq "-N2 -n4: global ranks" "0 1 2 3" "$(echo "$out" | $pick 'act["task"]["global_rank"]')"
check_eq "-N2 -n4: node ids match SLURM_NODEID" "True True True True" \
	"$(echo "$out" | $pick 'str(act["node"]["id"]) == env["SLURM_NODEID"]')"
check_eq "-N2 -n4: node names" "n1 n1 n2 n2" "$(echo "$out" | $pick 'act["node"]["name"]')"
check_eq "-N2 -n4: local ranks" "0 1 0 1" "$(echo "$out" | $pick 'act["task"]["local_rank"]')"
check_eq "-N2 -n4: two local tasks per node" "2 2 2 2" "$(echo "$out" | $pick 'act["task"]["local_tasks"]')"
check_eq "-N2 -n4: budget 1 each" "1 1 1 1" "$(echo "$out" | $pick 'env["OMP_NUM_THREADS"]')"
check_eq "-N2 -n4: patches on both nodes" "scanpy scanpy scanpy scanpy" "$(echo "$out" | $pick 'env["AUTOZYME_ACTIVATE"]')"
out=$(srun_probe -N2 -n2 -c2)
check_eq "-N2 -n2 -c2: 2 threads on each node" "2 2" "$(echo "$out" | $pick 'env["OMP_NUM_THREADS"]')"
scenario_done "two nodes"
summary

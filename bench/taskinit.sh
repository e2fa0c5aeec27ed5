#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The plugin's cost per task inside slurmstepd: the step's first task on
# the node measures its task_init with the thread's CPU clock and logs
# "autozyme: task_init took X ms CPU" at debug level (spank/task_init.c); this
# collects that line from the slurmd log for steps of 2, 8, 32 and 64 tasks
# on one node, runs interleaved, and shows whether the time stays flat.
#
#   bench/taskinit.sh BUILDDIR [--quick]          (as root)
set -u
. "$(dirname "$0")/lib.sh"
bench_init "$@"
# slurmstepd logs to the slurmd log at SlurmdDebug's level.
export AZ_SLURM_CONF_EXTRA="SlurmdDebug=debug${AZ_SLURM_CONF_EXTRA:+
$AZ_SLURM_CONF_EXTRA}"
bench_cluster
use_plugin "$plugin"
log=$AZ_CLUSTER_DIR/log/slurmd-$AZ_NODES.log

# The CPU time of each task_init logged after byte BEFORE of the log.
logged_times() {
	tail -c +"$(($1 + 1))" "$log" |
		sed -n 's/.*autozyme: task_init took \([0-9.]*\) ms CPU.*/\1/p'
}

# tasks N: srun -n N, then the CPU time of its first task's task_init.
# srun can return before the last task's line reaches the log (seen once in
# CI: 1 of 2; on a loaded machine a 64-task step's lines took over 5 s), so
# the lines get up to 120 s to arrive: a wait on a condition, not a timing.
tasks() {
	local n=$1 before times tries=1200
	bench_idle
	before=$(stat -c %s "$log")
	bench_ms as_user srun -n"$n" --overcommit true >/dev/null
	times=$(logged_times "$before")
	while [[ $(grep -c . <<<"$times") != 1 ]] && ((tries-- > 0)); do
		sleep 0.1
		times=$(logged_times "$before")
	done
	[[ $(grep -c . <<<"$times") == 1 ]] ||
		bench_fail "srun -n$n: expected 1 task_init line in $log, found: $times"
	echo "$times"
}
t_2() { tasks 2; }
t_8() { tasks 8; }
t_32() { tasks 32; }
t_64() { tasks 64; }
bench_rounds task-init-cpu t_ 2 8 32 64

bench_machine
bench_table task-init-cpu "2. Per task: the first task's task_init CPU time in slurmstepd, by tasks per node" \
	ms 8/2 32/2 64/2

# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Shared set-up of the plugin scenarios.  A scenario file does:
#
#   . "$(dirname "$0")/scenario.sh"
#   scenario_start 1 || exit 1      # or 2 nodes; the cluster stops at exit
#
# and then has use_plugin, srun_probe, scenario_done and tests/lib.sh's
# checks, as_user and as_other.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${AZ_BUILDDIR:-$top}
plugin=$build/spank/.libs/autozyme.so
probe=$here/probe.py
pick=$here/pick.py
. "$top/tests/lib.sh"
. "$here/cluster.sh"
. "$here/release.sh"

# scenario_start NNODES: a throwaway cluster, torn down when the script exits.
scenario_start() {
	trap cluster_stop EXIT
	if ! cluster_start "$1"; then
		not_ok "start a $1-node cluster"
		summary
		return 1
	fi
	if [ ! -r "$plugin" ]; then
		not_ok "plugin built: $plugin"
		summary
		return 1
	fi
	act_dir=$AZ_CLUSTER_DIR/activation
	err=$AZ_CLUSTER_DIR/stderr
	mkdir -m 1777 "$act_dir"
	# probe.py's runtime: the built library.
	ln -s "$build/lib/.libs/libautozyme.so.0" "$AZ_CLUSTER_DIR/libautozyme.so.0"
	chmod 755 "$AZ_CLUSTER_DIR"
}

# How a Slurm task runs the built Python runtime: `as_user "${python_env[@]}" srun ...`.
python_env=(env "PYTHONPATH=$top/python:$top/tests/python/stubs"
	"AUTOZYME_LIBRARY=$build/lib/.libs/libautozyme.so.0" "AUTOZYME_PATCH_PATH=$top/patches")

# r_env_install: the built R package installed for the cluster's tasks, and
# how a task runs it: `as_user "${r_env[@]}" srun ... Rscript ...`.  Fails
# (with the install's log as a failed check, r_env left empty) when the
# package does not install.
r_env=()
r_env_install() {
	local rlib=$AZ_CLUSTER_DIR/rlib
	if ! make -C "$build" install-r-package rlibdir="$rlib" >"$AZ_CLUSTER_DIR/r-install.log" 2>&1; then
		not_ok "R: install the package for the cluster"
		diag "$(tail -20 "$AZ_CLUSTER_DIR/r-install.log")"
		return 1
	fi
	chmod -R a+rX "$rlib"
	r_env=(env "R_LIBS=$rlib" "LD_LIBRARY_PATH=$build/lib/.libs" "AUTOZYME_PATCH_PATH=$top/patches")
}

# task_field KEY: KEY of each JSON line on stdin (runtime_task.py's), in
# rank order, space separated; other lines (a failed task's) are left out.
task_field() {
	/usr/bin/python3 -c "import json,sys; print(' '.join(str(r[sys.argv[1]]) for r in sorted((json.loads(l) for l in sys.stdin if l.startswith('{')), key=lambda r: r['rank'])))" "$1"
}

# stepd_of JOB STEP: the pid of slurmstepd for JOB.STEP (STEP: 0, batch ...),
# from its title.
stepd_of() { pgrep -f "^slurmstepd: \[$1\.$2\]" | head -1; }

# use_plugin [KEY=VALUE...]: the just-built plugin with these arguments.
use_plugin() {
	cluster_set_plugstack "required $plugin patch_dir=$top/patches activation_dir=$act_dir $*"
}

# srun_probe SRUN_ARGS...: each task's JSON line (one file per task, so lines
# of tasks on different nodes cannot interleave); srun's and the tasks'
# stderr go to $err.
srun_probe() {
	local out=$AZ_WORK_DIR/probe.$RANDOM$RANDOM
	as_user srun --output="$out.out.%t" --error="$out.err.%t" "$@" "$probe" 2>"$err"
	cat "$out".err.* >>"$err" 2>/dev/null
	cat "$out".out.* 2>/dev/null
	rm -f "$out".*
}

# check_record NAME OUT: the activation contract (schema 2) for every task
# of OUT (probe lines of one step or several): the variables the plugin set
# are the runtime's record of the task, one by one, with the same thread
# count; the tasks of a step on a node share one file, the step's, named
# for the node.
check_record() {
	local name=$1 out=$2
	check_eq "$name: each task's variables are the runtime's record of it" "" \
		"$(echo "$out" | $pick '"" if r["record_matches_env"] and act["threads"]["count"] == (int(env["OMP_NUM_THREADS"]) if "OMP_NUM_THREADS" in act["variables"] else act["threads"]["count"]) else "task %s: %s" % (env.get("SLURM_PROCID"), r.get("activation_error") or act.get("variables"))' | xargs)"
	check_eq "$name: one schema-2 file per node and step, the tasks' own" "" \
		"$(echo "$out" | $pick '"" if r["step_file"]["schema"] == 2 and env["AUTOZYME_ACTIVATION_FILE"].endswith("/%s.node%s.json" % (act["job"]["step"], env["SLURM_NODEID"])) else env.get("AUTOZYME_ACTIVATION_FILE")' | xargs)"
}

act_dir_empty() { [[ -z $(find "$act_dir" -mindepth 1 2>/dev/null) ]]; }
queue_empty() { [[ -z $(squeue -h 2>/dev/null) ]]; }

# Every scenario ends with healthy nodes and no activation file left.  Its
# jobs end first (a job submitted without waiting, such as an sbatch a check
# only starts, would otherwise make its file after the look), then the
# step-end clean-up gets its time.
scenario_done() {
	local name=$1 left
	wait_until 300 queue_empty >/dev/null ||
		diag "$name: jobs still queued after 300 s: $(squeue -h -o '%i %T' | xargs)"
	wait_until 60 act_dir_empty >/dev/null
	left=$(find "$act_dir" -mindepth 1 2>/dev/null)
	check_eq "$name: no activation file left" "" "$left"
	check_eq "$name: no drained node" "" "$(cluster_drained_nodes)"
	check_eq "$name: no command ran out of time" "" "$(cat "$AZ_CLUSTER_DIR/log/timeouts.log" 2>/dev/null)"
	rm -f "$AZ_CLUSTER_DIR/log/timeouts.log"
}

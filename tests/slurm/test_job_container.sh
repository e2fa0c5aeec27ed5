#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A private /tmp per job: job_container/tmpfs (namespace/tmpfs from 25.11)
# with PrologFlags=Contain, in the three ways a site runs it:
#  - outside: slurmstepd and the plugin's user_init stay in the node's own
#    mount namespace, the tasks run in the job's (every release);
#  - contain_spank: SlurmdParameters=contain_spank runs user_init, task_post_fork
#    and task_exit inside the job's namespace (24.05 and later);
#  - EntireStepInNS: the whole slurmstepd runs inside it (23.02 and later).
# In each: with an activation_dir outside the job's private dirs (the
# admin guide's advice) every task and the batch step read their file and
# the runtime applies it; a killed slurmstepd's leftovers are swept; with
# the default activation_dir=/tmp, the tasks that cannot see their file
# are told so in one line each and the runtime decides from their own
# facts, without a traceback.  Nothing of ours stays in the node's /tmp,
# under activation_dir or under BasePath.
# Run as root; AZ_BUILDDIR names the build tree holding spank/.libs/autozyme.so.
set -u
# Linux (6.18 here) numbers mount namespaces from per-CPU batches, and the
# kernel refuses (EINVAL, "ns base mount failed") to bind a job's namespace
# numbered below slurmstepd's own, which job_container does to keep it.  On
# a real node slurmd runs in the machine's first namespace, below any; in a
# release root, a namespace of its own, it failed at random.  So the test
# runs in a namespace of its own made on one CPU, its cluster on that CPU
# (a one-CPU node, so one task a step): every namespace a job makes is
# numbered after it.
if [[ -z ${AZ_ONE_CPU_NAMESPACE:-} ]]; then
	cpu=$(taskset -pc $$ | sed 's/.*: //; s/[-,].*//')
	exec env AZ_ONE_CPU_NAMESPACE="$cpu" taskset -c "$cpu" unshare -m --propagation slave bash "$0" "$@"
fi
# The jobs' own /tmp hides the node's: the cluster (its work dir, where the
# test user's jobs start and write) must live elsewhere.
export AZ_CLUSTER_TMP=/var/tmp
. "$(dirname "$0")/scenario.sh"
task=$here/runtime_task.py
uid=$(id -u "${AZ_USER:-aztest}")
base=

# start_variant NAME SLURMD_PARAMETERS JOB_CONTAINER_LINES: a fresh cluster.
start_variant() {
	variant=$1
	cluster_stop
	AZ_SLURM_CONF_EXTRA="$(tmpfs_namespace_conf)
PrologFlags=Contain${2:+
SlurmdParameters=$2}"
	export AZ_SLURM_CONF_EXTRA
	export AZ_JOB_CONTAINER_CONF="AutoBasePath=true
BasePath=@CLUSTER_DIR@/jobs${3:+
$3}"
	scenario_start 1 || return 1
	base=$AZ_CLUSTER_DIR/jobs
	check "$variant: the node is idle" test -z "$(cluster_drained_nodes)"
}

# The job's /tmp, seen by a task: its device and inode, and how many entries.
# shellcheck disable=SC2016 # the task's own expansions
tmp_seen() { as_user srun -n1 -c1 sh -c 'echo "$(stat -c %d:%i /tmp) $(ls -A /tmp | wc -l)"' 2>"$err"; }
# Nothing under BasePath but what Slurm keeps between jobs (no job's dir).
base_has_no_job() { [[ -z $(find "$base" -mindepth 1 -maxdepth 1 -name '[0-9]*' 2>/dev/null) ]]; }
# node_tmp_clean JOB: no directory of JOB in the node's own /tmp.
node_tmp_clean() { [[ ! -e /tmp/autozyme.$uid.$1 ]]; }

# activation_dir outside the job's private dirs, made by the shipped
# tmpfiles.d rule (its /run/autozyme here in the cluster's dir): every task
# reads its file.
test_activation_dir_outside() {
	local out job pid conf=$AZ_CLUSTER_DIR/autozyme-tmpfiles-run.conf
	act_dir=$AZ_CLUSTER_DIR/run-autozyme
	sed "s|/run/autozyme|$act_dir|" "$top/examples/autozyme-tmpfiles-run.conf" >"$conf"
	check "$variant: systemd-tmpfiles --create makes activation_dir" systemd-tmpfiles --create "$conf"
	check_eq "$variant: activation_dir is root's, mode 1777" "root 1777" "$(stat -c '%U %a' "$act_dir")"
	use_plugin
	check_match "$variant: the job has its own empty /tmp" "^[0-9:]+ 0$" "$(tmp_seen)"
	check "$variant: not the node's /tmp" test "$(tmp_seen | cut -d' ' -f1)" != "$(stat -c %d:%i /tmp)"
	out=$(as_user "${python_env[@]}" srun -n1 -c1 --autozyme-activate=scanpy "$task" 2>"$err")
	check_eq "$variant: the srun task reads its activation file" "True" "$(echo "$out" | task_field file_read)"
	check_eq "$variant: the plugin's budget and provenance" "1 cpus_per_task" \
		"$(echo "$out" | task_field threads) $(echo "$out" | task_field provenance)"
	check_eq "$variant: srun: no autozyme line" "" "$(grep '^autozyme' "$err")"
	as_user "${python_env[@]}" sbatch --wait -c1 --autozyme-activate=scanpy -o "$AZ_WORK_DIR/batch.out" \
		--wrap="$task" >/dev/null 2>"$err"
	check_eq "$variant: the batch step reads its file" "True 1" \
		"$(task_field file_read <"$AZ_WORK_DIR/batch.out") $(task_field threads <"$AZ_WORK_DIR/batch.out")"
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="srun -n1 -c1 sleep 120")
	check "$variant, kill -9 of a step's slurmstepd: the step's file appears" \
		wait_until 60 test -e "$act_dir/autozyme.$uid.$job/0.node0.json"
	pid=$(stepd_of "$job" 0)
	check "$variant, kill -9: slurmstepd [$job.0] found" test -n "$pid"
	kill -9 "$pid" 2>/dev/null
	scancel "$job"
	check "$variant, kill -9: the job ends" wait_until 120 job_gone "$job"
	check "$variant, kill -9: the job's end swept its directory" \
		wait_until 60 test ! -e "$act_dir/autozyme.$uid.$job"
	scenario_done "$variant, activation_dir outside the job's"
	check "$variant: no job's directory left under BasePath" wait_until 60 base_has_no_job
}

# The default activation_dir=/tmp.  Outside the namespace user_init writes
# in the node's /tmp, which the tasks cannot see; inside it (contain_spank,
# EntireStepInNS) it writes in the job's own /tmp, which Slurm removes.
test_default_activation_dir() {
	local out sees=$1 lines
	cluster_set_plugstack "required $plugin patch_dir=$top/patches"
	out=$(as_user "${python_env[@]}" srun -n1 -c1 --autozyme-activate=scanpy "$task" 2>"$err")
	check_eq "$variant, activation_dir=/tmp: the task runs, threads from the plugin's variables" "1" \
		"$(echo "$out" | task_field threads)"
	if [[ $sees == sees ]]; then
		check_eq "$variant, activation_dir=/tmp: the task reads its file" "True" \
			"$(echo "$out" | task_field file_read)"
		lines=0
	else
		check_eq "$variant, activation_dir=/tmp: the task decides from its own facts" \
			"False cpus_per_task" \
			"$(echo "$out" | task_field file_read) $(echo "$out" | task_field provenance)"
		lines=1
	fi
	check_eq "$variant, activation_dir=/tmp: one autozyme line: the task cannot see its file" \
		"$lines" "$(grep -c "^autozyme: this task cannot see the step's activation file /tmp/autozyme\.$uid\.[0-9]*/0\.node0\.json .*activation_dir /tmp is private to the job" "$err")"
	check_eq "$variant, activation_dir=/tmp: no other autozyme line, no traceback" "" \
		"$(grep -v "cannot see the step's activation file" "$err" | grep -E '^autozyme|Traceback')"
	scenario_done "$variant, activation_dir=/tmp"
	check "$variant, activation_dir=/tmp: nothing of ours in the node's /tmp" \
		wait_until 60 node_tmp_clean "$(echo "$out" | task_field job | cut -d' ' -f1)"
	check "$variant, activation_dir=/tmp: no job's directory left under BasePath" wait_until 60 base_has_no_job
}

run_variant() {
	start_variant "$@" || return 0
	test_activation_dir_outside
	test_default_activation_dir "$([[ -n $2$3 ]] && echo sees)"
}

run_variant "outside the namespace" "" ""
if has_contain_spank; then
	run_variant "contain_spank" contain_spank ""
else
	skip "contain_spank" "Slurm $(release_series) has no SlurmdParameters=contain_spank (24.05 adds it)"
fi
if has_entire_step_in_ns; then
	run_variant "EntireStepInNS" "" "EntireStepInNS=true"
else
	skip "EntireStepInNS" "Slurm $(release_series) has no EntireStepInNS (23.02 adds it)"
fi
summary

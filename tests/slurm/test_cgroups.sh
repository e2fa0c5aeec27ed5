#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The budget under the site's cgroups, as real Slurm jobs see them:
#  - the cpuset: every task's activation file names exactly its CPUs (CPU
#    lists compared, not counts), which lie in the task's own cgroup cpuset
#    (resolved by the probe through /proc/self/cgroup and mountinfo, never
#    from Slurm's directory names, which change between releases), also
#    unbound (--cpu-bind=none), where under task/cgroup the cgroup is all that
#    confines the task; under task/cgroup, the cgroup level Slurm puts a task
#    in (cgroup v2: task_N, on 22.05 task_special, under the step's user
#    level, in the node's slurmstepd scope);
#  - the CPU quota of one CPU on an ancestor of every task: a -c2 task gets 1
#    thread from cgroup_quota, in its variables, its file, and Python's and
#    R's thread_info (R's OpenBLAS at 1), and --autozyme-threads=2 is
#    clamped to 1.  cgroup v1: slurmd
#    started inside a cpu cgroup limited to one CPU (as in a container).
#    cgroup v2: CPUQuota=100% on the <node>_slurmstepd.scope unit (under
#    IgnoreSystemd, Slurm's own scope directory: its cpu.max), then on
#    system.slice; Slurm itself never writes cpu.max.
# Runs under every site configuration (AZ_SITE_CONFIG); run as root.
set -u
. "$(dirname "$0")/scenario.sh"
site=$(cluster_site)
task=$here/runtime_task.py

test_cpuset() {
	local out path
	use_plugin
	out=$(srun_probe -n2 -c1)
	check_eq "-n2 -c1: each file's CPU list is its task's affinity, 1 CPU of its cgroup's cpuset" "True True" \
		"$(echo "$out" | $pick 'r["cgroup"] is not None and r["activation_cpus"] == r["affinity"] and len(r["affinity"]) == 1 and set(r["affinity"]) <= set(r["cgroup"]["cpus"])')"
	out=$(srun_probe -n1 -c1 --cpu-bind=none)
	check_eq "-n1 -c1 --cpu-bind=none: the file's CPU list is the task's affinity within its cgroup" "True" \
		"$(echo "$out" | $pick 'r["activation_cpus"] == sorted(set(r["affinity"]) & set(r["cgroup"]["cpus"]))')"
	[[ $site == cgroup* ]] || {
		scenario_done "cpuset"
		return
	}
	check_eq "task/cgroup: the unbound task's cgroup holds its 1 allocated CPU, and so does its budget" "1 1 cpus_per_task" \
		"$(echo "$out" | $pick 'len(r["cgroup"]["cpus"])') $(echo "$out" | $pick 'act["threads"]["count"]') $(echo "$out" | $pick 'act["threads"]["provenance"]')"
	path=$(echo "$out" | $pick 'r["cgroup"]["path"]')
	if [[ $site == cgroup ]]; then
		local level=step_
		cgroup_has_task_level && level=task_
		check_match "task/cgroup v1: the task runs in Slurm's $level cgroup (seen through /proc/self/cgroup)" \
			"/job_[0-9]+/step_0(/task_0)?\$" "$path"
		check_match "... at the level this release makes" "/${level}0\$" "$path"
	else
		local level=task_0
		cgroup2_task_special && level=task_special
		# 26.05 names the job's level by an opaque id, not job_N.
		check_match "cgroup v2: the task runs in $level under its step's user level, in the node's slurmstepd scope" \
			"^/system\\.slice/[^/]+_slurmstepd\\.scope/[^/]+/step_0/user/$level\$" "$path"
	fi
	scenario_done "cpuset"
}

# quota_checks WHERE: what every task sees under a quota of 1 CPU on WHERE.
quota_checks() {
	local where=$1 out
	out=$(srun_probe -n1 -c2)
	check_eq "quota of 1 CPU on $where: -c2 gets 1 thread from cgroup_quota, allocation 2" "1 cgroup_quota 2" \
		"$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"] + " " + str(len(r["affinity"]))')"
	out=$(srun_probe -n1 -c2 --autozyme-threads=2)
	check_eq "quota of 1 CPU on $where: --autozyme-threads=2 is clamped to 1" "1 True" \
		"$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + str(act["threads"]["clamped"])')"
	out=$(as_user "${python_env[@]}" srun -n1 -c2 --autozyme-activate=scanpy "$task" 2>"$err")
	check_eq "quota of 1 CPU on $where: Python's thread_info says 1 thread, cgroup_quota" "1 cgroup_quota" \
		"$(echo "$out" | python3 -c 'import json, sys; d = json.loads(sys.stdin.readline()); print(d["threads"], d["provenance"])' 2>&1)" ||
		diag "$(cat "$err")"
	((${#r_env[@]})) || return 0
	out=$(as_user "${r_env[@]}" srun -n1 -c2 --autozyme-activate=seurat /usr/bin/Rscript "$here/runtime_task.R" 2>"$err")
	check_eq "quota of 1 CPU on $where: R's thread_info says 1 thread, cgroup_quota; OpenBLAS runs 1" \
		"1 cgroup_quota 1" \
		"$(echo "$out" | python3 -c 'import json, sys; d = json.loads(sys.stdin.readline()); print(d["threads"], d["provenance"], d["openblas"])' 2>&1)" ||
		diag "$(cat "$err")"
}

# cgroup v1: this shell enters a cpu cgroup of one CPU before cluster_start,
# so that the daemons and every task inherit it, and leaves it afterwards;
# the cgroup ($quota_dir, global for the exit trap) is removed at exit.
test_quota_v1() {
	local cpu_root started=0
	cpu_root=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)
	if [[ -z $cpu_root ]]; then
		not_ok "a cgroup v1 cpu hierarchy is mounted (for the quota scenario)"
		return
	fi
	quota_dir=$cpu_root/autozyme-test.$$
	mkdir "$quota_dir" && echo 100000 >"$quota_dir/cpu.cfs_period_us" &&
		echo 100000 >"$quota_dir/cpu.cfs_quota_us" && echo $$ >"$quota_dir/cgroup.procs"
	check_eq "a cpu cgroup with a quota of 1 CPU for the cluster" "100000" "$(cat "$quota_dir/cpu.cfs_quota_us" 2>&1)"
	scenario_start 1 && started=1
	echo $$ >"$cpu_root/cgroup.procs"
	trap 'cluster_stop; rmdir "$quota_dir" 2>/dev/null' EXIT
	if ((started)); then
		use_plugin
		r_env_install
		quota_checks "the cluster's cpu cgroup"
		scenario_done "cgroup quota"
	fi
}

# cgroup v2: the quota where a site's admin puts one, on a running cluster.
# The scope is found from a task's own cgroup, never from Slurm's naming.
test_quota_v2() {
	local scope dir
	scenario_start 1 || return
	use_plugin
	r_env_install
	scope=$(srun_probe -n1 | $pick 'r["cgroup"]["path"]' | grep -oE '[^/]+_slurmstepd\.scope')
	dir=/sys/fs/cgroup/system.slice/$scope
	trap 'systemctl set-property --runtime system.slice CPUQuota= 2>/dev/null; cluster_stop' EXIT
	if [[ $site == cgroup2 ]]; then
		systemctl set-property --runtime "$scope" CPUQuota=100%
	else
		echo "100000 100000" >"$dir/cpu.max"
	fi
	check_eq "a quota of 1 CPU on $scope (cpu.max)" "100000 100000" "$(cat "$dir/cpu.max" 2>&1)"
	quota_checks "$scope"
	if [[ $site == cgroup2 ]]; then
		systemctl set-property --runtime "$scope" CPUQuota=
	else
		echo max >"$dir/cpu.max"
	fi
	systemctl set-property --runtime system.slice CPUQuota=100%
	check_eq "the quota moved to system.slice (cpu.max of the scope, then system.slice)" "max 100000 100000" \
		"$(cut -d' ' -f1 "$dir/cpu.max") $(cat /sys/fs/cgroup/system.slice/cpu.max 2>&1)"
	quota_checks system.slice
	systemctl set-property --runtime system.slice CPUQuota=
	scenario_done "cgroup quota"
}

scenario_start 1 || exit 1
test_cpuset
cluster_stop
trap - EXIT
if [[ $site == cgroup2* ]]; then
	test_quota_v2
else
	test_quota_v1
fi
summary

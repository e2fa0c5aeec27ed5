#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The budget under the site's cgroups, as real Slurm jobs see them:
#  - the cpuset: every task's activation file names exactly the CPUs of the
#    task's own cpuset cgroup (resolved by the probe through /proc/self/cgroup
#    and mountinfo, never from Slurm's directory names, which change between
#    releases), also unbound (--cpu-bind=none), where under task/cgroup the
#    cgroup is all that confines the task;
#  - the CPU quota: slurmd started inside a cpu cgroup limited to one CPU
#    (as in a container or a systemd slice with CPUQuota=100%), so that every
#    task inherits the quota: a -c2 task gets 1 thread, from cgroup_quota.
# Runs under both site configurations (AZ_SITE_CONFIG); run as root.
set -u
. "$(dirname "$0")/scenario.sh"

# The cpu cgroup v1 hierarchy, where the kernel puts the cfs quota.
cpu_root=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)

test_cpuset() {
	local out
	use_plugin
	out=$(srun_probe -n2 -c1)
	check_eq "-n2 -c1: each file's cpuset is its task's cgroup cpuset, 1 CPU" "True True" \
		"$(echo "$out" | $pick 'r["cgroup"] is not None and act["cpus"]["pus"] == len(set(r["affinity"]) & set(r["cgroup"]["cpus"])) == 1')"
	out=$(srun_probe -n1 -c1 --cpu-bind=none)
	check_eq "-n1 -c1 --cpu-bind=none: the file's CPUs are the task's affinity within its cgroup" "True" \
		"$(echo "$out" | $pick 'act["cpus"]["pus"] == len(set(r["affinity"]) & set(r["cgroup"]["cpus"]))')"
	if [[ ${AZ_SITE_CONFIG:-affinity} == cgroup ]]; then
		check_eq "task/cgroup: the unbound task's cgroup holds its 1 allocated CPU, and so does its budget" "1 1 cpus_per_task" \
			"$(echo "$out" | $pick 'len(r["cgroup"]["cpus"])') $(echo "$out" | $pick 'act["threads"]["count"]') $(echo "$out" | $pick 'act["threads"]["provenance"]')"
		local level=step_
		cgroup_has_task_level && level=task_
		check_match "task/cgroup: the task runs in Slurm's $level cgroup (seen through /proc/self/cgroup)" \
			"/job_[0-9]+/step_0(/task_0)?\$" "$(echo "$out" | $pick 'r["cgroup"]["path"]')"
		check_match "... at the level this release makes" "/${level}0\$" "$(echo "$out" | $pick 'r["cgroup"]["path"]')"
	fi
	scenario_done "cpuset"
}

test_quota() {
	local out
	use_plugin
	out=$(srun_probe -n1 -c2)
	check_eq "quota of 1 CPU: -c2 gets 1 thread from cgroup_quota, allocation 2" "1 cgroup_quota 2" \
		"$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"] + " " + str(len(r["affinity"]))')"
	out=$(srun_probe -n1 -c2 --autozyme-threads=2)
	check_eq "quota of 1 CPU: --autozyme-threads=2 is clamped to 1" "1 True" \
		"$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + str(act["threads"]["clamped"])')"
	scenario_done "cgroup quota"
}

scenario_start 1 || exit 1
test_cpuset
cluster_stop
trap - EXIT

# A cpu cgroup of one CPU for the whole second cluster: this shell enters it
# before cluster_start, so that the daemons and every task inherit it, and
# leaves it afterwards; the cgroup is removed at exit.
if [[ -z $cpu_root ]]; then
	not_ok "a cgroup v1 cpu hierarchy is mounted (for the quota scenario)"
else
	quota_dir=$cpu_root/autozyme-test.$$
	mkdir "$quota_dir" && echo 100000 >"$quota_dir/cpu.cfs_period_us" &&
		echo 100000 >"$quota_dir/cpu.cfs_quota_us" && echo $$ >"$quota_dir/cgroup.procs"
	check_eq "a cpu cgroup with a quota of 1 CPU for the cluster" "100000" "$(cat "$quota_dir/cpu.cfs_quota_us" 2>&1)"
	started=0
	scenario_start 1 && started=1
	echo $$ >"$cpu_root/cgroup.procs"
	trap 'cluster_stop; rmdir "$quota_dir" 2>/dev/null' EXIT
	((started)) && test_quota
fi
summary

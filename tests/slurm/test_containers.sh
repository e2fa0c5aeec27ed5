#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Slurm's own OCI containers (srun --container=BUNDLE, oci.conf) with
# Debian's crun, rootless, as Slurm's documentation suggests, then runc.
# The test user builds the bundle: a read-only root of the node's own
# Debian system (/usr and /etc bound from the node), the source and build
# trees for the runtime, and the work directory.  In the container:
#  - the step's process has the plugin's thread variables and
#    AUTOZYME_ACTIVATE, and runs in its own user namespace;
#  - with the activation directory bound into the bundle (the admin
#    guide's advice), the Python runtime reads the step's file;
#  - without it, the runtime says so in one line and decides from the
#    variables and its own facts, without a traceback;
#  - a batch job's steps run in the container too.
# Run as root; AZ_BUILDDIR names the build tree holding spank/.libs/autozyme.so.
set -u
. "$(dirname "$0")/scenario.sh"
task=$here/runtime_task.py

# oci_conf RUNTIME: oci.conf for RUNTIME (crun or runc) with Slurm's
# suggested `run` operation, rootless, its state in the node's tmp dir.
oci_conf() {
	local r="$1 --rootless=true --root=@CLUSTER_DIR@/tmp/%n/$1-%u"
	# crun refuses a hybrid cgroup hierarchy (v1 with v2's mounted too, as
	# on this machine) unless it leaves cgroups alone; Slurm's own cgroups
	# already hold the step.
	[[ $1 != crun ]] || r="crun --cgroup-manager=disabled ${r#crun }"
	printf '%s\n' "RunTimeQuery=\"$r state %n.%u.%j.%s.%t\"" \
		"RunTimeKill=\"$r kill -a %n.%u.%j.%s.%t\"" \
		"RunTimeDelete=\"$r delete --force %n.%u.%j.%s.%t\"" \
		"RunTimeRun=\"$r run --bundle %b %n.%u.%j.%s.%t\""
}

# make_bundle RUNTIME DIR [BIND...]: the test user's bundle in DIR, from
# RUNTIME's own rootless spec (runc's maps the user's uid to 0; crun maps it
# itself); BINDs are extra directories bound read-only at the same path.
make_bundle() {
	local runtime=$1 dir=$2
	shift 2
	as_user mkdir -p "$dir/rootfs" || return 1
	as_user env -C "$dir" "$runtime" spec --rootless || return 1
	as_user /usr/bin/python3 - "$dir" "$top" "$build" "$AZ_WORK_DIR" "$@" <<'EOF'
import json, os, sys
bundle, top, build, work, *extra = sys.argv[1:]
rootfs = os.path.join(bundle, "rootfs")
config = json.load(open(os.path.join(bundle, "config.json")))
config["process"]["terminal"] = False
mounts = config["mounts"]
binds = [("/usr", "ro"), ("/etc", "ro"), (top, "ro"), (build, "ro"), (work, "rw")]
binds += [(d, "ro") for d in extra]
for path, mode in binds:
    os.makedirs(rootfs + path, exist_ok=True)
    mounts.append({"destination": path, "type": "bind", "source": path,
                   "options": ["rbind", mode]})
for name in ("bin", "lib", "lib64", "sbin"):
    if os.path.islink("/" + name):
        os.symlink(os.readlink("/" + name), os.path.join(rootfs, name))
for name in ("proc", "dev", "sys", "tmp"):
    os.makedirs(os.path.join(rootfs, name), exist_ok=True)
json.dump(config, open(os.path.join(bundle, "config.json"), "w"), indent=1)
EOF
}

# in_container BUNDLE SRUN_ARGS...: srun --container=BUNDLE as the test
# user, with the runtime of the build tree; stderr to $err.
in_container() {
	local bundle=$1
	shift
	as_user "${python_env[@]}" srun --container="$bundle" "$@" 2>"$err"
}

# What the step's process sees: its variables and its user namespace.
# shellcheck disable=SC2016 # the container's own expansions
seen='echo "${OMP_NUM_THREADS:-unset} ${AUTOZYME_ACTIVATE:-unset} ${SLURM_PROCID:-unset} $(awk "{print \$1, \$2}" /proc/self/uid_map)"'
# The Python runtime in the container, one line.
info='import autozyme; i = autozyme.thread_info(); print(i["threads"], i["provenance"], i["activation_file_read"])'

# crun (1.8 and later) refuses a hybrid cgroup hierarchy whose v2 half holds
# a controller ("cgroups in hybrid mode not supported").  A hybrid host
# normally has every controller in v1; this machine leaves hugetlb in v2.
# Each such controller gets a v1 mount of the test's own (the v1 hierarchy
# takes it from v2) until the script ends.  The release roots run this file
# beside the machine's own: a controller another copy already moved is in
# a v1 hierarchy that no mount here shows; mounting it joins that hierarchy,
# so that it stays in v1 until the last copy is done.
hybrid_v2_controllers() {
	local c h _
	[[ -d /sys/fs/cgroup/unified ]] || return 0
	cat /sys/fs/cgroup/unified/cgroup.controllers
	while read -r c h _; do
		[[ $c == \#* || $h == 0 ]] && continue
		grep -qE "^\S+ \S+ cgroup \S*\b$c\b" /proc/self/mounts || echo "$c"
	done </proc/cgroups
}
v1_mounts=()
give_v2_controllers_to_v1() {
	local c m
	for c in $(hybrid_v2_controllers); do
		m=$(mktemp -d /run/az-cgroup-v1-"$c".XXXXXX) &&
			mount -t cgroup -o "$c" az-"$c" "$m" && v1_mounts+=("$m")
	done
}
v2_half_empty() { [[ -z $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; }
release_v1_mounts() {
	local m
	for m in "${v1_mounts[@]}"; do umount "$m" && rmdir "$m"; done
}

# The container gets the task's environment (23.02 and later).
test_task_environment() {
	local runtime=$1 bare=$2 bound=$3 out
	out=$(in_container "$bare" -n1 -c2 --autozyme-activate=scanpy /bin/sh -c "$seen")
	check_eq "$runtime: in the container, the plugin's variables, in a user namespace (uid 0 is the user)" \
		"2 scanpy 0 0 $(id -u "$AZ_USER")" "$out" || diag "$(cat "$err")"

	out=$(in_container "$bound" -n2 -c1 --autozyme-activate=scanpy "$task")
	check_eq "$runtime, activation_dir bound: each task's runtime reads its file" "True True" \
		"$(echo "$out" | task_field file_read)" || diag "$(cat "$err")"
	check_eq "$runtime, activation_dir bound: the plugin's budget, scanpy's n_jobs" \
		"1 1 cpus_per_task cpus_per_task 1 1" \
		"$(echo "$out" | task_field threads) $(echo "$out" | task_field provenance) $(echo "$out" | task_field n_jobs)"
	check_eq "$runtime, activation_dir bound: no autozyme line" "" "$(grep '^autozyme' "$err")"

	out=$(in_container "$bare" -n1 -c2 --autozyme-activate=scanpy "$task")
	check_eq "$runtime, activation_dir not bound: the runtime runs from the variables" "False 2 2" \
		"$(echo "$out" | task_field file_read) $(echo "$out" | task_field threads) $(echo "$out" | task_field n_jobs)" ||
		diag "$(cat "$err")"
	check_eq "$runtime, activation_dir not bound: one line names the file and says why" "1" \
		"$(grep -c "autozyme.*AUTOZYME_ACTIVATION_FILE.*$act_dir/autozyme\.[0-9]*\.[0-9]*/0\.node0\.json" "$err")"
	check_eq "$runtime, activation_dir not bound: no traceback" "" "$(grep -i 'traceback' "$err")"

	as_user "${python_env[@]}" sbatch --wait -c1 --autozyme-activate=scanpy -o "$AZ_WORK_DIR/batch.out" \
		--wrap="srun --container=$bound $task" >/dev/null 2>"$err"
	check_eq "$runtime: a batch job's step in the container reads its file" "True 1" \
		"$(task_field file_read <"$AZ_WORK_DIR/batch.out") $(task_field threads <"$AZ_WORK_DIR/batch.out")" ||
		diag "$(cat "$AZ_WORK_DIR/batch.out")"
}

# 22.05 writes the container's environment as the step starts, before the
# plugin runs: the process has none of its variables (nor SLURM_PROCID),
# and the runtime decides from the step's SLURM_CPUS_PER_TASK.
test_step_environment() {
	local runtime=$1 bare=$2 bound=$3 out
	out=$(in_container "$bare" -n1 -c2 --autozyme-activate=scanpy /bin/sh -c "$seen")
	check_eq "$runtime on $(release_series): in the container, the step's environment from before the plugin ran" \
		"unset unset unset 0 $(id -u "$AZ_USER")" "$out" || diag "$(cat "$err")"
	out=$(in_container "$bound" -n1 -c2 /usr/bin/python3 -c "$info")
	check_eq "$runtime on $(release_series): the runtime decides from the step's -c" "2 cpus_per_task False" \
		"$out" || diag "$(cat "$err")"
	check_eq "$runtime on $(release_series): no traceback" "" "$(grep -i 'traceback' "$err")"
}

run_runtime() {
	local runtime=$1 bound bare
	cluster_stop
	export AZ_OCI_CONF
	AZ_OCI_CONF=$(oci_conf "$runtime")
	scenario_start 1 || return 1
	trap 'cluster_stop; release_v1_mounts' EXIT
	use_plugin
	bare=$AZ_WORK_DIR/bundle
	bound=$AZ_WORK_DIR/bundle-bound
	check "$runtime: the test user builds a bundle of the node's system" make_bundle "$runtime" "$bare"
	check "$runtime: ... and one with activation_dir bound" make_bundle "$runtime" "$bound" "$act_dir"
	if container_env_is_the_tasks; then
		test_task_environment "$runtime" "$bare" "$bound"
	else
		test_step_environment "$runtime" "$bare" "$bound"
	fi
	scenario_done "$runtime containers"
}

run_runtime runc
give_v2_controllers_to_v1
check "crun: no cgroup v2 controller on a hybrid hierarchy" v2_half_empty
run_runtime crun
summary

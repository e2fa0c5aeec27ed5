#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The SPANK plugin end to end on a throwaway one-node cluster: each scenario
# runs probe.py as the test user's tasks and asserts on what the tasks saw
# (environment and activation file).  Run as root; AZ_BUILDDIR names the
# build tree holding spank/.libs/autozyme.so (default: the source tree).
set -u
. "$(dirname "$0")/scenario.sh"
scenario_start 1 || exit 1

job_count() {
	scontrol show jobs -o 2>/dev/null | grep -c JobId=
}

test_bound_tasks() {
	local out
	use_plugin
	out=$(srun_probe -n2 -c1)
	check_eq "-n2 -c1: OMP_NUM_THREADS 1 each" "1 1" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	check_eq "-n2 -c1: every variable 1" "True True" "$(echo "$out" | $pick 'all(env.get(v) == "1" for v in r["thread_variables"])')"
	check_eq "-n2 -c1: files say 1 thread" "1 1" "$(echo "$out" | $pick 'act["threads"]["count"]')"
	check_eq "-n2 -c1: ranks in files" "0 1" "$(echo "$out" | $pick 'act["task"]["global_rank"]')"
	check_eq "-n2 -c1: no array ids outside an array" "None None" "$(echo "$out" | $pick 'str(act["job"]["array_job_id"]) + " " + str(act["job"]["array_task_id"])' | awk '{print $1, $2}')"
	check_eq "-n2 -c1: file cpuset is the task's affinity, CPU for CPU" "True True" \
		"$(echo "$out" | $pick 'r["activation_cpus"] == r["affinity"] and act["cpus"]["pus"] == len(r["affinity"])')"
	out=$(srun_probe -n1 -c2)
	check_eq "-n1 -c2: 2 threads" "2" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	check_eq "-n1 -c2: provenance" "cpus_per_task" "$(echo "$out" | $pick 'act["threads"]["provenance"]')"
	check_record "-n1 -c2" "$out"
	out=$(srun_probe -n3 --overcommit)
	check_record "-n3 --overcommit" "$out"
	# The step expects its one task of -c2 on both CPUs and sets 2; bound to
	# one, the task decides 1 and sets its own variables.
	out=$(srun_probe -n1 -c2 --cpu-bind=mask_cpu:0x1)
	check_eq "-n1 -c2 bound to CPU 0: the step's 2, the task's own 1 (cpuset)" "2 1 cpuset" \
		"$(echo "$out" | $pick 'str(r["step_file"]["threads"]["count"]) + " " + env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"]')"
	check_record "-n1 -c2 bound to CPU 0" "$out"
	# Two tasks of -c2 on 2 CPUs split them; the one bound to CPU 0 alone
	# has the same count for another reason (cpuset).  In a whole-node
	# batch job: from 24.11 on, such an srun never starts as a job of its own.
	printf '#!/bin/bash\nsrun -n2 --overcommit --cpus-per-task=2 --cpu-bind=mask_cpu:0x1,0x3 %s\n' "$probe" \
		>"$AZ_WORK_DIR/masked.sh"
	chmod 755 "$AZ_WORK_DIR/masked.sh"
	as_user sbatch --wait -N1 --exclusive -o "$AZ_WORK_DIR/masked.out" "$AZ_WORK_DIR/masked.sh" >/dev/null 2>"$err"
	out=$(cat "$AZ_WORK_DIR/masked.out")
	check_eq "-n2 -c2 overcommitted, one task bound to CPU 0: its own provenance" "0:cpuset 1:local_tasks" \
		"$(echo "$out" | $pick 'env["SLURM_PROCID"] + ":" + act["threads"]["provenance"]' | tr ' ' '\n' | sort | xargs)"
	check_record "-n2 -c2 overcommitted, one task bound to CPU 0" "$out"
	scenario_done "bound tasks"
}

test_requests() {
	local out
	use_plugin
	out=$(srun_probe -n1 -c2 --autozyme-threads=1)
	check_eq "--autozyme-threads=1 -c2: 1 thread" "1" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	check_eq "--autozyme-threads=1: provenance request" "request" "$(echo "$out" | $pick 'act["threads"]["provenance"]')"
	out=$(srun_probe -n1 -c2 --autozyme-threads=8)
	check_eq "--autozyme-threads=8 -c2: clamped to 2" "2" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	check_eq "--autozyme-threads=8: file says clamped from 8" "True 8" "$(echo "$out" | $pick 'act["threads"]["clamped"], act["threads"]["requested"]' | tr -d '(),')"
	check_eq "--autozyme-threads=8: one warning line" "1" "$(grep -c 'autozyme: requested 8' "$err")"
	check_record "--autozyme-threads=8" "$out"
	out=$(srun_probe -n1 -c2 --autozyme-threads=off)
	check_eq "--autozyme-threads=off: no thread variable" "[]" "$(echo "$out" | $pick '[k for k in env if k.endswith(("THREADS","_CORES"))]')"
	check_eq "--autozyme-threads=off: file says off" "True" "$(echo "$out" | $pick 'act["threads"]["off"]')"
	out=$(srun_probe -n1 -c2 --autozyme-threads=auto)
	check_eq "--autozyme-threads=auto: the allocation" "2" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	out=$(as_user env AUTOZYME_THREADS=1 srun -n1 -c2 "$probe" 2>"$err")
	check_eq "AUTOZYME_THREADS=1 in the environment: 1" "1" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	out=$(as_user env AUTOZYMER_THREADS=1 srun -n1 -c2 "$probe" 2>"$err")
	check_eq "AUTOZYMER_THREADS=1 (older spelling): 1" "1" "$(echo "$out" | $pick 'env.get("MKL_NUM_THREADS")')"
	out=$(as_user env AUTOZYME_THREADS=1 srun -n1 -c2 --autozyme-threads=2 "$probe" 2>"$err")
	check_eq "command line wins over AUTOZYME_THREADS" "2" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	scenario_done "requests"
}

test_unbound_split() {
	local out
	use_plugin
	out=$(srun_probe -n2 -c1 --cpu-bind=none)
	check_eq "--cpu-bind=none -n2: tasks see both CPUs" "2 2" "$(echo "$out" | $pick 'len(r["affinity"])')"
	check_eq "--cpu-bind=none -n2: 1 thread each" "1 1" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	# -c1 and the split both give 1; a tie is reported as cpus_per_task.
	check_eq "--cpu-bind=none -n2: provenance" "cpus_per_task cpus_per_task" "$(echo "$out" | $pick 'act["threads"]["provenance"]')"
	check_record "--cpu-bind=none -n2" "$out"
	# Two tasks of -c2 on the node's 2 CPUs: in a whole-node batch job on
	# every release, and as a job of its own where Slurm still starts one.
	printf '#!/bin/bash\nsrun -n2 --overcommit --cpus-per-task=2 --cpu-bind=none %s\n' "$probe" \
		>"$AZ_WORK_DIR/overcommit.sh"
	chmod 755 "$AZ_WORK_DIR/overcommit.sh"
	as_user sbatch --wait -N1 --exclusive -o "$AZ_WORK_DIR/overcommit.out" "$AZ_WORK_DIR/overcommit.sh" >/dev/null 2>"$err"
	check_eq "sbatch --exclusive, srun --cpu-bind=none -n2 -c2 overcommitted on 2 CPUs: 1 each, split" \
		"1 local_tasks 1 local_tasks" \
		"$($pick 'env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"]' <"$AZ_WORK_DIR/overcommit.out")"
	if ! overcommit_keeps_cpus_per_task; then
		out=$(srun_probe -n2 --overcommit --cpus-per-task=2 --cpu-bind=none)
		check_eq "--cpu-bind=none -n2 -c2 overcommitted on 2 CPUs: 1 each, split" "1 local_tasks 1 local_tasks" \
			"$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"]')"
	fi
	scenario_done "unbound split"
}

test_patches() {
	local out
	use_plugin
	out=$(srun_probe -n1 --autozyme-activate=scanpy,seurat)
	check_eq "--autozyme-activate=scanpy,seurat: file lists both" "['scanpy', 'seurat']" "$(echo "$out" | $pick 'act["patches"]')"
	check_eq "--autozyme-activate: AUTOZYME_ACTIVATE" "scanpy,seurat" "$(echo "$out" | $pick 'env.get("AUTOZYME_ACTIVATE")')"
	out=$(as_user env AUTOZYME_ACTIVATE=cell2location srun -n1 "$probe" 2>"$err")
	check_eq "AUTOZYME_ACTIVATE in the environment" "['cell2location']" "$(echo "$out" | $pick 'act["patches"]')"
	scenario_done "patches"
}

# refused CMD...: non-zero exit, a message naming the option and its form, nothing queued.
refused() {
	local name=$1 option=$2 form=$3 before rc=0
	shift 3
	before=$(job_count)
	as_user "$@" >"$err" 2>&1 || rc=$?
	if [ $rc -ne 0 ] && grep -q -- "$option" "$err" && grep -qF -- "$form" "$err" &&
		[ "$(job_count)" = "$before" ]; then
		ok "refused: $name"
	else
		not_ok "refused: $name"
		diag "exit $rc, jobs before $before after $(job_count)"
		diag "$(cat "$err")"
	fi
}

test_bad_input() {
	local value cmd
	use_plugin
	for value in abc 0 -1 99999999999 ""; do
		refused "srun --autozyme-threads='$value'" --autozyme-threads "expected N (1 to 4096), auto or off" \
			srun -n1 "--autozyme-threads=$value" true
		refused "sbatch --autozyme-threads='$value'" --autozyme-threads "expected N (1 to 4096), auto or off" \
			sbatch "--autozyme-threads=$value" --wrap=true
	done
	refused "srun unknown patch" --autozyme-activate "unknown patch 'nosuch'" srun -n1 --autozyme-activate=nosuch true
	refused "sbatch unknown patch" --autozyme-activate "unknown patch 'nosuch'" sbatch --autozyme-activate=nosuch --wrap=true
	refused "srun bad patch name" --autozyme-activate "[a-z0-9][a-z0-9_.-]{0,63}" srun -n1 --autozyme-activate=Bad/Name true
	refused "AUTOZYME_THREADS=abc" AUTOZYME_THREADS "expected N (1 to 4096), auto or off" env AUTOZYME_THREADS=abc srun -n1 true
	refused "sbatch AUTOZYME_THREADS=0" AUTOZYME_THREADS "expected N (1 to 4096), auto or off" env AUTOZYME_THREADS=0 sbatch --wrap=true
	refused "salloc --autozyme-threads=abc" --autozyme-threads "expected N (1 to 4096), auto or off" salloc --autozyme-threads=abc true
	scenario_done "bad input"
}

test_site_config() {
	local out
	use_plugin default_threads=1 default_activate=seurat
	out=$(srun_probe -n1 -c2)
	check_eq "default_threads=1: 1 thread" "1 site_default" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"]')"
	check_eq "default_activate=seurat" "seurat" "$(echo "$out" | $pick 'env.get("AUTOZYME_ACTIVATE")')"
	use_plugin max_threads=1
	out=$(srun_probe -n1 -c2 --autozyme-threads=2)
	check_eq "max_threads=1 caps a request of 2" "1 site_max" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"]')"
	use_plugin allowed_patches=scanpy
	refused "allowed_patches=scanpy refuses seurat" --autozyme-activate "not allowed" srun -n1 --autozyme-activate=seurat true
	out=$(srun_probe -n1 --autozyme-activate=scanpy)
	check_eq "allowed_patches=scanpy allows scanpy" "scanpy" "$(echo "$out" | $pick 'env.get("AUTOZYME_ACTIVATE")')"
	use_plugin vars=OMP_NUM_THREADS,MY_THREADS
	out=$(srun_probe -n1 -c2)
	check_eq "vars=OMP_NUM_THREADS,MY_THREADS: only those" "2 None" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + str(env.get("MKL_NUM_THREADS"))')"
	use_plugin omp_bind=spread
	out=$(srun_probe -n1 -c2)
	check_eq "omp_bind=spread" "cores spread" "$(echo "$out" | $pick 'env.get("OMP_PLACES") + " " + env.get("OMP_PROC_BIND")')"
	check_record "omp_bind=spread" "$out"
	# smt=cores: each task counts the cores of its own cpuset on the step's
	# topology, and the runtime's record agrees.
	use_plugin smt=cores
	out=$(srun_probe -n2 -c1)
	check_eq "smt=cores -n2 -c1: the cores of each task's CPU" "1 1" "$(echo "$out" | $pick 'str(act["cpus"]["cores"]) if act else "none"')"
	check_record "smt=cores -n2 -c1" "$out"
	check_eq "smt=cores: the file says so" "cores" "$(echo "$out" | head -n1 | $pick 'r["step_file"]["inputs"]["smt"]')"
	use_plugin no_such_key=1
	refused "unknown plugstack key" no_such_key "expected key=value with a key among" srun -n1 true
	use_plugin max_threads=lots
	refused "bad plugstack value" max_threads "expected an integer from 1 to 4096" srun -n1 true
	test_config_broken_after_submission
	scenario_done "site config"
}

# A plugstack.conf broken between submission and launch (as on a node whose
# configuration differs from the login node's).  Where Slurm lets a plugin
# fail only the job (26.05, ESPANK_JOB_FAILURE), the job fails with the
# key named in its stderr; elsewhere the plugin stands aside on the node
# (one error in the job's stderr) and the job runs.  The node stays up.
test_config_broken_after_submission() {
	local job state
	use_plugin
	job=$(as_user sbatch --parsable --hold -c2 -o "$AZ_WORK_DIR/broken.out" -e "$AZ_WORK_DIR/broken.err" --wrap="$probe")
	use_plugin no_such_key=1
	scontrol release "$job"
	state=$(cluster_wait_job "$job" 30)
	if spank_failure_fails_job; then
		# The batch step fails before its output files exist: the node's
		# log says why, slurmctld says the plugin failed the job.
		check_eq "broken plugstack on the node: the job fails (Slurm >= 26.05)" "FAILED" "$state"
		check "broken plugstack on the node: the slurmd log names the key and says the job fails" \
			grep -q "\[$job.batch\] error: autozyme: plugstack.conf on this node: unknown argument 'no_such_key=1'.*the job fails, the node stays up" \
			"$AZ_CLUSTER_DIR"/log/slurmd-*.log
		check "broken plugstack on the node: slurmctld records a plugin failure" \
			grep -q "JobId=$job .*Spank plugin failure, job failed" "$AZ_CLUSTER_DIR/log/slurmctld.log"
	else
		check_eq "broken plugstack on the node: the job still completes" "COMPLETED" "$state"
		check_eq "broken plugstack on the node: no variable set" "null" "$($pick 'env.get("OMP_NUM_THREADS")' <"$AZ_WORK_DIR/broken.out")"
		check_match "broken plugstack on the node: error in the job's stderr" "autozyme: plugstack.conf: unknown argument 'no_such_key=1'" "$(cat "$AZ_WORK_DIR/broken.err")"
	fi
	check_eq "broken plugstack on the node: the node stays up" "" "$(cluster_drained_nodes)"
}

# srun, sbatch and salloc load autozyme.so only: its option checks need no
# hwloc, which autozyme_stepd.so brings into slurmstepd alone.  The dynamic
# loader's own report (LD_DEBUG=files) lists every object a command maps.
test_front_maps_no_hwloc() {
	local cmd loaded
	use_plugin
	for cmd in "srun -n1 true" "sbatch --wrap=true -o /dev/null" "salloc -n1 true"; do
		loaded=$(as_user env LD_DEBUG=files $cmd 2>&1 >/dev/null | grep -o 'file=[^ ]*' | sort -u)
		check_match "${cmd%% *} maps autozyme.so" "file=$plugin" "$loaded"
		check_eq "${cmd%% *} maps no hwloc and no autozyme_stepd.so" "" "$(echo "$loaded" | grep -E 'hwloc|autozyme_stepd')"
	done
	scenario_done "front plugin without hwloc"
}

# autozyme.so alone, without autozyme_stepd.so beside it (an installation
# gone wrong): as with a broken plugstack.conf on the node, the job fails
# where Slurm can fail just the job (26.05), else runs without budgets; the
# slurmd log names the missing file; the node stays up.
test_stepd_module_missing() {
	local lonely=$AZ_CLUSTER_DIR/lonely job state
	mkdir -p "$lonely" && cp "$plugin" "$lonely/autozyme.so" && chmod -R a+rX "$lonely"
	cluster_set_plugstack "required $lonely/autozyme.so patch_dir=$top/patches activation_dir=$act_dir"
	job=$(as_user sbatch --parsable -c2 -o "$AZ_WORK_DIR/lonely.out" --wrap="$probe")
	state=$(cluster_wait_job "$job" 60)
	check "module missing: the slurmd log names it" \
		grep -q "autozyme: cannot load $lonely/autozyme_stepd.so" "$AZ_CLUSTER_DIR"/log/slurmd-*.log
	if spank_failure_fails_job; then
		check_eq "module missing: the job fails (Slurm >= 26.05)" "FAILED" "$state"
	else
		check_eq "module missing: the job still completes" "COMPLETED" "$state"
		check_eq "module missing: no variable set" "null" "$($pick 'env.get("OMP_NUM_THREADS")' <"$AZ_WORK_DIR/lonely.out")"
	fi
	scenario_done "stepd module missing"
}

test_user_values() {
	local out
	use_plugin
	out=$(as_user env OMP_NUM_THREADS=1 srun -n1 -c2 "$probe" 2>"$err")
	check_eq "user OMP_NUM_THREADS=1 kept, others 2" "1 2" "$(echo "$out" | $pick 'env["OMP_NUM_THREADS"] + " " + env["MKL_NUM_THREADS"]')"
	out=$(as_user env OMP_NUM_THREADS=1 srun -n1 -c2 --autozyme-threads=2 "$probe" 2>"$err")
	check_eq "--autozyme-threads overrides user OMP_NUM_THREADS" "2" "$(echo "$out" | $pick 'env["OMP_NUM_THREADS"]')"
	use_plugin respect_user_env=no
	out=$(as_user env OMP_NUM_THREADS=1 srun -n1 -c2 "$probe" 2>"$err")
	check_eq "respect_user_env=no overrides it" "2" "$(echo "$out" | $pick 'env["OMP_NUM_THREADS"]')"
	scenario_done "user values"
}

test_verbose() {
	use_plugin
	srun_probe -n2 -c1 --autozyme-verbose --autozyme-activate=scanpy >/dev/null
	check_eq "--autozyme-verbose: one line per task" "2" "$(grep -c '^autozyme: rank [01] node .* cpuset [0-9]* threads 1 (cpus_per_task) patches scanpy$' "$err")"
	scenario_done "verbose"
}

test_batch() {
	local script=$AZ_WORK_DIR/batch.sh out
	use_plugin
	cat >"$script" <<EOF
#!/bin/bash
AZ_PROBE_LABEL=a-batch $probe
AZ_PROBE_LABEL=b-step srun -n1 -c2 $probe
AZ_PROBE_LABEL=c-override srun -n1 --autozyme-threads=1 $probe
export OMP_NUM_THREADS=1
AZ_PROBE_LABEL=d-user srun -n1 -c2 $probe
AZ_PROBE_LABEL=e-default srun -n1 $probe
EOF
	chmod 755 "$script"
	as_user sbatch --wait -c2 --autozyme-threads=2 -o "$AZ_WORK_DIR/batch.out" "$script" >/dev/null 2>"$err"
	out=$(cat "$AZ_WORK_DIR/batch.out")
	# sbatch's --autozyme-threads is an explicit request for every step, so it
	# overrides a value exported in the script, as it does at submission.
	check_eq "sbatch: batch step, inner srun, override, export under the option" "2 2 1 2" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")' | cut -d' ' -f1-4)"
	if srun_inherits_cpus_per_task; then
		check_eq "sbatch: inner srun without -c inherits -c2 (Slurm >= 23.11): the request of 2, not clamped" "2 request False" "$(echo "$out" | $pick 'env["MKL_NUM_THREADS"] + " " + act["threads"]["provenance"] + " " + str(act["threads"]["clamped"])' | cut -d' ' -f13-15)"
	else
		check_eq "sbatch: inner srun without -c has 1 CPU (Slurm < 23.11): clamped, with provenance" "1 cpus_per_task True" "$(echo "$out" | $pick 'env["MKL_NUM_THREADS"] + " " + act["threads"]["provenance"] + " " + str(act["threads"]["clamped"])' | cut -d' ' -f13-15)"
	fi
	check_eq "sbatch: steps recorded" "batch 0 1 2 3" "$(echo "$out" | $pick 'act["job"]["step"]')"
	check_eq "sbatch: inner step file is its own" "True True True True True" "$(echo "$out" | $pick 'env["AUTOZYME_ACTIVATION_FILE"].endswith("/" + act["job"]["step"] + ".node0.json")')"
	check_record "sbatch, its steps" "$out"
	cat >"$script" <<EOF
#!/bin/bash
export OMP_NUM_THREADS=1
AZ_PROBE_LABEL=a-step srun -n1 -c2 $probe
AZ_PROBE_LABEL=b-off srun -n1 -c2 --autozyme-threads=off $probe
EOF
	as_user sbatch --wait -c2 -o "$AZ_WORK_DIR/batch.out" "$script" >/dev/null 2>"$err"
	out=$(cat "$AZ_WORK_DIR/batch.out")
	check_eq "sbatch without the option: script's export kept, the rest recomputed" "1 2" "$(echo "$out" | head -n1 | $pick 'env["OMP_NUM_THREADS"] + " " + env["MKL_NUM_THREADS"]')"
	# The batch step injected MKL_NUM_THREADS and the rest: an "off" step
	# drops them and the markers, and keeps the script's own export.
	check_eq "an off step inside the batch: the batch step's values cleared, the user's kept" "1 None None" \
		"$(echo "$out" | tail -n1 | $pick 'env["OMP_NUM_THREADS"] + " " + str(env.get("MKL_NUM_THREADS")) + " " + str(env.get("AUTOZYME_INJECTED"))')"
	scenario_done "batch"
}

test_array() {
	local out
	use_plugin
	as_user sbatch --wait --array=1-5 -o "$AZ_WORK_DIR/array-%a.out" --wrap="$probe" >/dev/null 2>"$err"
	out=$(cat "$AZ_WORK_DIR"/array-*.out)
	check_eq "array: task ids" "1 2 3 4 5" "$(echo "$out" | $pick 'act["job"]["array_task_id"]' | tr ' ' '\n' | sort -n | xargs)"
	check_eq "array: one array job id" "1" "$(echo "$out" | $pick 'act["job"]["array_job_id"]' | tr ' ' '\n' | sort -u | wc -l)"
	check_record "array" "$out"
	scenario_done "array"
}

part test_bound_tasks
part test_requests
part test_unbound_split
part test_patches
part test_bad_input
part test_site_config
part test_user_values
part test_verbose
part test_front_maps_no_hwloc
part test_stepd_module_missing
part test_batch
part test_array
summary

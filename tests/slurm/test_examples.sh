#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The examples of examples/ on a throwaway one-node cluster: the site
# plugstack.conf (every key documented, its line loads), the job scripts for
# Python, R, a job array and MPI (mpirun inside sbatch), and autozyme-info in
# tasks.  Run as root; AZ_BUILDDIR names the build tree (default: the source
# tree), whose Python package, R package, library and autozyme-info the jobs use.
set -u
. "$(dirname "$0")/scenario.sh"
examples=$top/examples
scenario_start 1 || exit 1

# Every key the plugin accepts is documented in the example.
. "$top/tests/pkg/keys.sh"
check_eq "plugstack.conf documents every key ($(plugstack_keys | wc -l))" "" \
	"$(undocumented_keys "$examples/plugstack.conf" '^#   %s=')"

# Its line, with this build's plugin and the test's directories.
line=$(grep '^required ' "$examples/plugstack.conf")
cluster_set_plugstack "required $plugin ${line#required * } patch_dir=$top/patches activation_dir=$act_dir"
check "plugstack.conf's line loads: srun works" as_user srun -n1 true

# What the jobs need from the build tree instead of an installed package.
jobs=$AZ_WORK_DIR/jobs
mkdir -p "$jobs/pkgconfig"
cp "$examples"/jobs/* "$jobs/"
cat >"$jobs/pkgconfig/autozyme.pc" <<PC
Name: autozyme
Description: libautozyme of the build tree
Version: 0
Libs: -L$build/lib/.libs -lautozyme -Wl,-rpath,$build/lib/.libs
Cflags: -I$top/lib
PC
chown -R "$AZ_USER" "$jobs"
rlib=$AZ_CLUSTER_DIR/rlib
make -C "$build" install-r-package rlibdir="$rlib" >"$AZ_CLUSTER_DIR/r-install.log" 2>&1 ||
	diag "$(tail -20 "$AZ_CLUSTER_DIR/r-install.log")"
chmod -R a+rX "$rlib" 2>/dev/null
job_env=(env "PATH=$build/tools:/usr/local/bin:/usr/bin:/bin"
	"PYTHONPATH=$top/python:$top/tests/python/stubs"
	"AUTOZYME_LIBRARY=$build/lib/.libs/libautozyme.so.0" "AUTOZYME_PATCH_PATH=$top/patches"
	"R_LIBS=$rlib" "LD_LIBRARY_PATH=$build/lib/.libs" "PKG_CONFIG_PATH=$jobs/pkgconfig")

# run_job SCRIPT: submit from $jobs, wait until the job (every array task)
# is gone, print its final states.
run_job() {
	local id
	id=$(cd "$jobs" && as_user "${job_env[@]}" sbatch --parsable --chdir="$jobs" "$@" 2>"$err")
	[[ -n $id ]] || {
		cat "$err"
		return 1
	}
	wait_until 600 job_gone "$id" >/dev/null
	sacct_states=$(scontrol show job -o "$id" 2>/dev/null | grep -o 'JobState=[A-Z]*' | sort -u)
	echo "$sacct_states"
}

state=$(run_job -o "$jobs/python.out" "$jobs/python.sbatch")
out=$(cat "$jobs/python.out" 2>/dev/null)
check_match "python.sbatch: 2 threads from -c2, numpy's OpenBLAS and scanpy follow" \
	'^threads 2 \(cpus_per_task\), scanpy n_jobs 2, libraries: .*openblas 2' "$out"

state=$(run_job -o "$jobs/r.out" "$jobs/r.sbatch")
out=$(cat "$jobs/r.out" 2>/dev/null)
check_match "r.sbatch: 2 threads, mc.cores 2, R's OpenBLAS 2, mclapply ran" \
	'^threads 2 \(cpus_per_task\), mc.cores 2, libraries: .*openblas 2.*, mclapply sum 30$' "$out"

state=$(run_job "$jobs/array.sbatch")
out=$(cat "$jobs"/autozyme-array-*.out 2>/dev/null | sort)
check_eq "array.sbatch: 3 tasks, each 1 thread and the scanpy patch" \
	"chunk 1: threads 1 (cpus_per_task), patches scanpy
chunk 2: threads 1 (cpus_per_task), patches scanpy
chunk 3: threads 1 (cpus_per_task), patches scanpy" "$out"
check_eq "array.sbatch: each task kept its env_snapshot" "3" \
	"$(ls "$jobs"/autozyme-array-*.snapshot.json 2>/dev/null | wc -l)"

state=$(run_job -o "$jobs/mpi.out" "$jobs/mpi.sbatch")
# mpirun binds its 2 ranks to a CPU each here (provenance cpuset); unbound,
# libautozyme would split the task's CPUs among them (pmix): 1 each either way.
out=$(grep '^rank' "$jobs/mpi.out" 2>/dev/null | sed -E 's/\((cpuset|pmix|mpi_env)\)/(P)/' | sort)
check_eq "mpi.sbatch: mpirun's 2 ranks on 2 CPUs: 1 OpenMP thread each" \
	"rank 0: 1 threads (P), OpenMP team 1
rank 1: 1 threads (P), OpenMP team 1" "$out" ||
	diag "$(cat "$jobs/mpi.out" 2>/dev/null)"
scenario_done "example jobs"

# autozyme-info in tasks: one JSON document per task, each its own rank.
out=$(as_user "${job_env[@]}" srun -n2 -c1 autozyme-info --json 2>"$err")
check_eq "srun -n2 autozyme-info --json: valid JSON for each task, ranks 0 and 1" \
	"0 1 cpus_per_task True" \
	"$(echo "$out" | /usr/bin/python3 -c 'import json, sys
docs = [json.loads(line) for line in sys.stdin]
print(" ".join(sorted(str(d["task"]["global_rank"]) for d in docs)),
      " ".join(sorted({d["runtime"]["provenance"] for d in docs})),
      all(d["runtime"]["activation_file_read"] for d in docs))' 2>&1)"
out=$(as_user "${job_env[@]}" srun -n1 autozyme-info 2>"$err")
check_match "autozyme-info in a task: readable report with the activation file" \
	'activation +/.*/autozyme\.[0-9]+\.[0-9]+/0\.node0\.json \(read' "$out"
rc=0
as_user "${job_env[@]}" srun -n1 bash -c 'rm -f "$AUTOZYME_ACTIVATION_FILE"; autozyme-info' >/dev/null 2>"$err" || rc=$?
check_eq "autozyme-info with the activation file gone: exit 1" "1" "$rc"
check_match "... and a message naming AUTOZYME_ACTIVATION_FILE" \
	'autozyme-info: AUTOZYME_ACTIVATION_FILE: .*cannot open' "$(cat "$err")"
scenario_done "autozyme-info"
summary

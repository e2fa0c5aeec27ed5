#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Python and R runtimes inside Slurm with the plugin: tasks read their
# activation file, activate() applies the plugin's budget to the real BLAS
# and to the upstream's knobs, and env_snapshot() reports the patches.
set -u
. "$(dirname "$0")/scenario.sh"
scenario_start 1 || exit 1
use_plugin
task=$here/runtime_task.py

out=$(as_user "${python_env[@]}" srun -n2 -c1 --autozyme-activate=scanpy "$task" 2>"$err")
check_eq "python: tasks read their activation file" "True True" "$(echo "$out" | task_field file_read)"
check_eq "python: the plugin's budget" "1 1" "$(echo "$out" | task_field threads)"
check_eq "python: its provenance" "cpus_per_task cpus_per_task" "$(echo "$out" | task_field provenance)"
check_eq "python: numpy's OpenBLAS really runs 1 thread" "[1] [1]" "$(echo "$out" | task_field openblas)"
check_eq "python: scanpy.settings.n_jobs" "1 1" "$(echo "$out" | task_field n_jobs)"
out=$(as_user "${python_env[@]}" srun -n1 -c2 --autozyme-activate=scanpy "$task" 2>"$err")
check_eq "python -c2: 2 threads in OpenBLAS and scanpy" "[2] 2" "$(echo "$out" | task_field openblas) $(echo "$out" | task_field n_jobs)"

as_user "${python_env[@]}" sbatch --wait --array=1-3 -c1 --autozyme-activate=scanpy \
	-o "$AZ_WORK_DIR/rt-%a.out" --wrap="$task" >/dev/null 2>"$err"
out=$(cat "$AZ_WORK_DIR"/rt-*.out)
check_eq "python array: every task's env_snapshot lists its patch" "['scanpy'] ['scanpy'] ['scanpy']" \
	"$(echo "$out" | task_field snapshot_patches)"
check_eq "python array: task ids" "1 2 3" "$(echo "$out" | task_field array_task | tr ' ' '\n' | sort | xargs)"
scenario_done "python runtime"

# A researcher's own environment: a venv of Debian's python3 that sees
# Debian's numpy (--system-site-packages), with the build tree's wheel
# pip-installed by the user; the task is that venv's python.
venv=$AZ_WORK_DIR/venv
wheel=$(ls "$build"/python/dist/autozyme-*-py3-none-any.whl 2>/dev/null)
if as_user /usr/bin/python3 -m venv --system-site-packages "$venv" >"$err" 2>&1 &&
	as_user "$venv/bin/pip" install -q --no-index "$wheel" >"$err" 2>&1; then
	purelib=$(as_user "$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	as_user cp -r "$top"/tests/python/stubs/scanpy* "$purelib/"
	out=$(as_user env "AUTOZYME_LIBRARY=$build/lib/.libs/libautozyme.so.0" "AUTOZYME_PATCH_PATH=$top/patches" \
		srun -n2 -c1 --autozyme-activate=scanpy "$venv/bin/python" "$task" 2>"$err")
	check_eq "venv: the package comes from the venv" "$purelib/autozyme $purelib/autozyme" \
		"$(echo "$out" | task_field package)"
	check_eq "venv: tasks read their activation file" "True True" "$(echo "$out" | task_field file_read)"
	check_eq "venv: the plugin's budget, numpy's OpenBLAS at it, scanpy's n_jobs" "1 1 [1] [1] 1 1" \
		"$(echo "$out" | task_field threads) $(echo "$out" | task_field openblas) $(echo "$out" | task_field n_jobs)"
else
	not_ok "venv: make a venv and pip install ${wheel:-the wheel (not built)}"
	diag "$(tail -20 "$err")"
fi
scenario_done "python venv runtime"

if r_env_install; then
	out=$(as_user "${r_env[@]}" srun -n2 -c1 --autozyme-activate=seurat /usr/bin/Rscript "$here/runtime_task.R" 2>"$err")
	check_eq "R: tasks read their activation file" "True True" "$(echo "$out" | task_field file_read)"
	check_eq "R: the plugin's budget and provenance" "1 1 cpus_per_task cpus_per_task" \
		"$(echo "$out" | task_field threads) $(echo "$out" | task_field provenance)"
	check_eq "R: R's OpenBLAS really runs 1 thread, mc.cores 1" "1 1 1 1" \
		"$(echo "$out" | task_field openblas) $(echo "$out" | task_field mc_cores)"
	out=$(as_user "${r_env[@]}" srun -n1 -c2 --autozyme-activate=seurat /usr/bin/Rscript "$here/runtime_task.R" 2>"$err")
	check_eq "R -c2: OpenBLAS 2, env_snapshot lists seurat" "2 seurat" \
		"$(echo "$out" | task_field openblas) $(echo "$out" | task_field snapshot_patches)"
fi
scenario_done "R runtime"
summary

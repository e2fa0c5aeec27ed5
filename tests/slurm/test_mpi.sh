#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# MPI ranks and the runtime, asserted from each rank's own thread_info()
# (tests/slurm/mpi_rank.py, run as the test user): Open MPI's mpirun outside
# Slurm and inside sbatch, and srun --mpi=pmix on two emulated nodes, with
# and without the plugin.  Unbound ranks sharing a cpuset split it: before
# MPI_Init (or without it) the launcher's variables count them (provenance
# "mpi_env"), after MPI_Init PMIx does ("pmix"); bound ranks keep their own
# cpuset; a program that asks libautozyme first still runs MPI_Init and a
# collective (libautozyme must not initialise PMIx), on one node and across
# two.  Where the release ships no mpi/pmix plugin (release.sh's fact, never
# a probe of srun), the srun scenarios run with --mpi=none, srun --mpi=pmix
# is shown refused, and the parts that need it are counted skips.  Each
# launch mode has its own expected provenance, rank by rank.
set -u
. "$(dirname "$0")/scenario.sh"
scenario_start 2 || exit 1

cpus=$(nproc) # every emulated node has all of them
half=$((cpus / 2 > 0 ? cpus / 2 : 1))

# two_cpus PART: true when two ranks can each be bound to a CPU of their
# own here; else PART is a counted skip (and the manifest's count differs).
two_cpus() {
	((cpus >= 2)) && return 0
	skip "$1" "this machine has $cpus CPU: two ranks cannot each be bound to a CPU of their own"
	return 1
}
# The emulated nodes share one host, reached over loopback: TCP between
# ranks (Open MPI 4.1's shared memory crashed across emulated nodes), on lo,
# which Open MPI 5 and later leave out of TCP by default.
user_env=(env "PYTHONPATH=$top/python" "AUTOZYME_LIBRARY=$build/lib/.libs/libautozyme.so.0"
	"AUTOZYME_PATCH_PATH=$top/patches" "OMPI_MCA_btl=self,tcp" "OMPI_MCA_btl_tcp_if_include=lo")
rank_py=(/usr/bin/python3 "$here/mpi_rank.py")

# A fresh directory for the ranks' records, the test user's.
new_out() {
	as_user mktemp -d "$AZ_WORK_DIR/ranks.XXXXXX"
}

# field DIR EXPR: EXPR (over a record r) for each rank's record, in rank order.
field() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import glob, json, os, sys
records = sorted((json.load(open(f)) for f in glob.glob(os.path.join(sys.argv[1], "*.json"))),
                 key=lambda r: r["rank"])
print(" ".join(str(eval(sys.argv[2], {"r": r})) for r in records))
EOF
}

# repeat N WORD: WORD N times, space-separated.
repeat() {
	local i out=""
	for ((i = 0; i < $1; i++)); do out+="${out:+ }$2"; done
	echo "$out"
}

# launch NAME LAUNCHER...: run LAUNCHER... mpi_rank.py OUT as the user; set
# $out to the records' directory and check the launch itself.
launch() {
	local name=$1
	shift
	out=$(new_out)
	check "$name: the ranks ran" as_user "${user_env[@]}" "$@" "${rank_py[@]}" "$out"
}

# expect_split NAME N PROVENANCE THREADS: N ranks, sharing (not bound).
expect_split() {
	check_eq "$1: every rank's provenance" "$(repeat "$2" "$3")" "$(field "$out" 'r["provenance"]')"
	check_eq "$1: every rank's threads" "$(repeat "$2" "$4")" "$(field "$out" 'r["threads"]')"
	check_eq "$1: not bound" "$(repeat "$2" False)" "$(field "$out" 'r["ranks"]["bound"]')"
}

# The local-ranks API it asks is the runtime's own, not exported by
# libautozyme.so.0: the program links the library's floors (the convenience
# archives the build makes), the same code.
mpi_prog=$AZ_WORK_DIR/mpi_after_autozyme
if ! mpicc -o "$mpi_prog" "$here/mpi_after_autozyme.c" -I"$top/lib" -I"$top/lib/core" \
	-I"$top/lib/runtime" "$build/lib/.libs/libazruntime.a" "$build/lib/.libs/libaztopology.a" \
	"$build/lib/.libs/libazcore.a" -lhwloc -lcjson -lm -ldl -lpthread 2>"$err"; then
	not_ok "compile mpi_after_autozyme.c"
	diag "$(cat "$err")"
fi
chmod 755 "$mpi_prog" 2>/dev/null

# --------------------------------------------------- Open MPI outside Slurm
launch "mpirun --bind-to none -np 2" mpirun --bind-to none -np 2
expect_split "mpirun --bind-to none -np 2" 2 mpi_env "$half"
check_eq "mpirun: local size and ranks from its variables, before MPI_Init" "2/0/mpi_env 2/1/mpi_env" \
	"$(field "$out" '"%d/%d/%s" % (r["ranks"]["local_size"], r["ranks"]["local_rank"], r["ranks"]["source"])')"
check_eq "mpirun: not Slurm's tasks, no activation file" "False/False False/False" \
	"$(field "$out" '"%s/%s" % (r["ranks"]["slurm_tasks"], r["file_read"])')"

if two_cpus "mpirun -np 2, bound"; then
	launch "mpirun -np 2 (bound to a core each)" mpirun -np 2
	check_eq "mpirun bound: each rank keeps its own cpuset" "cpuset/1/True cpuset/1/True" \
		"$(field "$out" '"%s/%s/%s" % (r["provenance"], r["threads"], r["ranks"]["bound"])')"
fi

# Without a PMIx server in sight, Open MPI's own variables count the ranks.
launch "mpirun without PMIx variables" mpirun --bind-to none -np 2 env -u PMIX_NAMESPACE
expect_split "mpirun, OMPI_COMM_WORLD_LOCAL_SIZE" 2 mpi_env "$half"

outcome=$(as_user "${user_env[@]}" mpirun --bind-to none -np 2 "$mpi_prog" 2>"$err")
check_eq "mpirun: MPI_Init and a collective after libautozyme; then PMIx counts the ranks" \
	"rank 0 of 2: sum 1, $half threads (mpi_env), local ranks 2/0/mpi_env, after MPI_Init 2/0/pmix|rank 1 of 2: sum 1, $half threads (mpi_env), local ranks 2/1/mpi_env, after MPI_Init 2/1/pmix" \
	"$(sort <<<"$outcome" | paste -sd'|')"
check_eq "mpirun: no rank exits improperly" "" "$(grep -i 'improperly\|abort' "$err")"

# ----------------------------------------------- srun --mpi=pmix, no plugin
mpi=pmix
if ! srun_has_mpi_pmix; then
	mpi=none
	diag "Slurm $(release_series) ships no mpi/pmix plugin (release.sh): srun scenarios with --mpi=none"
	check_fails "srun --mpi=pmix refused where the release ships no mpi/pmix" as_user srun --mpi=pmix -n1 true
fi
launch "srun --mpi=$mpi -n2 --cpu-bind=none" srun --mpi=$mpi -n2 --cpu-bind=none
expect_split "srun --mpi=$mpi -n2 --cpu-bind=none" 2 mpi_env "$half"
check_eq "srun --mpi=$mpi: Slurm's own tasks, local size 2" "True/2 True/2" \
	"$(field "$out" '"%s/%d" % (r["ranks"]["slurm_tasks"], r["ranks"]["local_size"])')"

launch "srun --mpi=$mpi -N2 -n4 --cpu-bind=none" srun --mpi=$mpi -N2 -n4 --cpu-bind=none
expect_split "srun --mpi=$mpi -N2 -n4" 4 mpi_env "$half"
check_eq "srun --mpi=$mpi -N2 -n4: two ranks on each node" "n1/2 n1/2 n2/2 n2/2" \
	"$(field "$out" '"%s/%d" % (r["node"], r["ranks"]["local_size"])')"

launch "srun -n2 --cpu-bind=none without PMIx" srun --mpi=none -n2 --cpu-bind=none
expect_split "srun, SLURM_STEP_TASKS_PER_NODE" 2 mpi_env "$half"

if two_cpus "srun -n2, bound"; then
	launch "srun --mpi=$mpi -n2 (bound)" srun --mpi=$mpi -n2
	check_eq "srun bound: each task keeps its own cpuset" "cpuset/1/True cpuset/1/True" \
		"$(field "$out" '"%s/%s/%s" % (r["provenance"], r["threads"], r["ranks"]["bound"])')"
fi

if [[ $mpi == pmix ]]; then
	outcome=$(as_user "${user_env[@]}" srun --mpi=pmix -N2 -n4 --cpu-bind=none "$mpi_prog" 2>"$err")
	check_eq "srun --mpi=pmix -N2 -n4: MPI_Init and a collective after libautozyme; then PMIx counts" \
		"$(for r in 0 1 2 3; do echo "rank $r of 4: sum 6, $half threads (mpi_env), local ranks 2/$((r % 2))/mpi_env, after MPI_Init 2/$((r % 2))/pmix"; done | paste -sd'|')" \
		"$(sort <<<"$outcome" | paste -sd'|')" || diag "$(cat "$err")"
else
	skip "srun --mpi=pmix -N2 -n4: MPI_Init after libautozyme" "Slurm $(release_series) ships no mpi/pmix (release.sh)"
fi

# ------------------------------------------------------- mpirun in sbatch
# job NAME SBATCH_ARGS -- MPIRUN_ARGS: an sbatch job running mpirun over the
# rank script; waits for it and sets $out.
job() {
	local name=$1 args=() id state
	shift
	while [[ $1 != -- ]]; do
		args+=("$1")
		shift
	done
	shift
	out=$(new_out)
	id=$(as_user "${user_env[@]}" sbatch --parsable "${args[@]}" -o "$out/job.log" \
		--wrap="mpirun $* ${rank_py[*]} $out" 2>"$err")
	state=$(cluster_wait_job "$id" 120)
	check_eq "$name: the job completed" COMPLETED "$state" || diag "$(cat "$out/job.log" "$err" 2>/dev/null)"
}

job "sbatch -N1 -n2, mpirun --bind-to none" -N1 -n2 -- --bind-to none -np 2
expect_split "mpirun in sbatch, no plugin" 2 mpi_env "$half"

job "sbatch -N2 -n4, mpirun --bind-to none over both nodes" -N2 -n4 -- --bind-to none -np 4 --map-by ppr:2:node
expect_split "mpirun in sbatch over two nodes" 4 mpi_env "$half"
check_eq "mpirun in sbatch over two nodes: two ranks on each" "n1 n1 n2 n2" "$(field "$out" 'r["node"]')"
# examples/mpi: the two job scripts (srun-pmix where the release has
# mpi/pmix), each rank's line from rank.py: rank, node, threads, provenance,
# local rank, as each launcher places and counts them.
declare -A example_ranks=(
	[srun-pmix]="0:n1:$half:mpi_env:0 1:n1:$half:mpi_env:1 2:n2:$half:mpi_env:0 3:n2:$half:mpi_env:1"
	[mpirun]="0:n1:$half:mpi_env:0 1:n1:$half:mpi_env:1 2:n2:$half:mpi_env:0 3:n2:$half:mpi_env:1")
scripts=(mpirun)
if [[ $mpi == pmix ]]; then
	scripts=(srun-pmix mpirun)
else
	skip "examples/mpi/srun-pmix.sbatch" "Slurm $(release_series) ships no mpi/pmix (release.sh)"
fi
for script in "${scripts[@]}"; do
	log=$(new_out)/job.log
	id=$(as_user "${user_env[@]}" PYTHON=/usr/bin/python3 sbatch --parsable \
		--chdir="$top/examples/mpi" -o "$log" "$top/examples/mpi/$script.sbatch" 2>"$err")
	check_eq "examples/mpi/$script.sbatch: completed" COMPLETED "$(cluster_wait_job "$id" 120)" ||
		diag "$(cat "$log" "$err" 2>/dev/null)"
	check_eq "examples/mpi/$script.sbatch: each rank's node, threads, provenance and local rank" \
		"${example_ranks[$script]}" \
		"$(sed -n 's/^rank \([0-9]*\) on \(n[12]\): \([0-9]*\) threads (\([a-z_]*\)), local rank \([0-9]\) of 2, matmul .*/\1:\2:\3:\4:\5/p' "$log" | sort -n | xargs)"
done
scenario_done "MPI without the plugin"

# ----------------------------------------------------------- with the plugin
use_plugin
launch "plugin, srun --mpi=$mpi -n2 --cpu-bind=none" srun --mpi=$mpi -n2 --cpu-bind=none
check_eq "plugin, srun: the ranks are the tasks the activation file was decided for" \
	"$(field "$out" 'r["task"]')" "$(field "$out" '"%s/%s" % (r["provenance"], r["threads"])')"
check_eq "plugin, srun --mpi=$mpi -n2 --cpu-bind=none: each rank's provenance and threads" \
	"cpus_per_task/$half cpus_per_task/$half" "$(field "$out" '"%s/%s" % (r["provenance"], r["threads"])')"
check_eq "plugin, srun: $half threads each" "$half $half" "$(field "$out" 'r["threads"]')"

# mpirun's ranks inherit the activation file of the Slurm task that started
# them, decided for one task: unbound, they split it.
job "plugin, sbatch -N1 -n2, mpirun --bind-to none" -N1 -n2 -- --bind-to none -np 2
expect_split "plugin, mpirun in sbatch" 2 mpi_env "$half"
check_eq "plugin, mpirun in sbatch: the task's activation file was read" "True True" \
	"$(field "$out" 'r["file_read"]')"
if two_cpus "plugin, mpirun -np 2 bound in sbatch"; then
	job "plugin, sbatch -N1 -n2, mpirun (bound)" -N1 -n2 -- -np 2
	check_eq "plugin, mpirun bound in sbatch: each rank keeps its own cpuset" \
		"cpuset/1/True cpuset/1/True" \
		"$(field "$out" '"%s/%s/%s" % (r["provenance"], r["threads"], r["ranks"]["bound"])')"
fi
scenario_done "MPI with the plugin"
summary

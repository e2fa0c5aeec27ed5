# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Shared by the benchmarks.  A benchmark script does:
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init "$@"                       # BUILDDIR [--quick]
#   v_without() { bench_ms as_user srun -n2 true; }
#   v_plugin()  { use_plugin "$plugin"; bench_ms as_user srun -n2 true; }
#   bench_rounds launch-n2 v_ without plugin
#   bench_table launch-n2 "srun -n2 true" ms plugin/without
#
# bench_rounds runs the variants interleaved (A B A B ...): BENCH_WARMUP
# rounds that are not counted, then BENCH_RUNS counted ones.  A variant is
# a function that runs once and prints its measurement (one line per
# sample, one field per group: see bench_rounds); its commands' output goes
# to the log.  A variant that fails stops the benchmark (exit 1): so the
# quick mode, run by the test command, keeps every benchmark working, while
# nothing ever judges the numbers.
#
# Environment: AZ_BENCH_RUNS and AZ_BENCH_WARMUP override the counts.

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$bench_dir/.." && pwd)

bench_usage() {
	echo "usage: $0 BUILDDIR [--quick]" >&2
	exit 2
}

# bench_init BUILDDIR [--quick]: sets build, BENCH_QUICK, BENCH_RUNS,
# BENCH_WARMUP and the samples file; full mode defaults to 10 runs after 2
# warm-up rounds, quick mode to 1 run and none.
bench_init() {
	[[ $# -ge 1 && $# -le 2 ]] || bench_usage
	build=$(cd "$1" 2>/dev/null && pwd) || {
		echo "$0: no build directory '$1'" >&2
		exit 2
	}
	BENCH_QUICK=0
	case ${2:-} in
	"") ;;
	--quick) BENCH_QUICK=1 ;;
	*) bench_usage ;;
	esac
	if ((BENCH_QUICK)); then
		BENCH_RUNS=${AZ_BENCH_RUNS:-1} BENCH_WARMUP=${AZ_BENCH_WARMUP:-0}
	else
		BENCH_RUNS=${AZ_BENCH_RUNS:-10} BENCH_WARMUP=${AZ_BENCH_WARMUP:-2}
	fi
	bench_tmp=$(mktemp -d /tmp/azbench.XXXXXX) || exit 1
	chmod 755 "$bench_tmp"
	bench_samples=$bench_tmp/samples.tsv
	: >"$bench_samples"
	trap bench_cleanup EXIT
}

# The cluster (when one was started), the temp dir and the cgroup go at exit.
bench_cleanup() {
	if [[ -n ${AZ_CLUSTER_DIR:-} ]]; then cluster_stop; fi
	bench_node_cgroup_remove
	rm -rf "$bench_tmp"
}

# bench_pick QUICK FULL: the value for the current mode.
bench_pick() {
	if ((BENCH_QUICK)); then echo "$1"; else echo "$2"; fi
}

bench_fail() {
	echo "bench: $*" >&2
	exit 1
}

# bench_ms CMD...: run CMD (its output to the log) and print its wall time
# in ms; fails when CMD fails.
bench_ms() {
	local t0 t1
	t0=$EPOCHREALTIME
	"$@" >>"$bench_tmp/log" 2>&1 || {
		tail -n 20 "$bench_tmp/log" >&2
		bench_fail "failed: $*"
	}
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}

# bench_proc CMD...: run the command CMD (not a shell function; its output
# to the log) and print "WALL_MS CPU_MS" (bench/run.py); fails when CMD fails.
bench_proc() {
	/usr/bin/python3 "$bench_dir/run.py" "$bench_tmp/log" "$@" || {
		tail -n 20 "$bench_tmp/log" >&2
		bench_fail "failed: $*"
	}
}

# bench_rounds "GROUP..." PREFIX VARIANT...: interleaved runs of the
# functions PREFIX$VARIANT.  Each line a variant prints is one sample; its
# first field is recorded under the first GROUP, its second (if a second
# GROUP is named) under the second, and so on.
bench_rounds() {
	local -a groups
	local prefix=$2 round variant out i
	local -a fields
	read -r -a groups <<<"$1"
	shift 2
	for ((round = 1; round <= BENCH_WARMUP + BENCH_RUNS; round++)); do
		for variant in "$@"; do
			out=$("$prefix$variant") || bench_fail "${groups[0]}: variant $variant failed"
			[[ -n $out ]] || bench_fail "${groups[0]}: variant $variant measured nothing"
			((round > BENCH_WARMUP)) || continue
			while read -r -a fields; do
				((${#fields[@]} >= ${#groups[@]})) ||
					bench_fail "${groups[0]}: variant $variant printed '${fields[*]}'"
				for i in "${!groups[@]}"; do
					printf '%s\t%s\t%s\n' "${groups[i]}" "$variant" "${fields[i]}" >>"$bench_samples"
				done
			done <<<"$out"
		done
	done
}

# bench_table GROUP TITLE UNIT [A/B...]: median, min and max of each
# variant, then the ratio (and difference) of the medians of each pair.
bench_table() {
	/usr/bin/python3 "$bench_dir/table.py" "$bench_samples" "$@" \
		--runs "$BENCH_RUNS" --warmup "$BENCH_WARMUP" || bench_fail "table $1"
}

# ---------------------------------------------------------------- cluster

# bench_cluster: a throwaway one-node cluster (tests/slurm/cluster.sh) with
# an empty plugstack; use_plugin "$plugin" enables BUILDDIR's plugin.
bench_cluster() {
	. "$top/tests/slurm/cluster.sh"
	plugin=$build/spank/.libs/autozyme.so
	[[ -r $plugin ]] || bench_fail "no plugin at $plugin: build first"
	cluster_start 1 >&2 || bench_fail "the cluster did not start"
	act_dir=$AZ_CLUSTER_DIR/activation
	mkdir -m 1777 "$act_dir"
	chmod 755 "$AZ_CLUSTER_DIR"
}

# bench_idle [POLL_MS]: wait (<= 120 s: a busy machine may be slow to end a
# job) until the queue is empty, looking every POLL_MS ms (default 50).
# Untimed before a run, so that it never waits for its predecessor's
# completion; timed (with a short POLL_MS) where the end of a job is what
# is measured.
bench_idle() {
	local poll_ms=${1:-50} i
	for ((i = 0; i < 120000 / poll_ms; i++)); do
		[[ -z $(squeue -h -o %i 2>/dev/null) ]] && return 0
		sleep "$(printf '%d.%03d' $((poll_ms / 1000)) $((poll_ms % 1000)))"
	done
	bench_fail "jobs still queued after 120 s: $(squeue -h 2>&1)"
}

# use_plugin SO: that plugin (with the source tree's patches) in plugstack.conf.
use_plugin() {
	cluster_set_plugstack "required $1 patch_dir=$top/patches activation_dir=$act_dir"
}

no_plugin() {
	cluster_set_plugstack
}

# bench_machine: where the numbers come from, and how busy the machine was
# (other work on it moves wall times, hardly CPU times).
bench_machine() {
	local model
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "machine: $(nproc) CPUs, ${model:-unknown CPU}, Linux $(uname -r), $(date -u +%Y-%m-%d);" \
		"load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
}

# bench_empty_plugin NAME [CALLBACK...]: build, in the temp dir, a SPANK
# plugin that does nothing: slurm_spank_init and each named callback (for
# example slurm_spank_job_epilog) return 0.  The floor a plugin is measured
# against; prints the path of the .so.
bench_empty_plugin() {
	local name=$1 callback src=$bench_tmp/$1.c
	shift
	{
		echo '#include <slurm/spank.h>'
		echo "SPANK_PLUGIN($name, 1);"
		for callback in slurm_spank_init "$@"; do
			echo "int $callback(spank_t sp, int ac, char **av) { (void)sp; (void)ac; (void)av; return 0; }"
		done
	} >"$src"
	gcc -shared -fPIC -O2 -Wall -Werror -o "$bench_tmp/$name.so" "$src" >>"$bench_tmp/log" 2>&1 ||
		bench_fail "cannot build the empty plugin $name (see $bench_tmp/log)"
	chmod 755 "$bench_tmp/$name.so"
	echo "$bench_tmp/$name.so"
}

# bench_restart_plugstack VARIANT [OTHER_LINE...]: the node's plugstack for
# the job-end benchmarks, then slurmd restarted (it looks for a plugin's job
# epilog only as it starts) and put back in the node cgroup when there is
# one.  VARIANT: empty (bench_empty_plugin empty, no job epilog),
# empty_epilog (the same with an empty slurm_spank_job_epilog), plugin
# (AutoZyme), or "lines" (the OTHER_LINEs as given).
bench_restart_plugstack() {
	case $1 in
	empty) cluster_set_plugstack "required $bench_tmp/empty.so" ;;
	empty_epilog) cluster_set_plugstack "required $bench_tmp/empty_epilog.so" ;;
	plugin) use_plugin "$plugin" ;;
	lines) shift; cluster_set_plugstack "$@" ;;
	esac
	cluster_restart_slurmd "$(sinfo -h -o %N | head -1)" >&2 || bench_fail "slurmd did not restart"
	if [[ -d $bench_node_cgroup_path ]]; then bench_node_cgroup; fi
}

# bench_node_cgroup: slurmd of the one-node cluster, and what it starts from
# now on (slurmstepd, the tasks), in a cpuacct cgroup of their own;
# bench_node_cpu_ns then prints the CPU time charged to them so far (ns).
# Slurm uses no cpuacct hierarchy, so the tasks stay in it under task/cgroup.
bench_node_cgroup_path=/sys/fs/cgroup/cpuacct/azbench.$$
bench_node_cgroup() {
	mkdir -p "$bench_node_cgroup_path" || bench_fail "cannot make the cgroup $bench_node_cgroup_path"
	_az_pid_of "slurmd-$AZ_NODES" >"$bench_node_cgroup_path/cgroup.procs" ||
		bench_fail "cannot move slurmd into $bench_node_cgroup_path"
}
bench_node_cpu_ns() { cat "$bench_node_cgroup_path/cpuacct.usage"; }
bench_node_cgroup_remove() {
	if [[ -d $bench_node_cgroup_path ]]; then rmdir "$bench_node_cgroup_path"; fi
}

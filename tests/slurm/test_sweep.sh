#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Nothing left behind, whatever dies.  Each slurmstepd holds its job
# directory locked while it lives; at every step's end the plugin sweeps the
# directories no slurmstepd holds (as their owner): what a killed one left
# goes at the end of the job's next step on the node, else of the next step
# of any job there.  Each scenario ends with the next job running normally
# on every node, then no file under activation_dir and no drained node:
#  - kill -9 of a step's slurmstepd (its batch step's end sweeps the file),
#    then of the batch step's slurmstepd (the next job's step end does), then
#    of one whose leftovers another user's step sweeps;
#  - scontrol requeue of a running job: the second run gets fresh files;
#  - scancel --signal=KILL of a 64-task step;
#  - slurmd restarted while a step runs;
#  - a job killed by its time limit;
#  - what the sweep refuses: a symbolic link or FIFO the user put in the job
#    directory stays, in the directory renamed *.refused (with one log
#    line), the rest goes;
#  - an array of AZ_SWEEP_ARRAY_TASKS (500) tasks over 4 emulated nodes,
#    with random tasks' slurmstepd killed (this and the time limit under the
#    affinity site configuration only);
#  - the sweep of what a killed slurmstepd of 64 tasks left, timed (slurmd log);
#  - a plugstack.conf broken while a step runs: its end still removes its file;
#  - examples/autozyme-sweep-stale and examples/autozyme-tmpfiles.conf,
#    for the directories of a node whose slurmstepds all died.
# Run as root; AZ_BUILDDIR names the build tree holding spank/.libs/autozyme.so.
set -u
. "$(dirname "$0")/scenario.sh"
array_tasks=${AZ_SWEEP_ARRAY_TASKS:-500}

job_dir() { echo "$act_dir/autozyme.$AZ_USER_UID.$1"; }

has_file() { [ -e "$1" ]; }
# step_running JOB N: step 0's file is there and N of its tasks (sleep) run.
step_running() {
	[ -f "$(job_dir "$1")/0.node0.json" ] &&
		(($(pgrep -u "$AZ_USER" -x sleep | wc -l) >= $2))
}


# after NAME: every scenario's ending: a normal job with a step on every
# node (whose ends sweep what is left), then nothing left.
after() {
	check_eq "$1: the next job runs normally on every node" \
		"$(printf '1 %.0s' $AZ_NODES)" \
		"$(as_user srun -N"$AZ_NNODES" -n"$AZ_NNODES" -c1 printenv OMP_NUM_THREADS 2>"$err" | xargs -n1 printf '%s ')"
	scenario_done "$1"
}

# kill_stepd NAME STEP WRAP [GONE]: a job whose STEP holds its file; kill -9
# of that step's slurmstepd, then scancel; the sweep must remove what was
# left (with GONE: by the time the job has ended).
kill_stepd() {
	local name=$1 step=$2 job pid
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="$3")
	check "$name: the step's file appears" wait_until 60 has_file "$(job_dir "$job")/$step.node0.json"
	pid=$(stepd_of "$job" "$step")
	check "$name: slurmstepd [$job.$step] found" test -n "$pid"
	kill -9 "$pid" 2>/dev/null
	scancel "$job"
	check "$name: the job ends" wait_until 120 job_gone "$job"
	[ -n "${4:-}" ] && check "$name: the job's end swept its directory" \
		wait_until 60 test ! -e "$(job_dir "$job")"
	after "$name"
}

test_killed_stepds() {
	kill_stepd "kill -9 of a step's slurmstepd" 0 "srun -n1 -c1 sleep 120" gone
	kill_stepd "kill -9 of the batch step's slurmstepd" batch "sleep 120"
}

# A step of another user ends on the node: its sweep removes, with the first
# user's credentials, what that user's killed batch slurmstepd left.
test_other_users_step() {
	local job dir other
	other=$(other_user) || {
		not_ok "another user's step: create the second user"
		return
	}
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="sleep 120")
	dir=$(job_dir "$job")
	check "another user's step: the batch step's file appears" wait_until 60 has_file "$dir/batch.node0.json"
	kill -9 "$(stepd_of "$job" batch)" 2>/dev/null
	scancel "$job"
	check "another user's step: the job ends" wait_until 120 job_gone "$job"
	check "another user's step: the killed step's file is left" has_file "$dir/batch.node0.json"
	check "another user's step: $other's step runs" as_other srun -n1 -c1 true
	check "another user's step: its end swept the directory" wait_until 60 test ! -e "$dir"
	after "another user's step"
}

# Each run's task records its file's inode and the run; the first run is
# requeued while it sleeps.
test_requeue() {
	local job out=$AZ_WORK_DIR/requeue.out lines
	job=$(as_user sbatch --parsable --requeue -n1 -c1 -o /dev/null \
		--wrap="srun -n1 -c1 sh -c 'echo run=\${SLURM_RESTART_COUNT:-0} \$(stat -c %Y.%i \"\$AUTOZYME_ACTIVATION_FILE\") >>$out'; [ \${SLURM_RESTART_COUNT:-0} -ge 1 ] || sleep 120")
	check "requeue: the first run's step wrote its record" wait_until 60 test -s "$out"
	scontrol requeue "$job"
	check "requeue: the second run ends" wait_until 120 job_gone "$job"
	lines=$(sort "$out" 2>/dev/null)
	check_match "requeue: both runs' tasks had a file, the second a fresh one" \
		"^run=0 [0-9.]+"$'\n'"run=1 [0-9.]+$" "$lines"
	check "requeue: the second run's file is not the first's" test "$(sed -n 1p <<<"$lines" | cut -d' ' -f2)" != "$(sed -n 2p <<<"$lines" | cut -d' ' -f2)"
	after "scontrol requeue"
}

test_kill_64() {
	local job
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="srun -n64 --overcommit sleep 120")
	check "scancel --signal=KILL, 64 tasks: the step's file appears, its tasks run" \
		wait_until 120 step_running "$job" 64
	scancel --signal=KILL "$job"
	scancel "$job"
	check "scancel --signal=KILL, 64 tasks: the job ends" wait_until 120 job_gone "$job"
	after "scancel --signal=KILL of a 64-task step"
}

# The step's task writes its pid, then waits for a go file that appears only
# after slurmd is back, and writes its pid again: the same task, alive
# across the restart, finished the step.
test_slurmd_restart() {
	local job mark=$AZ_WORK_DIR/restart pid
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="srun -n1 -c1 sh -c 'echo \$\$ >$mark.before; while [ ! -e $mark.go ]; do sleep 0.1; done; echo \$\$ >$mark.after'")
	check "slurmd restart: the step's file appears" wait_until 60 has_file "$(job_dir "$job")/0.node0.json"
	check "slurmd restart: the step's task runs" wait_until 60 test -s "$mark.before"
	pid=$(cat "$mark.before" 2>/dev/null)
	check "slurmd restart: slurmd stops and starts while the step runs" cluster_restart_slurmd "${AZ_NODES%% *}"
	check "slurmd restart: the step's task is still alive after it" kill -0 "${pid:-none}"
	as_user touch "$mark.go"
	check "slurmd restart: the job ends" wait_until 120 job_gone "$job"
	check_eq "slurmd restart: the same task finished the step after it" "${pid:-none}" "$(cat "$mark.after" 2>/dev/null)"
	check_match "slurmd restart: the job completed" "COMPLETED" "$(scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z]*')"
	after "slurmd restarted while a step runs"
}

# slurmctld enforces time limits in its periodic pass (about every 30 s).
test_time_limit() {
	local job
	job=$(as_user sbatch --parsable -n1 -c1 --time=0:05 -o /dev/null --wrap="srun -n1 -c1 sleep 300")
	check "time limit: the job is killed" wait_until 180 job_gone "$job"
	check_match "time limit: state" "TIMEOUT" "$(scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z]*')"
	after "a job killed by its time limit"
}

# The user leaves a symbolic link to a file of theirs, and a FIFO, in the job
# directory while the step runs, then the step's slurmstepd dies: the sweep
# at the batch step's end removes the regular files, leaves those two in the
# directory renamed *.refused (later sweeps pass it by), follows nothing
# (the link's target survives), and says so in the slurmd log.
test_refused() {
	local job dir target=$AZ_WORK_DIR/precious
	as_user sh -c "echo keep >$target"
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="srun -n1 -c1 sleep 120")
	dir=$(job_dir "$job")
	check "refused: the step's file appears" wait_until 60 has_file "$dir/0.node0.json"
	as_user sh -c "ln -s $target $dir/link.json && mkfifo $dir/fifo.json"
	kill -9 "$(stepd_of "$job" 0)" 2>/dev/null
	scancel "$job"
	check "refused: the job ends" wait_until 120 job_gone "$job"
	check_eq "refused: the link and the FIFO stay, the regular file went" "fifo.json link.json" \
		"$(ls "$dir.refused" 2>&1 | xargs)"
	check "refused: the directory is renamed" test ! -e "$dir"
	check_eq "refused: the link's target was not followed" "keep" "$(cat "$target")"
	check "refused: the slurmd log names the directory it left" \
		grep -q "autozyme: job $job: left .*autozyme.$AZ_USER_UID.$job or part of it alone (renamed" "$AZ_CLUSTER_DIR"/log/slurmd-*.log
	rm -rf "$dir.refused"
	after "the sweep's refusals"
}

# The sweep's own time for what a killed slurmstepd of 64 tasks left (its
# one file): the batch step's end logs it at debug level.
# swept_line JOB: the slurmd log's line of JOB's sweep, if logged yet.
swept_line() { grep -h "autozyme: job $1: swept " "$AZ_CLUSTER_DIR"/log/slurmd-*.log | tail -1; }
sweep_logged() { [[ -n $(swept_line "$1") ]]; }

test_sweep_time() {
	local job line
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="srun -n64 --overcommit sleep 120")
	check "sweep time: the step's file appears, its 64 tasks run" \
		wait_until 120 step_running "$job" 64
	kill -9 "$(stepd_of "$job" 0)" 2>/dev/null
	scancel "$job"
	check "sweep time: the job ends" wait_until 120 job_gone "$job"
	# squeue forgets the job before its batch step's slurmstepd has ended
	# (and swept): wait for the line, not for the job.
	wait_until 60 sweep_logged "$job"
	line=$(swept_line "$job")
	check_match "sweep time: the batch step's end swept the step's file" "swept 1 file in [0-9.]+ ms" "$line"
	diag "sweep of a killed 64-task step: ${line##*swept 1 file in }"
	after "sweep of a killed 64-task step"
}

# A plugstack.conf broken on the node while a step runs: the step read it as
# it started, so its end removes its file as usual; the node stays up.  (A
# step started under the broken file: test_plugin.sh and test_faults.sh.)
test_broken_config() {
	local job
	job=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="srun -n1 -c1 sleep 5")
	check "broken plugstack: the step's file appears" wait_until 60 has_file "$(job_dir "$job")/0.node0.json"
	use_plugin no_such_key=1
	check "broken plugstack: the job ends" wait_until 120 job_gone "$job"
	check "broken plugstack: the step's end removed its directory" \
		wait_until 60 test ! -e "$(job_dir "$job")"
	use_plugin
	after "a plugstack broken while a step runs"
}

# examples/autozyme-sweep-stale, for a node whose slurmstepds all died:
# the directory of a finished job goes, a running job's stays, and what a
# user planted (a link, a directory named for another uid) is left and
# reported; without slurmctld nothing is removed.
test_stale_script() {
	local running finished target=$AZ_WORK_DIR/precious.d out rc=0
	local link=$act_dir/autozyme.$AZ_USER_UID.999999 other=$act_dir/autozyme.0.999998
	running=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap="srun -n1 -c1 sleep 120")
	check "stale script: the running job's file appears" wait_until 60 has_file "$(job_dir "$running")/0.node0.json"
	finished=$(as_user sbatch --parsable -n1 -c1 -o /dev/null --wrap=true)
	check "stale script: the finished job ends" wait_until 60 job_gone "$finished"
	as_user sh -c "mkdir -m 700 $(job_dir "$finished") && echo {} >$(job_dir "$finished")/0.node0.json &&
		mkdir -p $target && echo keep >$target/f && ln -s $target $link && mkdir -m 700 $other"
	out=$("$top/examples/autozyme-sweep-stale" --no-such-option 2>&1) || rc=$?
	check_eq "stale script: an unknown option, exit status 64" 64 "$rc"
	check_match "stale script: an unknown option, the usage" "^usage: autozyme-sweep-stale \[--node NAME\]" "$out"
	rc=0
	out=$(SLURM_CONF=/nonexistent "$top/examples/autozyme-sweep-stale" --node "${AZ_NODES%% *}" "$act_dir" 2>&1) || rc=$?
	check_eq "stale script: slurmctld unreachable, exit status 1" 1 "$rc"
	check "stale script: slurmctld unreachable, nothing removed" test -e "$(job_dir "$finished")/0.node0.json"
	out=$("$top/examples/autozyme-sweep-stale" --dry-run --node "${AZ_NODES%% *}" "$act_dir" 2>&1)
	check_match "stale script: --dry-run names what it would remove" "would remove $(job_dir "$finished")" "$out"
	check "stale script: --dry-run removes nothing" test -e "$(job_dir "$finished")/0.node0.json"
	rc=0
	out=$("$top/examples/autozyme-sweep-stale" --node "${AZ_NODES%% *}" "$act_dir" 2>&1) || rc=$?
	check_eq "stale script: exit status 2 (something left alone)" 2 "$rc"
	check "stale script: the finished job's directory went" test ! -e "$(job_dir "$finished")"
	check "stale script: the running job's file stays" test -e "$(job_dir "$running")/0.node0.json"
	check_match "stale script: the link is left alone and reported" "left $link alone: not a directory" "$out"
	check_eq "stale script: the link's target is intact" "keep" "$(cat "$target/f")"
	check_match "stale script: a directory named for another uid is left alone" \
		"left $other alone: owned by uid $AZ_USER_UID, not 0" "$out"
	rm -rf "$link" "$other"
	scancel "$running"
	check "stale script: the running job ends" wait_until 120 job_gone "$running"
	after "the stale-directory script"
}

# examples/autozyme-tmpfiles.conf, applied by the real systemd-tmpfiles to
# this cluster's activation_dir: nothing at a plain --remove, the job
# directories at boot, following no link and touching nothing else.
test_tmpfiles_rule() {
	local conf=$AZ_WORK_DIR/autozyme-tmpfiles.conf target=$AZ_WORK_DIR/precious.t
	local dir=$act_dir/autozyme.$AZ_USER_UID.12345
	sed "s|/tmp/|$act_dir/|" "$top/examples/autozyme-tmpfiles.conf" >"$conf"
	as_user sh -c "mkdir -p $target && echo keep >$target/f && mkdir -m 700 $dir &&
		echo {} >$dir/0.node0.json && ln -s $target $dir/link && touch $act_dir/not-ours"
	check "tmpfiles rule: systemd-tmpfiles --remove runs" systemd-tmpfiles --remove "$conf"
	check "tmpfiles rule: outside a boot, the directory stays" test -e "$dir/0.node0.json"
	check "tmpfiles rule: systemd-tmpfiles --boot --remove runs" systemd-tmpfiles --boot --remove "$conf"
	check "tmpfiles rule: at boot, the job directory goes" test ! -e "$dir"
	check_eq "tmpfiles rule: the link's target is intact" "keep" "$(cat "$target/f")"
	check "tmpfiles rule: other files stay" test -e "$act_dir/not-ours"
	rm -f "$act_dir/not-ours"
	scenario_done "the tmpfiles.d rule"
}

# Random running tasks of a big array lose their batch slurmstepd while the
# array runs over 4 nodes; at the end nothing is left on any node.
test_array() {
	local job killed=0 element id pid started=$SECONDS
	job=$(as_user sbatch --parsable --array=1-"$array_tasks" -c1 -o /dev/null --wrap="sleep \$((RANDOM % 3 + 1))")
	while ! job_gone "$job" && ((SECONDS - started < 900)); do
		if ((killed < array_tasks / 20)); then
			# A running element: its name (JOB_TASK) for scancel, and
			# its own job id, which its slurmstepd's title shows.
			read -r element id <<<"$(squeue -h -j "$job" -t R -o '%i %A' 2>/dev/null | shuf -n1)"
			pid=$([ -n "$id" ] && stepd_of "$id" batch)
			if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
				killed=$((killed + 1))
				scancel "$element"
			fi
		fi
		sleep 0.2
	done
	check "$array_tasks-task array over $AZ_NNODES nodes: done in time ($killed slurmstepds killed)" job_gone "$job"
	diag "$array_tasks-task array: $((SECONDS - started)) s, $killed batch slurmstepds killed"
	check "$array_tasks-task array: some slurmstepds were really killed" test "$killed" -gt 0
	after "$array_tasks-task array with killed tasks"
}

# The sweep logs its time at debug level; a requeued job waits cred_expire
# seconds before it runs again.
AZ_CRED_EXPIRE=10 AZ_SLURM_CONF_EXTRA=SlurmdDebug=debug scenario_start 1 || exit 1
use_plugin
part test_killed_stepds
part test_other_users_step
part test_requeue
part test_kill_64
part test_slurmd_restart
# The slow scenarios (a minute and more each) once per release: the sweep
# does not depend on the task plugin, which is all the site configurations
# change.
if [[ ${AZ_SITE_CONFIG:-affinity} == affinity ]]; then
	part test_time_limit
else
	skip test_time_limit "runs under the affinity site configuration only"
fi
part test_refused
part test_sweep_time
part test_broken_config
part test_stale_script
part test_tmpfiles_rule
cluster_stop
trap - EXIT
four_nodes_array() {
	scenario_start 4 || exit 1
	use_plugin
	test_array
}
if [[ ${AZ_SITE_CONFIG:-affinity} == affinity ]]; then
	part four_nodes_array
else
	skip four_nodes_array "runs under the affinity site configuration only"
fi
summary

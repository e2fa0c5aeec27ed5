#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The plugin's privilege rules on a throwaway one-node cluster (SECURITY.md):
# a per-job directory another user made first, a symbolic link in its place,
# a symbolic link or FIFO where an activation file goes, and a task that swaps
# its job directory for a link to a root-owned one before the step ends, are
# all refused or survived without anything written, followed or removed for
# them; files are 0600, directories 0700, both the job user's; and strace
# over slurmd and every slurmstepd shows that no process with root's
# credentials opens, creates or removes anything under activation_dir.
# Run as root; AZ_BUILDDIR names the build tree holding spank/.libs/autozyme.so.
set -u
. "$(dirname "$0")/scenario.sh"
scenario_start 1 || exit 1

other=$(other_user) || {
	not_ok "create the second user ${AZ_OTHER_USER:-aztest2}"
	summary
	exit 1
}
uid=$(id -u "$AZ_USER")
out_file=$AZ_WORK_DIR/job.out
err_file=$AZ_WORK_DIR/job.err

# held_job SCRIPT: a held batch job running SCRIPT; prints its id, so its
# per-job directory name is known before it runs.
held_job() {
	as_user sbatch --parsable --hold -n1 -c1 -o "$out_file" -e "$err_file" --wrap="$1"
}

# run_held JOB: release it and wait; $state is its final state.
run_held() {
	scontrol release "$1"
	state=$(cluster_wait_job "$1" 60)
}

# The batch step's variables, and whether it was given a file.
report='echo "threads=$OMP_NUM_THREADS file=${AUTOZYME_ACTIVATION_FILE:-none}"'

# ran_without_file NAME REGEX: the job ran with its variables, without a
# file, and its stderr has exactly one autozyme line, matching REGEX.
ran_without_file() {
	check_eq "$1: the job completes" "COMPLETED" "$state"
	check_eq "$1: variables set, no file" "threads=1 file=none" "$(cat "$out_file")"
	check_eq "$1: one warning line" "1" "$(grep -c '^autozyme: ' "$err_file")"
	check_match "$1: the warning names the refused path" "$2" "$(grep '^autozyme: ' "$err_file")"
}

# A per-job directory that is not the user's own 0700 directory, in place
# before the job runs: made by another user (mode 0777), another user's
# symbolic link to a directory anyone may write, or the user's own made 0755
# (others could read the files).  Refused: nothing written in or through it.
test_planted_job_dir() {
	local job dir kind target=$AZ_CLUSTER_DIR/other-target
	use_plugin
	mkdir -m 777 "$target"
	chown "$other" "$target"
	for kind in "made by $other" "$other's symlink" "mode 0755"; do
		job=$(held_job "$report")
		dir=$act_dir/autozyme.$uid.$job
		case $kind in
		made*) as_other mkdir -m 777 "$dir" ;;
		*symlink) as_other ln -s "$target" "$dir" ;;
		mode*) as_user mkdir -m 755 "$dir" ;;
		esac
		run_held "$job"
		ran_without_file "job dir $kind" "refusing $dir: not a directory of this user with mode 0700"
		check_eq "job dir $kind: nothing written in or through it" "" "$(ls -A "$dir/")"
		rm -rf "$dir"
		scenario_done "job dir $kind"
	done
}

# The user's own process holds the job directory's lock exclusively as the
# step starts (flock -o: its command does not keep it): the step waits a
# moment, then writes no file and says why; the task has its variables.
test_locked_job_dir() {
	local job dir holder
	use_plugin
	job=$(held_job "$report")
	dir=$act_dir/autozyme.$uid.$job
	as_user mkdir -m 700 "$dir"
	as_user flock -x -o "$dir" sleep 300 &
	holder=$!
	check "locked job dir: the user's flock holds it" wait_until 30 flock_held "$dir"
	run_held "$job"
	ran_without_file "locked job dir" "cannot lock $dir: another process of the user holds it"
	# Only this holder's sleep: the release roots share the machine's
	# processes, and another root's test user has the same uid.
	pkill -P "$(pgrep -u "$AZ_USER" -f "^flock -x -o $dir sleep 300$")"
	wait "$holder"
	rm -rf "$dir"
	scenario_done "locked job dir"
}

# plant_in_job_dir JOB KIND: the user's own 0700 job dir with KIND (symlink,
# fifo or file) named like the batch step's activation file.
plant_in_job_dir() {
	local dir=$act_dir/autozyme.$uid.$1
	as_user mkdir -m 700 "$dir"
	case $2 in
	symlink) as_user ln -s "$AZ_WORK_DIR/target" "$dir/batch.node0.json" ;;
	fifo) as_user mkfifo -m 600 "$dir/batch.node0.json" ;;
	file) as_user sh -c "echo stale >'$dir/batch.node0.json'" ;;
	esac
}

test_planted_activation_file() {
	local job kind
	use_plugin
	as_user sh -c ": >'$AZ_WORK_DIR/target'"
	for kind in symlink fifo; do
		job=$(held_job "$report")
		plant_in_job_dir "$job" $kind
		run_held "$job"
		ran_without_file "a $kind at the file's place" \
			"refusing $act_dir/autozyme\.$uid\.$job/batch\.node0\.json: not a regular file"
		check_eq "a $kind at the file's place: nothing written through it" "0" "$(stat -c %s "$AZ_WORK_DIR/target")"
		scenario_done "a $kind where the activation file goes"
	done
	# A regular file left by an earlier run of the job (a requeue) is replaced.
	job=$(held_job "$report"'; cat "$AUTOZYME_ACTIVATION_FILE" | head -c 1')
	plant_in_job_dir "$job" file
	run_held "$job"
	check_match "a stale regular file is replaced by the task's" "^threads=1 file=$act_dir/autozyme\.$uid\.$job/batch\.node0\.json.\{$" \
		"$(tr '\n' . <"$out_file")"
	scenario_done "a stale regular file"
}

test_modes_and_owner() {
	local out
	use_plugin
	out=$(as_user srun -n2 -c1 bash -c 'stat -c "%a %U" "$AUTOZYME_ACTIVATION_FILE" "$(dirname "$AUTOZYME_ACTIVATION_FILE")"' 2>"$err")
	check_eq "files 0600, job dir 0700, both the job user's" \
		"600 $AZ_USER,600 $AZ_USER,700 $AZ_USER,700 $AZ_USER" "$(echo "$out" | sort | paste -sd,)"
	scenario_done "modes and owner"
}

# The task swaps its job directory for a link to a root-owned directory
# holding a root-owned file of the step's file name: the clean-up at the
# step's end (forked by root, dropped to the user) must leave it alone.
test_swap_before_exit() {
	local vault=$AZ_CLUSTER_DIR/vault dir
	use_plugin
	mkdir -m 755 "$vault"
	echo keep >"$vault/0.node0.json"
	as_user srun -n1 -c1 bash -c 'd=$(dirname "$AUTOZYME_ACTIVATION_FILE"); mv "$d" "$d.moved" && ln -s '"$vault"' "$d"' 2>"$err"
	check_eq "job dir swapped for a link to a root directory: root's file kept" "keep" "$(cat "$vault/0.node0.json")"
	dir=$(find "$act_dir" -maxdepth 1 -name "autozyme.$uid.*.moved")
	check_eq "job dir swapped: the link is not followed, the moved dir keeps the file" "0.node0.json" "$(ls -A "$dir" 2>&1)"
	rm -rf "$act_dir"/autozyme.*
	scenario_done "job dir swapped before the step ends"
}

# ----------------------------------------------------- strace over the node

# trace_start: strace every thread of slurmd and whatever it starts (-f),
# one file per process (-ff: no interleaved lines), descriptors shown as
# paths (-y) so an openat relative to a directory names it.
trace_start() {
	local pid task_ids="" t
	pid=$(cluster_pids | awk '$1 ~ /^slurmd-[^.]*$/ {print $2; exit}')
	trace_dir=$AZ_CLUSTER_DIR/trace
	trace_roots=""
	mkdir -p "$trace_dir"
	for t in /proc/"$pid"/task/*; do
		task_ids+=" -p ${t##*/}"
		trace_roots+=" ${t##*/}"
	done
	# shellcheck disable=SC2086
	strace -f -ff -qq -y -s 512 -e trace=%file,%creds,%process -o "$trace_dir/t" $task_ids 2>"$trace_dir/strace.err" &
	trace_pid=$!
	wait_until 30 grep -q "^TracerPid:[[:space:]]*$trace_pid$" "/proc/$pid/status"
}

trace_stop() {
	kill -INT "$trace_pid"
	wait "$trace_pid" 2>/dev/null
}

# The credentials of every traced process, replayed from its own trace:
# each starts with its parent's at the fork, then follows its set*uid calls.
# Prints one line per file operation under DIR, "root"/"user" then the call.
audit_trace() {
	/usr/bin/python3 - "$trace_dir" "$1" "${@:2}" <<'EOF'
import os, re, sys

trace_dir, watched, roots = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
# Calls that open, create, change or remove a path (not stat/access/readlink).
WRITES = re.compile(r"^(open|openat|openat2|creat|mkdir|mkdirat|unlink|unlinkat|rmdir|rename|renameat2?|"
                    r"link|linkat|symlink|symlinkat|chmod|fchmodat|chown|lchown|fchownat|truncate|"
                    r"utimensat|mknod|mknodat)\(")
FORKS = re.compile(r"^(clone3?|fork|vfork)\(.*\)\s+=\s+(\d+)")
CALL = re.compile(r"^(setuid|setresuid|setreuid|setfsuid)\((.*)\)\s+=\s+(-?\d+)")

def events(pid):
    path = os.path.join(trace_dir, "t.%d" % pid)
    return open(path, errors="replace").read().splitlines() if os.path.exists(path) else []

def apply(creds, name, args, ret):
    ids = [int(a) for a in args.split(", ")]
    if name == "setfsuid":
        creds["fs"] = ids[0]
        return
    if ret != 0:
        return
    if name == "setuid":
        creds.update(e=ids[0], fs=ids[0])
    else:  # setresuid(r, e, s) / setreuid(r, e): -1 keeps a value
        e = ids[1]
        if e != -1:
            creds.update(e=e, fs=e)

found = []
def walk(pid, creds):
    for line in events(pid):
        m = FORKS.match(line)
        if m:
            walk(int(m.group(2)), dict(creds))
            continue
        m = CALL.match(line)
        if m:
            apply(creds, m.group(1), m.group(2), int(m.group(3)))
            continue
        if WRITES.match(line) and watched in line:
            found.append("%s %s" % ("root" if creds["fs"] == 0 else "user", line))

for root in roots:
    walk(root, {"e": 0, "fs": 0})
print("\n".join(found))
EOF
}

test_no_root_file_access() {
	local job lines
	use_plugin
	if ! trace_start; then
		not_ok "strace attached to slurmd"
		diag "$(cat "$trace_dir/strace.err")"
		return
	fi
	# The last step leaves a file of its own in the job directory: the
	# steps' own clean-up leaves it, the batch step's end sweeps it.
	job=$(as_user sbatch --parsable -n2 -c1 -o "$out_file" -e "$err_file" --wrap="srun -n2 -c1 true; srun -n1 -c1 bash -c 'rm -f \"\$AUTOZYME_ACTIVATION_FILE\"'; srun -n1 -c1 bash -c 'touch \"\$(dirname \"\$AUTOZYME_ACTIVATION_FILE\")/extra.json\"'")
	cluster_wait_job "$job" 60 >/dev/null
	scenario_done "traced job"
	trace_stop
	# shellcheck disable=SC2086
	lines=$(audit_trace "$act_dir" $trace_roots)
	diag "strace: $(grep -c '^user ' <<<"$lines") calls under activation_dir as the user, $(grep -c '^root ' <<<"$lines") as root"
	check_match "strace: the tasks and the clean-up touched activation_dir as the user" \
		"user (mkdirat|openat)\(.*autozyme\.$uid\.$job" "$lines"
	check_match "strace: the clean-up removed the files as the user" "user unlinkat\(.*batch\.node0\.json" "$lines"
	check_match "strace: the sweep at the batch step's end removed the step's extra file as the user" "user unlinkat\(.*extra\.json" "$lines"
	# The sweep's root parent lists activation_dir itself, read-only.
	check_match "strace: root listed activation_dir" "(^|"$'\n'")root openat\(AT_FDCWD[^,]*, \"$act_dir\", O_RDONLY\|O_NONBLOCK\|O_CLOEXEC\|O_DIRECTORY\)" "$lines"
	check_eq "strace: no call with root's credentials opened, created or removed anything under activation_dir" \
		"" "$(grep '^root ' <<<"$lines" | grep -Ev "^root openat\(AT_FDCWD[^,]*, \"$act_dir\", O_RDONLY\|O_NONBLOCK\|O_CLOEXEC\|O_DIRECTORY\)")"
}

test_planted_job_dir
test_locked_job_dir
test_planted_activation_file
test_modes_and_owner
test_swap_before_exit
test_no_root_file_access
summary

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Faults on a throwaway one-node cluster: an activation_dir that is missing,
# unwritable or full, a task killed by a signal, scancel of a running job and
# of a partly pending array, a 200-task array and a 64-task overcommitted
# step.  After each: the tasks ran with their variables, every problem was
# one warning line per task, no node is drained and no file is left.  Also
# bad input (docs/bad-input.md): malformed options, submission variables and
# plugstack.conf values are refused at submission, naming what was wrong.
# Run as root; AZ_BUILDDIR names the build tree holding spank/.libs/autozyme.so.
set -u
. "$(dirname "$0")/scenario.sh"
scenario_start 1 || exit 1
full_dir=""
# The tmpfs of the "full" scenario goes before the cluster's own clean-up.
trap 'fault_cleanup; cluster_stop' EXIT

fault_cleanup() {
	if [ -n "$full_dir" ] && mountpoint -q "$full_dir"; then
		umount "$full_dir"
	fi
}

# tasks NAME SRUN_ARGS...: run probe.py; $out holds the records, $rc srun's status.
tasks() {
	local name=$1 prefix=$AZ_WORK_DIR/$1
	shift
	rc=0
	as_user srun --output="$prefix.out.%t" --error="$prefix.err.%t" "$@" "$probe" 2>"$err" || rc=$?
	cat "$prefix".err.* >>"$err" 2>/dev/null
	out=$(cat "$prefix".out.* 2>/dev/null)
	rm -f "$prefix".*
}

# warned NAME N REGEX: exactly N autozyme lines in $err, each matching REGEX.
warned() {
	local lines
	lines=$(grep '^autozyme: ' "$err")
	check_eq "$1: $2 warning line(s), one per task" "$2" "$(grep -c . <<<"$lines")"
	check_eq "$1: each says why" "$2" "$(grep -cE "$3" <<<"$lines")"
}

# still_runs NAME N: N tasks ran with their variables and without a file.
still_runs() {
	check_eq "$1: srun succeeded" 0 "$rc"
	check_eq "$1: every task has its variables" "$(yes 1 | head -n "$2" | xargs)" \
		"$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
	check_eq "$1: no AUTOZYME_ACTIVATION_FILE" "$(yes None | head -n "$2" | xargs)" \
		"$(echo "$out" | $pick 'str(env.get("AUTOZYME_ACTIVATION_FILE"))')"
}

# Nothing of the plugin's under DIR (it may hold the test's own files).
nothing_under() {
	check_eq "$1: nothing written under $2" "" "$(find "$2" -mindepth 1 -name 'autozyme.*' 2>/dev/null)"
}

test_dir_missing() {
	local dir=$AZ_CLUSTER_DIR/missing
	use_plugin "activation_dir=$dir"
	tasks missing -n2 -c1
	still_runs "activation_dir missing" 2
	warned "activation_dir missing" 2 "^autozyme: no activation file: cannot open activation_dir $dir: No such file or directory; variables are set all the same$"
	check_eq "activation_dir missing: not created" "no" "$([ -e "$dir" ] && echo yes || echo no)"
	scenario_done "activation_dir missing"
}

test_dir_unwritable() {
	local dir=$AZ_CLUSTER_DIR/readonly
	mkdir -m 755 "$dir"
	use_plugin "activation_dir=$dir"
	tasks unwritable -n2 -c1
	still_runs "activation_dir unwritable" 2
	warned "activation_dir unwritable" 2 "cannot create $dir/autozyme\.[0-9]+\.[0-9]+: Permission denied; variables are set all the same$"
	nothing_under "activation_dir unwritable" "$dir"
	scenario_done "activation_dir unwritable"
}

# A 64 KiB tmpfs filled up by root: the job directory can still be made (a
# directory takes an inode, no data page) but the file's data cannot.
test_dir_full() {
	full_dir=$AZ_CLUSTER_DIR/full
	mkdir "$full_dir"
	if ! mount -t tmpfs -o size=64k,mode=1777 tmpfs "$full_dir" 2>"$err"; then
		not_ok "activation_dir full: mount a 64 KiB tmpfs"
		diag "$(cat "$err")"
		return
	fi
	dd if=/dev/zero of="$full_dir/filler" bs=4k 2>/dev/null
	diag "activation_dir full: a 64 KiB tmpfs, $(df --output=avail -B1 "$full_dir" | tail -1 | tr -d ' ') bytes free"
	use_plugin "activation_dir=$full_dir"
	tasks full -n2 -c1
	still_runs "activation_dir full" 2
	warned "activation_dir full" 2 "cannot write $full_dir/autozyme\.[0-9]+\.[0-9]+/0\.node0\.json: No space left on device; variables are set all the same$"
	nothing_under "activation_dir full" "$full_dir"
	umount "$full_dir"
	scenario_done "activation_dir full"
}

# A file-size limit of 0 where the job is submitted (Slurm propagates it):
# the tasks still start with their variables and their file.
test_file_size_limit() {
	local out rc=0
	use_plugin
	out=$(as_user bash -c "ulimit -f 0; srun -n2 -c1 bash -c 'echo \$OMP_NUM_THREADS \$(test -s \"\$AUTOZYME_ACTIVATION_FILE\" && echo file)'" 2>"$err") || rc=$?
	check_eq "ulimit -f 0: srun succeeded" 0 $rc
	check_eq "ulimit -f 0: variables and file" "1 file 1 file" "$(echo "$out" | sort | xargs)"
	scenario_done "file size limit"
}

test_task_killed() {
	local signal
	use_plugin
	for signal in KILL SEGV; do
		tasks "killed-$signal" -n2 -c1 bash -c "test -s \"\$AUTOZYME_ACTIVATION_FILE\" && [ \$SLURM_PROCID = 1 ] && kill -$signal \$\$; sleep 0.5"
		check "task killed by SIG$signal: srun reports the failure" test "$rc" -ne 0
		scenario_done "task killed by SIG$signal"
	done
}

# at_least_files N: N activation files exist.
at_least_files() { (($(find "$act_dir" -name '*.json' | wc -l) >= $1)); }

test_scancel_running() {
	local job
	use_plugin
	job=$(as_user sbatch --parsable -n2 -c1 -o /dev/null --wrap="srun -n2 -c1 sleep 300")
	check "scancel running: the batch step's and the step's files appear" wait_until 120 at_least_files 2
	scancel "$job"
	check "scancel running: the job ends" wait_until 60 job_gone "$job"
	check_match "scancel running: state" "CANCELLED" "$(scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z]*')"
	scenario_done "scancel running job"
}

# One element fills the node; the rest of the array waits, then all are cancelled.
test_scancel_pending_array() {
	local job
	use_plugin
	job=$(as_user sbatch --parsable --array=1-10 -c"$(nproc)" -o /dev/null --wrap="sleep 300")
	check "scancel array: the running element's file appears" wait_until 120 at_least_files 1
	check_match "scancel array: elements are pending" "PENDING" "$(squeue -h -j "$job" -o %T)"
	scancel "$job"
	check "scancel array: every element ends" wait_until 60 job_gone "$job"
	scenario_done "scancel partly pending array"
}

test_array_200() {
	local job out started=$SECONDS
	use_plugin
	job=$(as_user sbatch --parsable --array=1-200 -c1 -o "$AZ_WORK_DIR/a200-%a.out" --wrap="$probe")
	check "200-task array: done in time" wait_until 400 job_gone "$job"
	diag "200-task array: $((SECONDS - started)) s"
	out=$(cat "$AZ_WORK_DIR"/a200-*.out)
	check_eq "200-task array: 200 records, every task id once" "$(seq 200 | xargs)" \
		"$(echo "$out" | $pick 'act["job"]["array_task_id"]' | tr ' ' '\n' | sort -n | xargs)"
	check_eq "200-task array: every file is its task's" "200" \
		"$(echo "$out" | $pick 'act["job"]["array_job_id"] == '"$job"' and env["AUTOZYME_ACTIVATION_FILE"].endswith("/batch.node0.json") and env["OMP_NUM_THREADS"] == "1"' | tr ' ' '\n' | grep -c True)"
	rm -f "$AZ_WORK_DIR"/a200-*.out
	scenario_done "200-task array"
}

test_overcommit_64() {
	use_plugin
	tasks overcommit -n64 --overcommit
	check_eq "64 tasks --overcommit: srun succeeded" 0 "$rc"
	check_eq "64 tasks --overcommit: ranks 0-63" "$(seq 0 63 | xargs)" \
		"$(echo "$out" | $pick 'act["task"]["global_rank"]' | tr ' ' '\n' | sort -n | xargs)"
	check_eq "64 tasks --overcommit: every file names its task, 64 local tasks, 1 thread" "64" \
		"$(echo "$out" | $pick 'env["AUTOZYME_ACTIVATION_FILE"].endswith("/0.node0.json") and act["task"]["local_tasks"] == 64 and act["threads"]["count"] == 1' | tr ' ' '\n' | grep -c True)"
	scenario_done "64-task overcommitted step"
}

# ------------------------------------------------------------- bad input

# The newest job id Slurm knows: a submission always raises it.
newest_job() {
	scontrol show jobs -o 2>/dev/null | grep -o '^JobId=[0-9]*' | cut -d= -f2 | sort -n | tail -1
}

# rejected NAME TEXT CMD...: CMD fails, its stderr contains TEXT (fixed
# string), and no job was submitted.
rejected() {
	local name=$1 text=$2 before rc=0
	shift 2
	before=$(newest_job)
	as_user "$@" >"$err" 2>&1 || rc=$?
	if [ $rc -ne 0 ] && grep -qF -- "$text" "$err" && [ "$(newest_job)" = "$before" ]; then
		ok "rejected: $name"
	else
		not_ok "rejected: $name"
		diag "exit $rc, newest job before $before after $(newest_job)"
		diag "$(cut -c1-300 "$err")"
	fi
}

# Malformed options and submission variables beyond test_plugin.sh's
# test_bad_input: huge, unicode, path tricks, repeats, empty variables.
test_bad_submissions() {
	local huge form="expected N (1 to 4096), auto or off" names="[a-z0-9][a-z0-9_.-]{0,63}" out
	use_plugin
	huge=$(head -c 100000 /dev/zero | tr '\0' 7)
	rejected "--autozyme-threads of 100000 digits" "--autozyme-threads: invalid value '${huge:0:80}...': $form" srun -n1 "--autozyme-threads=$huge" true
	rejected "--autozyme-threads=４ (a fullwidth digit)" "--autozyme-threads: invalid value '４': $form" srun -n1 --autozyme-threads=４ true
	rejected "--autozyme-threads=../1" "--autozyme-threads: invalid value '../1': $form" sbatch --autozyme-threads=../1 --wrap=true
	rejected "--autozyme-threads=abc then =1" "--autozyme-threads: invalid value 'abc'" srun -n1 --autozyme-threads=abc --autozyme-threads=1 true
	out=$(as_user srun -n1 -c2 --autozyme-threads=1 --autozyme-threads=2 printenv OMP_NUM_THREADS 2>"$err")
	check_eq "--autozyme-threads=1 then =2: the last wins" "2" "$out"
	rejected "--autozyme-verbose=1 (takes no value)" "option '--autozyme-verbose' doesn't allow an argument" srun -n1 --autozyme-verbose=1 true
	rejected "--autozyme-activate= (empty)" "--autozyme-activate: empty patch name in '': expected NAME[,NAME...]" srun -n1 --autozyme-activate= true
	rejected "--autozyme-activate=../etc/passwd" "--autozyme-activate: invalid patch name '../etc/passwd': expected NAME[,NAME...] with names matching $names" srun -n1 --autozyme-activate=../etc/passwd true
	rejected "--autozyme-activate=café" "--autozyme-activate: invalid patch name 'café'" sbatch --autozyme-activate=café --wrap=true
	out=$(as_user srun -n1 --autozyme-activate=scanpy,seurat,scanpy printenv AUTOZYME_ACTIVATE 2>"$err")
	check_eq "--autozyme-activate=scanpy,seurat,scanpy: repeats dropped" "scanpy,seurat" "$out"
	out=$(as_user srun -n1 "--autozyme-activate=$(yes scanpy | head -n 10000 | paste -sd,)" printenv AUTOZYME_ACTIVATE 2>"$err")
	check_eq "--autozyme-activate of 10000 names (70 kB): accepted, one name" "scanpy" "$out"
	rejected "AUTOZYME_THREADS= (empty)" "AUTOZYME_THREADS: invalid value '': $form" env AUTOZYME_THREADS= srun -n1 true
	rejected "AUTOZYME_THREADS of 100000 digits" "AUTOZYME_THREADS: invalid value '${huge:0:80}...': $form" env "AUTOZYME_THREADS=$huge" srun -n1 true
	rejected "AUTOZYMER_THREADS=-1" "AUTOZYMER_THREADS: invalid value '-1': $form" env AUTOZYMER_THREADS=-1 sbatch --wrap=true
	rejected "AUTOZYME_ACTIVATE=../x" "AUTOZYME_ACTIVATE: invalid patch name '../x'" env AUTOZYME_ACTIVATE=../x srun -n1 true
	rejected "AUTOZYME_ACTIVATE=nosuch names the variable" "AUTOZYME_ACTIVATE: unknown patch 'nosuch'" env AUTOZYME_ACTIVATE=nosuch srun -n1 true
	out=$(as_user env AUTOZYME_ACTIVATE= srun -n1 bash -c 'echo "${AUTOZYME_ACTIVATE:-none}"' 2>"$err")
	check_eq "AUTOZYME_ACTIVATE= (empty): no patch" "none" "$out"
	test_bad_export_in_batch
	scenario_done "bad submissions"
}

# A bad value exported inside a running batch script: that srun is refused
# with the message in the job's stderr; the job goes on, the node stays up.
test_bad_export_in_batch() {
	local job
	job=$(as_user sbatch --parsable -o "$AZ_WORK_DIR/export.out" -e "$AZ_WORK_DIR/export.err" \
		--wrap='export AUTOZYME_THREADS=abc; srun -n1 true; echo "srun exit $?"')
	check_eq "export AUTOZYME_THREADS=abc in a batch script: the job completes" "COMPLETED" "$(cluster_wait_job "$job" 30)"
	check_match "export AUTOZYME_THREADS=abc in a batch script: that srun refused" "^srun exit [1-9]" "$(cat "$AZ_WORK_DIR/export.out")"
	check_match "export AUTOZYME_THREADS=abc in a batch script: the error names it" \
		"autozyme: AUTOZYME_THREADS: invalid value 'abc'" "$(cat "$AZ_WORK_DIR/export.err")"
}

# Every plugstack.conf key with malformed values: each refuses submission
# with a message naming the key and its form (test_plugin.sh test_site_config
# has an unknown key and max_threads=lots).  KEY|VALUE|MESSAGE per line.
bad_plugstack_values='default_threads||default_threads: empty value: expected N or auto
default_threads|0|default_threads: invalid value '\''0'\'': expected an integer from 1 to 4096
default_threads|-1|default_threads: invalid value '\''-1'\'': expected an integer from 1 to 4096
default_threads|99999999999999999999|default_threads: invalid value '\''99999999999999999999'\'': expected an integer from 1 to 4096
default_threads|４|default_threads: invalid value '\''４'\'': expected an integer from 1 to 4096
max_threads|auto|max_threads: invalid value '\''auto'\'': expected an integer from 1 to 4096
max_threads|4097|max_threads: invalid value '\''4097'\'': expected an integer from 1 to 4096
default_activate|Bad|default_activate: invalid patch name '\''Bad'\'': expected NAME[,NAME...]
default_activate|a,,b|default_activate: empty patch name in '\''a,,b'\''
allowed_patches|../x|allowed_patches: invalid patch name '\''../x'\''
allowed_patches||allowed_patches: empty value: expected NAME[,NAME...] or *
patch_dir|relative|patch_dir: invalid value '\''relative'\'': expected DIR[:DIR...] of absolute paths
patch_dir|/a:|patch_dir: invalid value '\''/a:'\'': expected DIR[:DIR...] of absolute paths
activation_dir|../x|activation_dir: invalid value '\''../x'\'': expected an absolute directory path
vars|1X|vars: invalid value '\''1X'\'': expected NAME[,NAME...] of environment variable names
vars|A,,B|vars: invalid value '\''A,,B'\'': expected NAME[,NAME...] of environment variable names
vars|café|vars: invalid value '\''café'\'': expected NAME[,NAME...] of environment variable names
respect_user_env|YES|respect_user_env: invalid value '\''YES'\'': expected yes or no
omp_bind|on|omp_bind: invalid value '\''on'\'': expected off, spread or close
smt|threads|smt: invalid value '\''threads'\'': expected pus or cores
|1|unknown argument '\''=1'\'': expected key=value with a key among default_threads, max_threads, default_activate, allowed_patches, patch_dir, activation_dir, vars, respect_user_env, omp_bind, smt'

test_bad_plugstack() {
	local key value text
	while IFS='|' read -r key value text; do
		use_plugin "$key=$value"
		rejected "plugstack $key=$value" "autozyme: plugstack.conf: $text" srun -n1 true
	done <<<"$bad_plugstack_values"
	use_plugin nokey
	rejected "plugstack argument without =" "autozyme: plugstack.conf: unknown argument 'nokey': expected key=value" srun -n1 true
	use_plugin default_activate=nosuch
	rejected "plugstack default_activate=nosuch names the key" "autozyme: plugstack.conf: default_activate: unknown patch 'nosuch'" srun -n1 true
	use_plugin default_threads=2 default_threads=1
	check_eq "plugstack key given twice: the last wins" "1" "$(as_user srun -n1 -c2 printenv OMP_NUM_THREADS 2>"$err")"
	use_plugin patch_dir=/nonexistent
	check_eq "plugstack patch_dir=/nonexistent: jobs run" "2" "$(as_user srun -n1 -c2 printenv OMP_NUM_THREADS 2>"$err")"
	rejected "plugstack patch_dir=/nonexistent: every patch unknown" "unknown patch 'scanpy'" srun -n1 --autozyme-activate=scanpy true
	scenario_done "bad plugstack"
}

# docs/bad-input.md: every row of every table names tests, and each named
# test exists (a Criterion suite/test, a scenario function, a pytest
# function, a testthat name).  A header may name the file of its rows.
test_table_names_tests() {
	local missing
	missing=$(/usr/bin/python3 - "$top" <<'EOF'
import os, re, sys

top = sys.argv[1]
REF = re.compile(r"`(tests/[^`]+)`((?:\s*,?\s*(?:`(?!tests/)[^`]+`|\"[^\"]+\"))*)")
NAME = re.compile(r"`([^`]+)`|\"([^\"]+)\"")


def exists(path, name):
    src = open(os.path.join(top, path)).read()
    if path.endswith(".c"):
        suite, test = name.split("/")
        return re.search(r"Test\((\w+ \*c, )?%s,\s*%s\s*[,)]" % (suite, test), src) or \
            re.search(r"REFUSED(_LANGUAGES)?\(%s," % test, src)
    if path.endswith(".sh"):
        return re.search(r"^%s\(\)" % re.escape(name), src, re.M)
    if path.endswith(".py"):
        return re.search(r"def %s\(" % re.escape(name), src)
    return name in src


missing, lines, default = [], open(os.path.join(top, "docs/bad-input.md")).read().splitlines(), None
for i, line in enumerate(lines):
    if not line.startswith("|") or line.startswith("|---"):
        continue
    cell = line.rstrip("| ").split("|")[-1]
    if i + 1 < len(lines) and lines[i + 1].startswith("|---"):  # a header
        header = REF.search(cell)
        default = header.group(1) if header else None
        continue
    refs = [(m.group(1), NAME.findall(m.group(2))) for m in REF.finditer(cell)]
    if not refs and default:
        refs = [(default, NAME.findall(cell))]
    if not refs:
        missing.append("no test: " + line[:70])
    for path, names in refs:
        names = [a or b for a, b in names]
        if "::" in path:
            path, names = path.split("::")[0], [path.split("::")[1]]
        if not os.path.exists(os.path.join(top, path)):
            missing.append("no file " + path)
        missing += ["%s: no %s" % (path, n) for n in names if not exists(path, n)]
print("\n".join(missing))
EOF
)
	check_eq "docs/bad-input.md: every row names tests that exist" "" "$missing"
}

test_table_names_tests
test_dir_missing
test_dir_unwritable
test_dir_full
test_file_size_limit
test_task_killed
test_scancel_running
test_scancel_pending_array
test_overcommit_64
test_bad_submissions
test_bad_plugstack
test_array_200
summary

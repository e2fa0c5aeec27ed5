#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# examples/autozyme-sweep-stale against each rule of the plugin's sweep
# (spank/sweep.c, spank/files.c), with no cluster: a stand-in squeue on PATH
# lists the node's jobs, the directories belong to nobody.  Each entry of
# the activation directory is one rule:
#  - autozyme.<uid>.<job> of a finished job, regular files only (one a dot
#    file): its files and the directory go;
#  - the same of a job squeue lists: stays;
#  - a name not exactly as the plugin spells it (a leading zero, a job id
#    past 2^32 - 1): ignored;
#  - a symbolic link so named, a directory of another owner than its name's
#    uid, one others may enter (mode 0755): left alone and reported;
#  - a directory some process holds a flock on: left alone;
#  - a directory holding a link, a FIFO or a subdirectory: its regular files
#    go, the rest stays, in the directory renamed <name>.refused, one line;
#  - a directory its owner may not write (mode 0500): nothing removed, which
#    only root could have: the sweep acts as the owner;
# and the options: --dry-run, slurmctld unreachable, an unknown option.
# The scenario on a real cluster is tests/slurm/test_sweep.sh's
# test_stale_script.  Usage (as root): tests/pkg/sweep_stale.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib.sh"
script=$top/examples/autozyme-sweep-stale

if (($(id -u) != 0)); then
	skip "autozyme-sweep-stale" "needs root (it becomes each directory's owner)"
	summary
	exit 0
fi
tmp=$(mktemp -d)
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
base=$tmp/activation
mkdir -m 1777 "$base"
uid=$(id -u nobody)
gid=$(id -g nobody)
owner=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)

# The stand-in squeue: job 102 runs on node n1; with SQUEUE_FAILS set,
# slurmctld cannot be reached.
mkdir "$tmp/bin"
cat >"$tmp/bin/squeue" <<'EOF'
#!/bin/sh
[ -n "${SQUEUE_FAILS:-}" ] && { echo "Unable to contact slurm controller" >&2; exit 1; }
[ "$*" = "-h -w n1 -o %A" ] || { echo "squeue: unexpected arguments $*" >&2; exit 1; }
echo 102
EOF
chmod 755 "$tmp/bin/squeue"
sweep_stale() { PATH="$tmp/bin:$PATH" "$script" "$@"; }

dir() { echo "$base/autozyme.$1"; }
target=$tmp/precious
mkdir "$target" && chown nobody "$target"
"${owner[@]}" sh -ec "
	echo keep >$target/f
	for d in $uid.101 $uid.102 $uid.0103 $uid.4294967296 $uid.105 $uid.106 $uid.107 $uid.108 $uid.109; do
		mkdir -m 700 $base/autozyme.\$d && echo {} >$base/autozyme.\$d/0.node0.json
	done
	echo {} >$(dir "$uid.101")/.hidden
	ln -s $target $(dir "$uid.104")
	mkdir -m 700 $(dir 0.110)
	chmod 755 $(dir "$uid.105")
	ln -s $target $(dir "$uid.107")/link && mkfifo $(dir "$uid.107")/fifo && mkdir $(dir "$uid.107")/sub
	mkdir $(dir "$uid.109")/sub
	chmod 500 $(dir "$uid.108")"
# A process of the owner's holds job 106's directory (a step still running);
# killing it ($holder: setpriv, then bash, then sleep) drops the lock.
# shellcheck disable=SC2016 # the holder's own $1
"${owner[@]}" bash -c 'exec 9<"$1" && flock -x 9 && exec sleep 600' holder "$(dir "$uid.106")" &
holder=$!
check "a process of the owner's holds job 106's lock" wait_until 10 \
	flock_held "$(dir "$uid.106")"

rc=0
out=$(sweep_stale --no-such-option 2>&1) || rc=$?
check_eq "an unknown option: exit status 64, the usage" \
	"64 usage: autozyme-sweep-stale [--node NAME] [--dry-run] [ACTIVATION_DIR]" "$rc $out"
rc=0
out=$(SQUEUE_FAILS=1 sweep_stale --node n1 "$base" 2>&1) || rc=$?
check_eq "slurmctld unreachable: exit status 1, one line" \
	"1 autozyme-sweep-stale: cannot ask slurmctld which jobs are on n1 (Unable to contact slurm controller); nothing removed" "$rc $out"
check "... nothing removed" test -e "$(dir "$uid.101")/0.node0.json"
out=$(sweep_stale --dry-run --node n1 "$base" 2>&1)
check_match "--dry-run names what it would remove" "would remove $(dir "$uid.101")" "$out"
check "... and removes nothing" test -e "$(dir "$uid.101")/0.node0.json" -a -e "$(dir "$uid.107")/fifo"

rc=0
out=$(sweep_stale --node n1 "$base" 2>&1) || rc=$?
diag "$out"
check_eq "exit status 2: something was left alone" 2 "$rc"
check "a finished job's directory of regular files (a dot file too) went" test ! -e "$(dir "$uid.101")"
check_match "... reported" "removed $(dir "$uid.101")" "$out"
check "the directory of a job squeue lists stays" test -e "$(dir "$uid.102")/0.node0.json"
check "a name with a leading zero is not the plugin's: stays" test -e "$(dir "$uid.0103")/0.node0.json"
check "a job id past 2^32 - 1 is not the plugin's: stays" test -e "$(dir "$uid.4294967296")/0.node0.json"
check_eq "a symbolic link is left alone and reported; its target is intact" \
	"yes keep" "$(grep -qxF "autozyme-sweep-stale: left $(dir "$uid.104") alone: not a directory" <<<"$out" &&
		echo yes) $(cat "$target/f")"
check_match "a directory of another owner than its name's uid is left alone and reported" \
	"left $(dir 0.110) alone: owned by uid $uid, not 0" "$out"
check_match "a directory others may enter (0755) is left alone and reported" \
	"left $(dir "$uid.105") alone: mode 755, not 0700" "$out"
check "... and stays" test -e "$(dir "$uid.105")/0.node0.json" -a -e "$(dir 0.110)"
check_match "a directory a process holds a flock on is left alone" \
	"left $(dir "$uid.106") alone: a process holds its lock" "$out"
check "... and stays" test -e "$(dir "$uid.106")/0.node0.json"
check_eq "a directory holding a link, a FIFO and a subdirectory: refused, one line" \
	"autozyme-sweep-stale: left $(dir "$uid.107") or part of it alone (renamed autozyme.$uid.107.refused): holding something other than regular files" \
	"$(grep -F "$(dir "$uid.107")" <<<"$out")"
check_eq "... renamed *.refused, its regular file gone, the rest there, the link's target intact" \
	"fifo link sub keep" "$(find "$(dir "$uid.107").refused" -mindepth 1 -printf '%f\n' | sort | paste -sd' ') $(cat "$target/f")"
check "a directory holding only a subdirectory: refused too" test -d "$(dir "$uid.109").refused/sub"
check_match "a directory its owner may not write (0500): nothing removed (the sweep acts as the owner)" \
	"could not remove $(dir "$uid.108")" "$out"
check "... its file is still there" test -e "$(dir "$uid.108")/0.node0.json"
check_eq "the sweep never runs as root: every entry left is the owner's" "" \
	"$(find "$base" -mindepth 1 ! -user nobody)"

kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
holder=
out=$(sweep_stale --node n1 "$base" 2>&1)
check "once no process holds it, job 106's directory goes" test ! -e "$(dir "$uid.106")"
summary

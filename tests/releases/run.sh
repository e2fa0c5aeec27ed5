#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The release matrix: the tree built and tested inside a Debian root for each
# other Slurm release a site runs (the machine's own Slurm is the first
# column, tested by tests/run-all.sh itself), then in a qemu guest of that
# root booted as a cgroup v2 node under systemd (guest.sh):
#
#   trixie    Debian 13: Slurm 24.11, PMIx 5.0
#   sid       Debian unstable: Slurm 26.05, PMIx 7.0
#   bookworm  Debian 12 (22.05): only its guest, a stock install with only
#             the unified hierarchy, running the demo and a scenario file;
#             not in the default list: the test command stays within an
#             hour on 2 CPUs without it (run it by name)
#
# Usage (as root): tests/releases/run.sh [SUITE...]
# (default: trixie sid).  AZ_SCENARIOS and AZ_SITE_CONFIGS narrow
# what runs in the roots (see inside.sh), AZ_GUEST_SCENARIOS in the guests
# (see guest-inside.sh).
# The roots are created or reused by roots.sh; each gets a fresh copy of the
# tree, runs inside.sh there (build, make check, every Slurm scenario under
# both site configurations, the packages), and the releases run side by
# side.  Logs: build-releases/SUITE.log.  Every scenario file's counts are
# compared with tests/checks.manifest inside the root or guest (the
# scenario loop of tests/lib.sh); a difference fails that release.  The
# last lines are a table of counts per release, site configuration and
# scenario (with the manifest's verdict), then `releases: N passed, M
# failed, K skipped`: releases, and K the skipped parts their roots and
# guests reported (their `suites:` lines).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib.sh"
. "$here/roots.sh"
. "$here/guest.sh"
logs=$top/build-releases
mkdir -p "$logs"

# A fresh copy of the tree at /work/autozyme in the root: what git tracks
# plus new files not ignored (a release tarball, which has no .git, whole).
copy_tree() {
	local dest=$1
	rm -rf "$dest"
	mkdir -p "$dest"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard |
			xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' copy |
			tar -C "$top" --null -T - -cf - | tar -C "$dest" -xf -
	else
		tar -C "$top" --exclude='./build*' -cf - . | tar -C "$dest" -xf -
	fi
}

# run_release SUITE: ensure its root, copy the tree, build it there; then,
# side by side, inside.sh's tests in the root and the root booted as a cgroup
# v2 node (guest.sh) running guest-inside.sh on the same build (the guest
# spends its CPU while the scenarios mostly wait on Slurm).  The guest's
# image needs only the root, so it is made during the build.  Log to $logs
# (the guest's part after the root's).  bookworm (the machine's own release,
# tested by run-all.sh itself) is only built, for its guest: a stock Debian
# 12 with only the unified hierarchy, which runs the demo and a scenario
# file under the `cgroup` configuration (there cgroup/v2).
# One run at a time per root: a second waits for the first.
run_release() {
	local name=$1 log=$logs/$1.log r status=0 guest
	r=$(root_dir "$name")
	mkdir -p "$AZ_ROOTS_DIR"
	exec 9>"$r.use.lock"
	flock 9
	{
		echo "##### $name: root"
		root_ensure "$name" || exit 1
		rm -f "$r.built"
		run_guest "$name" >"$log.guest" 2>&1 &
		guest=$!
		echo "##### $name: build"
		if copy_tree "$r/work/autozyme" &&
			root_run "$name" env AZ_BUILD_ONLY=1 /bin/bash /work/autozyme/tests/releases/inside.sh; then
			echo ok >"$r.built"
		else
			echo failed >"$r.built"
			status=1
		fi
		if [[ $status == 0 && $name != bookworm ]]; then
			echo "##### $name: tests"
			root_run "$name" env AZ_SCENARIOS="${AZ_SCENARIOS:-}" AZ_SKIP_BUILD=1 \
				AZ_SITE_CONFIGS="${AZ_SITE_CONFIGS:-affinity cgroup}" \
				/bin/bash /work/autozyme/tests/releases/inside.sh || status=1
		fi
		wait "$guest" || status=1
		echo "##### $name: guest"
		cat "$log.guest"
		exit $status
	} >"$log" 2>&1
}

# run_guest NAME: make the guest's image (it needs only the root), wait
# for run_release's build (the ROOT.built mark), then boot the image on it.
run_guest() {
	local name=$1 built lock
	built=$(root_dir "$name").built
	guest_ensure "$name" || return 1
	until [[ -s $built ]]; do sleep 2; done
	[[ $(cat "$built") == ok ]] || return 1
	# One guest at a time: each emulated machine keeps a CPU busy, and the
	# machine has the test command's other suites to run too.
	exec {lock}>"$AZ_ROOTS_DIR/guests.lock"
	flock "$lock"
	guest_run "$name" "$(root_dir "$name")/work" env \
		AZ_GUEST_PLAN="$([[ $name == bookworm ]] && echo stock || echo cgroup2)" \
		${AZ_GUEST_SCENARIOS:+AZ_GUEST_SCENARIOS="$AZ_GUEST_SCENARIOS"} \
		/bin/bash /work/autozyme/tests/releases/guest-inside.sh
}

# The table: one row per scenario script run, from the logs.
table() {
	local name
	printf '%-9s %-9s %-18s %-20s %6s %6s %7s %8s %-8s\n' release slurm site scenario passed failed skipped seconds manifest
	for name in "$@"; do
		awk -v rel="$name" '
			/^release: / { slurm = $3; sub(/,$/, "", slurm) }
			/^--- .* done in [0-9]+ s$/ {
				printf "%-9s %-9s %-18s %-20s %6s %6s %7s %8s %-8s\n", rel, slurm, site, script, p, f, k, $(NF - 1), m
				next }
			/^--- / { site = $2; sub(/:$/, "", site); script = $3; p = "-"; f = "-"; k = "-"; m = "-"; next }
			/^manifest: / { m = "ok" }
			/^not ok - manifest: / { m = "DIFFERS" }
			/^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ { p = $1; f = $3; k = (NF > 4 ? $5 : 0) }' "$logs/$name.log"
	done
}

releases=("$@")
((${#releases[@]})) || releases=(trixie sid)
declare -A pid=()
for name in "${releases[@]}"; do
	run_release "$name" &
	pid[$name]=$!
done
for name in "${releases[@]}"; do
	if wait "${pid[$name]}"; then
		ok "release $name"
	else
		not_ok "release $name (log: $logs/$name.log)"
		# Each failed check with its "# " details (expected, actual, stderr).
		awk '/^(=== .*FAILED|not ok|roots: |cluster: |guest: )/ { print; d = 1; next }
			d && /^# / { print; next } { d = 0 }' "$logs/$name.log" | head -80
	fi
	grep -E '^(release: |=== .*: (ok|FAILED) \([0-9]+ s\)$|suites: )' "$logs/$name.log"
	# The skipped parts of its root's runs and its guest's.
	AZ_SKIPPED=$((AZ_SKIPPED + $(sed -nE 's/^suites: [0-9]+ passed, [0-9]+ failed, ([0-9]+) skipped$/\1/p' \
		"$logs/$name.log" | awk '{ k += $1 } END { print k + 0 }')))
done
table "${releases[@]}"
summary releases

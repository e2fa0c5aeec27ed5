#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run as root inside a qemu guest of tests/releases/guest.sh (systemd as
# init, only the unified cgroup hierarchy) by tests/releases/run.sh, on the
# tree its release root built, shared at the same path.  Checks the node is
# what a cgroup v2 site runs, then AZ_GUEST_PLAN:
#   cgroup2 (default)  the scenario files under cgroup2 (slurmd a systemd
#                      service, its slurmstepd scope made by systemd over
#                      dbus), then, with dbus stopped, under cgroup2-nosystemd
#                      (IgnoreSystemd=yes);
#   stock              a stock Debian 12: the demo, and a scenario file under
#                      the `cgroup` configuration, which is cgroup/v2 there.
# Prints what inside.sh prints; ends with `suites: N passed, M failed, K
# skipped`.
# AZ_GUEST_SCENARIOS and AZ_GUEST_NOSYSTEMD_SCENARIOS (file names under
# tests/slurm) choose the files: emulated, every fork costs 30 to 40 times
# what it costs on the machine, so not every file fits in the time.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. "$top/tests/lib.sh"

node_is_cgroup2_systemd() {
	local fs v1 init bus
	fs=$(stat -fc %T /sys/fs/cgroup)
	v1=$(grep -c ' cgroup ' /proc/mounts)
	init=$(cat /proc/1/comm)
	bus=$(systemctl is-active dbus.service)
	echo "kernel $(uname -r), $(systemctl --version | head -1), /sys/fs/cgroup: $fs," \
		"cgroup v1 mounts: $v1, init: $init, dbus: $bus, $(nproc) CPUs"
	[[ $fs == cgroup2fs && $v1 == 0 && $init == systemd && $bus == active ]]
}

# A site without a system bus: dbus stopped (and masked until the next boot),
# so that nothing can reach systemd's D-Bus API.
stop_dbus() {
	systemctl mask --runtime dbus.socket dbus.service >/dev/null 2>&1
	systemctl stop dbus.socket dbus.service
	! systemctl is-active -q dbus.service
}

files() {
	local f
	for f in "$@"; do echo "tests/slurm/$f"; done
}

echo "release: $(slurmd -V), $(. /etc/os-release && echo "$PRETTY_NAME"), qemu guest"
suite "node: systemd as init, only the unified cgroup hierarchy, dbus running" node_is_cgroup2_systemd
if [[ ${AZ_GUEST_PLAN:-cgroup2} == stock ]]; then
	# A newcomer's stock Debian 12: both README commands' first steps.
	suite "demo (examples/demo.sh)" bash examples/demo.sh
	suite "slurm scenarios, cgroup (here cgroup/v2)" scenario_files cgroup "$top/build" \
		tests/slurm/test_cgroups.sh
else
	# Emulated, the whole files take too long (test_sweep.sh alone over a
	# quarter of an hour): test_cgroups.sh (Python and R under a quota
	# included), test_plugin.sh's launch modes and the sweep's kill -9 of a
	# step's slurmstepd then scancel; the rest are counted skips.
	cgroup2_files=$(files ${AZ_GUEST_SCENARIOS:-test_cgroups.sh test_plugin.sh test_sweep.sh})
	nosystemd_files=$(files ${AZ_GUEST_NOSYSTEMD_SCENARIOS:-test_cgroups.sh})
	# shellcheck disable=SC2086 # one path per word
	AZ_PARTS=${AZ_PARTS-test_bound_tasks test_requests test_unbound_split test_batch test_array test_killed_stepds} \
		suite "slurm scenarios, cgroup2" scenario_files cgroup2 "$top/build" $cgroup2_files
	# shellcheck disable=SC2086 # one path per word
	suite "slurm scenarios not run, cgroup2" \
		scenario_files_not_run cgroup2 "not run in the emulated node: no time for it" $cgroup2_files
	suite "node: dbus stopped" stop_dbus
	# shellcheck disable=SC2086 # one path per word
	suite "slurm scenarios, cgroup2-nosystemd" scenario_files cgroup2-nosystemd "$top/build" $nosystemd_files
	# shellcheck disable=SC2086 # one path per word
	suite "slurm scenarios not run, cgroup2-nosystemd" \
		scenario_files_not_run cgroup2-nosystemd "not run in the emulated node: no time for it" $nosystemd_files
fi
summary suites

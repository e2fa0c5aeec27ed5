#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The demo: from a fresh Debian 12 machine, as root, install what is missing,
# build, start a throwaway one-node Slurm cluster with the plugin, submit a
# job with --autozyme-threads and --autozyme-activate as an ordinary user,
# print what each task received, and tear everything down.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

# The job runs as an ordinary user, who must read the plugin, the job script
# and the probe.  A tree that user cannot reach (a clone in /root, mode 700)
# runs from a copy in /tmp instead, removed at the end.
reachable=yes
d=$top
while [ "$d" != / ]; do
	[ $((8#$(stat -c %a "$d") & 1)) -eq 1 ] || reachable=no
	d=$(dirname "$d")
done
if [ -n "$(find "$top" -path "$top/.git" -prune -o ! -perm -o=r -print -quit)" ]; then
	reachable=no
fi
if [ $reachable = no ]; then
	copy=$(mktemp -d /tmp/autozyme-demo.XXXXXX)
	trap 'rm -rf "$copy"' EXIT
	echo "$top is not readable by other users: running the demo from a copy in $copy"
	tar -C "$top" --exclude=./.git --exclude=./build -cf - . | tar -C "$copy" -xf -
	chmod -R a+rX "$copy"
	"$copy/examples/demo.sh"
	exit
fi
. "$top/tests/deps.sh"

AZ_APT_OPTIONS=--no-install-recommends az_install_missing_packages $AZ_DEMO_PACKAGES
if [ -f "$top/config.status" ]; then
	make -C "$top" distclean >/dev/null
fi
export AZ_BUILDDIR=$top/build
az_build "$top" "$AZ_BUILDDIR"
. "$top/tests/slurm/scenario.sh"
scenario_start 1
use_plugin

cpus=$(nproc)
echo "sbatch -n$cpus -c1 --autozyme-threads=8 --autozyme-activate=scanpy,seurat examples/demo-job.sh"
as_user sbatch --wait -n"$cpus" -c1 --autozyme-threads=8 --autozyme-activate=scanpy,seurat \
	-o "$AZ_WORK_DIR/demo.out" -e "$AZ_WORK_DIR/demo.err" "$top/examples/demo-job.sh" "$probe" >/dev/null ||
	{ cat "$AZ_WORK_DIR/demo.err" >&2; exit 1; }
echo
python3 "$top/examples/task_table.py" <"$AZ_WORK_DIR/demo.out"
echo
echo "what the tasks printed on stderr:"
sed 's/^/  /' "$AZ_WORK_DIR/demo.err"

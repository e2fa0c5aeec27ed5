#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Debian packages, installed on this machine with dpkg -i, on a throwaway
# cluster: plugstack.conf names the installed plugin (scenario.sh with
# plugin= overridden), and the basic scenario runs against it, then
# autozyme-info, the Python and the R runtime from the packages, and the
# installed man pages.  The packages are removed (dpkg -r) at the end.
# Usage (as root): tests/pkg/test_deb_cluster.sh DIR_WITH_THE_DEBS
set -u
debs=$(cd "${1:?usage: $0 DIR_WITH_THE_DEBS}" && pwd)
packages=(libautozyme0 autozyme libautozyme-dev python3-autozyme r-other-autozyme)
. "$(dirname "$0")/../slurm/scenario.sh"

# dpkg waits for no lock: retry while another dpkg or apt holds it.
dpkg_retry() {
	local i out
	for i in $(seq 60); do
		out=$(dpkg "$@" 2>&1) && return 0
		grep -q 'lock' <<<"$out" || break
		sleep 2
	done
	echo "$out" >&2
	return 1
}

remove_packages() {
	dpkg_retry -r "${packages[@]}" >/dev/null
	check_eq "dpkg -r: nothing of the packages left" "" \
		"$(ls /usr/bin/autozyme-info /usr/lib/*/slurm-wlm/autozyme.so /usr/share/autozyme 2>/dev/null)"
}

files=()
for p in "${packages[@]}"; do files+=("$debs/${p}"_*.deb); done
if ! dpkg_retry -i "${files[@]}" >/dev/null; then
	not_ok "dpkg -i ${packages[*]}"
	dpkg_retry -r "${packages[@]}" >/dev/null 2>&1
	summary
	exit 1
fi
ok "dpkg -i ${packages[*]}"
plugin=$(dpkg -L autozyme | grep '/autozyme\.so$')
check_match "the plugin is in Slurm's plugin directory" '^/usr/lib/[^/]+/slurm-wlm/autozyme\.so$' "$plugin"

if ! scenario_start 1; then
	remove_packages
	summary
	exit 1
fi
trap 'cluster_stop; remove_packages; summary' EXIT # also on an early exit
# The installed plugin with its installed registry: no patch_dir.
cluster_set_plugstack "required $plugin activation_dir=$act_dir"

out=$(srun_probe -n2 -c1)
check_eq "installed plugin, -n2 -c1: OMP_NUM_THREADS 1 each" "1 1" "$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS")')"
check_eq "installed plugin, -n2 -c1: activation files, ranks 0 1" "0 1" "$(echo "$out" | $pick 'act["task"]["global_rank"]')"
out=$(srun_probe -n1 -c2 --autozyme-activate=scanpy)
check_eq "installed plugin, -n1 -c2 --autozyme-activate=scanpy: 2 threads (cpus_per_task), patch from the installed registry" \
	"2 cpus_per_task ['scanpy']" \
	"$(echo "$out" | $pick 'env.get("OMP_NUM_THREADS") + " " + act["threads"]["provenance"] + " " + str(act["patches"])')"
check_fails "installed plugin refuses --autozyme-threads=abc at submission" as_user srun --autozyme-threads=abc true
check_match "... naming the option and the accepted form" "autozyme: --autozyme-threads: invalid value 'abc'" \
	"$(as_user srun --autozyme-threads=abc true 2>&1)"
check_fails "installed plugin refuses an unknown patch" as_user srun --autozyme-activate=nosuch true

out=$(as_user srun -n2 -c1 /usr/bin/autozyme-info --json 2>"$err")
library=$(readlink -f "$(dpkg -L libautozyme0 | grep '/libautozyme\.so\.0$')")
check_eq "srun -n2 autozyme-info --json: one valid document per task, the installed library" \
	"0,1 $library True" \
	"$(echo "$out" | /usr/bin/python3 -c 'import json, os, sys
docs = [json.loads(line) for line in sys.stdin]
print(",".join(sorted(str(d["task"]["global_rank"]) for d in docs)),
      " ".join(sorted({os.path.realpath(d["autozyme"]["library"]) for d in docs})),
      all(d["runtime"]["activation_file_read"] for d in docs))' 2>&1)"
version=$(/usr/bin/autozyme-info --version)
check_match "autozyme-info --version: the Slurm release of the package" \
	"built against Slurm $(dpkg-query -W -f '${Slurm-Built-Against}' autozyme)" "$version"

out=$(as_user srun -n1 -c2 /usr/bin/python3 -c 'import autozyme; i = autozyme.thread_info()
print(i["threads"], i["activation_file_read"], autozyme.__file__)' 2>"$err")
check_eq "python3-autozyme in a task: the plugin's budget" \
	"2 True /usr/lib/python3/dist-packages/autozyme/__init__.py" "$out" || diag "$(cat "$err")"
out=$(as_user srun -n1 -c2 /usr/bin/Rscript -e 'i <- autozyme::thread_info()
cat(i$threads, i$activation_file_read, find.package("autozyme"), "\n")' 2>"$err")
check_eq "r-other-autozyme in a task: the plugin's budget" \
	"2 TRUE /usr/lib/R/site-library/autozyme " "$out" || diag "$(cat "$err")"
scenario_done "installed packages"

# The modulefiles the packages install, loaded by the test user in a task:
# a venv without the system's site packages, which cannot import autozyme
# by itself, imports the module's (the wheel unpacked), and R loads the
# package; both run with the plugin's budget.  With Debian's Lmod, the Lua
# file, then the Tcl file alone from a copy; then with environment-modules'
# own modulecmd.tcl (Debian's package conflicts with lmod: it is unpacked,
# not installed), which reads the Tcl file beside the Lua one.
venv=$AZ_WORK_DIR/venv-bare
modulefiles=/usr/share/modulefiles
as_user /usr/bin/python3 -m venv "$venv" >"$err" 2>&1 || diag "$(cat "$err")"
check_fails "a venv without the system's packages cannot import autozyme by itself" \
	as_user "$venv/bin/python" -c 'import autozyme'
as_user mkdir -p "$AZ_WORK_DIR/tcl/autozyme"
as_user cp "$modulefiles/autozyme/$(dpkg-query -W -f '${Version}' libautozyme0 | sed 's/-[^-]*$//')" "$AZ_WORK_DIR/tcl/autozyme/"
envmod=$AZ_CLUSTER_DIR/environment-modules
mkdir -p "$envmod"
if (cd "$envmod" && apt-get download -q environment-modules >"$err" 2>&1) &&
	dpkg -x "$envmod"/environment-modules_*.deb "$envmod"; then
	chmod -R a+rX "$envmod"
	modulecmd=$(ls "$envmod"/usr/lib/*/modulecmd.tcl)
else
	not_ok "environment-modules: apt-get download and unpack"
	diag "$(cat "$err")"
fi
declare -A load=(
	["Lmod, the Lua file"]="source /usr/share/lmod/lmod/init/bash && module use $modulefiles && module load autozyme"
	["Lmod, the Tcl file"]="source /usr/share/lmod/lmod/init/bash && module use $AZ_WORK_DIR/tcl && module load autozyme"
	["environment-modules"]="eval \"\$(MODULEPATH=$modulefiles tclsh ${modulecmd:-modulecmd.tcl} bash load autozyme)\""
)
for kind in "Lmod, the Lua file" "Lmod, the Tcl file" "environment-modules"; do
	# shellcheck disable=SC2016 # the task's own expansions
	out=$(as_user srun -n1 -c2 bash -c "${load[$kind]}"' &&
		"$1/bin/python" -c "import autozyme, os; i = autozyme.thread_info()
print(autozyme.__file__, i[\"threads\"], i[\"activation_file_read\"], os.environ[\"AUTOZYME_LIBRARY\"])" &&
		Rscript -e "cat(find.package(\"autozyme\"), autozyme::thread_info()\$threads, \"\n\")"' \
		module-job "$venv" 2>"$err")
	check_eq "module load autozyme ($kind) in a task: the venv's Python and R, the plugin's budget" \
		"/usr/share/autozyme/python/site/autozyme/__init__.py 2 True $(dpkg -L libautozyme0 | grep '/libautozyme\.so\.0$')
/usr/lib/R/site-library/autozyme 2 " "$out" || diag "$(cat "$err")"
done

for page in "1 autozyme" "8 autozyme" "1 autozyme-info"; do
	check_eq "man $page: installed, renders without warnings" "" \
		"$(MANWIDTH=80 man --warnings $page 2>&1 >/dev/null)"
done
check_match "man 1 autozyme-info is autozyme(1)" 'autozyme-info' "$(MANWIDTH=80 man 1 autozyme-info 2>/dev/null | head -5)"
trap - EXIT
cluster_stop
remove_packages
summary

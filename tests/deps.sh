# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Shared by tests/run-all.sh and examples/demo.sh: the Debian packages the
# project needs, installed when missing, and the out-of-tree build.

# The demo needs only these: the build, and a one-node cluster whose tasks run
# a small python3 probe.  Nothing of the test suites (R, torch, fuzzing,
# packaging), so that a newcomer's first command is quick.
AZ_DEMO_PACKAGES="build-essential autoconf automake libtool pkg-config binutils
 libslurm-dev libhwloc-dev libpmix-dev libcjson-dev libcriterion-dev
 slurmd slurmctld slurm-client munge python3 util-linux procps"
AZ_DEBIAN_PACKAGES="$AZ_DEMO_PACKAGES hwloc libhwloc-plugins slurm-wlm
 openmpi-bin libopenmpi-dev valgrind
 python3-venv python3-setuptools python3-wheel
 python3-pytest python3-numpy python3-joblib python3-threadpoolctl python3-torch
 libopenblas0-pthread libgomp1 libomp5-14 libblis4-pthread libblas3 libfftw3-double3
 r-base-core r-base-dev r-cran-testthat r-cran-jsonlite r-cran-future r-cran-parallelly
 r-bioc-biocparallel r-cran-seurat r-cran-snow
 debhelper dh-python rpm man-db groff-base dpkg-dev fakeroot lintian
 clang libfuzzer-14-dev strace debootstrap lmod tcl runc crun"

# az_install_missing_packages [PACKAGE...]: those (default: AZ_DEBIAN_PACKAGES).
az_install_missing_packages() {
	local missing=() pkg
	for pkg in ${*:-$AZ_DEBIAN_PACKAGES}; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages (${missing[*]}); run as root to install them" >&2
		return 2
	fi
	echo "installing ${missing[*]}"
	apt-get update -qq
	# shellcheck disable=SC2086 # AZ_APT_OPTIONS: words for apt-get (the demo's --no-install-recommends)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${AZ_APT_OPTIONS:-} "${missing[@]}" >/dev/null
}

# az_build SRCDIR BUILDDIR [CONFIGURE_ARGS...]: configure once, then make.
az_build() {
	local src=$1 dir=$2
	shift 2
	[ -x "$src/configure" ] || (cd "$src" && autoreconf -fi >/dev/null 2>&1)
	mkdir -p "$dir"
	[ -f "$dir/Makefile" ] || (cd "$dir" && "$src/configure" -q "$@")
	make -C "$dir" -j"$(nproc)" >/dev/null
}

# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Debian roots that hold the other Slurm releases of the matrix, built with
# debootstrap from the machine's own Debian mirror and cached between runs.
# Never install their packages into the machine itself: they would replace
# its libc.  Source this file, as root:
#
#   . tests/releases/roots.sh
#   root_ensure trixie            # create, repair or reuse /var/cache/... /trixie
#   root_run trixie CMD [ARG...]  # CMD inside it, /proc /sys /dev mounted privately
#
# AZ_ROOTS_DIR (default /var/cache/autozyme-roots) holds one directory per
# Debian suite.  A root is ready when its stamp file holds the hash of the
# package list below; a root whose stamp is missing (an interrupted
# debootstrap) or whose apt no longer works is rebuilt, one whose list merely
# changed gets the missing packages.  A lock per root lets concurrent runs
# share the cache.

AZ_ROOTS_DIR=${AZ_ROOTS_DIR:-/var/cache/autozyme-roots}

# What the suites need inside a root: the build, the Slurm daemons, Open MPI,
# Python with numpy/OpenBLAS, R with Seurat (the real upstream of the R
# scenarios), strace for the security audit, the packaging tools and man.
AZ_ROOT_PACKAGES="build-essential autoconf automake libtool pkg-config binutils
 libslurm-dev libhwloc-dev hwloc libpmix-dev libcjson-dev libcriterion-dev
 slurm-wlm slurmd slurmctld slurm-client munge openmpi-bin libopenmpi-dev
 python3 python3-numpy python3-threadpoolctl libopenblas0-pthread
 python3-venv python3-setuptools python3-wheel
 r-base-core r-base-dev r-cran-jsonlite r-cran-seurat procps util-linux strace
 debhelper dh-python dpkg-dev fakeroot rpm man-db groff-base lintian lmod tcl runc crun"

_root_err() { echo "roots: $*" >&2; }

root_dir() { echo "$AZ_ROOTS_DIR/$1"; }

_root_stamp() { echo "$AZ_ROOT_PACKAGES" | xargs -n1 | sort | md5sum | cut -c1-32; }

# The machine's own Debian mirror (first URIs of its apt sources), so the
# roots come from where the machine's packages come from.
_root_mirror() {
	local uri
	uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v security | head -1)
	[[ -n $uri ]] || uri=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[[ -n $uri ]] || return 1
	echo "$uri"
}

# Run "$@" inside root $1 in a private mount namespace: /proc fresh, /sys
# (with the cgroup v1 hierarchies) and /dev bound recursively, slave
# propagation so that nothing leaks onto the machine and concurrent runs
# cannot unmount each other's mounts.  The root becomes the namespace's own
# / (bound onto itself, then pivot_root, the machine's / detached), not a
# chroot: job_container/tmpfs makes / private in each job's namespace and
# binds that namespace's file to keep it, which the kernel refuses under a
# chroot (EINVAL, seen with Linux 6.18).  Extra binds: AZ_ROOT_BINDS="SRC:DEST ...".
root_run() {
	local r bind binds=""
	r=$(root_dir "$1")
	shift
	for bind in ${AZ_ROOT_BINDS:-}; do
		binds+="mkdir -p '$r${bind#*:}' && mount --bind '${bind%%:*}' '$r${bind#*:}' && "
	done
	mkdir -p "$r/.oldroot"
	unshare -m --propagation slave -- /bin/sh -c "
		mount --rbind '$r' '$r' &&
		mount -t proc proc '$r/proc' &&
		mount --rbind /sys '$r/sys' && mount --make-rslave '$r/sys' &&
		mount --rbind /dev '$r/dev' && mount --make-rslave '$r/dev' &&
		$binds cd '$r' && pivot_root . .oldroot && umount -l /.oldroot &&
		exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \"\$@\"" \
		root_run "$@"
}

# apt inside the root sees the machine's apt settings and resolver, and
# starts no daemon (policy-rc.d 101).  A package that ships one of those
# settings files (appstream's 50appstream, which lintian brings) keeps the
# machine's copy (--force-confold in _root_install): dpkg would ask.
_root_configure_apt() {
	local r=$1 suite=$2 mirror=$3
	cp /etc/apt/apt.conf.d/* "$r/etc/apt/apt.conf.d/" 2>/dev/null
	cp /etc/resolv.conf "$r/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 755 "$r/usr/sbin/policy-rc.d"
	echo "deb $mirror $suite main" >"$r/etc/apt/sources.list"
	# dpkg's fsyncs cost minutes in a throwaway root
	echo 'force-unsafe-io' >"$r/etc/dpkg/dpkg.cfg.d/unsafe-io"
}

_root_install() {
	local name=$1
	root_run "$name" apt-get update -qq &&
		root_run "$name" apt-get install -y -qq --no-install-recommends \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $AZ_ROOT_PACKAGES
}

_root_create() {
	local name=$1 r mirror
	r=$(root_dir "$name")
	mirror=$(_root_mirror) || {
		_root_err "no Debian mirror in the machine's apt sources"
		return 1
	}
	command -v debootstrap >/dev/null || {
		_root_err "debootstrap missing (Debian package debootstrap)"
		return 1
	}
	rm -rf "$r"
	mkdir -p "$r"
	debootstrap --variant=minbase "$name" "$r" "$mirror" >"$r.debootstrap.log" 2>&1 || {
		_root_err "debootstrap $name failed:"
		tail -20 "$r.debootstrap.log" >&2
		return 1
	}
	_root_configure_apt "$r" "$name" "$mirror"
}

# root_ensure NAME: a ready root for Debian suite NAME (trixie, sid ...).
root_ensure() {
	local name=$1 r stamp
	r=$(root_dir "$name")
	stamp=$(_root_stamp)
	mkdir -p "$AZ_ROOTS_DIR"
	exec {_root_lock}>"$r.lock"
	flock "$_root_lock"
	local status=0
	if [[ $(cat "$r/.autozyme-stamp" 2>/dev/null) == "$stamp" ]] &&
		root_run "$name" dpkg-query -W slurmd >/dev/null 2>&1; then
		: # ready
	else
		if ! root_run "$name" apt-get --version >/dev/null 2>&1; then
			echo "roots: creating the $name root in $r (debootstrap, then apt)"
			_root_create "$name" || status=1
		else
			echo "roots: bringing the $name root in $r up to date"
		fi
		if ((status == 0)) && _root_install "$name" >"$r.apt.log" 2>&1; then
			echo "$stamp" >"$r/.autozyme-stamp"
		else
			((status)) || {
				_root_err "apt in the $name root failed:"
				tail -20 "$r.apt.log" >&2
			}
			status=1
		fi
	fi
	exec {_root_lock}>&-
	return $status
}

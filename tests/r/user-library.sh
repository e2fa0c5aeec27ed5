#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The R package in a user's own library, as an ordinary user (nobody when
# run as root, as in CI; otherwise the user running it) whose HOME is a
# fresh directory: R CMD INSTALL -l "$HOME/R/library" of the tarball make
# built, how the package then finds libautozyme (AUTOZYME_LIBRARY, the
# libdir recorded in the tarball, the dynamic loader's search path, or one
# clear error; one warning, Python's, when AUTOZYME_LIBRARY fails), PSOCK workers activating from the user's ~/.Rprofile, and
# configure's error when there is nothing to compile against.
# The build tree's library is not installed: the checks point at it, or at
# a copy in a prefix of their own.  Each check prints a line (tests/lib.sh's
# checks); the last is "user library: N passed, M failed, K skipped".  Every
# command of the user runs within AZ_JOB_TIMEOUT seconds (tests/lib.sh).
#
# Usage: tests/r/user-library.sh BUILDDIR
set -uo pipefail

builddir=$(cd "${1:?usage: tests/r/user-library.sh BUILDDIR}" && pwd) || exit 2
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
tarball=$(echo "$builddir"/r/build/autozyme_*.tar.gz)
libs=$builddir/lib/.libs
built=$(readlink -f "$libs/libautozyme.so.0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
home=$tmp/home
prefix=$tmp/prefix
mkdir "$home"
user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	user=nobody
	chown nobody:nogroup "$home"
fi

# Runs a command as the user (tests/lib.sh's run_as: a clean environment,
# a time limit) from and with HOME $home, with PATH=/usr/bin:/bin and the
# NAME=VALUE words given before it.
as_user() {
	run_as "$user" "$home" env PATH=/usr/bin:/bin HOME="$home" "$@"
}

pass() { ok "$1"; }
fail() {
	not_ok "$1"
	[ $# -lt 2 ] || diag "$(cat "$2")"
}
finish() {
	summary "user library"
	exit
}

# Which libautozyme a session with the package loaded has mapped.
where='suppressMessages(library(autozyme))
cat(unique(sub(".* ", "", grep("libautozyme", readLines("/proc/self/maps"), value = TRUE))), sep = "\n")'
# check_session NAME EXPECTED SED NAME=VALUE...: library(autozyme) in a
# session with those variables succeeds, and the lines of its output the sed
# script SED prints are EXPECTED.
check_session() {
	local name=$1 expected=$2 lines=$3
	shift 3
	if as_user "$@" Rscript -e "$where" >"$tmp/out" 2>&1 &&
		[ "$(sed -n "$lines" "$tmp/out")" = "$expected" ]; then
		pass "$name"
	else
		fail "$name (expected $expected)" "$tmp/out"
	fi
}
# check_loads NAME EXPECTED NAME=VALUE...: the session maps EXPECTED, and
# only it, and prints nothing else.
check_loads() { check_session "$1" "$2" p "${@:3}"; }
# check_warns NAME EXPECTED NAME=VALUE...: the session prints one warning
# about AUTOZYME_LIBRARY, "Warning: EXPECTED".
check_warns() { check_session "$1" "Warning: $2" '/AUTOZYME_LIBRARY (/p' "${@:3}"; }

if as_user test -r "$tarball" -a -r "$built" -a -r "$top/lib/autozyme.h" \
	-a -r "$top/patches/seurat.json" -a -r "$top/r/inst/Rprofile.site"; then
	pass "the user ($(as_user id -un)) can read the tarball, library, header and patches"
else
	fail "the user cannot read $tarball, $built, $top/lib/autozyme.h or $top/patches: give others read access"
	finish
fi

# The tarball as make built it, compiled against the build tree (not
# installed, so it needs AUTOZYME_CFLAGS and AUTOZYME_LIBS: no run path),
# and AUTOZYME_LIBRARY for R CMD INSTALL's test load.
if as_user mkdir -p "$home/R/library" &&
	as_user AUTOZYME_CFLAGS="-I$top/lib" AUTOZYME_LIBS="-L$libs -lautozyme" \
		AUTOZYME_LIBRARY="$libs/libautozyme.so.0" \
		R CMD INSTALL -l "$home/R/library" "$tarball" >"$tmp/install.log" 2>&1; then
	pass "R CMD INSTALL -l \$HOME/R/library $(basename "$tarball")"
else
	fail "R CMD INSTALL -l \$HOME/R/library $tarball" "$tmp/install.log"
	finish
fi
check_loads "AUTOZYME_LIBRARY loads the library it names" "$built" \
	R_LIBS_USER="$home/R/library" AUTOZYME_LIBRARY="$libs/libautozyme.so.0"

# A PSOCK pool of 2 started by a session that AUTOZYME_ACTIVATE activated
# through ~/.Rprofile: each worker loaded autozyme before any code ran
# there, activated seurat (whose hook only activation sets) and runs its
# share of the session's T threads.
as_user sh -c 'cat "$1" >>"$HOME/.Rprofile"' sh "$top/r/inst/Rprofile.site"
as_user R_LIBS_USER="$home/R/library" AUTOZYME_LIBRARY="$libs/libautozyme.so.0" \
	AUTOZYME_ACTIVATE=seurat AUTOZYME_PATCH_PATH="$top/patches" Rscript -e '
T <- autozyme::thread_info()$threads
cl <- parallel::makeCluster(2, type = "PSOCK")
workers <- parallel::clusterEvalQ(cl, {
  loaded <- isNamespaceLoaded("autozyme")
  hook <- getOption("parallelly.availableCores.custom")
  pools <- autozyme::thread_info()$pools
  sprintf("loaded at start %s, patches %s, Seurat hook %s, OpenBLAS %d, threads %d",
          loaded, paste(autozyme::env_snapshot()$patches$name, collapse = ","),
          if (is.function(hook)) hook() else "unset",
          pools$threads[pools$kind == "openblas"], autozyme::thread_info()$threads)
})
parallel::stopCluster(cl)
share <- max(1L, T %/% 2L)
cat(sprintf("expected: loaded at start TRUE, patches seurat, Seurat hook %d, OpenBLAS %d, threads %d\n",
            share, share, share), sprintf("worker: %s\n", unlist(workers)), sep = "")' \
	>"$tmp/workers" 2>&1
expected=$(sed -n 's/^expected: //p' "$tmp/workers")
if [ -n "$expected" ] && [ "$(grep -c "^worker: $expected\$" "$tmp/workers")" -eq 2 ]; then
	pass "PSOCK workers activate from ~/.Rprofile ($expected)"
else
	fail "PSOCK workers activate from ~/.Rprofile" "$tmp/workers"
fi

# The tarball recording a prefix of this test's own, which holds the build
# tree's library and header as make install would: installed with no
# variable at all, the package loads the library from the recorded libdir.
mkdir -p "$prefix/lib" "$prefix/include" "$tmp/src" "$tmp/recorded"
cp -P "$libs"/libautozyme.so* "$prefix/lib/"
cp "$top/lib/autozyme.h" "$prefix/include/"
tar -xzf "$tarball" -C "$tmp/src"
printf "AUTOZYME_RECORDED_LIBDIR='%s'\nAUTOZYME_RECORDED_INCLUDEDIR='%s'\n" \
	"$prefix/lib" "$prefix/include" >"$tmp/src/autozyme/tools/recorded.sh"
tar -czf "$tmp/recorded/$(basename "$tarball")" -C "$tmp/src" autozyme
if as_user mkdir -p "$home/R/recorded" &&
	as_user R CMD INSTALL -l "$home/R/recorded" "$tmp/recorded/$(basename "$tarball")" \
		>"$tmp/install.log" 2>&1; then
	pass "R CMD INSTALL with no variable set, against the recorded includedir and libdir"
else
	fail "R CMD INSTALL with no variable set, against the recorded includedir and libdir" "$tmp/install.log"
	finish
fi
check_loads "no variable set: the recorded libdir" "$(readlink -f "$prefix/lib/libautozyme.so.0")" \
	R_LIBS_USER="$home/R/recorded"
check_loads "AUTOZYME_LIBRARY comes before the recorded libdir" "$built" \
	R_LIBS_USER="$home/R/recorded" AUTOZYME_LIBRARY="$libs/libautozyme.so.0"
missing="cannot open shared object file: No such file or directory"
check_warns "AUTOZYME_LIBRARY failing, the recorded libdir: one warning naming both" \
	"autozyme: AUTOZYME_LIBRARY (/nonexistent/libautozyme.so.0: $missing); using $prefix/lib/libautozyme.so.0 from the libdir recorded at build time" \
	R_LIBS_USER="$home/R/recorded" AUTOZYME_LIBRARY=/nonexistent/libautozyme.so.0

# The recorded libdir without the library: the loader's search path, else
# one error naming the three places and what to install, without dyn.load's
# own message.
rm "$prefix"/lib/libautozyme.so*
check_loads "not in the recorded libdir: the loader's search path (LD_LIBRARY_PATH)" "$built" \
	R_LIBS_USER="$home/R/recorded" LD_LIBRARY_PATH="$libs"
# The same warning as Python's (python/autozyme/_lib.py, from the source
# tree, which records no libdir), word for word.
python_warning=$(as_user PYTHONPATH="$top/python" LD_LIBRARY_PATH="$libs" \
	AUTOZYME_LIBRARY=/nonexistent/libautozyme.so.0 /usr/bin/python3 -c \
	'import autozyme; autozyme.thread_info()' 2>&1 | sed -n 's/^.*RuntimeWarning: //p')
check_warns "AUTOZYME_LIBRARY failing, the loader's search path: Python's one warning, word for word" \
	"${python_warning:-(Python printed no warning)}" \
	R_LIBS_USER="$home/R/recorded" LD_LIBRARY_PATH="$libs" AUTOZYME_LIBRARY=/nonexistent/libautozyme.so.0
if /sbin/ldconfig -p | grep -q 'libautozyme\.so\.0 '; then
	fail "the library found nowhere: cannot be tested, libautozyme.so.0 is in ld.so.cache"
	finish
fi
for variable in /nonexistent/libautozyme.so.0 unset; do
	case $variable in
	unset) set -- ;;
	*) set -- AUTOZYME_LIBRARY="$variable" ;;
	esac
	as_user R_LIBS_USER="$home/R/recorded" "$@" Rscript -e 'library(autozyme)' >"$tmp/out" 2>&1
	status=$?
	error="  error: autozyme: cannot load libautozyme.so.0; tried AUTOZYME_LIBRARY ($variable), the recorded libdir ($prefix/lib) and the dynamic loader's search path (LD_LIBRARY_PATH, ld.so.cache), which says: libautozyme.so.0: cannot open shared object file: No such file or directory. Install AutoZyme's library (the Debian package libautozyme0, or AutoZyme's make install), or set AUTOZYME_LIBRARY to the path of libautozyme.so.0."
	if [ "$status" -ne 0 ] && grep -qxF "$error" "$tmp/out" &&
		! grep -q 'unable to load shared object' "$tmp/out"; then
		pass "found nowhere, AUTOZYME_LIBRARY $variable: one error naming the three places"
	else
		fail "found nowhere, AUTOZYME_LIBRARY $variable: expected exit != 0 and the line: $error" "$tmp/out"
	fi
done

# Nothing to compile against at installation: configure's one error.
rm "$prefix/include/autozyme.h"
as_user mkdir -p "$home/R/none"
as_user R CMD INSTALL -l "$home/R/none" "$tmp/recorded/$(basename "$tarball")" >"$tmp/out" 2>&1
status=$?
error="autozyme: libautozyme not found: install AutoZyme (autozyme.h into $prefix/include, libautozyme into $prefix/lib), or put its autozyme.pc on PKG_CONFIG_PATH, or set AUTOZYME_CFLAGS=-I<dir of autozyme.h> and AUTOZYME_LIBS='-L<libdir> -lautozyme'"
if [ "$status" -ne 0 ] && grep -qxF "$error" "$tmp/out"; then
	pass "nothing to compile against: R CMD INSTALL fails with configure's one error"
else
	fail "nothing to compile against: expected exit != 0 and the line: $error" "$tmp/out"
fi
finish

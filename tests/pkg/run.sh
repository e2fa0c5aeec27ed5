#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Packaging, man pages and autozyme-info, from a configured build tree:
#   make deb and make rpm (offline), what each package holds and the Slurm
#   release it records, the licence each names (lintian, rpm, the wheel's
#   METADATA); both man pages render without a warning and document
#   every plugstack key; autozyme-info outside Slurm (JSON, exit statuses,
#   --thread-variables and the documents that list them); the rules of
#   examples/autozyme-sweep-stale (sweep_stale.sh, no cluster);
#   then the Debian packages installed with dpkg -i on a throwaway cluster
#   (test_deb_cluster.sh) and removed again.
# Usage (as root): tests/pkg/run.sh BUILDDIR.  Debian packages it needs:
#   debhelper dh-python dpkg-dev fakeroot rpm man-db groff-base lintian
# Last line: "N passed, M failed".
set -u
build=$(cd "${1:?usage: $0 BUILDDIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lib.sh"
. "$here/keys.sh"

missing=()
for pkg in debhelper dh-python dpkg-dev fakeroot rpm man-db groff-base lintian; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
	not_ok "Debian packages needed: apt-get install ${missing[*]}"
	summary
	exit 1
fi

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
slurm=$(sed -n 's/^SLURM_VERSION = //p' "$build/Makefile")
series=$(sed -n 's/^SLURM_SERIES = //p' "$build/Makefile")

# timed NAME CMD...: run CMD (output to $build/NAME.log), record, print seconds.
timed() {
	local name=$1 t0 rc=0
	shift
	t0=$EPOCHREALTIME
	"$@" >"$build/$name.log" 2>&1 || rc=$?
	diag "$name: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }')"
	check_eq "$name succeeds" 0 "$rc" || diag "$(tail -30 "$build/$name.log")"
}

# contents FILE: the paths a .deb or .rpm installs, one a line.
contents() {
	case $1 in
	*.deb) dpkg-deb --fsys-tarfile "$1" | tar -t | sed 's|^\./|/|; s|/$||' ;;
	*.rpm) rpm -qlp "$1" 2>/dev/null ;;
	esac
}

# holds FILE REGEX...: the package installs a path matching each REGEX.
holds() {
	local file=$1 list re missing=""
	shift
	list=$(contents "$file")
	for re in "$@"; do
		grep -qE "^$re\$" <<<"$list" || missing+=" $re"
	done
	check_eq "$(basename "$file") holds ${*//\\/}" "" "$missing"
}

# ------------------------------------------------------- what is linked
# slurmstepd maps the plugin into every step: PMIx is the runtime's alone.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }
# The runtime uses libpmix only once MPI has loaded it (test_mpi.sh).
check_eq "the plugin does not link libpmix" "" "$(needed "$build/spank/.libs/autozyme.so" | grep -o 'libpmix[^ ]*')"
check_eq "... nor does libautozyme" "" "$(needed "$build/lib/.libs/libautozyme.so" | grep -o 'libpmix[^ ]*')"
if grep -q '^#define HAVE_PMIX 1' "$build/config.h"; then
	check_match "... which names the libpmix soname it looks for, in this PMIx build" '^libpmix\.so\.[0-9]+$' \
		"$(strings "$build/lib/.libs/libautozyme.so" | grep libpmix)"
fi

# ------------------------------------------------------------- packages
# The unit tests have run on this tree already: the package builds skip
# their own make check.
timed "make deb" env DEB_BUILD_OPTIONS=nocheck make -C "$build" deb
debs=$build/packages/deb
deb() { echo "$debs/$1_${version}-1_$(dpkg --print-architecture).deb"; }
holds "$(deb autozyme)" /usr/bin/autozyme-info '/usr/lib/[^/]+/slurm-wlm/autozyme\.so' \
	/usr/share/man/man1/autozyme\.1\.gz /usr/share/man/man8/autozyme\.8\.gz \
	/usr/share/doc/autozyme/examples/plugstack\.conf /usr/share/doc/autozyme/examples/mpi\.sbatch
holds "$(deb libautozyme0)" '/usr/lib/[^/]+/libautozyme\.so\.0' /usr/share/autozyme/patches/scanpy\.json
holds "$(deb libautozyme-dev)" /usr/include/autozyme\.h '/usr/lib/[^/]+/pkgconfig/autozyme\.pc'
holds "$(deb python3-autozyme)" /usr/lib/python3/dist-packages/autozyme/__init__\.py \
	/usr/lib/python3/dist-packages/autozyme\.pth \
	"/usr/share/autozyme/python/autozyme-$version-py3-none-any\\.whl"
holds "$(deb r-other-autozyme)" /usr/lib/R/site-library/autozyme/libs/autozyme\.so \
	/usr/share/autozyme/Rprofile\.site "/usr/share/autozyme/R/autozyme_${version}\.tar\.gz"
check_eq "the plugin package records the Slurm release (Slurm-Built-Against)" "$slurm" \
	"$(dpkg-deb -f "$(deb autozyme)" Slurm-Built-Against 2>&1)"
check_match "... and depends on that release series of Slurm's plugins" \
	"slurm-wlm-basic-plugins \(>= $series\), slurm-wlm-basic-plugins \(<< " \
	"$(dpkg-deb -f "$(deb autozyme)" Depends 2>&1)"
check_eq "no .pyc or libtool archive in the Debian packages" "" \
	"$(for f in "$debs"/*.deb; do contents "$f"; done | grep -E '\.(pyc|la)$')"

timed "make rpm" make -C "$build" rpm RPMBUILD_FLAGS=--nocheck
rpms=$build/packages/rpmbuild/RPMS/$(uname -m)
rpm_file() { ls "$rpms/$1-${version}"-*.rpm 2>/dev/null | head -n1; }
holds "$(rpm_file autozyme)" /usr/bin/autozyme-info '/usr/lib(64)?/slurm/autozyme\.so' \
	'/usr/share/man/man8/autozyme\.8(\.gz)?'
holds "$(rpm_file autozyme-libs)" '/usr/lib(64)?/libautozyme\.so\.0'
holds "$(rpm_file python3-autozyme)" '.*-packages/autozyme/__init__\.py' \
	"/usr/share/autozyme/python/autozyme-$version-py3-none-any\\.whl"
holds "$(rpm_file R-autozyme)" '.*/autozyme/libs/autozyme\.so'
holds "$(rpm_file R-autozyme)" "/usr/share/autozyme/R/autozyme_${version}\.tar\.gz"
check_match "the plugin RPM requires its Slurm series and names it in its release" \
	"slurm >= $series.*slurm < .*release=1\.slurm$series" \
	"$(rpm -qp --requires "$(rpm_file autozyme)" 2>&1 | tr '\n' ' ') release=$(rpm -qp --qf '%{RELEASE}' "$(rpm_file autozyme)" 2>&1)"

# ------------------------------------------------------------ licence
# BSD-3-Clause wherever a packager or a tool reads it (COPYING).
# (The -dbgsym packages have no doc directory of their own.)
for f in "$debs"/*.deb; do
	[[ $f == *-dbgsym_* ]] && continue
	check_eq "$(basename "$f"): its copyright file's licence is BSD-3-Clause" "License: BSD-3-Clause" \
		"$(dpkg-deb --fsys-tarfile "$f" | tar -xOf - --wildcards './usr/share/doc/*/copyright' 2>&1 |
			grep -E '^(Files|License):' | sort -u | grep -v '^Files')"
done
check_eq "lintian on the Debian packages: no tag about the copyright file or the licence" "" \
	"$(lintian --no-tag-display-limit "$debs"/*.deb 2>&1 | grep -iE 'copyright|licen[cs]e')"
# (Debug packages, which newer rpm builds make, carry no licence file.)
for f in "$rpms"/*.rpm; do
	[[ $f == *-debuginfo-* || $f == *-debugsource-* ]] && continue
	check_eq "$(basename "$f"): License: BSD-3-Clause, COPYING among its files" "BSD-3-Clause yes" \
		"$(rpm -qp --qf '%{LICENSE}' "$f" 2>/dev/null) $(rpm -qlp "$f" 2>/dev/null | grep -q '/COPYING$' && echo yes)"
done
wheel_metadata=$(python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode())' \
	"$build/python/dist/autozyme-$version-py3-none-any.whl" 2>&1)
check_eq "the wheel's METADATA names BSD-3-Clause: License, the classifier, License-File" \
	"License: BSD-3-Clause|Classifier: License :: OSI Approved :: BSD License|License-File: COPYING" \
	"$(grep -E '^(License: |Classifier: License |License-File: )' <<<"$wheel_metadata" | paste -sd'|')"

# ------------------------------------------------------------ man pages
make -C "$build" man/autozyme.1 man/autozyme.8 >/dev/null 2>&1
for page in "$build/man/autozyme.1" "$build/man/autozyme.8"; do
	check_eq "man -l $(basename "$page"): no warning" "" "$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)"
	check_eq "groff -ww -z $(basename "$page"): no warning" "" "$(groff -ww -z -man "$page" 2>&1)"
	check_eq "$(basename "$page"): no option or variable split by hyphenation" "" \
		"$(MANWIDTH=80 man -l "$page" 2>/dev/null | grep -E -- '(-|‐)$')"
done
check_eq "autozyme(8) documents every plugstack key ($(plugstack_keys | wc -l))" "" \
	"$(undocumented_keys "$build/man/autozyme.8" '^\.B[IR]* %s=')"
check_match "autozyme(8) names the installed plugin path and Slurm release" \
	"autozyme\.so.*Slurm $slurm" "$(MANWIDTH=200 man -l "$build/man/autozyme.8" 2>/dev/null | tr '\n' ' ')"

# ------------------------------------------------- autozyme-info, no Slurm
info=$build/tools/autozyme-info
run_info() { env -u AUTOZYME_ACTIVATION_FILE -u SLURM_JOB_ID "$@"; }
out=$(run_info "$info" --json --no-load 2>&1)
check_eq "autozyme-info --json outside Slurm: valid JSON, no activation file, no problem" "False []" \
	"$(echo "$out" | python3 -c 'import json, sys; d = json.load(sys.stdin)
print(d["runtime"]["activation_file_read"], d["problems"])' 2>&1)"
check_match "autozyme-info --json: the runtime answering is libautozyme.so.0, the library Python and R load" \
	'/libautozyme\.so\.0$' "$(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["autozyme"]["library"])' 2>&1)"
check_match "autozyme-info --version: the Slurm release" "built against Slurm $slurm" "$("$info" --version)"
for bad in /nonexistent.json "$build/Makefile"; do
	rc=0
	out=$(run_info AUTOZYME_ACTIVATION_FILE="$bad" "$info" --no-load 2>&1 >/dev/null) || rc=$?
	check_eq "autozyme-info, activation file $bad unreadable: exit 1" 1 "$rc"
	check_match "... naming AUTOZYME_ACTIVATION_FILE and the file" "^autozyme-info: AUTOZYME_ACTIVATION_FILE: $bad" "$out"
done
rc=0
out=$(run_info AUTOZYME_THREADS=abc "$info" --no-load 2>&1 >/dev/null) || rc=$?
check_eq "autozyme-info, AUTOZYME_THREADS=abc: exit 1, the accepted form" \
	"1 autozyme-info: AUTOZYME_THREADS: invalid value 'abc': expected N (1 to 4096), auto or off" "$rc $out"
manifests=$(mktemp -d)
echo '{"name": "broken"' >"$manifests/broken.json"
rc=0
out=$(run_info AUTOZYME_PATCH_PATH="$manifests" "$info" --no-load 2>&1 >/dev/null) || rc=$?
rm -rf "$manifests"
check_eq "autozyme-info, a broken patch manifest: exit 1" 1 "$rc"
check_match "... naming the manifest" "^autozyme-info: patch registry: .*broken\.json" "$out"
rc=0
"$info" --bogus >/dev/null 2>&1 || rc=$?
check_eq "autozyme-info --bogus: usage error, exit 2" 2 "$rc"

# --thread-variables: the core's default list (lib/core/env.c, pinned by
# tests/unit/test_env.c), which the tests and benchmarks read from here; the
# documents that spell it out name the same, in the same order.
rc=0
vars=$("$info" --thread-variables 2>&1) || rc=$?
check_eq "autozyme-info --thread-variables: exit 0, valid names one a line, OMP_NUM_THREADS first" \
	"0 OMP_NUM_THREADS" "$rc $(grep -vxE '[A-Za-z_][A-Za-z0-9_]*' <<<"$vars")$(head -n1 <<<"$vars")"
vars=$(paste -sd' ' <<<"$vars")
# documented_vars FILE FROM TO: the upper-case names between the lines
# matching FROM and TO.
documented_vars() {
	sed -n "/$2/,/$3/p" "$1" | grep -oE '\b[A-Z][A-Z0-9]*(_[A-Z0-9]+)+\b' | paste -sd' '
}
check_eq "autozyme(1) lists the variables every task gets as --thread-variables does" "$vars" \
	"$(documented_vars "$top/man/autozyme.1.in" '^\.SS Set in every task' '^All set to')"
check_eq "autozyme(8) lists the default of vars= as --thread-variables does" "$vars" \
	"$(documented_vars "$top/man/autozyme.8.in" '^\.BI vars=' '^(comma-separated')"
check_eq "examples/plugstack.conf lists the default of vars= as --thread-variables does" "$vars" \
	"$(documented_vars "$top/examples/plugstack.conf" '^#   vars=' '^#   respect_user_env')"
check_eq "README's table of checks per scenario file is tests/checks.manifest's" "" \
	"$(diff <(/usr/bin/python3 "$top/tests/manifest_table.py") \
		<(sed -n '/^| scenario file | 22.05 `affinity`/,/^$/p' "$top/README.md" | sed '/^$/d'))"
check_eq "README lists what a task receives as --thread-variables does" "$vars" \
	"$(documented_vars "$top/README.md" '^\*\*What a task receives' 'the site can change this')"

# ----------------------------- examples/autozyme-sweep-stale, no Slurm
echo "# sweep_stale.sh"
bash "$here/sweep_stale.sh" | sed 's/^/    /'
check_eq "autozyme-sweep-stale follows each rule of the plugin's sweep (sweep_stale.sh)" 0 "${PIPESTATUS[0]}"

# ------------------------------------------- the packages on a cluster
echo "# test_deb_cluster.sh"
bash "$here/test_deb_cluster.sh" "$debs" | sed 's/^/    /'
check_eq "the Debian packages installed and run on a throwaway cluster (test_deb_cluster.sh)" 0 "${PIPESTATUS[0]}"
summary

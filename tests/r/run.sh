#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The R runtime's suite: installs the R package autozyme from the build tree
# into a temporary library (make install-r-package); installs the tarball
# make built into an ordinary user's own library (user-library.sh); runs
# the testthat tests of this directory with /usr/bin/Rscript against the
# first and the build tree's libautozyme, then R CMD check --no-manual
# (make r-check, which fails on any ERROR or WARNING).  Ends with one
# summary line.
#
# Usage: tests/r/run.sh BUILDDIR
# Debian packages: r-base-core build-essential r-cran-testthat r-cran-jsonlite
#   r-cran-seurat r-cran-future r-cran-parallelly r-bioc-biocparallel
set -uo pipefail

builddir=$(cd "${1:?usage: tests/r/run.sh BUILDDIR}" && pwd) || exit 2
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! make -C "$builddir" install-r-package rlibdir="$tmp/lib" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	echo "r: FAILED to install the package from $builddir"
	exit 1
fi

# The package in an ordinary user's own library (tests/r/user-library.sh).
bash "$top/tests/r/user-library.sh" "$builddir" >"$tmp/user.log" 2>&1
user=$?
cat "$tmp/user.log"

# The tests start from an environment without AutoZyme's variables (a
# Slurm job's would change the budgets they expect); scenarios clear the rest.
env -u AUTOZYME_ACTIVATE -u AUTOZYME_ACTIVATION_FILE -u AUTOZYME_THREADS \
	-u AUTOZYMER_THREADS -u R_PROFILE \
	AZ_TEST_SRCDIR="$top" AZ_TEST_BUILDDIR="$builddir" AZ_TEST_SUMMARY="$tmp/summary" \
	AUTOZYME_PATCH_PATH="$top/patches" R_LIBS="$tmp/lib" \
	LD_LIBRARY_PATH="$builddir/lib/.libs" \
	/usr/bin/Rscript -e '
results <- as.data.frame(testthat::test_dir(file.path(Sys.getenv("AZ_TEST_SRCDIR"), "tests/r"),
                                            load_package = "none", reporter = "summary",
                                            stop_on_failure = FALSE))
failed <- sum(results$failed) + sum(results$error)
writeLines(c(sprintf("testthat: %d expectations passed, %d failed, %d skipped, %d warnings in %d tests",
                     sum(results$passed), failed, sum(results$skipped),
                     sum(results$warning), nrow(results)),
             sprintf("%d %d %d", sum(results$passed), failed, sum(results$skipped))),
           Sys.getenv("AZ_TEST_SUMMARY"))
quit(status = failed > 0)'
tests=$?

if make -C "$builddir" r-check >"$tmp/check.log" 2>&1; then
	check=0
else
	check=1
	cat "$tmp/check.log"
fi

summary=$(head -n 1 "$tmp/summary" 2>/dev/null || echo "testthat: did not run")
status=$(grep -m1 '^Status: ' "$tmp/check.log" || echo "Status: did not run")
echo "r: $summary; $(tail -n 1 "$tmp/user.log"); R CMD check: $status"
# The last line in the test command's form: testthat's expectations, the
# user library's checks and R CMD check as one.
read -r t_pass t_fail t_skip < <(sed -n 2p "$tmp/summary" 2>/dev/null) || t_pass=0 t_fail=1 t_skip=0
read -r u_pass u_fail u_skip < <(sed -nE 's/^user library: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$tmp/user.log") ||
	u_pass=0 u_fail=1 u_skip=0
echo "r: $((t_pass + u_pass + (check == 0))) passed, $((t_fail + u_fail + check)) failed, $((t_skip + u_skip)) skipped"
[ "$tests" -eq 0 ] && [ "$user" -eq 0 ] && [ "$check" -eq 0 ]

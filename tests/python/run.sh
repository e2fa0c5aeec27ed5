#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The Python suite against a build tree: tests/python/run.sh BUILDDIR [PYTEST-ARGS]
# Uses the package from the source tree (python/), the library built in
# BUILDDIR and the source tree's patch registry; Debian's /usr/bin/python3
# with python3-pytest, python3-numpy, python3-torch and python3-joblib.
# Exits with pytest's status; "no tests collected" (5) is a failure too.
set -u
usage="usage: tests/python/run.sh BUILDDIR [PYTEST-ARGS]"
builddir=$(cd "${1:?$usage}" && pwd) || exit 2
shift
srcdir=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
library=$builddir/lib/.libs/libautozyme.so.0
if [ ! -f "$library" ]; then
	echo "run.sh: $library not found: build first (make -C $builddir)" >&2
	exit 2
fi
# The suite sets what it needs in each child: nothing inherited counts.
unset AUTOZYME_ACTIVATE AUTOZYME_ACTIVATION_FILE AUTOZYME_THREADS \
	AUTOZYMER_THREADS PYTHONUSERBASE
export PYTHONPATH="$srcdir/python" AUTOZYME_LIBRARY="$library" \
	AUTOZYME_PATCH_PATH="$srcdir/patches" AZ_TEST_BUILDDIR="$builddir" \
	PYTHONDONTWRITEBYTECODE=1
cd "$srcdir/tests/python" || exit 2
[ $# -gt 0 ] || set -- .
junit=$(mktemp)
trap 'rm -f "$junit"' EXIT
/usr/bin/python3 -m pytest -p no:cacheprovider -q -rs --junitxml="$junit" "$@"
status=$?
# The last line in the test command's form (tests/lib.sh's suite counts
# the skipped; -rs above printed each one's reason).
/usr/bin/python3 - "$junit" <<'COUNT'
import sys
import xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
outcomes = [next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
            for case in cases]
print("pytest: {} passed, {} failed, {} skipped".format(
    outcomes.count("passed"), outcomes.count("failure") + outcomes.count("error"),
    outcomes.count("skipped")))
COUNT
if [ "$status" -eq 5 ]; then
	echo "run.sh: pytest collected no tests" >&2
	exit 1
fi
exit "$status"

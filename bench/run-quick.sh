#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every benchmark once at tiny sizes (1 run, no warm-up), so that the test
# command keeps them working; their numbers mean nothing and are not judged.
#
#   bench/run-quick.sh BUILDDIR          (as root; about a minute)
#
# The last line is "benchmarks: N passed, M failed, K skipped" (run-all.sh's).
if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
exec bash "$(dirname "$0")/run-all.sh" "$1" --quick

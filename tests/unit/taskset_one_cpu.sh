#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Run test_topology's "taskset" suite pinned to CPU 0: the cpuset AutoZyme
# reports must then be exactly that CPU (1 PU, 1 core, list "0").
# The test skips itself without AZ_EXPECT_ONE_CPU=1, so a run that did not
# really execute it counts as a failure here.  Exit 77 = skipped (automake).
set -u

bin="${AZ_TEST_BUILDDIR:?AZ_TEST_BUILDDIR unset: run through make check}/tests/unit/test_topology"

if ! command -v taskset >/dev/null 2>&1; then
	echo "taskset not found: skipping"
	exit 77
fi
if ! taskset -c 0 true 2>/dev/null; then
	echo "CPU 0 is not available to this process: skipping"
	exit 77
fi

out=$(AZ_EXPECT_ONE_CPU=1 taskset -c 0 "$bin" --filter 'taskset/*' --tap 2>&1)
status=$?
printf '%s\n' "$out"
if [ "$status" -ne 0 ]; then
	echo "FAIL: test_topology exited with status $status under taskset -c 0"
	exit 1
fi
if ! printf '%s\n' "$out" | grep -q '^ok - taskset::one_cpu ' ||
	printf '%s\n' "$out" | grep '^ok - taskset::one_cpu ' | grep -q '# SKIP'; then
	echo "FAIL: taskset::one_cpu did not run and pass"
	exit 1
fi
echo "PASS: taskset::one_cpu under taskset -c 0"

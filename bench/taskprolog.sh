#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What sites use today instead of the plugin: a task prolog that exports
# the same thread variables as AutoZyme, from --cpus-per-task (else 1).
# The variables are in thread-variables next to this script, one a line
# (launch.sh writes it from autozyme-info --thread-variables); read with
# shell builtins only, so that the prolog costs what a site's would.
n=${SLURM_CPUS_PER_TASK:-1}
while read -r v; do
	echo "export $v=$n"
done <"${0%/*}/thread-variables"

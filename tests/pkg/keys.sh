# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# The plugstack.conf keys the plugin accepts, for tests that check that a
# document names every one.  Needs $top (the source tree).

# plugstack_keys: the keys of spank/plugstack.c's table, one a line.
plugstack_keys() {
	sed -n 's/^\t{ "\([a-z_]*\)", ".*parse_.* },$/\1/p' "$top/spank/plugstack.c"
}

# undocumented_keys FILE FORMAT: the keys (space-separated) for which no line
# of FILE matches the regex FORMAT, in which %s stands for the key.
undocumented_keys() {
	local key missing=""
	for key in $(plugstack_keys); do
		# shellcheck disable=SC2059
		grep -q "$(printf "$2" "$key")" "$1" || missing+=" $key"
	done
	echo "$missing"
}

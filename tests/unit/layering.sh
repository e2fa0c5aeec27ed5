#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The include rules of docs/ARCHITECTURE.md: each folder includes only
# headers of the floors below it.
#   lib/core     lib/core, autozyme.h (the public API)
#   lib/runtime  lib/runtime, lib/core, autozyme.h
#   spank        spank, lib/core, autozyme.h (never lib/runtime)
#   tools        lib/core, autozyme.h
# and only lib/core and lib/runtime include the core's private internal.h:
# the plugin and the tools see the core through azcore.h.
# A quoted include resolves as the compiler does: the file's own folder,
# then lib/, then lib/core/.  config.h is the build's and always allowed.
# Usage: tests/unit/layering.sh [SRCDIR]   (make check sets AZ_TEST_SRCDIR)
src=${1:-${AZ_TEST_SRCDIR:-$(dirname "$0")/../..}}
cd "$src" || exit 2

# where FOLDER HEADER: the folder (from the top) HEADER resolves to from a
# file in FOLDER, with any ../ in HEADER followed.
top=$(pwd -P)
where() {
	for dir in "$1" lib lib/core; do
		if [ -f "$dir/$2" ]; then
			resolved=$(cd "$(dirname "$dir/$2")" && pwd -P)
			echo "${resolved#"$top"/}"
			return
		fi
	done
	echo "nowhere"
}

allowed() {
	case "$1" in
	lib/core) echo "lib/core lib" ;;
	lib/runtime) echo "lib/runtime lib/core lib" ;;
	spank) echo "spank lib/core lib" ;;
	tools) echo "lib/core lib" ;;
	esac
}

violations=0
checked=0
for file in lib/core/*.[ch] lib/runtime/*.[ch] spank/*.[ch] tools/*.c; do
	[ -f "$file" ] || continue
	folder=$(dirname "$file")
	for header in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file"); do
		[ "$header" = config.h ] && continue
		checked=$((checked + 1))
		found=$(where "$folder" "$header")
		case "$folder:$found/$(basename "$header")" in
		spank:lib/core/internal.h | tools:lib/core/internal.h)
			echo "layering: $file includes the core's private \"$header\"; $folder uses lib/core/azcore.h"
			violations=$((violations + 1))
			continue
			;;
		esac
		case " $(allowed "$folder") " in
		*" $found "*) ;;
		*)
			echo "layering: $file includes \"$header\" from $found; $folder may include only from: $(allowed "$folder")"
			violations=$((violations + 1))
			;;
		esac
	done
done
if [ "$checked" -eq 0 ]; then
	echo "layering: no include found under $src: wrong source tree?"
	exit 1
fi
echo "layering: $checked includes checked, $violations against the rules"
[ "$violations" -eq 0 ]

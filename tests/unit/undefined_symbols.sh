#!/bin/sh
# libautozyme and the plugin load libpmix at run time (dlopen), so neither may
# leave a PMIx symbol for the dynamic linker: from PMIx 5 on, a PMIx macro
# such as PMIX_LOAD_PROCID calls an exported function, and one such use makes
# every program linked with libautozyme fail to link or to start.  Also, every
# other undefined symbol of libautozyme must resolve against what it links.
set -u
build="${AZ_TEST_BUILDDIR:?AZ_TEST_BUILDDIR unset: run through make check}"
status=0
for so in "$build/lib/.libs/libautozyme.so" "$build/spank/.libs/autozyme.so"; do
	if [ ! -r "$so" ]; then
		echo "FAIL: $so not built"
		status=1
		continue
	fi
	pmix=$(nm -D --undefined-only "$so" | grep -i ' U .*pmix' || true)
	if [ -n "$pmix" ]; then
		echo "FAIL: $so leaves PMIx symbols undefined:"
		echo "$pmix"
		status=1
	else
		echo "ok: $so: no undefined PMIx symbol"
	fi
done
unresolved=$(ldd -r "$build/lib/.libs/libautozyme.so" 2>&1 | grep 'undefined symbol' || true)
if [ -n "$unresolved" ]; then
	echo "FAIL: libautozyme.so: $unresolved"
	status=1
else
	echo "ok: every undefined symbol of libautozyme.so resolves (ldd -r)"
fi
exit $status

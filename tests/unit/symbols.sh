#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What the built objects ask of the dynamic linker and offer to Slurm:
# - libautozyme and the plugin use libpmix only as MPI loaded it (dlopen), so
#   neither may leave a PMIx symbol undefined: from PMIx 5 on, a PMIx macro
#   such as PMIX_LOAD_PROCID calls an exported function, and one such use
#   makes every program linked with libautozyme fail to link or to start;
# - every other undefined symbol of libautozyme resolves against what it links;
# - libautozyme exports exactly the functions lib/autozyme.h declares (the
#   public API); the core and the runtime's inner modules stay inside;
# - the plugin's autozyme.so needs no hwloc (srun, sbatch and salloc load it);
#   autozyme.so exports only what Slurm looks up, autozyme_stepd.so only its
#   table; and no job prolog or epilog, whose symbol alone would make slurmd
#   start one more slurmstepd at every job's start or end on every node;
# - where spank.h has it (Slurm 26.05), the plugin exports
#   slurm_spank_init_failure_mode = ESPANK_JOB_FAILURE, so that a failing
#   callback fails the job rather than drain the node; elsewhere it exports
#   no such symbol.
set -u
build="${AZ_TEST_BUILDDIR:?AZ_TEST_BUILDDIR unset: run through make check}"
src="${AZ_TEST_SRCDIR:?AZ_TEST_SRCDIR unset: run through make check}"
plugin=$build/spank/.libs/autozyme.so
status=0
fail() {
	echo "FAIL: $*"
	status=1
}

for so in "$build/lib/.libs/libautozyme.so" "$plugin"; do
	[ -r "$so" ] || {
		fail "$so not built"
		continue
	}
	pmix=$(nm -D --undefined-only "$so" | grep -i ' U .*pmix' || true)
	if [ -n "$pmix" ]; then
		fail "$so leaves PMIx symbols undefined: $pmix"
	else
		echo "ok: $so: no undefined PMIx symbol"
	fi
done
unresolved=$(ldd -r "$build/lib/.libs/libautozyme.so" 2>&1 | grep 'undefined symbol' || true)
if [ -n "$unresolved" ]; then
	fail "libautozyme.so: $unresolved"
else
	echo "ok: every undefined symbol of libautozyme.so resolves (ldd -r)"
fi

exported=$(nm -D --defined-only "$build/lib/.libs/libautozyme.so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort)
declared=$(grep -oE '\baz_[a-z_]+\(' "$src/lib/autozyme.h" | tr -d '(' | sort -u)
if [ -n "$declared" ] && [ "$exported" = "$declared" ]; then
	echo "ok: libautozyme.so exports the $(echo "$declared" | wc -l) functions of autozyme.h and nothing else"
else
	fail "libautozyme.so exports: $(echo $exported); autozyme.h declares: $(echo $declared)"
fi
if ldd "$plugin" | grep -q hwloc; then
	fail "autozyme.so links hwloc: $(ldd "$plugin" | grep hwloc)"
else
	echo "ok: autozyme.so (what srun, sbatch and salloc load) links no hwloc"
fi
stepd_exports=$(nm -D --defined-only "$build/spank/.libs/autozyme_stepd.so" | awk '$2 ~ /^[A-Za-z]$/ { print $3 }')
if [ "$stepd_exports" = az_stepd_ops ]; then
	echo "ok: autozyme_stepd.so exports only az_stepd_ops"
else
	fail "autozyme_stepd.so exports: $(echo $stepd_exports)"
fi
plugin_exports=$(nm -D --defined-only "$plugin" | awk '$2 ~ /^[A-Za-z]$/ { print $3 }' |
	grep -v -E '^(slurm_spank_|spank_plugin_|plugin_(name|type|version)$)' || true)
if [ -z "$plugin_exports" ]; then
	echo "ok: autozyme.so exports only what Slurm looks up (no az_ name leaks)"
else
	fail "autozyme.so exports more than Slurm's entry points: $(echo $plugin_exports)"
fi

job_scripts=$(nm -D --defined-only "$plugin" | awk '$3 ~ /^slurm_spank_job_(prolog|epilog)$/ { print $3 }')
if [ -z "$job_scripts" ]; then
	echo "ok: autozyme.so has no slurm_spank_job_prolog or slurm_spank_job_epilog"
else
	fail "autozyme.so exports $(echo $job_scripts): slurmd would start a slurmstepd for it at every job"
fi

# The initial value of a 4-byte data symbol, read from the file.
initial_int() {
	python3 - "$1" "$2" <<'PY'
import struct, subprocess, sys
so, name = sys.argv[1], sys.argv[2]
addr = None
for line in subprocess.run(["readelf", "-sW", "--dyn-syms", so], capture_output=True, text=True).stdout.splitlines():
    f = line.split()
    if len(f) >= 8 and f[7] == name:
        addr = int(f[1], 16)
for line in subprocess.run(["readelf", "-SW", so], capture_output=True, text=True).stdout.splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 5 and f[0].startswith("[") and f[2] in ("PROGBITS",) and addr is not None:
        start, off, size = int(f[3], 16), int(f[4], 16), int(f[5], 16)
        if start <= addr < start + size:
            with open(so, "rb") as obj:
                obj.seek(off + addr - start)
                print(struct.unpack("<i", obj.read(4))[0])
            break
PY
}

exported=$(nm -D --defined-only "$plugin" | awk '$3 == "slurm_spank_init_failure_mode"')
if grep -q '^#define HAVE_DECL_ESPANK_JOB_FAILURE 1' "$build/config.h"; then
	tmp=$(mktemp -d)
	printf '#include <slurm/spank.h>\n#include <stdio.h>\nint main(void) { printf("%%d", (int)ESPANK_JOB_FAILURE); return 0; }\n' >"$tmp/v.c"
	want=$(${CC:-cc} -o "$tmp/v" "$tmp/v.c" && "$tmp/v")
	rm -rf "$tmp"
	have=$(initial_int "$plugin" slurm_spank_init_failure_mode)
	if [ -n "$exported" ] && [ -n "$want" ] && [ "$have" = "$want" ]; then
		echo "ok: the plugin sets slurm_spank_init_failure_mode = ESPANK_JOB_FAILURE ($want)"
	else
		fail "slurm_spank_init_failure_mode: exported '$exported', value '$have', ESPANK_JOB_FAILURE '$want'"
	fi
elif [ -n "$exported" ]; then
	fail "the plugin exports slurm_spank_init_failure_mode, which this Slurm does not know"
else
	echo "ok: this Slurm has no slurm_spank_init_failure_mode, and the plugin sets none"
fi
exit $status

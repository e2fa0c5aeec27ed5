#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What the runtime costs a process, outside Slurm (no cluster needed):
#  - python3 -c "import autozyme; autozyme.activate('scanpy')" against bare
#    python3 and against `import threadpoolctl` (Debian python3-threadpoolctl);
#  - interpreter start with autozyme.pth in a site directory and no
#    AUTOZYME_ variable set, against the same site directory without it
#    (wall time, and site.main()'s own time measured inside the process);
#  - Rscript -e with and without autozyme::activate("seurat");
#  - python3's peak RSS after `import autozyme` (and activate) against bare.
#
#   bench/runtime.sh BUILDDIR [--quick]
#
# The package is copied and byte-compiled as an install would be; the
# test suite's stand-in scanpy (tests/python/stubs) is on every variant's
# path, so activate() finds its upstream and every variant searches the
# same path.  R's package is installed from BUILDDIR into a temp library.
set -u
. "$(dirname "$0")/lib.sh"
bench_init "$@"
library=$build/lib/.libs/libautozyme.so.0
[[ -r $library ]] || bench_fail "no library at $library: build first"

pkg=$bench_tmp/pkg
mkdir -p "$pkg"
cp -r "$top/python/autozyme" "$top/tests/python/stubs/scanpy" \
	"$top/tests/python/stubs/scanpy-"*.dist-info "$pkg/"
pyver=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# PYTHONUSERBASE dirs: the same package, with and without the .pth hook.
for base in hook plain; do
	site=$bench_tmp/$base/lib/python$pyver/site-packages
	mkdir -p "$site"
	cp -r "$top/python/autozyme" "$site/"
done
cp "$top/python/autozyme.pth" "$bench_tmp/hook/lib/python$pyver/site-packages/"
/usr/bin/python3 -m compileall -q "$pkg" "$bench_tmp/hook" "$bench_tmp/plain" >/dev/null ||
	bench_fail "compileall failed"

# A clean environment: no AUTOZYME_ or thread variable from the caller.
clean_env=(env -i PATH=/usr/bin:/bin HOME="$bench_tmp" LANG=C.UTF-8
	AUTOZYME_LIBRARY="$library" AUTOZYME_PATCH_PATH="$top/patches")
py=("${clean_env[@]}" PYTHONPATH="$pkg" /usr/bin/python3)

p_bare() { bench_proc "${py[@]}" -c pass; }
p_autozyme() { bench_proc "${py[@]}" -c "import autozyme; autozyme.activate('scanpy')"; }
p_threadpoolctl() { bench_proc "${py[@]}" -c "import threadpoolctl"; }
# Interpreter starts are short and noisy: many more runs.
py_runs=$(bench_pick 1 "${AZ_BENCH_RUNS:-60}")
py_warmup=$(bench_pick 0 "${AZ_BENCH_WARMUP:-5}")
py_rounds() { BENCH_RUNS=$py_runs BENCH_WARMUP=$py_warmup bench_rounds "$@"; }
py_table() { BENCH_RUNS=$py_runs BENCH_WARMUP=$py_warmup bench_table "$@"; }
py_rounds "import import-cpu" p_ bare autozyme threadpoolctl

# The same user site directory, with and without autozyme.pth.
plain_py=("${clean_env[@]}" PYTHONUSERBASE="$bench_tmp/plain" /usr/bin/python3)
hook_py=("${clean_env[@]}" PYTHONUSERBASE="$bench_tmp/hook" /usr/bin/python3)
s_plain() { bench_proc "${plain_py[@]}" -c pass; }
s_hook() { bench_proc "${hook_py[@]}" -c pass; }
py_rounds "pth pth-cpu" s_ plain hook
# site.main() timed inside the interpreter (-S skips it at start-up).
site_main='import time; t = time.perf_counter(); import site; site.main(); print("%.4f" % ((time.perf_counter() - t) * 1e3))'
m_plain() { "${plain_py[@]}" -S -c "$site_main"; }
m_hook() { "${hook_py[@]}" -S -c "$site_main"; }
py_rounds pth-site m_ plain hook
"${hook_py[@]}" -c 'import sys; sys.exit("autozyme" in sys.modules)' ||
	bench_fail "the inactive .pth hook imported autozyme"
"${clean_env[@]}" AUTOZYME_ACTIVATE=scanpy PYTHONUSERBASE="$bench_tmp/hook" /usr/bin/python3 \
	-c 'import sys; sys.exit("autozyme" not in sys.modules)' ||
	bench_fail "the .pth hook did not activate AUTOZYME_ACTIVATE=scanpy"

# Peak RSS (VmHWM) at the end of the code, in MiB.
hwm='print(int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))) / 1024)'
mem() { "${py[@]}" -c "$1; $hwm"; }
k_bare() { mem pass; }
k_import() { mem "import autozyme"; }
k_activate() { mem "import autozyme; autozyme.activate('scanpy')"; }
bench_rounds py-rss k_ bare import activate

rlib=$bench_tmp/rlib
make -C "$build" install-r-package rlibdir="$rlib" >"$bench_tmp/r-install.log" 2>&1 || {
	tail -n 20 "$bench_tmp/r-install.log" >&2
	bench_fail "cannot install the R package from $build"
}
rscript=("${clean_env[@]}" R_LIBS="$rlib" LD_LIBRARY_PATH="$build/lib/.libs" /usr/bin/Rscript -e)
r_bare() { bench_proc "${rscript[@]}" 'invisible(NULL)'; }
r_activate() { bench_proc "${rscript[@]}" 'autozyme::activate("seurat")'; }
bench_rounds "rscript rscript-cpu" r_ bare activate

bench_machine
py_table import "3. Python: python3 -c ... (wall time, whole interpreter)" ms \
	autozyme/bare threadpoolctl/bare autozyme/threadpoolctl
py_table import-cpu "3. Python: the same runs, CPU time (user + system)" ms \
	autozyme/bare threadpoolctl/bare autozyme/threadpoolctl
py_table pth "3. Python start with autozyme.pth installed, no AUTOZYME_ variable (wall time)" ms \
	hook/plain
py_table pth-cpu "3. The same runs, CPU time" ms hook/plain
py_table pth-site "3. The same, site.main() timed inside the interpreter" ms hook/plain
bench_table rscript "3. R: Rscript -e (wall time)" ms activate/bare
bench_table rscript-cpu "3. R: the same runs, CPU time" ms activate/bare
bench_table py-rss "5. Memory: python3 peak RSS (VmHWM)" MiB import/bare activate/bare

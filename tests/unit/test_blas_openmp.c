/* SPDX-License-Identifier: BSD-3-Clause */
/* Thread pools, driven against the real runtimes Debian ships: each test
 * loads a library, lets az_pools_* find and set it, then asks the
 * library's own getter.  Criterion runs every test in a fresh process, so
 * what one test loads is gone in the next.  A test skips when its library
 * is not installed. */
#include "config.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_openmp.h"

/* A runtime, its soname and the getter its documentation promises. */
typedef struct runtime {
	const char *soname;
	az_pool_kind kind;
	const char *api;
	const char *getter;
	bool dim_t; /* BLIS returns a 64-bit dim_t */
} runtime;

static const runtime openblas = { "libopenblas.so.0", AZ_POOL_OPENBLAS, "openblas",
				  "openblas_get_num_threads", false };
static const runtime gomp = { "libgomp.so.1", AZ_POOL_GOMP, "omp",
			      "omp_get_max_threads", false };
static const runtime llvm_omp = { "libomp.so.5", AZ_POOL_LLVM_OMP, "omp",
				  "omp_get_max_threads", false };
static const runtime blis = { "libblis.so.4", AZ_POOL_BLIS, "blis",
			      "bli_thread_get_num_threads", true };

/* NODELETE: a runtime keeps threads and caches that must outlive our
 * dlclose, as they would in a real process. */
static void *load_or_skip(const char *name)
{
	void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!handle)
		cr_skip_test("%s is not installed here: %s", name, dlerror());
	return handle;
}

/* The runtime's answer, asked through the test's own handle. */
static int64_t ask_runtime(void *handle, const runtime *rt)
{
	void *getter = dlsym(handle, rt->getter);

	cr_assert_not_null(getter, "%s has no %s", rt->soname, rt->getter);
	if (rt->dim_t)
		return ((int64_t (*)(void))getter)();
	return ((int (*)(void))getter)();
}

/* The file behind a handle, all symlinks resolved (free() it). */
static char *real_file(void *handle)
{
	struct link_map *map = NULL;

	cr_assert_eq(dlinfo(handle, RTLD_DI_LINKMAP, &map), 0);
	return realpath(map->l_name, NULL);
}

static size_t count_kind(const az_pool *pools, size_t count, az_pool_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < count; i++)
		n += pools[i].kind == kind;
	return n;
}

/* The one pool of rt's kind, checked against the file `handle` loaded;
 * returns the threads it reports. */
static int listed_threads(void *handle, const runtime *rt)
{
	az_pool *pools = NULL, *pool = NULL;
	char *expected = real_file(handle), *found;
	size_t count = 0, i;
	int threads;

	cr_assert_eq(azi_pools_list(&pools, &count, NULL), AZ_OK);
	cr_assert_eq(count_kind(pools, count, rt->kind), 1, "%s listed %zu times",
		     rt->soname, count_kind(pools, count, rt->kind));
	for (i = 0; i < count; i++)
		if (pools[i].kind == rt->kind)
			pool = &pools[i];
	cr_assert_str_eq(pool->api, rt->api);
	found = realpath(pool->path, NULL);
	cr_assert_str_eq(found, expected, "listed %s, loaded %s", pool->path, expected);
	threads = pool->threads;
	free(found);
	free(expected);
	azi_pools_free(pools, count);
	return threads;
}

static void set_all(unsigned threads)
{
	size_t changed = 0;

	cr_assert_eq(azi_pools_set_threads(threads, &changed, NULL), AZ_OK);
	cr_assert_geq(changed, 1);
}

/* Found with the right kind and api; setting 1 then 2 reaches the runtime. */
static void drive_runtime(const runtime *rt)
{
	void *handle = load_or_skip(rt->soname);

	listed_threads(handle, rt);
	set_all(1);
	cr_assert_eq(ask_runtime(handle, rt), 1);
	cr_assert_eq(listed_threads(handle, rt), 1);
	set_all(2);
	cr_assert_eq(ask_runtime(handle, rt), 2);
	cr_assert_eq(listed_threads(handle, rt), 2);
	dlclose(handle);
}

Test(blas_openmp, openblas) { drive_runtime(&openblas); }
Test(blas_openmp, gnu_openmp) { drive_runtime(&gomp); }
Test(blas_openmp, llvm_openmp) { drive_runtime(&llvm_omp); }
Test(blas_openmp, blis) { drive_runtime(&blis); }

Test(blas_openmp, every_loaded_pool_is_set_and_counted)
{
	const runtime *rts[] = { &openblas, &gomp, &llvm_omp };
	void *handles[3];
	size_t i, changed = 0;

	for (i = 0; i < 3; i++)
		handles[i] = load_or_skip(rts[i]->soname);
	cr_assert_eq(azi_pools_set_threads(3, &changed, NULL), AZ_OK);
	cr_assert_eq(changed, 3);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(ask_runtime(handles[i], rts[i]), 3, "%s", rts[i]->soname);
		dlclose(handles[i]);
	}
}

/* Setting one kind reaches that kind's pools only. */
Test(blas_openmp, a_kind_is_set_alone)
{
	void *blas = load_or_skip(openblas.soname);
	void *omp = load_or_skip(gomp.soname);
	size_t changed = 0;

	set_all(3);
	cr_assert_eq(azi_pools_set_kind_threads(AZ_POOL_OPENBLAS, 1, &changed, NULL),
		     AZ_OK);
	cr_assert_eq(changed, 1);
	cr_assert_eq(ask_runtime(blas, &openblas), 1);
	cr_assert_eq(ask_runtime(omp, &gomp), 3);
	cr_assert_eq(listed_threads(blas, &openblas), 1);
	cr_assert_eq(azi_pools_set_kind_threads(AZ_POOL_GOMP, 2, &changed, NULL),
		     AZ_OK);
	cr_assert_eq(changed, 1);
	cr_assert_eq(ask_runtime(blas, &openblas), 1);
	cr_assert_eq(ask_runtime(omp, &gomp), 2);
	dlclose(omp);
	dlclose(blas);
}

Test(blas_openmp, a_kind_not_loaded_changes_nothing)
{
	void *omp = load_or_skip(gomp.soname);
	size_t changed = 99;

	cr_assert_eq(azi_pools_set_threads(3, NULL, NULL), AZ_OK);
	cr_assert_eq(azi_pools_set_kind_threads(AZ_POOL_MKL, 1, &changed, NULL),
		     AZ_OK);
	cr_assert_eq(changed, 0);
	cr_assert_eq(ask_runtime(omp, &gomp), 3);
	cr_assert_eq(azi_pools_set_kind_threads(AZ_POOL_INTEL_OMP, 1, NULL, NULL),
		     AZ_OK);
	cr_assert_eq(ask_runtime(omp, &gomp), 3);
	dlclose(omp);
}

Test(blas_openmp, an_unknown_kind_is_rejected)
{
	const int bad[] = { -1, 7, INT_MAX };
	size_t i, changed = 77;
	az_error err;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.message[0] = '\0';
		cr_assert_eq(azi_pools_set_kind_threads((az_pool_kind)bad[i], 1,
						       &changed, &err),
			     AZ_ERR_INVALID);
		cr_assert_eq(changed, 77);
		cr_assert(strstr(err.message, "invalid kind"), "%s", err.message);
		cr_assert(strstr(err.message, "openblas, mkl, blis, flexiblas, gomp, llvm_omp, intel_omp"),
			  "%s", err.message);
	}
}

Test(blas_openmp, a_runtime_that_cannot_say_reports_minus_one)
{
	void *handle;

	/* BLIS answers -1 until a count reaches it from its environment or a call. */
	unsetenv("BLIS_NUM_THREADS");
	unsetenv("OMP_NUM_THREADS");
	handle = load_or_skip(blis.soname);
	cr_assert_eq(listed_threads(handle, &blis), -1);
	dlclose(handle);
}

Test(blas_openmp, nothing_loaded_lists_nothing)
{
	az_pool *pools = NULL;
	size_t count = 99, changed = 99;

	cr_assert_eq(azi_pools_list(&pools, &count, NULL), AZ_OK);
	cr_assert_eq(count, 0);
	cr_assert_null(pools);
	cr_assert_eq(azi_pools_set_threads(AZ_THREADS_MAX, &changed, NULL), AZ_OK);
	cr_assert_eq(changed, 0);
	azi_pools_free(pools, count);
	azi_pools_free(NULL, 3);
}

/* Symlinks standing in for a runtime, like Debian's alternatives. */
static char scratch[] = "/tmp/az-pools-XXXXXX";
static char link_path[PATH_MAX];

static void remove_scratch(void)
{
	unlink(link_path);
	rmdir(scratch);
}

/* scratch/<name> -> <libc's directory>/<target>; skips when target is absent. */
static const char *fake_runtime(const char *name, const char *target)
{
	char libc_dir[PATH_MAX], real[PATH_MAX];
	Dl_info info;

	cr_assert(dladdr((void *)gnu_get_libc_version, &info));
	cr_assert(realpath(info.dli_fname, libc_dir));
	snprintf(real, sizeof(real), "%s/%s", dirname(libc_dir), target);
	if (access(real, R_OK) != 0)
		cr_skip_test("%s is not installed here", real);
	strcpy(scratch, "/tmp/az-pools-XXXXXX"); /* mkdtemp filled it in */
	cr_assert_not_null(mkdtemp(scratch));
	snprintf(link_path, sizeof(link_path), "%s/%s", scratch, name);
	cr_assert_eq(symlink(real, link_path), 0);
	return link_path;
}

Test(blas_openmp, a_runtime_name_without_its_symbols_is_skipped, .fini = remove_scratch)
{
	/* The reference BLAS under OpenBLAS's name: nothing to drive. */
	void *handle = load_or_skip(fake_runtime("libopenblas.so.0", "blas/libblas.so.3"));
	az_pool *pools = NULL;
	size_t count = 99;

	cr_assert_eq(azi_pools_list(&pools, &count, NULL), AZ_OK);
	cr_assert_eq(count, 0);
	azi_pools_free(pools, count);
	dlclose(handle);
}

Test(blas_openmp, a_setter_borrowed_from_a_dependency_is_not_the_objects,
     .fini = remove_scratch)
{
	/* FFTW's OpenMP threads library, under a libgomp name: dlsym on it
	 * finds omp_set_num_threads, but in the libgomp.so.1 it links.
	 * libgomp first, as a real process would: glibc 2.36 drops a list
	 * (valgrind: lost) when a dependency is later dlopen'ed itself. */
	void *real = load_or_skip(gomp.soname);
	void *user = load_or_skip(fake_runtime("libgomp-fftw.so.3", "libfftw3_omp.so.3"));

	listed_threads(real, &gomp);
	dlclose(real);
	dlclose(user);
}

Test(blas_openmp, one_object_under_two_names_is_one_pool, .fini = remove_scratch)
{
	/* The loader maps a file once, whatever name opens it. */
	void *alias = load_or_skip(fake_runtime("libgomp-alias.so.1", "libgomp.so.1"));
	void *handle = load_or_skip(gomp.soname);
	size_t changed = 0;

	cr_assert_eq(handle, alias);
	listed_threads(handle, &gomp);
	cr_assert_eq(azi_pools_set_threads(2, &changed, NULL), AZ_OK);
	cr_assert_eq(changed, 1);
	dlclose(handle);
	dlclose(alias);
}

Test(blas_openmp, invalid_thread_counts_are_rejected)
{
	const unsigned bad[] = { 0, AZ_THREADS_MAX + 1, UINT_MAX };
	size_t i, changed = 77;
	az_error err;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.message[0] = '\0';
		cr_assert_eq(azi_pools_set_threads(bad[i], &changed, &err), AZ_ERR_INVALID);
		cr_assert_eq(changed, 77);
		cr_assert(strstr(err.message, "threads"), "%s", err.message);
		cr_assert(strstr(err.message, "1 to 4096"), "%s", err.message);
		err.message[0] = '\0';
		cr_assert_eq(azi_pools_set_kind_threads(AZ_POOL_OPENBLAS, bad[i],
						       &changed, &err),
			     AZ_ERR_INVALID);
		cr_assert_eq(changed, 77);
		cr_assert(strstr(err.message, "1 to 4096"), "%s", err.message);
	}
}

Test(blas_openmp, kind_names_are_stable)
{
	static const char *const names[] = {
		"openblas", "mkl", "blis", "flexiblas", "gomp", "llvm_omp", "intel_omp",
	};
	size_t kind;

	for (kind = 0; kind < sizeof(names) / sizeof(names[0]); kind++)
		cr_assert_str_eq(azi_pool_kind_name((az_pool_kind)kind), names[kind]);
	cr_assert_str_eq(azi_pool_kind_name((az_pool_kind)7), "unknown");
	cr_assert_str_eq(azi_pool_kind_name((az_pool_kind)-1), "unknown");
}

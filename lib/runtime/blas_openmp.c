/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Thread pools of the BLAS and OpenMP runtimes already loaded in this
 * process, found the way threadpoolctl finds them: walk the loaded objects
 * with dl_iterate_phdr, keep those whose file name names a known runtime,
 * then confirm each one by resolving its own thread setter through a
 * RTLD_NOLOAD handle.  A name alone proves nothing: Debian's alternatives
 * can make "libopenblas.so.0" a reference BLAS without any thread control.
 */
#include "config.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blas_openmp.h"
#include "internal.h"

static const char *const kind_names[] = {
	[AZ_POOL_OPENBLAS] = "openblas",
	[AZ_POOL_MKL] = "mkl",
	[AZ_POOL_BLIS] = "blis",
	[AZ_POOL_FLEXIBLAS] = "flexiblas",
	[AZ_POOL_GOMP] = "gomp",
	[AZ_POOL_LLVM_OMP] = "llvm_omp",
	[AZ_POOL_INTEL_OMP] = "intel_omp",
};
#define KIND_COUNT (sizeof(kind_names) / sizeof(kind_names[0]))

const char *azi_pool_kind_name(az_pool_kind kind)
{
	if ((unsigned)kind >= KIND_COUNT)
		return "unknown";
	return kind_names[kind];
}

/* File-name prefixes that make a loaded object worth a closer look. */
static const struct family {
	const char *prefix;
	az_pool_kind kind;
} families[] = {
	{ "libopenblas", AZ_POOL_OPENBLAS },       /* also numpy's libopenblas64_ */
	{ "libscipy_openblas", AZ_POOL_OPENBLAS }, /* the scipy-openblas wheels */
	{ "libmkl_rt", AZ_POOL_MKL },
	{ "libblis", AZ_POOL_BLIS },
	{ "libflexiblas", AZ_POOL_FLEXIBLAS },
	{ "libgomp", AZ_POOL_GOMP },
	{ "libomp", AZ_POOL_LLVM_OMP },            /* libomp.so.5 and libomp5.so */
	{ "libiomp5", AZ_POOL_INTEL_OMP },
};

/* One way of driving a runtime; OpenBLAS builds rename their symbols. */
typedef struct pool_api {
	az_pool_kind kind;
	const char *name; /* reported as az_pool.api */
	const char *setter;
	const char *getter;
	bool dim_t;       /* BLIS counts threads in dim_t, a 64-bit integer */
	const char *parallel;    /* OpenBLAS: 1 for its own pthreads server */
	const char *stop_server; /* OpenBLAS: stops that server's threads */
} pool_api;

#define OPENBLAS_API(pre, suf) \
	{ AZ_POOL_OPENBLAS, pre "openblas" suf, \
	  pre "openblas_set_num_threads" suf, pre "openblas_get_num_threads" suf, false, \
	  pre "openblas_get_parallel" suf, pre "blas_thread_shutdown_" suf }
#define OMP_API(kind) \
	{ kind, "omp", "omp_set_num_threads", "omp_get_max_threads", false, NULL, NULL }

static const pool_api apis[] = {
	OPENBLAS_API("", ""),
	OPENBLAS_API("", "64_"),
	OPENBLAS_API("", "_64"),
	OPENBLAS_API("scipy_", ""),
	OPENBLAS_API("scipy_", "64_"),
	OPENBLAS_API("scipy_", "_64"),
	{ AZ_POOL_MKL, "mkl", "MKL_Set_Num_Threads", "MKL_Get_Max_Threads", false,
	  NULL, NULL },
	{ AZ_POOL_BLIS, "blis", "bli_thread_set_num_threads",
	  "bli_thread_get_num_threads", true, NULL, NULL },
	{ AZ_POOL_FLEXIBLAS, "flexiblas", "flexiblas_set_num_threads",
	  "flexiblas_get_num_threads", false, NULL, NULL },
	OMP_API(AZ_POOL_GOMP),
	OMP_API(AZ_POOL_LLVM_OMP),
	OMP_API(AZ_POOL_INTEL_OMP),
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A loaded object: a candidate by name, then confirmed by its symbols. */
typedef struct pool_entry {
	char *path;
	az_pool_kind kind;
	void *handle;        /* the RTLD_NOLOAD handle, open while in use */
	const pool_api *api;
	void *set, *get;     /* get is NULL when the runtime has no getter */
} pool_entry;

typedef struct pool_set {
	pool_entry *entries;
	size_t count, cap;
	bool nomem;
} pool_set;

static bool kind_of_file(const char *path, az_pool_kind *kind)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t i;

	for (i = 0; i < COUNT_OF(families); i++)
		if (strncmp(base, families[i].prefix, strlen(families[i].prefix)) == 0) {
			*kind = families[i].kind;
			return true;
		}
	return false;
}

static bool append_candidate(pool_set *set, const char *path, az_pool_kind kind)
{
	pool_entry *grown;
	size_t cap;

	if (set->count == set->cap) {
		cap = set->cap ? 2 * set->cap : 8;
		grown = realloc(set->entries, cap * sizeof(*grown));
		if (!grown)
			return false;
		set->entries = grown;
		set->cap = cap;
	}
	set->entries[set->count] = (pool_entry){ .path = strdup(path), .kind = kind };
	if (!set->entries[set->count].path)
		return false;
	set->count++;
	return true;
}

/* dl_iterate_phdr callback.  It only records names: dlopen must wait until
 * the walk is over, the walk holds the loader's lock. */
static int note_candidate(struct dl_phdr_info *info, size_t size, void *data)
{
	pool_set *set = data;
	az_pool_kind kind;

	(void)size;
	/* The main program has an empty name; it is no runtime. */
	if (!info->dlpi_name || !*info->dlpi_name || !kind_of_file(info->dlpi_name, &kind))
		return 0;
	if (append_candidate(set, info->dlpi_name, kind))
		return 0;
	set->nomem = true;
	return 1;
}

/* `name` as defined by the object behind `handle` itself.  dlsym on a
 * handle also searches the object's dependencies; a runtime that links
 * another (OpenBLAS built on libgomp) must not pass for it. */
static void *own_symbol(void *handle, const char *name)
{
	struct link_map *object = NULL, *definer = NULL;
	void *symbol = dlsym(handle, name);
	Dl_info info;

	if (!symbol || dlinfo(handle, RTLD_DI_LINKMAP, &object) != 0)
		return NULL;
	if (!dladdr1(symbol, &info, (void **)&definer, RTLD_DL_LINKMAP))
		return NULL;
	return definer == object ? symbol : NULL;
}

/* The first API of the entry's kind whose setter the object defines. */
static bool resolve_api(pool_entry *entry)
{
	size_t i;

	for (i = 0; i < COUNT_OF(apis); i++) {
		if (apis[i].kind != entry->kind)
			continue;
		entry->set = own_symbol(entry->handle, apis[i].setter);
		if (!entry->set)
			continue;
		entry->get = own_symbol(entry->handle, apis[i].getter);
		entry->api = &apis[i];
		return true;
	}
	return false;
}

/* A pool is an object, not a name: should two names ever lead to one
 * handle, it is set and counted once.  (glibc's walk names each object
 * once, and never shows dlmopen copies, so this is a guard, not a filter.) */
static bool handle_seen(const pool_set *set, size_t upto, void *handle)
{
	size_t i;

	for (i = 0; i < upto; i++)
		if (set->entries[i].handle == handle)
			return true;
	return false;
}

/* Keep the candidates that reopen and define a setter; drop the rest. */
static void confirm_candidates(pool_set *set)
{
	size_t i, kept = 0;
	pool_entry entry;

	for (i = 0; i < set->count; i++) {
		entry = set->entries[i];
		entry.handle = dlopen(entry.path, RTLD_NOW | RTLD_NOLOAD);
		if (entry.handle && !handle_seen(set, kept, entry.handle) &&
		    resolve_api(&entry)) {
			set->entries[kept++] = entry;
			continue;
		}
		if (entry.handle)
			dlclose(entry.handle);
		free(entry.path);
	}
	set->count = kept;
}

static void close_pools(pool_set *set)
{
	size_t i;

	for (i = 0; i < set->count; i++) {
		if (set->entries[i].handle)
			dlclose(set->entries[i].handle);
		free(set->entries[i].path);
	}
	free(set->entries);
	*set = (pool_set){ 0 };
}

/* Every pool loaded now, each with an open handle: close_pools after use. */
static az_status open_pools(pool_set *set, az_error *err)
{
	*set = (pool_set){ 0 };
	dl_iterate_phdr(note_candidate, set);
	if (set->nomem) {
		close_pools(set);
		return azi_fail(err, AZ_ERR_NOMEM, "thread pools: out of memory");
	}
	confirm_candidates(set);
	return AZ_OK;
}

/* The runtime's own maximum, -1 when it has no getter or reports none
 * (BLIS says -1 until someone sets a count). */
static int current_threads(const pool_entry *entry)
{
	int64_t threads;

	if (!entry->get)
		return -1;
	if (entry->api->dim_t)
		threads = ((int64_t (*)(void))entry->get)();
	else
		threads = ((int (*)(void))entry->get)();
	return threads >= 1 && threads <= INT_MAX ? (int)threads : -1;
}

/*
 * OpenBLAS's pthreads server stops at every fork(), and lowering the count
 * in the child, as a pool worker's share does, starts it again: an idle
 * thread that spins beside the worker's own.  Measured with a fork Pool(2)
 * of numpy 256x256 matmuls on 2 CPUs: 3-7% slower than a worker whose
 * OpenBLAS started at 1 (threadpoolctl's limit does the same).  With one
 * thread the server has nothing to do, so it is stopped the way OpenBLAS
 * itself stops it before a fork; a later, larger count starts it again.
 */
static void stop_idle_server(const pool_entry *entry)
{
	int (*parallel)(void);
	void (*stop)(void);

	if (!entry->api->stop_server)
		return;
	parallel = (int (*)(void))own_symbol(entry->handle, entry->api->parallel);
	stop = (void (*)(void))own_symbol(entry->handle, entry->api->stop_server);
	if (parallel && stop && parallel() == 1)
		stop();
}

static void apply_threads(const pool_entry *entry, unsigned threads)
{
	if (entry->api->dim_t)
		((void (*)(int64_t))entry->set)((int64_t)threads);
	else
		((void (*)(int))entry->set)((int)threads);
	if (threads == 1)
		stop_idle_server(entry);
}

static az_status export_pool(const pool_entry *entry, az_pool *out)
{
	out->kind = entry->kind;
	out->threads = current_threads(entry);
	out->path = strdup(entry->path);
	out->api = strdup(entry->api->name);
	return out->path && out->api ? AZ_OK : AZ_ERR_NOMEM;
}

az_status azi_pools_list(az_pool **pools, size_t *count, az_error *err)
{
	az_status status;
	az_pool *list = NULL;
	pool_set set;
	size_t i;

	status = open_pools(&set, err);
	if (status != AZ_OK)
		return status;
	if (set.count && !(list = calloc(set.count, sizeof(*list))))
		status = AZ_ERR_NOMEM;
	for (i = 0; status == AZ_OK && i < set.count; i++)
		status = export_pool(&set.entries[i], &list[i]);
	if (status != AZ_OK) {
		azi_pools_free(list, list ? set.count : 0);
		close_pools(&set);
		return azi_fail(err, status, "thread pools: out of memory");
	}
	*pools = list;
	*count = set.count;
	close_pools(&set);
	return AZ_OK;
}

void azi_pools_free(az_pool *pools, size_t count)
{
	size_t i;

	if (!pools)
		return;
	for (i = 0; i < count; i++) {
		free(pools[i].path);
		free(pools[i].api);
	}
	free(pools);
}

/* Set the loaded pools of `*kind` (every pool when kind is NULL) to
 * `threads`; *changed counts them. */
static az_status set_pools(const az_pool_kind *kind, unsigned threads,
			   size_t *changed, az_error *err)
{
	az_status status;
	size_t i, count = 0;
	pool_set set;

	if (threads < 1 || threads > AZ_THREADS_MAX)
		return azi_fail(err, AZ_ERR_INVALID,
				"threads: invalid value %u: expected an integer from 1 to %u",
				threads, AZ_THREADS_MAX);
	status = open_pools(&set, err);
	if (status != AZ_OK)
		return status;
	for (i = 0; i < set.count; i++)
		if (!kind || set.entries[i].kind == *kind) {
			apply_threads(&set.entries[i], threads);
			count++;
		}
	if (changed)
		*changed = count;
	close_pools(&set);
	return AZ_OK;
}

az_status azi_pools_set_threads(unsigned threads, size_t *changed, az_error *err)
{
	return set_pools(NULL, threads, changed, err);
}

az_status azi_pools_set_kind_threads(az_pool_kind kind, unsigned threads,
				     size_t *changed, az_error *err)
{
	if ((unsigned)kind >= KIND_COUNT)
		return azi_fail(err, AZ_ERR_INVALID,
				"thread pools: invalid kind %d: expected one of openblas, mkl, blis, flexiblas, gomp, llvm_omp, intel_omp",
				(int)kind);
	return set_pools(&kind, threads, changed, err);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A scratch directory for one test, made before it and removed (with
 * everything in it) after it, shared by the unit tests that need files.
 */
#ifndef AZ_TEST_SCRATCH_H
#define AZ_TEST_SCRATCH_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>

/* Room for "/tmp/az-<name>-XXXXXX" with a short name. */
#define SCRATCH_MAX 40

/* "/tmp/az-<name>-XXXXXX" made into `dir` (SCRATCH_MAX bytes). */
static inline void scratch_make(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/az-%s-XXXXXX", name);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

static inline int scratch_remove_entry(const char *path, const struct stat *st,
				       int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static inline void scratch_remove(const char *dir)
{
	nftw(dir, scratch_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif

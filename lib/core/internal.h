/* SPDX-License-Identifier: BSD-3-Clause */
/* Private helpers shared by the core's modules; never installed.
 * Their azi_ prefix keeps them out of the exported az_* symbols. */
#ifndef AUTOZYME_INTERNAL_H
#define AUTOZYME_INTERNAL_H

#include "azcore.h"

/* Fill err (when not NULL) with a printf-style message; returns status. */
az_status azi_fail(az_error *err, az_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Read fd to its end into a fresh NUL-terminated *text (free() it) and its
 * length into *len (when not NULL); *text is untouched on failure.  More
 * than `limit` bytes gives AZ_ERR_TOO_LARGE, a read error AZ_ERR_IO, both
 * naming `path`.  Opening and vetting the file stay with the caller.
 */
az_status azi_read_all(int fd, const char *path, size_t limit, char **text,
		       size_t *len, az_error *err);

/* Whether `name` is one of the `count` strings of `names`. */
bool azi_names_contain(char *const *names, size_t count, const char *name);
/* The accepted form of a patch name, for error messages (az_patch_name_valid). */
#define AZI_PATCH_NAME_FORM "[a-z0-9][a-z0-9_.-]{0,63}"

#endif

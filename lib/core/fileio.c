/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading a whole file the caller has already opened and vetted. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Up to `want` bytes into buf, retrying reads a signal interrupted; the
 * count, or -1 with errno set. */
static ssize_t fill(int fd, char *buf, size_t want)
{
	size_t used = 0;

	while (used < want) {
		ssize_t got = read(fd, buf + used, want - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		used += (size_t)got;
	}
	return (ssize_t)used;
}

az_status azi_read_all(int fd, const char *path, size_t limit, char **text,
		       size_t *len, az_error *err)
{
	/* One byte beyond the limit tells "exactly full" from "too big",
	 * even for a file that grew after the caller's fstat. */
	char *buf = malloc(limit + 2);
	ssize_t got;
	az_status status;

	if (!buf)
		return azi_fail(err, AZ_ERR_NOMEM, "%s: out of memory", path);
	got = fill(fd, buf, limit + 1);
	if (got >= 0 && (size_t)got <= limit) {
		buf[got] = '\0';
		*text = buf;
		if (len)
			*len = (size_t)got;
		return AZ_OK;
	}
	if (got < 0)
		status = azi_fail(err, AZ_ERR_IO, "%s: cannot read: %s", path,
				  strerror(errno));
	else
		status = azi_fail(err, AZ_ERR_TOO_LARGE,
				  "%s: larger than %zu bytes", path, limit);
	free(buf);
	return status;
}

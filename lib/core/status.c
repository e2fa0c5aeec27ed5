/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *az_status_name(az_status status)
{
	switch (status) {
	case AZ_OK: return "ok";
	case AZ_ERR_INVALID: return "invalid";
	case AZ_ERR_NOMEM: return "out of memory";
	case AZ_ERR_IO: return "i/o error";
	case AZ_ERR_PARSE: return "parse error";
	case AZ_ERR_SCHEMA: return "schema error";
	case AZ_ERR_TOO_LARGE: return "too large";
	case AZ_ERR_NOT_FOUND: return "not found";
	case AZ_ERR_SYSTEM: return "system error";
	}
	return "unknown status";
}

size_t az_error_size(void)
{
	return sizeof(az_error);
}

const char *az_version(void)
{
	return PACKAGE_VERSION;
}

az_status azi_fail(az_error *err, az_status status, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return status;
}

int az_quote_len(const char *text)
{
	size_t len = strnlen(text, AZ_QUOTE_MAX + 1);

	if (len <= AZ_QUOTE_MAX)
		return (int)len;
	/* Back off the continuation bytes of a sequence the cut would split;
	 * a UTF-8 sequence is at most 4 bytes, so invalid input backs off no further. */
	len = AZ_QUOTE_MAX;
	while (len > AZ_QUOTE_MAX - 3 && ((unsigned char)text[len] & 0xc0) == 0x80)
		len--;
	return (int)len;
}

/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Strict decimal: digits only, no sign, no blanks, no trailing text. */
static bool parse_decimal(const char *text, unsigned long long *out)
{
	const char *p;
	char *end;

	if (!text || !*text)
		return false;
	for (p = text; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	errno = 0;
	*out = strtoull(text, &end, 10);
	return errno == 0 && *end == '\0';
}

az_status az_count_parse(const char *text, const char *field, unsigned min,
			 unsigned max, unsigned *out, az_error *err)
{
	unsigned long long value;

	if (!text)
		text = "";
	if (!parse_decimal(text, &value) || value < min || value > max)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: invalid value '" AZ_QUOTE "': expected an integer from %u to %u",
				field, AZ_QUOTE_ARGS(text), min, max);
	*out = (unsigned)value;
	return AZ_OK;
}

az_status az_request_parse(const char *text, const char *field,
			   az_request *out, az_error *err)
{
	unsigned count;

	if (!text)
		text = "";
	if (strcmp(text, "auto") == 0) {
		*out = (az_request){ .kind = AZ_REQUEST_AUTO };
		return AZ_OK;
	}
	if (strcmp(text, "off") == 0) {
		*out = (az_request){ .kind = AZ_REQUEST_OFF };
		return AZ_OK;
	}
	if (az_count_parse(text, field, 1, AZ_THREADS_MAX, &count, NULL) != AZ_OK)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: invalid value '" AZ_QUOTE "': expected N (1 to %u), auto or off",
				field, AZ_QUOTE_ARGS(text), AZ_THREADS_MAX);
	*out = (az_request){ .kind = AZ_REQUEST_COUNT, .count = count };
	return AZ_OK;
}

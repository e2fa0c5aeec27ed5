/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Upstream versions against a manifest's min_version, by release numbers,
 * one rule for Python and R: "1.9" is "1.9.0", R's "1.9-3" is 1.9.3, and a
 * suffix ends the release ("2.1.0rc1" and "2.1.0+cpu" are 2.1.0).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>

#include "azcore.h"

/*
 * The next release number at *at, or false past the release: a number
 * must start with a digit and follow the start or a '.' or '-' between
 * digits.  A number too large for unsigned long saturates there.
 */
static bool next_number(const char **at, unsigned long *number)
{
	const char *p = *at;
	char *end;

	if (*p == '.' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	*number = strtoul(p, &end, 10);
	*at = end;
	return true;
}

bool az_version_readable(const char *version)
{
	return version && isdigit((unsigned char)version[0]);
}

bool az_version_older(const char *version, const char *minimum)
{
	const char *a = version, *b = minimum;
	unsigned long x, y;
	bool more_a, more_b;

	if (!az_version_readable(version) || !az_version_readable(minimum))
		return false;
	for (;;) {
		more_a = next_number(&a, &x);
		more_b = next_number(&b, &y);
		if (!more_a && !more_b)
			return false;
		if (!more_a)
			x = 0;
		if (!more_b)
			y = 0;
		if (x != y)
			return x < y;
	}
}

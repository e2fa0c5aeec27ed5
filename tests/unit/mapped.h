/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How many loaded objects of this process have `part` in their path, as
 * the dynamic loader lists them: the unit tests that check a library is
 * (or is not) mapped use it.
 */
#ifndef AZ_TEST_MAPPED_H
#define AZ_TEST_MAPPED_H

#include <link.h>
#include <string.h>

struct mapped_count {
	const char *part;
	int count;
};

static inline int mapped_count_one(struct dl_phdr_info *info, size_t size,
				   void *data)
{
	struct mapped_count *c = data;

	(void)size;
	if (strstr(info->dlpi_name, c->part))
		c->count++;
	return 0;
}

static inline int mapped_objects(const char *part)
{
	struct mapped_count c = { part, 0 };

	dl_iterate_phdr(mapped_count_one, &c);
	return c.count;
}

#endif

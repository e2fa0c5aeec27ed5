/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/core/status.c: the statuses and the error struct the bindings size.
 */
#define _GNU_SOURCE /* asprintf, CPU_COUNT */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "azcore.h"

/* Python and R map a status by its name, so these names are an interface:
 * every status has its own, and the ones the bindings compare never change. */
Test(status, status_names_are_distinct_and_stable)
{
	const az_status all[] = { AZ_OK, AZ_ERR_INVALID, AZ_ERR_NOMEM,
				  AZ_ERR_IO, AZ_ERR_PARSE, AZ_ERR_SCHEMA,
				  AZ_ERR_TOO_LARGE, AZ_ERR_NOT_FOUND,
				  AZ_ERR_SYSTEM };
	size_t n = sizeof(all) / sizeof(all[0]), i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			cr_expect_str_neq(az_status_name(all[i]), az_status_name(all[j]),
					  "statuses %zu and %zu share a name", i, j);
	cr_expect_str_eq(az_status_name(AZ_OK), "ok");
	cr_expect_str_eq(az_status_name(AZ_ERR_INVALID), "invalid");
	cr_expect_str_eq(az_status_name(AZ_ERR_NOT_FOUND), "not found");
	cr_expect_str_eq(az_status_name((az_status)99), "unknown status");
}

/* What the Python binding allocates for an az_error, asking the library. */
Test(status, error_size_is_the_structs)
{
	cr_expect_eq(az_error_size(), sizeof(az_error));
}

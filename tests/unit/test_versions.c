/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/core/versions.c: upstream versions against a manifest's min_version. */
#include <criterion/criterion.h>

#include "azcore.h"

Test(versions, older_by_release_numbers)
{
	cr_expect(az_version_older("1.9.3", "1.10"));
	cr_expect(az_version_older("1.9", "1.9.1"));
	cr_expect(az_version_older("0.99", "1"));
	cr_expect_not(az_version_older("1.10", "1.9.3"));
	cr_expect_not(az_version_older("2", "1.99.99"));
}

Test(versions, missing_numbers_count_zero)
{
	/* Python's tuples made "1.9" older than "1.9.0"; R did not. */
	cr_expect_not(az_version_older("1.9", "1.9.0"));
	cr_expect_not(az_version_older("1.9.0", "1.9"));
	cr_expect_not(az_version_older("1.9", "1.9"));
}

Test(versions, r_dashes_are_release_separators)
{
	cr_expect(az_version_older("1.9-2", "1.9-10"));
	cr_expect(az_version_older("1.9-3", "1.9.4"));
	cr_expect_not(az_version_older("1.33.1", "1.33-1"));
}

Test(versions, a_suffix_ends_the_release)
{
	cr_expect_not(az_version_older("2.1.0rc1", "2.1"));
	cr_expect_not(az_version_older("2.1.0+cpu", "2.1.0"));
	cr_expect_not(az_version_older("1.26.4.dev0", "1.26.4"));
	cr_expect(az_version_older("2.0.9+cu121", "2.1"));
	cr_expect(az_version_older("1.9.x.5", "1.9.1"));
}

Test(versions, unreadable_versions_are_never_older)
{
	cr_expect_not(az_version_readable(NULL));
	cr_expect_not(az_version_readable(""));
	cr_expect_not(az_version_readable("unknown"));
	cr_expect_not(az_version_readable("v1.2"));
	cr_expect(az_version_readable("0"));
	cr_expect_not(az_version_older("unknown", "1.0"));
	cr_expect_not(az_version_older("1.0", "latest"));
	cr_expect_not(az_version_older(NULL, "1.0"));
}

Test(versions, huge_numbers_saturate)
{
	cr_expect(az_version_older("1.99999999999999999999999", "2"));
	cr_expect_not(az_version_older("99999999999999999999999", "1"));
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/core/names.c: patch names and comma-separated lists of them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "azcore.h"

#define NAME_64 "a234567890123456789012345678901234567890123456789012345678901234"

Test(names, valid_names)
{
	const char *good[] = { "a", "0", "scanpy", "cell2location", "a_b.c-d",
			       "9-x", NAME_64 };
	size_t i;

	cr_assert_eq(strlen(NAME_64), 64);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(az_patch_name_valid(good[i]), "'%s' refused", good[i]);
}

Test(names, invalid_names)
{
	const char *bad[] = { "", "Foo", "_a", ".a", "-a", "a b", "a/b",
			      "a,b", "caf\xc3\xa9", NAME_64 "5", "a\n" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(az_patch_name_valid(bad[i]), "'%s' accepted",
			      bad[i]);
	cr_expect_not(az_patch_name_valid(NULL));
}

Test(names, parse_keeps_first_order_and_drops_duplicates)
{
	char **names = NULL;
	size_t count = 0;

	cr_assert_eq(az_names_parse("seurat,scanpy,seurat,cell2location,scanpy",
				    "--autozyme-activate", &names, &count, NULL),
		     AZ_OK);
	cr_assert_eq(count, 3);
	cr_expect_str_eq(names[0], "seurat");
	cr_expect_str_eq(names[1], "scanpy");
	cr_expect_str_eq(names[2], "cell2location");
	az_names_free(names, count);
}

Test(names, parse_one_name)
{
	char **names = NULL;
	size_t count = 0;

	cr_assert_eq(az_names_parse(NAME_64, "f", &names, &count, NULL), AZ_OK);
	cr_assert_eq(count, 1);
	cr_expect_str_eq(names[0], NAME_64);
	az_names_free(names, count);
	az_names_free(NULL, 0);
}

static void expect_names_refused(const char *text, const char *message)
{
	char **names = (char **)&names; /* must stay untouched */
	char **before = names;
	size_t count = 42;
	az_error err = { "" };

	cr_assert_eq(az_names_parse(text, "--autozyme-activate", &names,
				    &count, &err),
		     AZ_ERR_INVALID, "'%s' accepted", text);
	cr_expect_str_eq(err.message, message);
	cr_expect_eq(names, before);
	cr_expect_eq(count, 42);
}

#define FORM "expected NAME[,NAME...] with names matching [a-z0-9][a-z0-9_.-]{0,63}"

Test(names, parse_refuses_an_invalid_name)
{
	expect_names_refused("scanpy,Foo",
			     "--autozyme-activate: invalid patch name 'Foo': " FORM);
	expect_names_refused(NAME_64 "5",
			     "--autozyme-activate: invalid patch name '" NAME_64
			     "5': " FORM);
	expect_names_refused("scanpy, seurat",
			     "--autozyme-activate: invalid patch name ' seurat': " FORM);
}

/* Found by tests/fuzz: the form stays in the message however long the list. */
Test(names, parse_keeps_the_form_for_a_huge_list)
{
	static char text[100000];
	char **names = NULL;
	size_t count = 0;
	az_error err = { "" };

	memset(text, 'a', sizeof(text) - 1);
	text[5] = 'A';
	cr_assert_eq(az_names_parse(text, "--autozyme-activate", &names, &count, &err),
		     AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "aaaaAaaa") && strstr(err.message, "...': " FORM),
		  "message: %s", err.message);
	text[5] = ',';
	text[6] = ',';
	cr_assert_eq(az_names_parse(text, "--autozyme-activate", &names, &count, &err),
		     AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "empty patch name in 'aaaaa,,aaa") &&
		  strstr(err.message, "...': " FORM), "message: %s", err.message);
}

Test(names, parse_refuses_empty_items)
{
	expect_names_refused("", "--autozyme-activate: empty patch name in '': " FORM);
	expect_names_refused("a,,b",
			     "--autozyme-activate: empty patch name in 'a,,b': " FORM);
	expect_names_refused("a,",
			     "--autozyme-activate: empty patch name in 'a,': " FORM);
	expect_names_refused(",a",
			     "--autozyme-activate: empty patch name in ',a': " FORM);
	expect_names_refused(",", "--autozyme-activate: empty patch name in ',': " FORM);
}

Test(names, parse_refuses_null)
{
	expect_names_refused(NULL, "--autozyme-activate: no value: " FORM);
}

/* ------------------------------------------------------ comma lists */

Test(lists, split_keeps_every_item_in_order_and_empty_ones)
{
	char **items = NULL;
	size_t count = 0;

	cr_assert_eq(az_list_split("OMP_NUM_THREADS,,MC_CORES", &items, &count), AZ_OK);
	cr_assert_eq(count, 3);
	cr_expect_str_eq(items[0], "OMP_NUM_THREADS");
	cr_expect_str_eq(items[1], "");
	cr_expect_str_eq(items[2], "MC_CORES");
	cr_expect_null(items[3], "the list is NULL-terminated");
	az_names_free(items, count);
	cr_assert_eq(az_list_split("", &items, &count), AZ_OK);
	cr_expect_eq(count, 1);
	cr_expect_str_eq(items[0], "");
	az_names_free(items, count);
}

Test(lists, has_matches_whole_items_only)
{
	cr_expect(az_list_has("cpuset,cpu,io", "cpu"));
	cr_expect(az_list_has("cpu", "cpu"));
	cr_expect(az_list_has("io,cpu", "cpu"));
	cr_expect_not(az_list_has("cpuset,cpuacct", "cpu"));
	cr_expect_not(az_list_has("", "cpu"));
	cr_expect_not(az_list_has("xcpu,cpux", "cpu"));
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/core/request.c: thread requests ("N", "auto", "off") and plain counts. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azcore.h"

#define FIELD "--autozyme-threads"

static void expect_parsed(const char *text, az_request_kind kind,
			  unsigned count)
{
	az_request req = { (az_request_kind)-1, 12345 };
	az_error err = { "" };

	cr_assert_eq(az_request_parse(text, FIELD, &req, &err), AZ_OK,
		     "'%s' refused: %s", text, err.message);
	cr_expect_eq(req.kind, kind, "'%s': kind %d", text, (int)req.kind);
	cr_expect_eq(req.count, count, "'%s': count %u", text, req.count);
}

Test(request, parses_a_count)
{
	expect_parsed("8", AZ_REQUEST_COUNT, 8);
	expect_parsed("1", AZ_REQUEST_COUNT, 1);
	expect_parsed("4096", AZ_REQUEST_COUNT, AZ_THREADS_MAX);
}

Test(request, parses_auto_and_off)
{
	expect_parsed("auto", AZ_REQUEST_AUTO, 0);
	expect_parsed("off", AZ_REQUEST_OFF, 0);
}

/* Texts live in the parameter (an array, not a pointer): Criterion copies
 * parameters into the worker process. */
typedef struct bad_request {
	char text[32];
	bool null_text;
} bad_request;

#define BAD(text_) { .text = text_ }
static bad_request bad_requests[] = {
	BAD("abc"), BAD("0"), BAD("-1"), BAD("99999999999"),
	BAD("99999999999999999999999999"), BAD(""), BAD("4097"), BAD(" 4"),
	BAD("4 "), BAD("+4"), BAD("0x10"), BAD("4.0"), BAD("AUTO"),
	BAD("Off"), BAD("auto "), BAD("8threads"), { .null_text = true },
};

ParameterizedTestParameters(request, rejects)
{
	return cr_make_param_array(bad_request, bad_requests,
				   sizeof(bad_requests) /
					   sizeof(bad_requests[0]));
}

ParameterizedTest(bad_request *c, request, rejects)
{
	const char *text = c->null_text ? NULL : c->text;
	az_request req = { AZ_REQUEST_AUTO, 77 };
	az_error err = { "" };
	char expected[160];

	cr_assert_eq(az_request_parse(text, FIELD, &req, &err),
		     AZ_ERR_INVALID, "'%s' accepted", c->text);
	snprintf(expected, sizeof(expected),
		 FIELD ": invalid value '%s': expected N (1 to 4096), auto or off",
		 c->text);
	cr_expect_str_eq(err.message, expected);
	cr_expect(req.kind == AZ_REQUEST_AUTO && req.count == 77,
		  "'%s': output written on failure", c->text);
	cr_expect_eq(az_request_parse(text, FIELD, &req, NULL),
		     AZ_ERR_INVALID);
}

Test(request, message_names_the_given_field)
{
	az_request req;
	az_error err = { "" };

	az_request_parse("lots", "AUTOZYME_THREADS", &req, &err);
	cr_expect_str_eq(err.message,
			 "AUTOZYME_THREADS: invalid value 'lots': expected N (1 to 4096), auto or off");
}

/* Found by tests/fuzz: a long value used to push the accepted form out of
 * the message.  Now the value is cut (on a UTF-8 boundary) and the form stays. */
Test(request, long_value_keeps_the_accepted_form)
{
	char text[4096];
	az_request req;
	az_error err = { "" };

	memset(text, '7', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_assert_eq(az_request_parse(text, FIELD, &req, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "...': expected N (1 to 4096), auto or off") != NULL,
		  "message: %s", err.message);
	/* 79 ASCII bytes, then a 2-byte character across the 80-byte cut. */
	memset(text, 'x', 79);
	strcpy(text + 79, "\xc3\xa9tail");
	cr_assert_eq(az_request_parse(text, FIELD, &req, &err), AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "xxx...': expected N") != NULL,
		  "cut inside a character: %s", err.message);
	cr_expect_eq(az_count_parse(text, "max_threads", 1, 64, &(unsigned){ 0 }, &err),
		     AZ_ERR_INVALID);
	cr_expect(strstr(err.message, "...': expected an integer from 1 to 64") != NULL,
		  "message: %s", err.message);
}

/* ----------------------------------------------------------------- counts */

Test(count, accepts_the_range_bounds)
{
	unsigned value = 0;

	cr_expect_eq(az_count_parse("1", "max_threads", 1, 64, &value, NULL),
		     AZ_OK);
	cr_expect_eq(value, 1);
	cr_expect_eq(az_count_parse("64", "max_threads", 1, 64, &value, NULL),
		     AZ_OK);
	cr_expect_eq(value, 64);
	cr_expect_eq(az_count_parse("0", "default_threads", 0, 64, &value,
				    NULL), AZ_OK);
	cr_expect_eq(value, 0);
	cr_expect_eq(az_count_parse("4294967295", "n", 0, 4294967295u,
				    &value, NULL), AZ_OK);
	cr_expect_eq(value, 4294967295u);
}

static void expect_count_refused(const char *text, unsigned min,
				 unsigned max)
{
	unsigned value = 99;
	az_error err = { "" };
	char expected[160];

	cr_expect_eq(az_count_parse(text, "SLURM_CPUS_PER_TASK", min, max,
				    &value, &err), AZ_ERR_INVALID,
		     "'%s' accepted in [%u, %u]", text ? text : "(null)", min,
		     max);
	snprintf(expected, sizeof(expected),
		 "SLURM_CPUS_PER_TASK: invalid value '%s': expected an integer from %u to %u",
		 text ? text : "", min, max);
	cr_expect_str_eq(err.message, expected);
	cr_expect_eq(value, 99, "'%s': output written on failure",
		     text ? text : "(null)");
}

Test(count, rejects_outside_the_range)
{
	expect_count_refused("0", 1, 64);
	expect_count_refused("65", 1, 64);
	expect_count_refused("4294967296", 0, 4294967295u);
	expect_count_refused("99999999999999999999999999", 1, 64);
}

Test(count, rejects_malformed_text)
{
	static const char *const bad[] = {
		"", "abc", "-1", "+4", " 4", "4 ", "0x10", "4.0", "1e3", "4\n",
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_count_refused(bad[i], 1, 64);
	expect_count_refused(NULL, 1, 64);
}

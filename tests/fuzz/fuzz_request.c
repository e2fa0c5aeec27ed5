/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --autozyme-threads, AUTOZYME_THREADS and every plain count
 * (max_threads, SLURM_CPUS_PER_TASK): az_request_parse and az_count_parse.
 * The first input byte picks the bounds of the count parser, so ranges
 * other than 1..4096 are explored too.
 */
#include "config.h"

#include "azcore.h"
#include "fuzz.h"

static void check_request(const char *text)
{
	az_request req = { AZ_REQUEST_UNSET, 0 };
	az_error err = { "" };

	if (az_request_parse(text, "--autozyme-threads", &req, &err) != AZ_OK) {
		FUZZ_CHECK_MESSAGE(err, "--autozyme-threads");
		FUZZ_CHECK(strstr(err.message, "expected N (1 to 4096), auto or off"),
			   "message '%s' lacks the accepted form", err.message);
		return;
	}
	if (req.kind == AZ_REQUEST_COUNT)
		FUZZ_CHECK(req.count >= 1 && req.count <= AZ_THREADS_MAX,
			   "'%s' gave %u", text, req.count);
	else
		FUZZ_CHECK((req.kind == AZ_REQUEST_AUTO && !strcmp(text, "auto")) ||
			   (req.kind == AZ_REQUEST_OFF && !strcmp(text, "off")),
			   "'%s' gave kind %d", text, (int)req.kind);
}

static void check_count(const char *text, unsigned min, unsigned max)
{
	unsigned value = 0;
	az_error err = { "" };

	if (az_count_parse(text, "max_threads", min, max, &value, &err) != AZ_OK) {
		FUZZ_CHECK_MESSAGE(err, "max_threads");
		return;
	}
	FUZZ_CHECK(value >= min && value <= max, "'%s' gave %u outside [%u, %u]",
		   text, value, min, max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned maxima[] = { 0, 1, 64, AZ_THREADS_MAX, 4294967295u };
	unsigned selector = size ? data[0] : 0;
	char *text = fuzz_string(data, size);

	check_request(text);
	check_count(size ? text + 1 : text, selector & 1,
		    maxima[(selector >> 1) % (sizeof(maxima) / sizeof(maxima[0]))]);
	az_request_parse(text, "AUTOZYME_THREADS", &(az_request){ 0 }, NULL);
	free(text);
	return 0;
}

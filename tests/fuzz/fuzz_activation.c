/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The activation file reader, az_activation_from_json, on exactly the
 * fuzzer's bytes (no NUL terminator: AddressSanitizer catches a read past
 * them).  An accepted document must survive the round trip: the writer
 * accepts it, and reading the writer's JSON gives the same JSON again.
 */
#include "config.h"

#include "azcore.h"
#include "fuzz.h"

static void check_round_trip(const az_activation *act)
{
	az_activation *again = NULL;
	char *json = NULL, *json_again = NULL;
	az_error err = { "" };

	FUZZ_CHECK(az_activation_to_json(act, &json, &err) == AZ_OK,
		   "the writer refuses what the reader accepted: %s", err.message);
	FUZZ_CHECK(az_activation_from_json(json, strlen(json), &again, &err) == AZ_OK,
		   "the reader refuses the writer's JSON: %s", err.message);
	FUZZ_CHECK(az_activation_to_json(again, &json_again, &err) == AZ_OK,
		   "second write: %s", err.message);
	FUZZ_CHECK(strcmp(json, json_again) == 0, "round trip changed\n%s\ninto\n%s",
		   json, json_again);
	free(json);
	free(json_again);
	az_activation_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	az_activation *act = NULL;
	az_error err = { "" };

	if (az_activation_from_json((const char *)data, size, &act, &err) != AZ_OK) {
		FUZZ_CHECK(act == NULL, "output written on failure");
		FUZZ_CHECK(err.message[0] != '\0', "a refusal without a message");
		return 0;
	}
	check_round_trip(act);
	az_activation_free(act);
	return 0;
}

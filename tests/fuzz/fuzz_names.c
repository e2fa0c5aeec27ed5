/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --autozyme-activate, AUTOZYME_ACTIVATE, default_activate and
 * allowed_patches: az_names_parse.  An accepted list holds only valid,
 * distinct names, and a refusal names the option.
 */
#include "config.h"

#include "azcore.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	char **names = NULL;
	size_t count = 0, i, j;
	az_error err = { "" };

	if (az_names_parse(text, "--autozyme-activate", &names, &count, &err) != AZ_OK) {
		FUZZ_CHECK_MESSAGE(err, "--autozyme-activate");
		FUZZ_CHECK(names == NULL && count == 0, "output written on failure");
		free(text);
		return 0;
	}
	FUZZ_CHECK(count >= 1, "'%s' accepted as an empty list", text);
	for (i = 0; i < count; i++) {
		FUZZ_CHECK(az_patch_name_valid(names[i]), "invalid name '%s' kept", names[i]);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(names[i], names[j]) != 0, "duplicate '%s' kept", names[i]);
	}
	az_names_free(names, count);
	free(text);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the libFuzzer targets: turning the fuzzer's bytes into the C
 * strings the parsers take, and stopping loudly when a property fails (an
 * abort is a crash to libFuzzer, so a wrong answer fails run.sh like a
 * memory error does).
 */
#ifndef AZ_FUZZ_H
#define AZ_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A NUL-terminated copy of the input; a NUL inside it ends the string early,
 * as it would for a value coming through argv or the environment. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

#define FUZZ_CHECK(cond, ...)                                              \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "property failed: %s: ", #cond);   \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			abort();                                           \
		}                                                          \
	} while (0)

/* Every refusal carries a message naming what was refused. */
#define FUZZ_CHECK_MESSAGE(err, field)                                     \
	FUZZ_CHECK(strstr((err).message, (field)) != NULL,                 \
		   "message '%s' does not name '%s'", (err).message, (field))

#endif

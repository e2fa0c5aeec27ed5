/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plugstack.conf arguments: spank/plugstack.c's az_plugstack_parse, fed one
 * argument per input line, as Slurm splits the plugstack line on blanks.
 * A refusal leaves a message naming the key (or the unknown argument);
 * an accepted configuration has values within their documented ranges.
 */
#include "config.h"

#include "plugstack.h"
#include "fuzz.h"

#define MAX_ARGS 64

static int split_lines(char *text, char **av)
{
	int ac = 0;
	char *line = text, *nl;

	while (ac < MAX_ARGS && line) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		av[ac++] = line;
		line = nl ? nl + 1 : NULL;
	}
	return ac;
}

static void check_accepted(const struct az_config *c)
{
	size_t i;

	FUZZ_CHECK(c->default_threads <= AZ_THREADS_MAX, "default_threads %u", c->default_threads);
	FUZZ_CHECK(c->max_threads <= AZ_THREADS_MAX, "max_threads %u", c->max_threads);
	FUZZ_CHECK(c->patch_dir && c->patch_dir[0] == '/', "patch_dir '%s'", c->patch_dir);
	FUZZ_CHECK(c->activation_dir && c->activation_dir[0] == '/',
		   "activation_dir '%s'", c->activation_dir);
	for (i = 0; i < c->n_allowed_patches; i++)
		FUZZ_CHECK(az_patch_name_valid(c->allowed_patches[i]),
			   "allowed patch '%s'", c->allowed_patches[i]);
	for (i = 0; c->vars && c->vars[i]; i++)
		FUZZ_CHECK(c->vars[i][0] != '\0', "empty variable name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct az_config config; /* zeroed: az_plugstack_parse frees it first */
	char *text = fuzz_string(data, size);
	char *av[MAX_ARGS];
	int ac = size ? split_lines(text, av) : 0;

	if (az_plugstack_parse(&config, ac, av) == 0)
		check_accepted(&config);
	else
		/* Room to spare: a long value never crowds out the accepted form. */
		FUZZ_CHECK(strstr(az_plugstack_error(), "expected") &&
			   strlen(az_plugstack_error()) < 400,
			   "refusal message '%s'", az_plugstack_error());
	az_plugstack_free(&config);
	free(text);
	return 0;
}

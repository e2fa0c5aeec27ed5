/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The user's options: --autozyme-threads, --autozyme-activate and
 * --autozyme-verbose, in srun, sbatch, salloc and slurmstepd.  Slurm may call
 * a callback more than once (sbatch's values reach inner sruns, then the
 * srun's own value); each call replaces the previous value.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "plugstack.h"

/* Slurm's option callbacks take no context: what they parse lives here,
 * and the rest of the plugin reads it through az_options_get(). */
static struct az_options parsed;

static int replace_option(char **slot, const char *value)
{
	if (az_replace_string(slot, value) == 0)
		return 0;
	slurm_error(AZ_LOG_PREFIX "out of memory");
	return -1;
}

/* Parsed here once; the tasks use the parsed request. */
static int on_threads(int val, const char *optarg, int remote)
{
	az_error err;

	(void)val;
	(void)remote;
	if (az_request_parse(optarg, AZ_OPT_THREADS, &parsed.threads, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
		return -1;
	}
	parsed.threads_given = true;
	return 0;
}

static int on_activate(int val, const char *optarg, int remote)
{
	char **names = NULL;
	size_t count = 0;
	az_error err;

	(void)val;
	(void)remote;
	if (az_names_parse(optarg, AZ_OPT_ACTIVATE, &names, &count, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
		return -1;
	}
	az_names_free(names, count);
	return replace_option(&parsed.activate, optarg);
}

static int on_verbose(int val, const char *optarg, int remote)
{
	(void)val;
	(void)optarg;
	(void)remote;
	parsed.verbose = true;
	return 0;
}

static struct spank_option options_table[] = {
	{ "autozyme-threads", "N|auto|off",
	  "Threads per task: N (at most the task's CPUs), auto, or off to set nothing",
	  1, 0, on_threads },
	{ "autozyme-activate", "NAME[,NAME...]",
	  "AutoZyme patches to activate in every task", 1, 0, on_activate },
	{ "autozyme-verbose", NULL,
	  "Print each task's thread budget on its stderr", 0, 0, on_verbose },
	SPANK_OPTIONS_TABLE_END
};

int az_options_register(spank_t sp)
{
	struct spank_option *opt;
	spank_err_t rc;

	for (opt = options_table; opt->name; opt++) {
		rc = spank_option_register(sp, opt);
		if (rc != ESPANK_SUCCESS) {
			slurm_error(AZ_LOG_PREFIX "cannot register --%s: %s",
				    opt->name, spank_strerror(rc));
			return -1;
		}
	}
	return 0;
}

const struct az_options *az_options_get(void)
{
	return &parsed;
}

void az_options_free(void)
{
	free(parsed.activate);
	memset(&parsed, 0, sizeof(parsed));
}

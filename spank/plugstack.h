/* SPDX-License-Identifier: BSD-3-Clause */
/* plugstack.c: the site's key=value arguments on the plugin's line in
 * plugstack.conf. */
#ifndef AZ_SPANK_PLUGSTACK_H
#define AZ_SPANK_PLUGSTACK_H

#include <stdbool.h>
#include <stddef.h>

#include "azcore.h"

struct az_config {
	unsigned default_threads; /* 0 = auto */
	unsigned max_threads;     /* 0 = none */
	char *default_activate;   /* NAME[,NAME...] or NULL */
	char **allowed_patches;   /* NULL = every patch of the registry */
	size_t n_allowed_patches;
	char *patch_dir;          /* DIR[:DIR...] */
	char *activation_dir;
	char **vars;              /* NULL-terminated; NULL = the default list */
	bool respect_user_env;
	char *omp_bind;           /* NULL, "spread" or "close" */
	az_smt_policy smt;
};

/* Parse the plugin's arguments (the defaults first); -1 names the bad key
 * in the log and in az_plugstack_error(). */
int az_plugstack_parse(struct az_config *config, int ac, char **av);
void az_plugstack_free(struct az_config *config);
/* The message of the last error, for the job's stderr. */
const char *az_plugstack_error(void);
/* *slot becomes a copy of value (the old one freed); -1 when out of memory. */
int az_replace_string(char **slot, const char *value);

#endif

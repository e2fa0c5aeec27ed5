/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * precedence.c: what the user chose, the command line first, then the
 * job's variables, then the site's defaults; used at submission
 * (submit.c), once per step (step_facts.c, step_env.c) and in each task.
 */
#ifndef AZ_SPANK_PRECEDENCE_H
#define AZ_SPANK_PRECEDENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "azcore.h"
#include "options.h"
#include "plugstack.h"

/* The request: --autozyme-threads, else AUTOZYME_THREADS, else
 * AUTOZYMER_THREADS (az_request_choose); -1 (logged) when malformed. */
int az_precedence_request(const struct az_options *options, const az_env *env,
			  az_request *out, bool *explicit_count);
/* The patch list: --autozyme-activate, else AUTOZYME_ACTIVATE, else the
 * site's default_activate; -1 (logged) when malformed. */
int az_precedence_patches(const struct az_options *options, const az_env *env,
			  const struct az_config *config, char ***names, size_t *count);
/* Where az_precedence_patches takes the list from, for messages. */
const char *az_precedence_patches_field(const struct az_options *options, const az_env *env,
					const struct az_config *config);
/* Every name known to the registry and allowed by the site (allowed_patches);
 * -1 (logged, naming `field`, the list's source) otherwise. */
int az_precedence_check_patches_from(const struct az_config *config, const az_registry *registry,
				     char **names, size_t count, const char *field);
/* The same, naming --autozyme-activate. */
int az_precedence_check_patches(const struct az_config *config,
				const az_registry *registry, char **names, size_t count);

#endif

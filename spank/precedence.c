/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the user chose for a step: the thread request and the patch list,
 * from the command line, else the job's variables, else the site's
 * defaults (precedence.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <slurm/spank.h>

#include "log.h"
#include "precedence.h"

int az_precedence_request(const struct az_options *options, const az_env *env,
			  az_request *out, bool *explicit_count)
{
	az_request option = options->threads_given ? options->threads
						   : (az_request){ .kind = AZ_REQUEST_UNSET };
	az_error err;

	*explicit_count = options->threads_given;
	if (az_request_choose(&option, env, out, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
		return -1;
	}
	return 0;
}

/* The command line wins; then AUTOZYME_ACTIVATE, then the site's default. */
static const char *patches_source(const struct az_options *options, const az_env *env,
				  const struct az_config *config, const char **field)
{
	const char *from_env = env->get(env->ctx, AZ_ENV_ACTIVATE);

	*field = AZ_OPT_ACTIVATE;
	if (options->activate)
		return options->activate;
	*field = AZ_ENV_ACTIVATE;
	if (from_env && *from_env)
		return from_env;
	*field = "plugstack.conf: default_activate";
	return config->default_activate;
}

const char *az_precedence_patches_field(const struct az_options *options, const az_env *env,
				     const struct az_config *config)
{
	const char *field;

	patches_source(options, env, config, &field);
	return field;
}

int az_precedence_patches(const struct az_options *options, const az_env *env,
		       const struct az_config *config, char ***names, size_t *count)
{
	const char *field, *text = patches_source(options, env, config, &field);
	az_error err;

	*names = NULL;
	*count = 0;
	if (!text)
		return 0;
	if (az_names_parse(text, field, names, count, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
		return -1;
	}
	return 0;
}

static bool patch_allowed(const struct az_config *config, const char *name)
{
	size_t i;

	if (!config->allowed_patches)
		return true;
	for (i = 0; i < config->n_allowed_patches; i++)
		if (strcmp(config->allowed_patches[i], name) == 0)
			return true;
	return false;
}

/* Every name must exist in the registry and be allowed by the site;
 * `field` names where the list came from. */
int az_precedence_check_patches_from(const struct az_config *config, const az_registry *registry,
				  char **names, size_t count, const char *field)
{
	const az_patch *patch;
	size_t i;

	for (i = 0; i < count; i++) {
		if (az_registry_find(registry, names[i], &patch) != AZ_OK) {
			slurm_error(AZ_LOG_PREFIX "%s: unknown patch '%s': expected NAME[,NAME...] of patches in %s",
				    field, names[i], config->patch_dir);
			return -1;
		}
		if (!patch_allowed(config, names[i])) {
			slurm_error(AZ_LOG_PREFIX "%s: patch '%s' is not allowed on this cluster (allowed_patches in plugstack.conf)",
				    field, names[i]);
			return -1;
		}
	}
	return 0;
}

int az_precedence_check_patches(const struct az_config *config,
			     const az_registry *registry, char **names, size_t count)
{
	return az_precedence_check_patches_from(config, registry, names, count, AZ_OPT_ACTIVATE);
}

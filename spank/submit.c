/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * srun, sbatch and salloc: refuse bad input at submission, before anything
 * is queued, with a message naming the option and its accepted form.
 */
#include "config.h"

#include <slurm/spank.h>

#include "log.h"
#include "precedence.h"
#include "submit.h"

static int check_patches(const struct az_config *config, const struct az_options *options,
			 const az_env *env)
{
	az_registry *registry = NULL;
	char **names = NULL;
	size_t count = 0;
	az_error err;
	int rc = -1;

	if (az_precedence_patches(options, env, config, &names, &count) != 0)
		goto fail;
	if (count == 0) {
		rc = 0;
		goto fail;
	}
	if (az_registry_load(config->patch_dir, &registry, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "patch registry: %s", err.message);
		goto fail;
	}
	rc = az_precedence_check_patches_from(config, registry, names, count,
					   az_precedence_patches_field(options, env,
								    config));
fail:
	az_registry_free(registry);
	az_names_free(names, count);
	return rc;
}

int az_submit_check(const struct az_config *config, const struct az_options *options)
{
	az_env env = az_env_process();
	az_request request;
	bool explicit_count;

	if (az_precedence_request(options, &env, &request, &explicit_count) != 0)
		return -1;
	return check_patches(config, options, &env);
}

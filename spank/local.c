/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * srun, sbatch and salloc: refuse bad input at submission, before anything
 * is queued, with a message naming the option and its accepted form.
 */
#include "config.h"

#include "plugin.h"

static int check_patches(const az_env *env)
{
	az_registry *registry = NULL;
	char **names = NULL;
	size_t count = 0;
	az_error err;
	int rc = -1;

	if (az_options_patches(&az_plugin.options, env, &az_plugin.config, &names, &count) != 0)
		goto fail;
	if (count == 0) {
		rc = 0;
		goto fail;
	}
	if (az_registry_load(az_plugin.config.patch_dir, &registry, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "patch registry: %s", err.message);
		goto fail;
	}
	rc = az_options_check_patches_from(&az_plugin.config, registry, names, count,
					   az_options_patches_field(&az_plugin.options, env,
								    &az_plugin.config));
fail:
	az_registry_free(registry);
	az_names_free(names, count);
	return rc;
}

int az_local_post_opt(spank_t sp)
{
	az_env env = az_env_process();
	az_request request;
	bool explicit_count;

	(void)sp;
	if (az_options_request(&az_plugin.options, &env, &request, &explicit_count) != 0)
		return -1;
	return check_patches(&env);
}

/*
 * The user's options: --autozyme-threads, --autozyme-activate and
 * --autozyme-verbose, in srun, sbatch, salloc and slurmstepd.  Slurm may call
 * a callback more than once (sbatch's values reach inner sruns, then the
 * srun's own value); each call replaces the previous value.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "plugin.h"

#define OPT_THREADS "--autozyme-threads"
#define OPT_ACTIVATE "--autozyme-activate"

static int replace_option(char **slot, const char *value)
{
	if (az_replace_string(slot, value) == 0)
		return 0;
	slurm_error(AZ_LOG_PREFIX "out of memory");
	return -1;
}

static int on_threads(int val, const char *optarg, int remote)
{
	az_request request;
	az_error err;

	(void)val;
	(void)remote;
	if (az_request_parse(optarg, OPT_THREADS, &request, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
		return -1;
	}
	return replace_option(&az_plugin.options.threads, optarg);
}

static int on_activate(int val, const char *optarg, int remote)
{
	char **names = NULL;
	size_t count = 0;
	az_error err;

	(void)val;
	(void)remote;
	if (az_names_parse(optarg, OPT_ACTIVATE, &names, &count, &err) != AZ_OK) {
		slurm_error(AZ_LOG_PREFIX "%s", err.message);
		return -1;
	}
	az_names_free(names, count);
	return replace_option(&az_plugin.options.activate, optarg);
}

static int on_verbose(int val, const char *optarg, int remote)
{
	(void)val;
	(void)optarg;
	(void)remote;
	az_plugin.options.verbose = true;
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

void az_options_free(struct az_options *options)
{
	free(options->threads);
	free(options->activate);
	memset(options, 0, sizeof(*options));
}

/*
 * The command line wins; then AUTOZYME_THREADS, then the older spelling
 * AUTOZYMER_THREADS.  A value AutoZyme itself injected into an earlier step
 * is not a request.
 */
int az_options_request(const struct az_options *options, const az_env *env,
		       az_request *out, bool *explicit_count)
{
	static const char *const variables[] = { "AUTOZYME_THREADS", "AUTOZYMER_THREADS" };
	const char *text = options->threads, *field = OPT_THREADS;
	az_error err;
	size_t i;

	for (i = 0; !text && i < 2; i++)
		if (az_env_user_value(env, variables[i])) {
			text = env->get(env->ctx, variables[i]);
			field = variables[i];
		}
	*explicit_count = options->threads != NULL;
	if (!text) {
		*out = (az_request){ .kind = AZ_REQUEST_UNSET };
		return 0;
	}
	if (az_request_parse(text, field, out, &err) != AZ_OK) {
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

	*field = OPT_ACTIVATE;
	if (options->activate)
		return options->activate;
	*field = AZ_ENV_ACTIVATE;
	if (from_env && *from_env)
		return from_env;
	*field = "plugstack.conf: default_activate";
	return config->default_activate;
}

const char *az_options_patches_field(const struct az_options *options, const az_env *env,
				     const struct az_config *config)
{
	const char *field;

	patches_source(options, env, config, &field);
	return field;
}

int az_options_patches(const struct az_options *options, const az_env *env,
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
int az_options_check_patches_from(const struct az_config *config, const az_registry *registry,
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

int az_options_check_patches(const struct az_config *config,
			     const az_registry *registry, char **names, size_t count)
{
	return az_options_check_patches_from(config, registry, names, count, OPT_ACTIVATE);
}

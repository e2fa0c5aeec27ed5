/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * plugstack.conf arguments: strict key=value.  An unknown key or a bad
 * value is an error naming the key and its accepted form.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slurm/spank.h>

#include "log.h"
#include "plugstack.h"

/* The last error, repeated later where the user can see it (job stderr). */
static char last_error[512];

static void config_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void config_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	slurm_error(AZ_LOG_PREFIX "plugstack.conf: %s", last_error);
}

const char *az_plugstack_error(void)
{
	return last_error;
}

typedef int (*key_parser)(struct az_config *config, const char *key,
			  const char *value);

struct config_key {
	const char *key;
	const char *form;
	key_parser parse;
};

static int parse_threads(unsigned *out, const char *key, const char *value)
{
	az_error err;

	if (az_count_parse(value, key, 1, AZ_THREADS_MAX, out, &err) == AZ_OK)
		return 0;
	config_error("%s", err.message);
	return -1;
}

static int parse_default_threads(struct az_config *c, const char *k, const char *v)
{
	if (strcmp(v, "auto") == 0) {
		c->default_threads = 0;
		return 0;
	}
	return parse_threads(&c->default_threads, k, v);
}

static int parse_max_threads(struct az_config *c, const char *k, const char *v)
{
	return parse_threads(&c->max_threads, k, v);
}

int az_replace_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

/* Validate a patch list now so a typo is reported where it was made. */
static int parse_patch_list(const char *key, const char *value, char ***names,
			    size_t *count)
{
	az_error err;

	if (az_names_parse(value, key, names, count, &err) == AZ_OK)
		return 0;
	config_error("%s", err.message);
	return -1;
}

static int parse_default_activate(struct az_config *c, const char *k, const char *v)
{
	char **names = NULL;
	size_t count = 0;

	if (parse_patch_list(k, v, &names, &count) != 0)
		return -1;
	az_names_free(names, count);
	return az_replace_string(&c->default_activate, v);
}

static int parse_allowed_patches(struct az_config *c, const char *k, const char *v)
{
	az_names_free(c->allowed_patches, c->n_allowed_patches);
	c->allowed_patches = NULL;
	c->n_allowed_patches = 0;
	if (strcmp(v, "*") == 0)
		return 0;
	return parse_patch_list(k, v, &c->allowed_patches, &c->n_allowed_patches);
}

static int parse_directory(char **slot, const char *key, const char *value)
{
	if (value[0] != '/') {
		config_error("%s: invalid value '" AZ_QUOTE "': expected an absolute directory path",
			    key, AZ_QUOTE_ARGS(value));
		return -1;
	}
	return az_replace_string(slot, value);
}

/* DIR[:DIR...], each absolute. */
static int parse_patch_dir(struct az_config *c, const char *k, const char *v)
{
	const char *dir;

	for (dir = v; dir; dir = strchr(dir, ':') ? strchr(dir, ':') + 1 : NULL)
		if (dir[0] != '/') {
			config_error("%s: invalid value '" AZ_QUOTE "': expected DIR[:DIR...] of absolute paths",
				    k, AZ_QUOTE_ARGS(v));
			return -1;
		}
	return az_replace_string(&c->patch_dir, v);
}

static int parse_activation_dir(struct az_config *c, const char *k, const char *v)
{
	return parse_directory(&c->activation_dir, k, v);
}

static void free_vars(char **vars)
{
	size_t i;

	for (i = 0; vars && vars[i]; i++)
		free(vars[i]);
	free(vars);
}

/* NAME[,NAME...]: environment variable names set to the thread count. */
static int parse_vars(struct az_config *c, const char *k, const char *v)
{
	char **vars = NULL;
	size_t n = 0, i;

	if (az_list_split(v, &vars, &n) != AZ_OK)
		return -1;
	for (i = 0; i < n; i++)
		if (!az_var_name_valid(vars[i], strlen(vars[i]))) {
			config_error("%s: invalid value '" AZ_QUOTE "': expected NAME[,NAME...] of environment variable names",
				     k, AZ_QUOTE_ARGS(v));
			az_names_free(vars, n);
			return -1;
		}
	free_vars(c->vars);
	c->vars = vars;
	return 0;
}

/* One of a fixed set of words; returns its index or -1 after an error. */
static int parse_choice(const char *key, const char *value,
			const char *const *choices, const char *form)
{
	int i;

	for (i = 0; choices[i]; i++)
		if (strcmp(value, choices[i]) == 0)
			return i;
	config_error("%s: invalid value '" AZ_QUOTE "': expected %s",
		    key, AZ_QUOTE_ARGS(value), form);
	return -1;
}

static int parse_respect_user_env(struct az_config *c, const char *k, const char *v)
{
	static const char *const words[] = { "no", "yes", NULL };
	int choice = parse_choice(k, v, words, "yes or no");

	if (choice < 0)
		return -1;
	c->respect_user_env = choice == 1;
	return 0;
}

static int parse_omp_bind(struct az_config *c, const char *k, const char *v)
{
	static const char *const words[] = { "off", "spread", "close", NULL };
	int choice = parse_choice(k, v, words, "off, spread or close");

	if (choice < 0)
		return -1;
	free(c->omp_bind);
	c->omp_bind = NULL;
	return choice == 0 ? 0 : az_replace_string(&c->omp_bind, v);
}

static int parse_smt(struct az_config *c, const char *k, const char *v)
{
	static const char *const words[] = { "pus", "cores", NULL };
	int choice = parse_choice(k, v, words, "pus or cores");

	if (choice < 0)
		return -1;
	c->smt = choice == 1 ? AZ_SMT_CORES : AZ_SMT_PUS;
	return 0;
}

static const struct config_key config_keys[] = {
	{ "default_threads", "N or auto", parse_default_threads },
	{ "max_threads", "N", parse_max_threads },
	{ "default_activate", "NAME[,NAME...]", parse_default_activate },
	{ "allowed_patches", "NAME[,NAME...] or *", parse_allowed_patches },
	{ "patch_dir", "DIR[:DIR...]", parse_patch_dir },
	{ "activation_dir", "DIR", parse_activation_dir },
	{ "vars", "NAME[,NAME...]", parse_vars },
	{ "respect_user_env", "yes|no", parse_respect_user_env },
	{ "omp_bind", "off|spread|close", parse_omp_bind },
	{ "smt", "pus|cores", parse_smt },
};

#define N_CONFIG_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static void report_unknown_key(const char *arg)
{
	char known[512] = "";
	size_t i;

	for (i = 0; i < N_CONFIG_KEYS; i++) {
		strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
		strncat(known, config_keys[i].key, sizeof(known) - strlen(known) - 1);
	}
	config_error("unknown argument '" AZ_QUOTE "': expected key=value with a key among %s",
		    AZ_QUOTE_ARGS(arg), known);
}

static int parse_argument(struct az_config *config, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t i, key_len = eq ? (size_t)(eq - arg) : 0;

	for (i = 0; eq && i < N_CONFIG_KEYS; i++) {
		if (strlen(config_keys[i].key) != key_len ||
		    strncmp(config_keys[i].key, arg, key_len) != 0)
			continue;
		if (eq[1] == '\0') {
			config_error("%s: empty value: expected %s",
				    config_keys[i].key, config_keys[i].form);
			return -1;
		}
		return config_keys[i].parse(config, config_keys[i].key, eq + 1);
	}
	report_unknown_key(arg);
	return -1;
}

static void set_defaults(struct az_config *config)
{
	memset(config, 0, sizeof(*config));
	config->respect_user_env = true;
	config->smt = AZ_SMT_PUS;
}

int az_plugstack_parse(struct az_config *config, int ac, char **av)
{
	int i;

	az_plugstack_free(config);
	set_defaults(config);
	for (i = 0; i < ac; i++)
		if (parse_argument(config, av[i]) != 0)
			return -1;
	if (!config->patch_dir && az_replace_string(&config->patch_dir, az_registry_default_dir()) != 0)
		return -1;
	if (!config->activation_dir && az_replace_string(&config->activation_dir, "/tmp") != 0)
		return -1;
	return 0;
}

void az_plugstack_free(struct az_config *config)
{
	free(config->default_activate);
	az_names_free(config->allowed_patches, config->n_allowed_patches);
	free(config->patch_dir);
	free(config->activation_dir);
	free_vars(config->vars);
	free(config->omp_bind);
	set_defaults(config);
}

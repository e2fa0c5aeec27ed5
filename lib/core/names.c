/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NAMES_FORM "expected NAME[,NAME...] with names matching " \
	AZI_PATCH_NAME_FORM

/* ASCII ranges on purpose: isalnum() would follow the locale. */
static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_name_char(char c)
{
	return is_name_start(c) || c == '_' || c == '.' || c == '-';
}

bool az_patch_name_valid(const char *name)
{
	size_t i;

	if (!name || !is_name_start(name[0]))
		return false;
	for (i = 1; name[i]; i++)
		if (i >= AZ_PATCH_NAME_MAX || !is_name_char(name[i]))
			return false;
	return true;
}

void az_names_free(char **names, size_t count)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

bool azi_names_contain(char *const *names, size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

char *az_names_join(const char *const *names, size_t count)
{
	size_t i, size = 1;
	char *list;

	for (i = 0; i < count; i++)
		size += strlen(names[i]) + 1;
	list = calloc(1, size);
	for (i = 0; list && i < count; i++)
		strcat(strcat(list, i ? "," : ""), names[i]);
	return list;
}

/* The item at *at of a comma-separated list: its length, and *at moved to
 * the next item; false after the last.  The one way lists are split. */
static bool next_item(const char **at, const char **item, size_t *len)
{
	const char *comma;

	if (!*at)
		return false;
	comma = strchr(*at, ',');
	*item = *at;
	*len = comma ? (size_t)(comma - *at) : strlen(*at);
	*at = comma ? comma + 1 : NULL;
	return true;
}

bool az_list_has(const char *list, const char *name)
{
	size_t len, name_len = strlen(name);
	const char *item;

	while (next_item(&list, &item, &len))
		if (len == name_len && strncmp(item, name, len) == 0)
			return true;
	return false;
}

/* How many items the list holds (at least 1: "" is one empty item). */
static size_t count_items(const char *list)
{
	size_t n = 0, len;
	const char *item;

	while (next_item(&list, &item, &len))
		n++;
	return n;
}

az_status az_list_split(const char *list, char ***items, size_t *count)
{
	size_t n, len;
	const char *at = list, *item;
	char **out;

	if (!(out = calloc(count_items(list) + 1, sizeof(*out))))
		return AZ_ERR_NOMEM;
	for (n = 0; next_item(&at, &item, &len); n++)
		if (!(out[n] = strndup(item, len))) {
			az_names_free(out, n);
			return AZ_ERR_NOMEM;
		}
	*items = out;
	*count = n;
	return AZ_OK;
}

/* Validate one item of the list and append it unless already present. */
static az_status names_add(char **names, size_t *count, const char *item,
			   size_t len, const char *field, const char *text,
			   az_error *err)
{
	char *name;

	if (len == 0)
		return azi_fail(err, AZ_ERR_INVALID,
				"%s: empty patch name in '" AZ_QUOTE "': " NAMES_FORM,
				field, AZ_QUOTE_ARGS(text));
	name = strndup(item, len);
	if (!name)
		return azi_fail(err, AZ_ERR_NOMEM, "%s: out of memory", field);
	if (!az_patch_name_valid(name)) {
		azi_fail(err, AZ_ERR_INVALID,
			 "%s: invalid patch name '" AZ_QUOTE "': " NAMES_FORM,
			 field, AZ_QUOTE_ARGS(name));
		free(name);
		return AZ_ERR_INVALID;
	}
	if (azi_names_contain(names, *count, name))
		free(name);
	else
		names[(*count)++] = name;
	return AZ_OK;
}

az_status az_names_parse(const char *text, const char *field, char ***names,
			 size_t *count, az_error *err)
{
	const char *at = text, *item;
	char **list;
	size_t n = 0, len;
	az_status status = AZ_OK;

	field = field ? field : "patch names";
	if (!text)
		return azi_fail(err, AZ_ERR_INVALID, "%s: no value: " NAMES_FORM,
				field);
	/* One slot per item is enough: duplicates only shrink the list. */
	list = calloc(count_items(text), sizeof(*list));
	if (!list)
		return azi_fail(err, AZ_ERR_NOMEM, "%s: out of memory", field);
	while (status == AZ_OK && next_item(&at, &item, &len))
		status = names_add(list, &n, item, len, field, text, err);
	if (status != AZ_OK) {
		az_names_free(list, n);
		return status;
	}
	*names = list;
	*count = n;
	return AZ_OK;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Patch manifests, through the public API only: the input becomes
 * <tmpdir>/fuzz.json and az_registry_load reads the directory, as the
 * plugin and the runtime do.  A refusal names the file; an accepted
 * manifest is the patch "fuzz" with at least one language side.
 */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "azcore.h"
#include "fuzz.h"

static char dir[64];
static char file[sizeof(dir) + 16];

/* Once per process; the directory goes at exit. */
static void remove_dir(void)
{
	unlink(file);
	rmdir(dir);
}

static void make_dir(void)
{
	if (file[0])
		return;
	/* /dev/shm when there is one: a file written per input runs at memory speed. */
	snprintf(dir, sizeof(dir), "%s/az-fuzz-manifest.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
	snprintf(file, sizeof(file), "%s/fuzz.json", dir);
	atexit(remove_dir);
}

static void write_manifest(const uint8_t *data, size_t size)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0, "cannot create %s", file);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size, "short write");
	close(fd);
}

static void check_loaded(const az_registry *reg)
{
	const az_patch *patch = az_registry_at(reg, 0);

	FUZZ_CHECK(az_registry_count(reg) == 1, "%zu patches", az_registry_count(reg));
	FUZZ_CHECK(strcmp(az_patch_name(patch), "fuzz") == 0, "name '%s'", az_patch_name(patch));
	FUZZ_CHECK(az_patch_hook(patch, "python") || az_patch_hook(patch, "r"), "no side");
	FUZZ_CHECK(az_patch_description(patch)[0] && az_patch_version(patch)[0], "empty strings");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	az_registry *reg = NULL;
	az_error err = { "" };

	make_dir();
	write_manifest(data, size);
	if (az_registry_load(dir, &reg, &err) != AZ_OK) {
		FUZZ_CHECK(reg == NULL, "output written on failure");
		FUZZ_CHECK_MESSAGE(err, file);
		return 0;
	}
	check_loaded(reg);
	az_registry_free(reg);
	return 0;
}

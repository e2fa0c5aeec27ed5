/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading slurmstepd's module, autozyme_stepd.so, from the directory that
 * holds this plugin (the site's plugin directory, or a build tree).  Only
 * slurmstepd loads it, so srun, sbatch and salloc never map hwloc.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <slurm/spank.h>

#include "log.h"
#include "stepd_loader.h"

/* "<directory of autozyme.so>/autozyme_stepd.so"; -1 when it cannot be told. */
static int module_path(char *path, size_t len)
{
	Dl_info self;
	const char *slash;
	int written;

	if (dladdr((void *)az_stepd_load, &self) == 0 || !self.dli_fname ||
	    !(slash = strrchr(self.dli_fname, '/'))) {
		slurm_error(AZ_LOG_PREFIX "cannot tell which directory holds autozyme.so");
		return -1;
	}
	written = snprintf(path, len, "%.*s/%s", (int)(slash - self.dli_fname),
			   self.dli_fname, AZ_STEPD_MODULE);
	if (written < 0 || (size_t)written >= len) {
		slurm_error(AZ_LOG_PREFIX "the plugin's directory name is too long");
		return -1;
	}
	return 0;
}

int az_stepd_load(struct az_stepd_module *module)
{
	char path[4096];
	void *handle = NULL;

	if (module_path(path, sizeof(path)) != 0)
		goto fail;
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		slurm_error(AZ_LOG_PREFIX "cannot load %s: %s", path, dlerror());
		goto fail;
	}
	module->ops = dlsym(handle, AZ_STEPD_OPS);
	if (!module->ops) {
		slurm_error(AZ_LOG_PREFIX "%s has no %s: a module of another version?",
			    path, AZ_STEPD_OPS);
		goto fail;
	}
	module->handle = handle;
	return 0;
fail:
	if (handle)
		dlclose(handle);
	module->ops = NULL;
	return -1;
}

void az_stepd_unload(struct az_stepd_module *module)
{
	if (module->handle)
		dlclose(module->handle);
	module->handle = NULL;
	module->ops = NULL;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatcher: Slurm calls these entry points in every context; each
 * one hands over to the module of the context it runs in.
 */
#include "config.h"

#include <slurm/spank.h>

#include "log.h"
#include "options.h"
#include "plugstack.h"
#include "stepd_loader.h"
#include "submit.h"

SPANK_PLUGIN(autozyme, 1);

#if HAVE_DECL_ESPANK_JOB_FAILURE
/* Slurm 26.05 and later: should a callback ever fail on a compute node,
 * fail that job only; the default (ESPANK_NODE_FAILURE) drains the node. */
int slurm_spank_init_failure_mode = ESPANK_JOB_FAILURE;
#endif

/* Whether a failure on a compute node fails the job only (above), not the node. */
static const bool fails_the_job_only = HAVE_DECL_ESPANK_JOB_FAILURE;

/* The front plugin's state, this file's alone: the site's configuration
 * and, in slurmstepd, the step module. */
static struct {
	bool config_ok; /* plugstack.conf arguments parsed */
	struct az_config config;
	struct az_stepd_module stepd;
} plugin;

/*
 * plugstack.conf is broken on this compute node (it passed at submission).
 * Where Slurm can fail just the job, it does, naming the key in the slurmd
 * log (the batch step fails before its output files exist); elsewhere
 * failing would drain the node, so the plugin stands aside and user_init
 * says why, in the job's stderr.
 */
static int remote_config_broken(void)
{
	if (!fails_the_job_only)
		return 0;
	slurm_error(AZ_LOG_PREFIX "plugstack.conf on this node: %s; the job fails, the node stays up",
		    az_plugstack_error());
	return -1;
}

/* slurmstepd: the configuration is good; load the module that does the work.
 * Without it (a broken installation) the job fails or the plugin stands
 * aside, as above. */
static int remote_init(void)
{
	if (az_stepd_load(&plugin.stepd) == 0)
		return 0;
	slurm_error(AZ_LOG_PREFIX "%s", fails_the_job_only ? "the job fails, the node stays up"
							 : "thread budgets disabled on this node");
	return fails_the_job_only ? -1 : 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
	case S_CTX_REMOTE:
		break;
	default:
		return 0;
	}
	/* A broken plugstack.conf is refused at submission; on a compute node
	 * (from Slurm 25.05 any non-zero return is an error) see
	 * remote_config_broken. */
	if (az_options_register(sp) != 0)
		return spank_context() == S_CTX_REMOTE ? 0 : -1;
	plugin.config_ok = az_plugstack_parse(&plugin.config, ac, av) == 0;
	if (spank_context() != S_CTX_REMOTE)
		return plugin.config_ok ? 0 : -1;
	return plugin.config_ok ? remote_init() : remote_config_broken();
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)sp;
	(void)ac;
	(void)av;
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		return az_submit_check(&plugin.config, az_options_get());
	default:
		return 0;
	}
}

/* The module is loaded in slurmstepd only.  These never fail: a failed
 * user_init drains the node, a failed task_init fails the user's task over
 * a budget problem. */
int slurm_spank_user_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_REMOTE && !plugin.config_ok)
		slurm_error(AZ_LOG_PREFIX "plugstack.conf: %s; thread budgets disabled on this node",
			    az_plugstack_error());
	if (plugin.stepd.ops)
		plugin.stepd.ops->user_init(sp, &plugin.config, az_options_get());
	return 0;
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (plugin.stepd.ops)
		plugin.stepd.ops->task_init(sp, &plugin.config, az_options_get());
	return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (plugin.stepd.ops)
		plugin.stepd.ops->exit(sp, &plugin.config);
	az_stepd_unload(&plugin.stepd);
	az_options_free();
	az_plugstack_free(&plugin.config);
	return 0;
}

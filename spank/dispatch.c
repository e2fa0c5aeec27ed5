/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dispatcher: Slurm calls these entry points in every context; each
 * one hands over to the module of the context it runs in.
 */
#include "config.h"

#include <slurm/spank.h>

#include "plugin.h"

SPANK_PLUGIN(autozyme, 1);

#if HAVE_DECL_ESPANK_JOB_FAILURE
/* Slurm 26.05 and later: should a callback ever fail on a compute node,
 * fail that job only; the default (ESPANK_NODE_FAILURE) drains the node. */
int slurm_spank_init_failure_mode = ESPANK_JOB_FAILURE;
#endif

/* Whether a failure on a compute node fails the job only (above), not the node. */
static const bool fails_the_job_only = HAVE_DECL_ESPANK_JOB_FAILURE;

struct az_plugin az_plugin;

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
		    az_config_error());
	return -1;
}

/* slurmstepd: the configuration is good; load the module that does the work.
 * Without it (a broken installation) the job fails or the plugin stands
 * aside, as above. */
static int remote_init(void)
{
	if (az_stepd_load(&az_plugin) == 0)
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
	az_plugin.config_ok = az_config_parse(&az_plugin.config, ac, av) == 0;
	if (spank_context() != S_CTX_REMOTE)
		return az_plugin.config_ok ? 0 : -1;
	return az_plugin.config_ok ? remote_init() : remote_config_broken();
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	switch (spank_context()) {
	case S_CTX_LOCAL:
	case S_CTX_ALLOCATOR:
		return az_local_post_opt(sp);
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
	if (spank_context() == S_CTX_REMOTE && !az_plugin.config_ok)
		slurm_error(AZ_LOG_PREFIX "plugstack.conf: %s; thread budgets disabled on this node",
			    az_config_error());
	if (az_plugin.stepd)
		az_plugin.stepd->user_init(sp, &az_plugin.config, &az_plugin.options);
	return 0;
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (az_plugin.stepd)
		az_plugin.stepd->task_init(sp, &az_plugin.config, &az_plugin.options);
	return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (az_plugin.stepd)
		az_plugin.stepd->exit(sp, &az_plugin.config);
	az_stepd_unload(&az_plugin);
	az_options_free(&az_plugin.options);
	az_config_free(&az_plugin.config);
	return 0;
}

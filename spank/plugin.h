/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The AutoZyme SPANK plugin: shared state and the entry points of each
 * module.  Every message starts with "autozyme: ".
 */
#ifndef AZ_PLUGIN_H
#define AZ_PLUGIN_H

#include <stdbool.h>
#include <time.h>
#include <sys/types.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "azcore.h"

#define AZ_LOG_PREFIX "autozyme: "
#define AZ_OPT_THREADS "--autozyme-threads"
#define AZ_OPT_ACTIVATE "--autozyme-activate"

/* plugstack.conf arguments (config.c). */
struct az_config {
	unsigned default_threads; /* 0 = auto */
	unsigned max_threads;     /* 0 = none */
	char *default_activate;   /* NAME[,NAME...] or NULL */
	char **allowed_patches;   /* NULL = every patch of the registry */
	size_t n_allowed_patches;
	char *patch_dir;          /* DIR[:DIR...] */
	char *activation_dir;
	char **vars;              /* NULL-terminated; NULL = the default list */
	bool respect_user_env;
	char *omp_bind;           /* NULL, "spread" or "close" */
	az_smt_policy smt;
};

/* What the user asked for on the command line (options.c). */
struct az_options {
	bool threads_given;  /* --autozyme-threads was given ... */
	az_request threads;  /* ... and parsed into this */
	char *activate;      /* --autozyme-activate, validated syntax */
	bool verbose;        /* --autozyme-verbose */
};

/* "batch", "interactive" or the decimal step id, with its NUL. */
#define AZ_STEP_NAME_MAX 16

/* Why a step has no activation file: one line. */
#define AZ_FILES_WHY_MAX 512

/* Computed once per step in slurmstepd, inherited by every task (stepd.c). */
struct az_step {
	bool active;            /* false for the extern step or after a setup error */
	az_topology *topology;
	az_registry *registry;
	az_activation *file;    /* what the step's tasks share: its ids, cpuset,
				 * the budget's inputs, the step's budget (the
				 * one its variables hold), patches, variables */
	az_error shared_error;  /* a malformed request variable, reported by each task */
	bool shared_failed;
	bool patches_dropped;   /* the node's registry lacks one: none activated */
	char *file_path;        /* the activation file, NULL when not written ... */
	int lock_fd;            /* ... its directory, locked while the step lives */
	char file_why[AZ_FILES_WHY_MAX]; /* ... and why, for each task to print */
	uint32_t step_id;
	uid_t uid;
	gid_t gid;
};

/*
 * slurmstepd's part lives in a module of its own, autozyme_stepd.so, beside
 * autozyme.so, loaded only in slurmstepd: srun, sbatch and salloc never map
 * hwloc.  The module exports one table; the front plugin hands it the
 * configuration and the options it parsed.
 */
#define AZ_STEPD_MODULE "autozyme_stepd.so"
#define AZ_STEPD_OPS "az_stepd_ops"
struct az_stepd_ops {
	/* Once per step, before the tasks fork. */
	void (*user_init)(spank_t sp, const struct az_config *config,
			  const struct az_options *options);
	/* In each task, as the user. */
	void (*task_init)(spank_t sp, const struct az_config *config,
			  const struct az_options *options);
	/* At the step's end. */
	void (*exit)(spank_t sp, const struct az_config *config);
};
/* stepd.c, the module's only export. */
extern const struct az_stepd_ops az_stepd_ops;

/* The front plugin's state (dispatch.c). */
struct az_plugin {
	bool config_ok; /* plugstack.conf arguments parsed */
	struct az_config config;
	struct az_options options;
	void *stepd_handle; /* autozyme_stepd.so, in slurmstepd */
	const struct az_stepd_ops *stepd;
};

extern struct az_plugin az_plugin;

/* config.c */
int az_config_parse(struct az_config *config, int ac, char **av);
void az_config_free(struct az_config *config);
/* The message of the last configuration error. */
const char *az_config_error(void);
/* *slot becomes a copy of value (the old one freed); -1 when out of memory. */
int az_replace_string(char **slot, const char *value);

/* options.c */
int az_options_register(spank_t sp);
void az_options_free(struct az_options *options);

/* choices.c */
/* The request: the command line, else AUTOZYME_THREADS, else AUTOZYMER_THREADS. */
int az_options_request(const struct az_options *options, const az_env *env,
		       az_request *out, bool *explicit_count);
/* The patch list: the command line, else AUTOZYME_ACTIVATE, else the site's. */
int az_options_patches(const struct az_options *options, const az_env *env,
		       const struct az_config *config, char ***names, size_t *count);
int az_options_check_patches(const struct az_config *config,
			     const az_registry *registry, char **names, size_t count);
/* The same, naming `field` (the list's source) in errors. */
int az_options_check_patches_from(const struct az_config *config, const az_registry *registry,
				  char **names, size_t count, const char *field);
/* Where az_options_patches takes the list from: the option, the variable or the site's key. */
const char *az_options_patches_field(const struct az_options *options, const az_env *env,
				     const struct az_config *config);

/* spank_env.c: an az_env over the job environment of a SPANK handle. */
struct az_spank_env {
	spank_t sp;
	char value[4096];
};
az_env az_spank_env(struct az_spank_env *storage, spank_t sp);

/* local.c: srun, sbatch and salloc. */
int az_local_post_opt(spank_t sp);

/* module.c: load and unload autozyme_stepd.so (slurmstepd only). */
int az_stepd_load(struct az_plugin *plugin);
void az_stepd_unload(struct az_plugin *plugin);

/* stepd.c: this thread's CPU clock (a system call: no vDSO serves it), and
 * the milliseconds of it since `start`, for the debug lines. */
void az_cpu_clock(struct timespec *now);
double az_cpu_ms_since(const struct timespec *start);

/* step_env.c: the step's variables, patches and activation file, in user_init. */
int az_step_publish(spank_t sp, struct az_step *step, const struct az_config *config,
		    const struct az_options *options);

/* task.c: one task's budget, and its own variables when they differ from the step's. */
int az_task_setup(spank_t sp, const struct az_step *step, const struct az_config *config,
		  const struct az_options *options);

/* files.c: activation files, created and removed as the job's user. */
/* "autozyme.<uid>.<job>", the job directory's name in activation_dir. */
void az_files_job_dir_name(uid_t uid, uint32_t job_id, char *buf, size_t len);
/* "batch", "interactive" or the decimal step id. */
void az_files_step_name(uint32_t step_id, char buf[AZ_STEP_NAME_MAX]);
/*
 * Create <base>/autozyme.<uid>.<job>/<step>.node<id>.json (0700 dir, 0600
 * file) with the caller's effective ids, which must be the user's (user_init
 * runs so); 0, its path and the job directory's descriptor holding a shared
 * lock for the step's life, or -1 and why.
 */
int az_files_write_step(const char *base, uid_t uid, gid_t gid, uint32_t job_id,
			const char *step_name, uint32_t node_id, const char *json,
			char **path_out, int *lock_fd, char why[AZ_FILES_WHY_MAX]);
/* Close the step's lock (-1: none), then, as the user, remove this node's
 * file of the step and sweep the job's directory if no step of the job
 * holds it any more. */
void az_files_remove_step(const char *base, uid_t uid, gid_t gid, uint32_t job_id,
			  const char *step_name, uint32_t node_id, int lock_fd);
/* As the user: the job's directory and every regular file in it, unless a
 * step of the job holds it. */
void az_files_sweep_job(const char *base, uid_t uid, gid_t gid, uint32_t job_id);

/* sweep.c: at each step's end, every job directory of activation_dir that
 * no slurmstepd holds (what killed ones left), each as its owner. */
void az_sweep_stale(const char *base);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the runtime's unit tests share (runtime_fixture.c).  The runtime's
 * state is process-global and computed once, so every test relies on
 * Criterion running it in its own fresh process (the default; never run
 * these binaries with --no-fork) and sets the environment it needs, after
 * clean_env, before the first runtime call.
 */
#ifndef AZ_TEST_RUNTIME_FIXTURE_H
#define AZ_TEST_RUNTIME_FIXTURE_H

#include <cjson/cJSON.h>

#include "process_budget.h"

/* The source tree (AZ_TEST_SRCDIR), for the shipped patches. */
const char *srcdir(void);
/* Every suite's .init: nothing from the developer's shell or a Slurm job
 * leaks in, and the shipped patches are the registry. */
void clean_env(void);
/* clean_env, then stderr captured for cr_expect_stderr_eq_str. */
void clean_env_and_capture_stderr(void);
/* A fresh file in a fresh directory; the caller frees the path. */
char *write_file(const char *text);
/* Remove a file of write_file and its directory, and free the path. */
void remove_file(char *path);
/* The PUs this process may run on. */
unsigned own_pus(void);
/* An activation file of a one-task step, --cpus-per-task=`threads`, on a
 * cpuset of `pus` PUs, named by AUTOZYME_ACTIVATION_FILE. */
char *write_activation_file_of(unsigned threads, unsigned pus);
/* The same on cpuset 0-3 (4 PUs). */
char *write_activation_file(unsigned threads);
/* The runtime's budget, which must be known. */
az_budget budget(void);
void expect_budget(unsigned threads, az_provenance provenance);
/* thread_info() parsed; cJSON_Delete it. */
cJSON *thread_info(void);
/* obj's field `key`, which must exist (and be a string, a number). */
const cJSON *field(const cJSON *obj, const char *key);
const char *string_field(const cJSON *obj, const char *key);
double number_field(const cJSON *obj, const char *key);
/* activate(name) from `language`, which must succeed. */
const az_patch *activate(const char *name, const char *language);
/* The variable `name` is set, to `value`. */
void expect_var(const char *name, const char *value);
/* az_runtime_pool_start(workers), which must succeed: the share. */
az_worker_share pool_start(unsigned workers);
/* az_runtime_threads(), which must be on: the count in force. */
unsigned threads_in_force(void);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One process's runtime state and its lock.  The state is process-global,
 * computed lazily once and guarded by one mutex (Python and R may call in
 * from several threads).  A fork() child keeps the state: that is how fork
 * workers (multiprocessing on Linux, mclapply, MulticoreParam) inherit the
 * active patches.  Fresh interpreters (spawn, loky, makeCluster) start
 * empty and activate themselves from the environment the runtime exports:
 * AUTOZYME_ACTIVATE and the variables.
 */
#include "config.h"

#include <pthread.h>

#include "state.h"

static pthread_mutex_t runtime_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;
azi_runtime azi_rt;

static void lock_mutex(void)
{
	pthread_mutex_lock(&runtime_mutex);
}

void azi_runtime_unlock(void)
{
	pthread_mutex_unlock(&runtime_mutex);
}

/* fork() while another thread holds the mutex would leave it locked in the
 * child forever; holding it across fork() makes the child's copy sane. */
static void register_fork_handlers(void)
{
	pthread_atfork(lock_mutex, azi_runtime_unlock, azi_runtime_unlock);
}

void azi_runtime_lock(void)
{
	pthread_once(&fork_handlers_once, register_fork_handlers);
	lock_mutex();
}


/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * threads.h - the count in force written to the thread variables and
 * the loaded BLAS and OpenMP pools (threads.c).  For lib/runtime.
 */
#ifndef AZI_THREADS_H
#define AZI_THREADS_H

#include "azcore.h"

/*
 * Lock held.  The count in force to the variables the user did not set,
 * then each loaded pool to its own variable's user value, else the count.
 */
az_status azi_apply_threads(az_error *err);

#endif

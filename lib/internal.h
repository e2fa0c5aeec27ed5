/* Private helpers shared by the core's modules; never installed.
 * Their azi_ prefix keeps them out of the exported az_* symbols. */
#ifndef AUTOZYME_INTERNAL_H
#define AUTOZYME_INTERNAL_H

#include "autozyme.h"

/* Fill err (when not NULL) with a printf-style message; returns status. */
az_status azi_fail(az_error *err, az_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Every message of the plugin, in the slurmd log or a user's terminal,
 * starts with this, so that a site can grep for it. */
#ifndef AZ_SPANK_LOG_H
#define AZ_SPANK_LOG_H

#define AZ_LOG_PREFIX "autozyme: "

#endif

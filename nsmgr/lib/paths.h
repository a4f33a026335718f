/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where things live. The same places `ip netns` uses, so both tools see
 * each other's namespaces. */
#define NETNS_RUN_DIR    "/run/netns"
#define NETNS_ETC_DIR    "/etc/netns"
#define NSMGR_RUN_DIR    "/run/nsmgr"
#define NSMGR_STATE_DIR  "/var/lib/nsmgr"
#define NSMGR_CONF_DIR   "/etc/nsmgr"
#define NSMGR_CONF_FILE  NSMGR_CONF_DIR "/nsmgr.conf"
#define NSMGR_CONF_D     NSMGR_CONF_DIR "/conf.d"
#define NSMGR_STATE_FILE NSMGR_RUN_DIR "/state.json"

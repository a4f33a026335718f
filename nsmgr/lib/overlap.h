/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"

/* A network whose subnet overlaps an address the host already has would
 * route part of that subnet two ways: like podman, apply refuses it. Only
 * networks not made yet are checked (their bridge does not exist), so an
 * address added later does not stop nsmgrd from keeping what it made; and
 * only addresses on links that are not nsmgr's: not on a bridge or veth end
 * the config declares, not on a link nsmgr recorded as its own. Reads the
 * calling thread's namespace (the host); changes nothing. Returns
 * -EADDRINUSE with one sentence, and the host interface in *ret_ifname. */
int networks_check_host_overlap(const Config *cfg, char **ret_ifname, NmError *err);

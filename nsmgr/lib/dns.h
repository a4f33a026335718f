/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"

/* The files `ip netns exec` and `nsmgrctl exec` bind over /etc, rendered
 * from a namespace's dns setting: resolv.conf (nameservers, search,
 * options) and hosts (localhost entries, then the declared ones). Either
 * may be NULL when nothing of its kind is declared. */
int dns_render(const Netns *ns, char **ret_resolv, char **ret_hosts);

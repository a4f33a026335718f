/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <linux/netlink.h>

#include "observed.h"

/* A link as the kernel reports it (RTM_NEWLINK, from a dump or a get),
 * read straight from its attributes into what nsmgr compares: no libnl
 * link object, whose parse copies every IPv4 and IPv6 setting of the link
 * and allocates a second object for a veth's peer -- most of a re-apply's
 * own work after the kernel's. -EINVAL: not a link message, or a link
 * without a name. */
int obs_link_from_msg(const struct nlmsghdr *h, ObsLink *ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "ipaddr.h"
#include "nl.h"

/* A route as nsmgr names it. */
typedef struct RouteSpec {
        Cidr dst;            /* prefixlen 0: default */
        Cidr via;            /* family 0: none */
        const char *dev;     /* NULL: none */
        uint32_t metric;
        uint32_t table;
} RouteSpec;

/* The kernel gives IPv6 routes without a metric 1024 (IP6_RT_PRIO_USER). */
#define IPV6_DEFAULT_METRIC 1024

/* Adds (or replaces, at the same place) a unicast route, marked as nsmgr's
 * (marks.h); oif is the ifindex of rs->dev, 0 for none. */
int route_add(NlSock *nl, const RouteSpec *rs, int oif);
/* Removes it; -ESRCH when it is not there. */
int route_del(NlSock *nl, const RouteSpec *rs, int oif);

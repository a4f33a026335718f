/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nl.h"

/* Generic operations on links of any kind, by ifindex, one request each. */

/* Link changes in one request: any of master (>= 0; 0 releases), mtu
 * (> 0), up (0 down, 1 up, -1 leave), the MAC address, the link group and,
 * when ipv6_off, no IPv6 link-local address (addr_gen_mode none) before the
 * link comes up. */
typedef struct LinkChange {
        int master;
        uint32_t mtu;
        int up;
        bool ipv6_off;
        const uint8_t *mac;      /* 6 bytes; NULL: leave */
        uint32_t group;          /* 0: leave */
} LinkChange;
#define LINK_CHANGE_NONE ((LinkChange) { .master = -1, .up = -1 })

int link_change(NlSock *nl, int ifindex, const LinkChange *c);
int link_delete(NlSock *nl, int ifindex);
/* The ifindex of a link by name, asking the kernel; and its IFLA_LINK (a
 * veth's peer; 0 for none) if ret_link. */
int link_ifindex(NlSock *nl, const char *name, int *ret);
int link_ifindex_peer(NlSock *nl, const char *name, int *ret, int *ret_link);
/* Sets IFF_UP on the link with this index (one RTM_NEWLINK, no lookup). */
int link_set_up_index(NlSock *nl, int ifindex);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "ipaddr.h"
#include "nl.h"

/* One attachment of a namespace to a network, made directly, in a handful
 * of netlink requests whatever else exists: a veth whose host end is a port
 * of the network's bridge and whose other end is made in the namespace,
 * its addresses, the link and loopback up, the default routes via the
 * gateways. Exactly what the engine (reconcile.c) makes for a run-time
 * attachment -- the same veth, host end name, addresses, routes, and no
 * IPv6 link-local address without IPv6 -- so that nsmgrd finds nothing to
 * change and repairs it like its own when it drifts. The CNI plugin's
 * ADD, DEL and CHECK cost O(1) this way, with any number of pods. */

typedef struct PodWire {
        const char *bridge;         /* the network's bridge in the host */
        int bridge_ifindex;         /* its index if the caller looked it up already; 0: looked up here */
        const char *host_ifname;    /* the veth's host end: veth_peer_name_derive(netns, ifname) */
        const char *ifname;         /* its end in the namespace */
        int nsfd;
        Cidr addr4, addr6;          /* with the subnet's prefix; family 0: none */
        Cidr gw4, gw6;
        /* The caller is a single-threaded, short-lived process (the CNI
         * plugin): the socket in the namespace is made by stepping in and
         * straight back out instead of from a thread, whose stack mapping
         * and TLB flushes cost more than the rest of a request on a VM. */
        bool single_threaded;
} PodWire;

typedef struct PodLinks {
        int host_ifindex;
        int ifindex;
        char host_mac[18];
        char mac[18];
        uint32_t mtu;
        bool route4, route6;        /* the default route is ours (made now or before) */
} PodLinks;

/* Makes the attachment, or completes one that is there already (the same
 * veth pair: an ADD run again). -ENODEV: the bridge does not exist;
 * -EEXIST: ifname is taken in the namespace by another interface (err
 * says so), or the host end's name by a link that is not this pair. What
 * was made is undone on failure. */
int pod_wire(NlSock *host, const PodWire *w, PodLinks *ret, NmError *err);

/* Deletes the veth by its host end, if that is a veth: the end in the
 * namespace goes with it. 1 if deleted, 0 if there was none. */
int pod_unwire(NlSock *host, const char *host_ifname, NmError *err);

/* What is there of an attachment, for CHECK. */
typedef struct PodState {
        bool host_end;              /* a veth of that name in the host */
        bool on_bridge;             /* ... and a port of the bridge */
        bool host_up;
        bool inner;                 /* ifname exists in the namespace */
        bool paired;                /* ... and is the other end of the host end */
        bool inner_up;
        bool addr4, addr6;          /* the addresses are on it */
        bool route4, route6;        /* default routes via the gateways on it */
        PodLinks links;
} PodState;

int pod_inspect(NlSock *host, const PodWire *w, PodState *ret, NmError *err);

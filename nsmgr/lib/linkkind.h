/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"
#include "nl.h"

/* Where and how a declared interface is made. Every link is created where
 * it belongs, in one request: a veth from the host with its inner end
 * already in the target namespace (IFLA_NET_NS_FD on the peer), a macvlan
 * from the host straight into the namespace. Moving an existing interface
 * between namespaces costs tens of times more than creating it in place. */
typedef struct LinkEnv {
        NlSock *host;            /* a socket in the host namespace */
        NlSock *nl;              /* a socket in the namespace the link lives in */
        int nsfd;                /* that namespace */
        int peer_nsfd;           /* veth: namespace of the peer; -1 for the host */
        int bridge_ifindex;      /* veth: host bridge for the peer, 0 for none */
        int parent_ifindex;      /* macvlan: host parent; vxlan: underlay in the namespace */
} LinkEnv;

typedef struct LinkKindOps {
        IfaceKind kind;
        const char *kernel_kind;       /* IFLA_INFO_KIND */
        const char *feature;           /* what the kernel lacks if it cannot make one */
        /* Creates the link (and a veth's peer), both down, named, with their
         * MTU and a bridge port already enslaved. */
        int (*create)(const LinkEnv *env, const Iface *decl, NmError *err);
        /* True if an existing link of this kind is what decl describes
         * (the kind-specific part: vxlan id and ends, vrf table, ...). */
        bool (*matches)(struct rtnl_link *link, const Iface *decl);
} LinkKindOps;

const LinkKindOps *link_kind_ops(IfaceKind k);

/* A host bridge, down, with the MTU given, and bridge netfilter (its
 * nf_call_iptables, nf_call_ip6tables and nf_call_arptables) on or off. */
int bridge_create(NlSock *host, const char *name, uint32_t mtu, bool netfilter, NmError *err);

/* Link changes in one request: any of master (>= 0; 0 releases), mtu
 * (> 0), up (0 down, 1 up, -1 leave) and, when ipv6_off, no IPv6
 * link-local address (addr_gen_mode none) before the link comes up. */
typedef struct LinkChange {
        int master;
        uint32_t mtu;
        int up;
        bool ipv6_off;
} LinkChange;
#define LINK_CHANGE_NONE ((LinkChange) { .master = -1, .up = -1 })

int link_change(NlSock *nl, int ifindex, const LinkChange *c);
int link_delete(NlSock *nl, int ifindex);
/* The ifindex of a link by name, asking the kernel. */
int link_ifindex(NlSock *nl, const char *name, int *ret);

/* Finds out, in a scratch namespace that vanishes afterwards, whether the
 * kernel can make links of the given kinds (bit i set: IfaceKind i; the
 * bridge is bit _IFACE_KIND_MAX). Returns 0 when all can be made, else
 * -EOPNOTSUPP and err names the first missing feature. */
int link_kinds_probe(unsigned kinds, NmError *err);
#define LINK_KIND_BRIDGE_BIT (1u << _IFACE_KIND_MAX)

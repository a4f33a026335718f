/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"
#include "nl.h"
#include "observed.h"

/* What nsmgr knows about each kind of link it makes, in one table (as
 * systemd-networkd's NetDevVTable and libnl's rtnl_link_info_ops): callers
 * never switch on the kind.
 *
 * Every link is created where it belongs, in one request that also carries
 * nsmgr's mark (marks.h): a veth from the host with its inner end already in
 * the target namespace (IFLA_NET_NS_FD on the peer), a macvlan from the host
 * straight into the namespace. Moving an existing interface between
 * namespaces costs tens of times more than creating it in place. */

typedef enum LinkCreateType {
        LINK_CREATE_INDEPENDENT,   /* stands alone (veth) */
        LINK_CREATE_MASTER,        /* others are enslaved to it (vrf) */
        LINK_CREATE_STACKED,       /* stands on a parent, made after it (macvlan, vxlan) */
} LinkCreateType;

typedef struct LinkEnv {
        NlSock *host;            /* a socket in the host namespace */
        NlSock *nl;              /* a socket in the namespace the link lives in */
        int nsfd;                /* that namespace */
        int peer_nsfd;           /* veth: namespace of the peer; -1 for the host */
        NlSock *peer_nl;         /* veth: a socket there; NULL for the host */
        int bridge_ifindex;      /* veth: host bridge for the peer, 0 for none */
        int parent_ifindex;      /* macvlan: host parent; vxlan: underlay in the namespace */
        const uint8_t *mac;      /* the link's MAC address; NULL: the kernel's */
        const uint8_t *peer_mac; /* veth: the other end's */
} LinkEnv;

typedef struct LinkKindOps {
        IfaceKind kind;
        const char *kernel_kind;       /* IFLA_INFO_KIND */
        const char *feature;           /* what the kernel lacks if it cannot make one */
        LinkCreateType create_type;
        bool has_peer;                 /* a pair whose other end lives in another scope */
        bool parent_in_host;           /* the parent (stacked kinds) is a host interface */
        /* Creates the link (and a veth's peer), both down, named, marked,
         * with their MTU and a bridge port already enslaved. */
        int (*create)(const LinkEnv *env, const Iface *decl, NmError *err);
        /* True if an existing link of this kind is what decl describes
         * (the kind-specific part: vxlan id and ends, vrf table, ...). */
        bool (*matches)(const ObsLink *link, const Iface *decl);
        /* What follows "create KIND NAME" in a plan: ", table 10". peer_scope
         * names where a veth's other end goes ("the host", a namespace). */
        char *(*describe)(const Iface *decl, const char *peer_scope);
} LinkKindOps;

const LinkKindOps *link_kind_ops(IfaceKind k);

/* The parent a stacked link stands on, or NULL. */
const char *link_parent(const Iface *decl);

/* A host bridge, down, marked, with MTU, the given MAC address (so it does
 * not borrow its lowest port's, which changes as ports come and go), and
 * bridge netfilter (its nf_call_iptables, nf_call_ip6tables and
 * nf_call_arptables) on or off. */
int bridge_create(NlSock *host, const char *name, uint32_t mtu, const uint8_t mac[6], bool netfilter, NmError *err);

/* A stable, locally administered MAC address for a link nsmgr makes,
 * derived from the machine ID, the namespace (NULL: the host) and the
 * link's name, as systemd's MACAddressPolicy=persistent derives one: the
 * same every time the link is made (a bridge does not borrow its lowest
 * port's, which changes as ports come and go; a veth made anew after drift
 * keeps the address its neighbours have cached) and different on every
 * machine. The key is the machine ID (or, where there is none, this boot's
 * ID); the address does not reveal it. */
int machine_key_read(uint8_t ret[16]);
void link_mac_derive(const uint8_t key[16], const char *netns, const char *ifname, uint8_t ret[6]);

/* Finds out, in a scratch namespace that vanishes afterwards, whether the
 * kernel can make links of the given kinds (bit i set: IfaceKind i; the
 * bridge is bit _IFACE_KIND_MAX). Returns 0 when all can be made, else
 * -EOPNOTSUPP with *ret_missing the first missing kind and err naming it. */
int link_kinds_probe(unsigned kinds, int *ret_missing, NmError *err);
#define LINK_KIND_BRIDGE_BIT (1u << _IFACE_KIND_MAX)

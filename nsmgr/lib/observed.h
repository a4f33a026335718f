/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "strmap.h"

/* What the kernel holds, as plain typed values: the second stage of the
 * engine (desired -> observed -> plan -> execute). observe.c fills it from
 * rtnetlink dumps; the planner reads nothing else, so its unit tests build
 * an Observed by hand, without root or a kernel. */

typedef struct ObsLink {
        char name[IFNAMSIZ];     /* the kernel's own bound */
        char kind[16];           /* IFLA_INFO_KIND: "veth", "bridge", ...; "" for none */
        int ifindex;
        int master;              /* 0: none */
        int link;                /* IFLA_LINK: a veth's peer, a macvlan's parent; 0: none */
        int link_netnsid;        /* where IFLA_LINK lives, as an nsid of this scope; -1: here */
        uint32_t mtu;
        unsigned flags;          /* IFF_* */
        uint32_t group;          /* NSMGR_LINK_GROUP: nsmgr made it */
        bool mark_inferred;      /* not marked itself, but the other end of a marked veth */
        int addr_gen_mode;       /* IN6_ADDR_GEN_MODE_*; -1: unknown */
        uint8_t mac[6];
        bool has_mac;
        /* Kind-specific, as the kernel reports them. */
        uint32_t vxlan_id;
        uint16_t vxlan_port;
        Cidr vxlan_group;        /* remote or multicast group; family 0: none */
        Cidr vxlan_local;
        uint32_t vrf_table;
        int macvlan_mode;        /* -1: unknown */
} ObsLink;

typedef struct ObsAddr {
        int ifindex;
        Cidr addr;               /* with its prefix length */
        uint8_t proto;           /* IFA_PROTO; NSMGR_RTPROT: nsmgr added it */
} ObsAddr;

typedef struct ObsRoute {
        Cidr dst;                /* prefixlen 0: default */
        Cidr gw;                 /* family 0: none */
        int oif;                 /* 0: none */
        uint32_t table;
        uint32_t metric;
        uint8_t type;            /* RTN_* */
        uint8_t protocol;        /* RTPROT_*; NSMGR_RTPROT: nsmgr made it */
} ObsRoute;

/* DNS files under /etc/netns/NAME/, by DnsFile. */
typedef enum DnsFile {
        DNS_RESOLV_CONF,
        DNS_HOSTS,
        _DNS_FILE_MAX,
} DnsFile;
const char *dns_file_name(DnsFile f);

struct NlSock;

/* The host or one namespace, as this run sees it. The handles (nsfd, nl)
 * are for the execute stage; the planner never uses them. */
typedef struct ObsScope {
        char *name;              /* NULL: the host */
        const Netns *decl;       /* the desired namespace; NULL: the host, or one being torn down */
        bool exists;             /* before this run */
        bool create;             /* this run makes it */
        bool skip;               /* out of this run's reach (a scoped run, a run-time namespace that is gone) */
        ino_t ino;
        uint64_t cookie;         /* SO_NETNS_COOKIE; 0: unknown */
        int nsfd;
        struct NlSock *nl;
        bool nl_borrowed;

        ObsLink *links;          /* sorted by name */
        size_t n_links;
        ObsLink **by_index;      /* the same, sorted by ifindex */
        ObsAddr *addrs;          /* sorted by ifindex */
        size_t n_addrs;
        ObsRoute *routes;
        size_t n_routes;
        bool routes4, routes6;   /* which families were dumped */

        char **sysctls;          /* current values of decl->sysctls (or the host's), NULL entry: no such key */
        size_t n_sysctls;
        char *dns[_DNS_FILE_MAX];   /* current content of the namespace's DNS files; NULL: none */

        int host_nsid;           /* the host as an nsid of this namespace; -1: none */
        StrMap peer_nsid;        /* peer namespace name -> this namespace's nsid there */

        bool created_by_config;  /* owner record: apply made it (tear-down deletes it) */
        size_t n_procs;          /* processes inside (namespaces being torn down) */
} ObsScope;

typedef struct Observed {
        ObsScope host;
        ObsScope *scopes;        /* one per desired namespace, in the desired model's order */
        size_t n_scopes;
        ObsScope *gone;          /* recorded by an earlier run, no longer desired */
        size_t n_gone;
} Observed;

/* An Observed nothing was read into yet (observed_done() may run on it). */
#define OBSERVED_INIT ((Observed) { .host = { .nsfd = -EBADF, .host_nsid = -1 } })

void obs_scope_done(ObsScope *s);
void observed_done(Observed *o);

/* Lookups; NULL when absent. */
const ObsLink *obs_link(const ObsScope *s, const char *name);
const ObsLink *obs_link_by_index(const ObsScope *s, int ifindex);
/* The addresses of one link: a range of s->addrs. */
const ObsAddr *obs_addrs_of(const ObsScope *s, int ifindex, size_t *ret_n);

/* Sorts links by name (and indexes them by ifindex) and addresses by
 * ifindex: observe.c calls it after a dump, tests after building a scope by
 * hand. */
int obs_scope_sort(ObsScope *s);

/* The scope of a desired namespace by name, or the host for NULL. */
ObsScope *observed_scope(Observed *o, const Config *model, const char *name);

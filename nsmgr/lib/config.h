/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "ipaddr.h"
#include "strmap.h"

/* The desired state, as read from the config files (libconfig syntax; the
 * schema is documented in nsmgr.conf(5) and conf/nsmgr.conf). Every object
 * remembers file:line for error messages. */

typedef struct Source {
        const char *file;   /* owned by Config.files */
        int line;
} Source;

typedef struct Sysctl {
        char *key;          /* "net.ipv4.ip_forward" */
        char *value;
        bool late;          /* of an interface that apply may make first */
        Source src;
} Sysctl;

typedef enum IfaceKind {
        IFACE_VETH,
        IFACE_MACVLAN,
        IFACE_VXLAN,
        IFACE_VRF,
        _IFACE_KIND_MAX,
} IfaceKind;

const char *iface_kind_name(IfaceKind k);

typedef struct Iface {
        char *name;
        IfaceKind kind;
        Cidr *addresses;
        size_t n_addresses;
        uint32_t mtu;        /* 0: kernel default */
        bool up;
        int ipv6;            /* -1 auto: link-local only if an IPv6 address is declared */
        Source src;

        /* veth */
        char *bridge;        /* host bridge the peer is enslaved to */
        char *peer_name;     /* derived when not given */
        char *peer_netns;    /* NULL: the host */
        Cidr *peer_addresses;
        size_t n_peer_addresses;
        bool peer_name_derived;
        char *network;       /* set when this veth comes from a network attachment */

        /* macvlan */
        char *parent;        /* host interface (macvlan), underlay in the namespace (vxlan) */
        char *macvlan_mode;

        /* vxlan */
        uint32_t vni;
        Cidr local, remote, group;
        uint16_t port;

        /* vrf */
        uint32_t table;
        char **members;
} Iface;

typedef struct Route {
        Cidr dst;            /* prefixlen 0: default */
        Cidr via;            /* family 0: none */
        char *dev;
        uint32_t metric;
        uint32_t table;      /* 254 (main) by default */
        bool soft;           /* a network's default route: skipped if the namespace has one */
        Source src;
} Route;

typedef struct HostEntry {
        Cidr address;
        char **names;
} HostEntry;

typedef struct Dns {
        bool declared;
        char **nameservers;
        char **search;
        char **options;
        HostEntry *hosts;
        size_t n_hosts;
        Source src;
} Dns;

typedef struct Port {
        uint16_t host_port;
        uint16_t port;
        int proto;           /* IPPROTO_TCP or IPPROTO_UDP */
        Source src;
} Port;

typedef struct Attachment {
        char *network;
        char *ifname;        /* "eth0" etc.; derived when not given */
        Cidr address;        /* family 0: from IPAM */
        Cidr address6;       /* family 0: from IPAM if the network has IPv6 */
        Source src;
} Attachment;

typedef struct Netns {
        char *name;
        Iface *ifaces;
        size_t n_ifaces;
        Route *routes;
        size_t n_routes;
        Sysctl *sysctls;
        size_t n_sysctls;
        Dns dns;
        Attachment *attachments;
        size_t n_attachments;
        Port *ports;
        size_t n_ports;
        bool transient;      /* not declared: only wired for run-time attachments, never made */
        char *path;          /* transient: the path it was attached by (CNI_NETNS, `nsmgrctl attach PATH`);
                              * NULL: /run/netns/NAME */
        uint64_t path_inode; /* ... and its inode then (0: unknown): a path that leads elsewhere now is not it */
        bool incomplete;     /* a problem was found in its declaration: checks that would only repeat it are skipped */
        Source src;
} Netns;

typedef struct Bridge {
        char *name;
        Cidr *addresses;
        size_t n_addresses;
        uint32_t mtu;
        int ipv6;
        bool netfilter;      /* nf_call_iptables/ip6tables/arptables on (made so) */
        char *network;       /* set when the bridge belongs to a network */
        Source src;
} Bridge;

typedef struct Network {
        char *name;
        char *bridge;
        Cidr subnet, subnet6;      /* family 0: not declared */
        Cidr gateway, gateway6;    /* default: first address of the subnet */
        bool masquerade;
        char *uplink;              /* NULL: any interface */
        bool incomplete;           /* as Netns.incomplete */
        Source src;
} Network;

typedef struct Config {
        char **files;        /* every file read, in order */
        Bridge *bridges;
        size_t n_bridges;
        Sysctl *host_sysctls;
        size_t n_host_sysctls;
        Netns *netns;
        size_t n_netns;
        Network *networks;
        size_t n_networks;
        StrMap netns_index;  /* name -> index in netns, once validated */
} Config;

void config_free(Config *c);
/* Frees what an interface holds (not the Iface itself). */
void iface_done(Iface *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
#define _cleanup_config_ _cleanup_(config_freep)

/* The largest config file nsmgr reads: far more than thousands of
 * namespaces need, and a bound on what the parser is given. */
#define CONFIG_FILE_MAX (4 << 20)

/* Reads the config: `path` alone if given, else /etc/nsmgr/nsmgr.conf and
 * then /etc/nsmgr/conf.d/ *.conf in name order (a missing main file is an
 * empty config). Parses and validates everything; on any error nothing is
 * returned and err holds every problem, one "file:line: ..." per line. */
int config_load(const char *path, Config **ret, NmError *err);
/* The same from explicit files (tests, nsmgrd). */
int config_load_files(char *const *files, Config **ret, NmError *err);

const Netns *config_find_netns(const Config *c, const char *name);
/* Keeps the name index in step when namespaces are appended or dropped. */
int config_index_netns(Config *c, size_t i);
void config_unindex_netns(Config *c, size_t i);
const Bridge *config_find_bridge(const Config *c, const char *name);
const Network *config_find_network(const Config *c, const char *name);
const Iface *netns_find_iface(const Netns *ns, const char *name);

/* The host-side name of a veth peer when the config names none: "v" + up
 * to 6 characters of the namespace + "-" + 6 hex digits of a hash of
 * namespace and interface. Deterministic, at most 14 bytes. */
char *veth_peer_name_derive(const char *netns, const char *ifname);

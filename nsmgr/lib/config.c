/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading the config files and checking what no single file can: names
 * declared twice, references to things not declared, conflicting
 * addresses, derived names. */
#include <glob.h>
#include <net/if.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "config-internal.h"
#include "ipam.h"
#include "name.h"
#include "netns.h"
#include "paths.h"
#include "strv.h"

void iface_done(Iface *i) {
        free(i->name);
        free(i->addresses);
        free(i->bridge);
        free(i->peer_name);
        free(i->peer_netns);
        free(i->peer_addresses);
        free(i->network);
        free(i->parent);
        free(i->macvlan_mode);
        strv_free(i->members);
}

static void sysctls_free(Sysctl *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].key);
                free(v[i].value);
        }
        free(v);
}

static void netns_free(Netns *ns) {
        free(ns->name);
        for (size_t i = 0; i < ns->n_ifaces; i++)
                iface_done(&ns->ifaces[i]);
        free(ns->ifaces);
        for (size_t i = 0; i < ns->n_routes; i++)
                free(ns->routes[i].dev);
        free(ns->routes);
        sysctls_free(ns->sysctls, ns->n_sysctls);
        strv_free(ns->dns.nameservers);
        strv_free(ns->dns.search);
        strv_free(ns->dns.options);
        for (size_t i = 0; i < ns->dns.n_hosts; i++)
                strv_free(ns->dns.hosts[i].names);
        free(ns->dns.hosts);
        for (size_t i = 0; i < ns->n_attachments; i++) {
                free(ns->attachments[i].network);
                free(ns->attachments[i].ifname);
        }
        free(ns->attachments);
        free(ns->ports);
}

void config_free(Config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_bridges; i++) {
                free(c->bridges[i].name);
                free(c->bridges[i].addresses);
                free(c->bridges[i].network);
        }
        free(c->bridges);
        sysctls_free(c->host_sysctls, c->n_host_sysctls);
        for (size_t i = 0; i < c->n_netns; i++)
                netns_free(&c->netns[i]);
        free(c->netns);
        for (size_t i = 0; i < c->n_networks; i++) {
                free(c->networks[i].name);
                free(c->networks[i].bridge);
                free(c->networks[i].uplink);
        }
        free(c->networks);
        strv_free(c->files);
        strmap_done(&c->netns_index);
        free(c);
}

const Netns *config_find_netns(const Config *c, const char *name) {
        size_t i;

        /* With a thousand namespaces, a scan per lookup makes apply N^2. */
        if (c->netns_index.n > 0) {
                if (strmap_get(&c->netns_index, name, &i) && i < c->n_netns && c->netns[i].name &&
                    streq(c->netns[i].name, name))
                        return &c->netns[i];
                return NULL;
        }
        for (i = 0; i < c->n_netns; i++)
                if (c->netns[i].name && streq(c->netns[i].name, name))
                        return &c->netns[i];
        return NULL;
}

int config_index_netns(Config *c, size_t i) {
        if (!c->netns[i].name)
                return 0;
        return strmap_put(&c->netns_index, c->netns[i].name, i);
}

void config_unindex_netns(Config *c, size_t i) {
        size_t j;

        if (c->netns[i].name && strmap_get(&c->netns_index, c->netns[i].name, &j) && j == i)
                strmap_remove(&c->netns_index, c->netns[i].name);
}

const Bridge *config_find_bridge(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_bridges; i++)
                if (c->bridges[i].name && streq(c->bridges[i].name, name))
                        return &c->bridges[i];
        return NULL;
}

const Network *config_find_network(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_networks; i++)
                if (c->networks[i].name && streq(c->networks[i].name, name))
                        return &c->networks[i];
        return NULL;
}

const Iface *netns_find_iface(const Netns *ns, const char *name) {
        for (size_t i = 0; i < ns->n_ifaces; i++)
                if (ns->ifaces[i].name && streq(ns->ifaces[i].name, name))
                        return &ns->ifaces[i];
        return NULL;
}

static uint32_t fnv1a(const char *a, const char *b) {
        uint32_t h = 2166136261u;

        for (const char *s = a; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        h = (h ^ 0) * 16777619u;
        for (const char *s = b; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

char *veth_peer_name_derive(const char *netns, const char *ifname) {
        char prefix[7] = {};
        size_t k = 0;
        char *name;

        for (const char *s = netns; *s && k < 6; s++)
                if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
                    *s == '-')
                        prefix[k++] = *s;
        if (asprintf(&name, "v%s-%06x", prefix, fnv1a(netns, ifname) & 0xffffff) < 0)
                return NULL;
        return name;
}

/* Every check below costs O(N log N) or O(N) over the config: names are
 * looked up in maps and duplicates found by sorting, never by comparing
 * each object with all others, so that a config of the largest size
 * nsmgr reads (CONFIG_FILE_MAX) is checked in seconds, not hours. */

typedef struct Checker {
        Config *cfg;
        ConfigErrors *errors;
        StrMap networks;     /* network name -> index in cfg->networks, the first declared */
        StrMap bridges;      /* host.bridges name -> index in cfg->bridges, the first declared */
        StrMap net_bridges;  /* a network's bridge -> index in cfg->networks, the first */
        StrMap host_ends;    /* a veth's host end -> index in host_end_of */
        struct HostEnd {
                const Netns *ns;
                const Iface *iface;
        } *host_end_of;
        size_t n_host_ends, cap_host_ends;
} Checker;

static void checker_done(Checker *c) {
        strmap_done(&c->networks);
        strmap_done(&c->bridges);
        strmap_done(&c->net_bridges);
        strmap_done(&c->host_ends);
        free(c->host_end_of);
}

/* An allocation failed: what is checked is incomplete, and the load fails. */
static void oom(Checker *c) {
        c->errors->oom = true;
}

_printf_(3, 4) static void verr(Checker *c, const Source *src, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        config_error_addv(c->errors, src->file, src->line, fmt, ap);
        va_end(ap);
}

/* Adds name -> value unless name is there: returns true when it was
 * added, false when it was there (*ret_first: its value) or on ENOMEM. */
static bool map_add_first(Checker *c, StrMap *m, const char *name, size_t value, size_t *ret_first) {
        size_t first;

        if (strmap_get(m, name, &first)) {
                if (ret_first)
                        *ret_first = first;
                return false;
        }
        if (strmap_put(m, name, value) < 0) {
                oom(c);
                if (ret_first)
                        *ret_first = value;
                return false;
        }
        return true;
}

static const Network *find_network(const Checker *c, const char *name) {
        size_t i;

        return name && strmap_get(&c->networks, name, &i) ? &c->cfg->networks[i] : NULL;
}

static const Bridge *find_bridge(const Checker *c, const char *name) {
        size_t i;

        return name && strmap_get(&c->bridges, name, &i) ? &c->cfg->bridges[i] : NULL;
}

/* A name on the host side and who claims it. */
typedef struct Claim {
        const char *name;
        const char *what;
        Source src;
        size_t order;
} Claim;

typedef struct ClaimSet {
        Claim *v;
        size_t n, cap;
} ClaimSet;

static void claimset_done(ClaimSet *s) {
        for (size_t i = 0; i < s->n; i++) {
                free((char *) s->v[i].what);
                free((char *) s->v[i].name);
        }
        free(s->v);
}

static void claim(Checker *c, ClaimSet *s, const char *name, const char *what, Source src) {
        char *w = strdup(what), *n = strdup(name);

        if (!w || !n || GREEDY_REALLOC(s->v, s->cap, s->n + 1) < 0) {
                free(w);
                free(n);
                oom(c);
                return;
        }
        s->v[s->n] = (Claim) { .name = n, .what = w, .src = src, .order = s->n };
        s->n++;
}

static int claim_cmp(const void *a, const void *b) {
        const Claim *x = a, *y = b;
        int r = strcmp(x->name, y->name);

        return r ? r : (x->order > y->order) - (x->order < y->order);
}

static void claimset_report(Checker *c, ClaimSet *s) {
        if (s->n > 1)
                qsort(s->v, s->n, sizeof(Claim), claim_cmp);
        for (size_t i = 1; i < s->n; i++)
                if (streq(s->v[i].name, s->v[i - 1].name))
                        verr(c, &s->v[i].src, "host interface name '%s' of %s is already used by %s (%s:%d)%s",
                             s->v[i].name, s->v[i].what, s->v[i - 1].what, s->v[i - 1].src.file, s->v[i - 1].src.line,
                             strstr(s->v[i].what, "host end") ? "; give the peer a 'name'" : "");
}

/* An address and where it sits, to find the same address twice. */
typedef struct AddrUse {
        Cidr addr;
        const char *where;
        Source src;
        size_t order;
} AddrUse;

typedef struct AddrSet {
        AddrUse *v;
        size_t n, cap;
} AddrSet;

static void addrset_done(AddrSet *s) {
        for (size_t i = 0; i < s->n; i++)
                free((char *) s->v[i].where);
        free(s->v);
        *s = (AddrSet) {};
}

static void addr_use(Checker *c, AddrSet *s, const Cidr *a, const char *where, Source src) {
        char *w = strdup(where);

        if (!w || GREEDY_REALLOC(s->v, s->cap, s->n + 1) < 0) {
                free(w);
                oom(c);
                return;
        }
        s->v[s->n] = (AddrUse) { .addr = *a, .where = w, .src = src, .order = s->n };
        s->n++;
}

static int addr_cmp(const void *a, const void *b) {
        const AddrUse *x = a, *y = b;
        int r;

        if (x->addr.family != y->addr.family)
                return x->addr.family - y->addr.family;
        r = memcmp(x->addr.addr, y->addr.addr, 16);
        return r ? r : (x->order > y->order) - (x->order < y->order);
}

static void addrset_report(Checker *c, AddrSet *s, const char *scope) {
        char buf[CIDR_STRLEN];

        if (s->n > 1)
                qsort(s->v, s->n, sizeof(AddrUse), addr_cmp);
        for (size_t i = 1; i < s->n; i++)
                if (cidr_addr_equal(&s->v[i].addr, &s->v[i - 1].addr))
                        verr(c, &s->v[i].src, "%s: address %s conflicts with %s (%s:%d) %s", s->v[i].where,
                             cidr_format(&s->v[i].addr, false, buf), s->v[i - 1].where, s->v[i - 1].src.file,
                             s->v[i - 1].src.line, scope);
}

/* veth ends that a namespace gets from other namespaces' declarations. */
typedef struct PeerRef {
        const char *netns;    /* where the peer end lives */
        const char *name;
        const Netns *from;
        const Iface *iface;
} PeerRef;

typedef struct PeerIndex {
        PeerRef *v;
        size_t n;
} PeerIndex;

static int peer_cmp(const void *a, const void *b) {
        const PeerRef *x = a, *y = b;
        int r = strcmp(x->netns, y->netns);

        return r ? r : strcmp(x->name, y->name);
}

/* The peers that live in netns: a range of the sorted index. */
static const PeerRef *peers_in(const PeerIndex *idx, const char *netns, size_t *ret_n) {
        size_t lo = 0, hi = idx->n, n = 0;

        if (idx->n == 0) {
                *ret_n = 0;
                return idx->v;
        }

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(idx->v[mid].netns, netns) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        while (lo + n < idx->n && streq(idx->v[lo + n].netns, netns))
                n++;
        *ret_n = n;
        return idx->v + lo;
}

/* What is known about one namespace while it is checked: its devices by
 * name, and the prefixes on its links. */
typedef struct NsCheck {
        Netns *ns;
        const PeerRef *peers;   /* the peer ends that live in it, sorted by name */
        size_t n_peers;
        StrMap ifaces;          /* declared interface -> index in ns->ifaces, the first */
        StrMap peer_names;      /* peer end -> index in peers, the first */
        StrMap att_names;       /* an attachment's interface -> index in ns->attachments */
        StrMap vrf_members;     /* a VRF member -> index of its VRF in ns->ifaces */
        StrMap vnis;            /* "VNI/port/family" -> index of the vxlan in ns->ifaces */
        StrMap onlink;          /* "DEV/PREFIX" and "/PREFIX" (any device) of every link's prefix */
        StrMap own6;            /* the namespace's IPv6 addresses -> index in ns->ifaces */
        bool lens4[33], lens6[129];
} NsCheck;

static void nscheck_done(NsCheck *x) {
        strmap_done(&x->ifaces);
        strmap_done(&x->peer_names);
        strmap_done(&x->att_names);
        strmap_done(&x->vrf_members);
        strmap_done(&x->vnis);
        strmap_done(&x->onlink);
        strmap_done(&x->own6);
}

static const Iface *find_iface(const NsCheck *x, const char *name) {
        size_t i;

        return strmap_get(&x->ifaces, name, &i) ? &x->ns->ifaces[i] : NULL;
}

static const PeerRef *find_peer(const NsCheck *x, const char *name) {
        size_t i;

        return strmap_get(&x->peer_names, name, &i) ? &x->peers[i] : NULL;
}

static bool has_device(const NsCheck *x, const char *dev) {
        return streq(dev, "lo") || find_iface(x, dev) || find_peer(x, dev) || strmap_get(&x->att_names, dev, NULL);
}

static bool is_multicast(const Cidr *a) {
        if (a->family == AF_INET)
                return (a->addr[0] & 0xf0) == 0xe0;
        return a->family == AF_INET6 && a->addr[0] == 0xff;
}

static bool cidrs_have_ipv6(const Cidr *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (v[i].family == AF_INET6)
                        return true;
        return false;
}

/* Whether IPv6 runs on the link: below IPV6_MIN_MTU the kernel turns it
 * off (addrconf_notify()), and its addresses cannot be added. */
static bool iface_has_ipv6(const Iface *i) {
        return i->ipv6 == 1 || cidrs_have_ipv6(i->addresses, i->n_addresses) ||
               (i->kind == IFACE_VETH && cidrs_have_ipv6(i->peer_addresses, i->n_peer_addresses));
}

/* The MTU a device of the namespace will have, as far as the config says:
 * 0 when it depends on something else (a macvlan's host parent). */
static uint32_t device_mtu(const NsCheck *x, const char *dev) {
        const Iface *it = find_iface(x, dev);
        const PeerRef *pr;

        if (it)
                return it->mtu ? it->mtu : it->kind == IFACE_VETH ? 1500 : 0;
        pr = find_peer(x, dev);
        if (pr)
                return pr->iface->mtu ? pr->iface->mtu : 1500;
        if (strmap_get(&x->att_names, dev, NULL))
                return 1500;
        return 0;
}

static bool vxlan_ipv6(const Iface *i) {
        int f = i->remote.family ? i->remote.family : i->group.family ? i->group.family : i->local.family;

        return f == AF_INET6;
}

static void check_iface(Checker *c, NsCheck *x, Iface *i) {
        const Config *cfg = c->cfg;
        const Netns *ns = x->ns;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        size_t first;
        char ctx[512];

        snprintf(ctx, sizeof(ctx), "namespace '%s', interface '%s'", ns->name, i->name);
        if (ifname_check(i->name, &err) < 0)
                verr(c, &i->src, "namespace '%s': %s", ns->name, err.msg);
        if (streq(i->name, "lo"))
                verr(c, &i->src, "%s: 'lo' is the namespace's loopback; it cannot be declared", ctx);
        if (strmap_get(&x->ifaces, i->name, &first) && &ns->ifaces[first] != i)
                verr(c, &i->src, "%s: declared twice (also at %s:%d)", ctx, ns->ifaces[first].src.file,
                     ns->ifaces[first].src.line);
        if (i->mtu && i->mtu < 1280 && iface_has_ipv6(i))
                verr(c, &i->src, "%s: IPv6 needs an MTU of 1280 at least, and this interface has IPv6 (addresses or ipv6 = true) with 'mtu' %u; raise 'mtu' or drop IPv6",
                     ctx, i->mtu);

        switch (i->kind) {
        case IFACE_VETH:
                if (i->bridge && i->peer_netns)
                        verr(c, &i->src, "%s: 'bridge' and 'peer.namespace' exclude each other: the peer is either on a host bridge or in another namespace",
                             ctx);
                if (i->bridge && !find_bridge(c, i->bridge)) {
                        size_t k;

                        if (strmap_get(&c->net_bridges, i->bridge, &k))
                                verr(c, &i->src, "%s: bridge '%s' belongs to network '%s'; attach the namespace to the network instead (networks = ( { network = \"%s\"; } ))",
                                     ctx, i->bridge, cfg->networks[k].name, cfg->networks[k].name);
                        else
                                verr(c, &i->src, "%s: bridge '%s' is not declared (add it to host.bridges)", ctx, i->bridge);
                }
                if (i->bridge && i->n_peer_addresses > 0)
                        verr(c, &i->src, "%s: the peer is a port of bridge '%s' and cannot have addresses; put them on the bridge",
                             ctx, i->bridge);
                if (i->peer_netns) {
                        if (streq(i->peer_netns, ns->name))
                                verr(c, &i->src, "%s: the peer cannot be in the same namespace", ctx);
                        else if (!config_find_netns(cfg, i->peer_netns))
                                verr(c, &i->src, "%s: peer namespace '%s' is not declared", ctx, i->peer_netns);
                }
                if (i->peer_name) {
                        nm_error_clear(&err);
                        if (ifname_check(i->peer_name, &err) < 0)
                                verr(c, &i->src, "%s, peer: %s", ctx, err.msg);
                }
                break;
        case IFACE_MACVLAN:
                nm_error_clear(&err);
                if (i->parent && ifname_check(i->parent, &err) < 0)
                        verr(c, &i->src, "%s, parent: %s", ctx, err.msg);
                else if (i->parent && i->mtu && strmap_get(&c->host_ends, i->parent, &first)) {
                        /* A macvlan's MTU is at most its parent's (macvlan_common_newlink()). */
                        const struct HostEnd *h = &c->host_end_of[first];
                        uint32_t hm = h->iface->mtu ? h->iface->mtu : 1500;

                        if (i->mtu > hm)
                                verr(c, &i->src, "%s: 'mtu' %u is more than the %u of its parent '%s' (the host end of %s:%s); a macvlan's MTU is at most its parent's",
                                     ctx, i->mtu, hm, i->parent, h->ns->name, h->iface->name);
                }
                break;
        case IFACE_VXLAN: {
                char key[64];

                if (i->remote.family && i->group.family)
                        verr(c, &i->src, "%s: 'remote' and 'group' exclude each other", ctx);
                if (i->group.family && !is_multicast(&i->group))
                        verr(c, &i->src, "%s: 'group' must be a multicast address", ctx);
                if (i->remote.family && is_multicast(&i->remote))
                        verr(c, &i->src, "%s: 'remote' is a multicast address; use 'group'", ctx);
                if (i->local.family && (i->remote.family ? i->remote.family : i->group.family) &&
                    i->local.family != (i->remote.family ? i->remote.family : i->group.family))
                        verr(c, &i->src, "%s: 'local' and the remote end are of different families", ctx);
                if (i->group.family && !i->parent)
                        verr(c, &i->src, "%s: a multicast 'group' needs 'parent', the interface to send it on", ctx);
                nm_error_clear(&err);
                if (i->parent && ifname_check(i->parent, &err) < 0)
                        verr(c, &i->src, "%s, parent: %s", ctx, err.msg);
                else if (i->parent && (streq(i->parent, "lo") || !has_device(x, i->parent)))
                        verr(c, &i->src, "%s: parent '%s' is not declared in namespace '%s'", ctx, i->parent, ns->name);
                else if (i->mtu) {
                        /* The kernel keeps room for the outer headers below the
                         * parent's MTU (vxlan_change_mtu()): IPv4 50 bytes,
                         * IPv6 70. */
                        uint32_t room = vxlan_ipv6(i) ? 70 : 50, pm = i->parent ? device_mtu(x, i->parent) : 0;

                        if (pm && i->mtu + room > pm)
                                verr(c, &i->src, "%s: 'mtu' %u leaves no room for the VXLAN headers on parent '%s' (MTU %u); it can be %u at most",
                                     ctx, i->mtu, i->parent, pm, pm > room ? pm - room : 0);
                }
                /* vxlan_vni_in_use(): one VNI per UDP port and family in a namespace. */
                snprintf(key, sizeof(key), "%u/%u/%d", i->vni, i->port, vxlan_ipv6(i));
                if (!map_add_first(c, &x->vnis, key, (size_t) (i - ns->ifaces), &first) && &ns->ifaces[first] != i)
                        verr(c, &i->src, "%s: VNI %u on port %u is taken by interface '%s' already; the kernel allows one device per VNI and port",
                             ctx, i->vni, i->port, ns->ifaces[first].name);
                break;
        }
        case IFACE_VRF:
                STRV_FOREACH(m, i->members) {
                        const Iface *mi = find_iface(x, *m);

                        nm_error_clear(&err);
                        if (ifname_check(*m, &err) < 0) {
                                verr(c, &i->src, "%s, member: %s", ctx, err.msg);
                                continue;
                        }
                        if (streq(*m, i->name))
                                verr(c, &i->src, "%s: a VRF cannot be its own member", ctx);
                        else if (!mi && (streq(*m, "lo") || !has_device(x, *m)))
                                verr(c, &i->src, "%s: member '%s' is not declared in namespace '%s'", ctx, *m, ns->name);
                        else if (mi && mi->kind == IFACE_VRF)
                                verr(c, &i->src, "%s: member '%s' is a VRF itself", ctx, *m);
                        if (map_add_first(c, &x->vrf_members, *m, (size_t) (i - ns->ifaces), &first))
                                continue;
                        if (&ns->ifaces[first] == i)
                                verr(c, &i->src, "%s: member '%s' is listed twice", ctx, *m);
                        else
                                verr(c, &i->src, "%s: member '%s' is already in VRF '%s'", ctx, *m,
                                     ns->ifaces[first].name);
                }
                break;
        default:
                break;
        }
}

/* Records prefix p as on the link of dev (and on some link). */
static void add_onlink(Checker *c, NsCheck *x, const char *dev, const Cidr *p) {
        _cleanup_free_ char *key = NULL;
        char buf[CIDR_STRLEN];
        Cidr net;

        if (!dev || (p->family != AF_INET && p->family != AF_INET6))
                return;
        net = cidr_network(p);
        cidr_format(&net, true, buf);
        /* "DEV/PREFIX" cannot be read two ways: '/' is in no valid interface
         * name, and an invalid one is refused anyway. */
        if (asprintf(&key, "%s/%s", dev, buf) < 0) {
                key = NULL;
                oom(c);
                return;
        }
        if (strmap_put(&x->onlink, key, 1) < 0 || strmap_put(&x->onlink, key + strlen(dev), 1) < 0)
                oom(c);
        if (p->family == AF_INET)
                x->lens4[p->prefixlen] = true;
        else
                x->lens6[p->prefixlen] = true;
}

/* Whether addr is inside a prefix on the link of dev (NULL: any link):
 * one lookup per prefix length in use. */
static bool find_onlink(Checker *c, const NsCheck *x, const char *dev, const Cidr *addr) {
        const bool *lens = addr->family == AF_INET ? x->lens4 : x->lens6;
        int max = addr->family == AF_INET ? 32 : 128;

        for (int l = 0; l <= max; l++) {
                _cleanup_free_ char *key = NULL;
                char buf[CIDR_STRLEN];
                Cidr net = *addr;

                if (!lens[l])
                        continue;
                net.prefixlen = (uint8_t) l;
                net = cidr_network(&net);
                if (asprintf(&key, "%s/%s", dev ? dev : "", cidr_format(&net, true, buf)) < 0) {
                        key = NULL;
                        oom(c);
                        return true; /* said nothing false; the load fails */
                }
                if (strmap_get(&x->onlink, key, NULL))
                        return true;
        }
        return false;
}

/* The prefixes on the links of a namespace: of its addresses (the
 * connected routes), of its peer ends' addresses, of the subnets its
 * attachments get an address in, of its routes without a gateway, and
 * lo's 127.0.0.0/8. */
static void index_onlink(Checker *c, NsCheck *x) {
        const Netns *ns = x->ns;
        static const Cidr loopback = { .family = AF_INET, .addr = { 127 }, .prefixlen = 8 };

        add_onlink(c, x, "lo", &loopback);
        for (size_t i = 0; i < ns->n_ifaces; i++)
                for (size_t a = 0; a < ns->ifaces[i].n_addresses; a++) {
                        const Cidr *p = &ns->ifaces[i].addresses[a];
                        char buf[CIDR_STRLEN];

                        add_onlink(c, x, ns->ifaces[i].name, p);
                        if (p->family == AF_INET6 && strmap_put(&x->own6, cidr_format(p, false, buf), i) < 0)
                                oom(c);
                }
        for (size_t k = 0; k < x->n_peers; k++)
                for (size_t a = 0; a < x->peers[k].iface->n_peer_addresses; a++)
                        add_onlink(c, x, x->peers[k].name, &x->peers[k].iface->peer_addresses[a]);
        for (size_t a = 0; a < ns->n_attachments; a++) {
                const Network *nw = find_network(c, ns->attachments[a].network);

                if (nw) {
                        add_onlink(c, x, ns->attachments[a].ifname, &nw->subnet);
                        add_onlink(c, x, ns->attachments[a].ifname, &nw->subnet6);
                }
        }
        for (size_t k = 0; k < ns->n_routes; k++)
                if (!ns->routes[k].via.family && ns->routes[k].dev)
                        add_onlink(c, x, ns->routes[k].dev, &ns->routes[k].dst);
}

/* A gateway must be on a link of the namespace, as the kernel wants it
 * (fib_check_nh(), ip6_validate_gw()): inside the prefix of an address on
 * the route's device, or of a route there without a gateway; on any
 * device when the route names none. What a network attachment gets is an
 * address in the network's subnet. */
static void check_gateway(Checker *c, const NsCheck *x, const Route *r, const char *dst) {
        const Netns *ns = x->ns;
        const Cidr *via = &r->via;
        char buf[CIDR_STRLEN];
        size_t i;

        if (via->family == AF_INET6 && via->addr[0] == 0xfe && (via->addr[1] & 0xc0) == 0x80) {
                if (!r->dev)
                        verr(c, &r->src, "namespace '%s', route to %s: gateway %s is a link-local address, which needs 'dev' to say on which interface it is",
                             ns->name, dst, cidr_format(via, false, buf));
                return;
        }
        if (via->family == AF_INET6 && strmap_get(&x->own6, cidr_format(via, false, buf), &i)) {
                verr(c, &r->src, "namespace '%s', route to %s: gateway %s is an address of the namespace itself (of '%s'); a gateway is another host",
                     ns->name, dst, buf, ns->ifaces[i].name);
                return;
        }
        if (find_onlink(c, x, r->dev, via))
                return;
        if (r->dev)
                verr(c, &r->src, "namespace '%s', route to %s: gateway %s is on no subnet of '%s'; give '%s' an address in the gateway's subnet, or add a route to it with dev = \"%s\" and no 'via'",
                     ns->name, dst, cidr_format(via, false, buf), r->dev, r->dev, r->dev);
        else
                verr(c, &r->src, "namespace '%s', route to %s: gateway %s is on no subnet of the namespace; give an interface an address in the gateway's subnet, or add a route to it with 'dev' and no 'via'",
                     ns->name, dst, cidr_format(via, false, buf));
}

/* Whether what a gateway check looks at was all declared without a
 * problem: otherwise the check would only repeat that problem. */
static bool gateways_checkable(const Checker *c, const NsCheck *x) {
        if (x->ns->incomplete)
                return false;
        for (size_t k = 0; k < x->n_peers; k++)
                if (x->peers[k].from->incomplete)
                        return false;
        for (size_t a = 0; a < x->ns->n_attachments; a++) {
                const Network *nw = find_network(c, x->ns->attachments[a].network);

                if (!nw || nw->incomplete)
                        return false;
        }
        return true;
}

static int route_cmp(const void *a, const void *b) {
        const Route *x = *(const Route *const *) a, *y = *(const Route *const *) b;
        int r;

        if (x->dst.family != y->dst.family)
                return x->dst.family - y->dst.family;
        r = memcmp(x->dst.addr, y->dst.addr, 16);
        if (r)
                return r;
        if (x->dst.prefixlen != y->dst.prefixlen)
                return x->dst.prefixlen - y->dst.prefixlen;
        if (x->table != y->table)
                return x->table < y->table ? -1 : 1;
        if (x->metric != y->metric)
                return x->metric < y->metric ? -1 : 1;
        return (x > y) - (x < y);
}

static bool route_same(const Route *a, const Route *b) {
        return cidr_equal(&a->dst, &b->dst) && a->table == b->table && a->metric == b->metric;
}

/* Routes declared twice: sorted, the same ones are neighbours. */
static void check_routes_twice(Checker *c, const Netns *ns) {
        _cleanup_free_ const Route **v = calloc(ns->n_routes + 1, sizeof(Route *));
        char buf[CIDR_STRLEN];

        if (!v) {
                oom(c);
                return;
        }
        for (size_t i = 0; i < ns->n_routes; i++)
                v[i] = &ns->routes[i];
        if (ns->n_routes > 1)
                qsort(v, ns->n_routes, sizeof(Route *), route_cmp);
        for (size_t i = 1, first = 0; i < ns->n_routes; i++) {
                if (!route_same(v[i], v[first])) {
                        first = i;
                        continue;
                }
                verr(c, &v[i]->src, "namespace '%s': route to %s (table %u, metric %u) is declared twice (also at %s:%d)",
                     ns->name, v[i]->dst.prefixlen ? cidr_format(&v[i]->dst, true, buf) : "default", v[i]->table,
                     v[i]->metric, v[first]->src.file, v[first]->src.line);
        }
}

typedef struct PortUse {
        const Port *port;
        const Netns *owner;
        size_t order;
} PortUse;

static int port_cmp(const void *a, const void *b) {
        const PortUse *x = a, *y = b;

        if (x->port->proto != y->port->proto)
                return x->port->proto - y->port->proto;
        if (x->port->host_port != y->port->host_port)
                return x->port->host_port - y->port->host_port;
        return (x->order > y->order) - (x->order < y->order);
}

static const char *proto_name(int proto) {
        return proto == IPPROTO_TCP ? "tcp" : "udp";
}

/* A host port goes to one place: not twice in a namespace, and not in two
 * namespaces. */
static void check_ports(Checker *c) {
        _cleanup_free_ PortUse *v = NULL;
        size_t n = 0, cap = 0;

        for (size_t i = 0; i < c->cfg->n_netns; i++)
                for (size_t j = 0; j < c->cfg->netns[i].n_ports; j++) {
                        if (GREEDY_REALLOC(v, cap, n + 1) < 0) {
                                oom(c);
                                return;
                        }
                        v[n] = (PortUse) { .port = &c->cfg->netns[i].ports[j], .owner = &c->cfg->netns[i], .order = n };
                        n++;
                }
        if (n > 1)
                qsort(v, n, sizeof(PortUse), port_cmp);
        for (size_t i = 0, first = 0, other = SIZE_MAX; i < n; i++) {
                const PortUse *u = &v[i];

                if (i == 0 || u->port->proto != v[first].port->proto || u->port->host_port != v[first].port->host_port) {
                        first = i;
                        other = SIZE_MAX;
                        continue;
                }
                if (u->owner != v[first].owner)
                        verr(c, &u->port->src, "namespace '%s': host port %u/%s is published by namespace '%s' already",
                             u->owner->name, u->port->host_port, proto_name(u->port->proto), v[first].owner->name);
                else if (other != SIZE_MAX)
                        verr(c, &u->port->src, "namespace '%s': host port %u/%s is published by namespace '%s' already",
                             u->owner->name, u->port->host_port, proto_name(u->port->proto), v[other].owner->name);
                else
                        verr(c, &u->port->src, "namespace '%s': host port %u/%s is published twice", u->owner->name,
                             u->port->host_port, proto_name(u->port->proto));
                if (u->owner != v[first].owner && other == SIZE_MAX)
                        other = i;
        }
}

static void check_netns(Checker *c, NsCheck *x) {
        _cleanup_(addrset_done) AddrSet addrs = {};
        Netns *ns = x->ns;
        char where[512], buf[CIDR_STRLEN];
        bool checkable;

        for (size_t i = 0; i < ns->n_ifaces; i++)
                if (ns->ifaces[i].name)
                        check_iface(c, x, &ns->ifaces[i]);

        for (size_t k = 0; k < x->n_peers; k++) {
                const PeerRef *pr = &x->peers[k];

                if (find_iface(x, pr->name))
                        verr(c, &pr->iface->src,
                             "namespace '%s', interface '%s': its peer '%s' clashes with an interface declared in namespace '%s'",
                             pr->from->name, pr->iface->name, pr->name, ns->name);
                if (k > 0 && streq(x->peers[k - 1].name, pr->name))
                        verr(c, &pr->iface->src, "namespace '%s', interface '%s': peer name '%s' in '%s' is used twice",
                             pr->from->name, pr->iface->name, pr->name, ns->name);
                snprintf(where, sizeof(where), "namespace '%s', interface '%s' (peer of %s:%s)", ns->name, pr->name,
                         pr->from->name, pr->iface->name);
                for (size_t a = 0; a < pr->iface->n_peer_addresses; a++)
                        addr_use(c, &addrs, &pr->iface->peer_addresses[a], where, pr->iface->src);
        }

        for (size_t i = 0; i < ns->n_ifaces; i++) {
                const Iface *it = &ns->ifaces[i];

                snprintf(where, sizeof(where), "namespace '%s', interface '%s'", ns->name, it->name ? it->name : "?");
                for (size_t j = 0; j < it->n_addresses; j++)
                        addr_use(c, &addrs, &it->addresses[j], where, it->src);
        }
        addrset_report(c, &addrs, "in the same namespace");

        checkable = gateways_checkable(c, x);
        if (checkable)
                index_onlink(c, x);
        for (size_t i = 0; i < ns->n_routes; i++) {
                Route *r = &ns->routes[i];
                const char *dst = r->dst.prefixlen ? cidr_format(&r->dst, true, buf) : "default";
                _cleanup_error_ NmError err = NM_ERROR_INIT;

                if (r->dev && ifname_check(r->dev, &err) < 0)
                        verr(c, &r->src, "namespace '%s', route to %s, dev: %s", ns->name, dst, err.msg);
                else if (r->dev && !has_device(x, r->dev))
                        verr(c, &r->src, "namespace '%s', route to %s: device '%s' is not declared in the namespace",
                             ns->name, dst, r->dev);
                else if (r->via.family && checkable)
                        check_gateway(c, x, r, dst);
        }
        check_routes_twice(c, ns);
}

/* Host-side names and addresses, and addresses that share a bridge. */
static void check_host(Checker *c) {
        _cleanup_(claimset_done) ClaimSet claims = {};
        _cleanup_(addrset_done) AddrSet host = {};
        AddrSet *segs;
        char what[512];

        segs = calloc(c->cfg->n_bridges + 1, sizeof(AddrSet));
        if (!segs) {
                oom(c);
                return;
        }

        for (size_t i = 0; i < c->cfg->n_bridges; i++) {
                Bridge *b = &c->cfg->bridges[i];
                _cleanup_error_ NmError err = NM_ERROR_INIT;

                if (!b->name)
                        continue;
                if (ifname_check_nft(b->name, &err) < 0) {
                        verr(c, &b->src, "bridge: %s", err.msg);
                        continue;
                }
                snprintf(what, sizeof(what), "bridge '%s'", b->name);
                if (b->mtu && b->mtu < 1280 && (b->ipv6 == 1 || cidrs_have_ipv6(b->addresses, b->n_addresses)))
                        verr(c, &b->src, "%s: IPv6 needs an MTU of 1280 at least, and this bridge has IPv6 (addresses or ipv6 = true) with 'mtu' %u; raise 'mtu' or drop IPv6",
                             what, b->mtu);
                claim(c, &claims, b->name, what, b->src);
                for (size_t j = 0; j < b->n_addresses; j++) {
                        addr_use(c, &host, &b->addresses[j], what, b->src);
                        addr_use(c, &segs[i], &b->addresses[j], "the bridge itself", b->src);
                }
        }
        for (size_t k = 0; k < c->cfg->n_networks; k++) {
                const Network *nw = &c->cfg->networks[k];

                if (!nw->name || !nw->bridge)
                        continue;
                snprintf(what, sizeof(what), "the bridge of network '%s'", nw->name);
                claim(c, &claims, nw->bridge, what, nw->src);
        }
        for (size_t k = 0; k < c->cfg->n_netns; k++) {
                const Netns *ns = &c->cfg->netns[k];

                for (size_t j = 0; j < ns->n_attachments; j++) {
                        const Attachment *at = &ns->attachments[j];
                        _cleanup_free_ char *peer = NULL;

                        if (!at->ifname)
                                continue;
                        peer = veth_peer_name_derive(ns->name, at->ifname);
                        if (!peer) {
                                oom(c);
                                continue;
                        }
                        snprintf(what, sizeof(what), "the host end of %s:%s on network '%s'", ns->name, at->ifname,
                                 at->network);
                        claim(c, &claims, peer, what, at->src);
                }
                for (size_t j = 0; j < ns->n_ifaces; j++) {
                        const Iface *it = &ns->ifaces[j];

                        if (it->kind != IFACE_VETH || it->peer_netns || !it->peer_name)
                                continue;
                        snprintf(what, sizeof(what), "the host end of %s:%s", ns->name, it->name);
                        claim(c, &claims, it->peer_name, what, it->src);
                        for (size_t a = 0; a < it->n_peer_addresses; a++)
                                addr_use(c, &host, &it->peer_addresses[a], what, it->src);
                        if (it->bridge) {
                                const Bridge *b = find_bridge(c, it->bridge);

                                snprintf(what, sizeof(what), "namespace '%s', interface '%s'", ns->name, it->name);
                                for (size_t a = 0; b && a < it->n_addresses; a++)
                                        addr_use(c, &segs[b - c->cfg->bridges], &it->addresses[a], what, it->src);
                        }
                }
        }
        claimset_report(c, &claims);
        addrset_report(c, &host, "on the host");
        for (size_t i = 0; i < c->cfg->n_bridges; i++) {
                char scope[300];

                snprintf(scope, sizeof(scope), "on bridge '%s'", c->cfg->bridges[i].name);
                addrset_report(c, &segs[i], scope);
                addrset_done(&segs[i]);
        }
        free(segs);
}

static void check_subnet(Checker *c, Network *nw, Cidr *subnet, Cidr *gateway, const char *key) {
        char buf[CIDR_STRLEN], sbuf[CIDR_STRLEN];
        int max = subnet->family == AF_INET ? 30 : 126;

        if (!subnet->family)
                return;
        if (subnet->prefixlen > max) {
                verr(c, &nw->src, "network '%s': %s %s is too small: it needs room for the gateway and at least one more address (/%d at most)",
                     nw->name, key, cidr_format(subnet, true, sbuf), max);
                return;
        }
        if (!gateway->family) {
                *gateway = ipam_first_host(subnet);
                gateway->prefixlen = (uint8_t) (cidr_addr_bytes(subnet->family) * 8);
        } else if (gateway->family != subnet->family || !ipam_is_host_addr(subnet, gateway))
                verr(c, &nw->src, "network '%s': gateway %s is not a host address of %s %s", nw->name,
                     cidr_format(gateway, false, buf), key, cidr_format(subnet, true, sbuf));
}

typedef struct SubnetUse {
        const Cidr *subnet;
        size_t network;
} SubnetUse;

static int subnet_cmp(const void *a, const void *b) {
        const SubnetUse *x = a, *y = b;
        int r = memcmp(x->subnet->addr, y->subnet->addr, 16);

        if (r)
                return r;
        if (x->subnet->prefixlen != y->subnet->prefixlen)
                return x->subnet->prefixlen - y->subnet->prefixlen;
        return (x->network > y->network) - (x->network < y->network);
}

/* The last address of a prefix, for comparing with memcmp(). */
static void prefix_end(const Cidr *p, uint8_t end[static 16]) {
        int bits = cidr_addr_bytes(p->family) * 8;

        memcpy(end, p->addr, 16);
        for (int b = p->prefixlen; b < bits; b++)
                end[b / 8] |= (uint8_t) (0x80 >> (b % 8));
}

/* Subnets of networks that overlap. Prefixes are nested or apart, so in
 * the order of their first address a subnet overlaps an earlier one
 * exactly when it starts before the furthest end seen so far. */
static void check_overlaps(Checker *c, int family) {
        _cleanup_free_ SubnetUse *v = calloc(c->cfg->n_networks + 1, sizeof(SubnetUse));
        uint8_t furthest[16] = {};
        size_t n = 0, holder = SIZE_MAX;

        if (!v) {
                oom(c);
                return;
        }
        for (size_t i = 0; i < c->cfg->n_networks; i++) {
                const Network *nw = &c->cfg->networks[i];
                const Cidr *s = family == AF_INET ? &nw->subnet : &nw->subnet6;

                if (nw->name && s->family == family)
                        v[n++] = (SubnetUse) { .subnet = s, .network = i };
        }
        if (n > 1)
                qsort(v, n, sizeof(SubnetUse), subnet_cmp);
        for (size_t i = 0; i < n; i++) {
                uint8_t end[16];

                if (holder != SIZE_MAX && memcmp(v[i].subnet->addr, furthest, 16) <= 0) {
                        /* Said of the one declared later, naming the other. */
                        const SubnetUse *later = v[i].network > v[holder].network ? &v[i] : &v[holder],
                                        *earlier = later == &v[i] ? &v[holder] : &v[i];
                        const Network *nw = &c->cfg->networks[later->network], *o = &c->cfg->networks[earlier->network];
                        char a[CIDR_STRLEN], b[CIDR_STRLEN];

                        verr(c, &nw->src, "network '%s': its subnet %s overlaps network '%s' (%s)", nw->name,
                             cidr_format(later->subnet, true, a), o->name, cidr_format(earlier->subnet, true, b));
                }
                prefix_end(v[i].subnet, end);
                if (holder == SIZE_MAX || memcmp(end, furthest, 16) > 0) {
                        memcpy(furthest, end, 16);
                        holder = i;
                }
        }
}

static void check_networks(Checker *c) {
        Config *cfg = c->cfg;

        for (size_t i = 0; i < cfg->n_networks; i++) {
                Network *nw = &cfg->networks[i];
                _cleanup_error_ NmError err = NM_ERROR_INIT;
                size_t first;

                if (!nw->name)
                        continue;
                if (network_name_check(nw->name, &err) < 0) {
                        verr(c, &nw->src, "%s", err.msg);
                        continue;
                }
                if (strmap_get(&c->networks, nw->name, &first) && first != i)
                        verr(c, &nw->src, "network '%s' is declared twice (also at %s:%d)", nw->name,
                             cfg->networks[first].src.file, cfg->networks[first].src.line);
                if (nw->bridge && ifname_check_nft(nw->bridge, &err) < 0)
                        verr(c, &nw->src, "network '%s', bridge: %s", nw->name, err.msg);
                if (nw->bridge && find_bridge(c, nw->bridge))
                        verr(c, &nw->src, "network '%s': bridge '%s' is also declared in host.bridges; a network makes its own bridge",
                             nw->name, nw->bridge);
                if (nw->bridge && strmap_get(&c->net_bridges, nw->bridge, &first) && first != i)
                        verr(c, &nw->src, "network '%s': bridge '%s' belongs to network '%s' already", nw->name,
                             nw->bridge, cfg->networks[first].name);
                nm_error_clear(&err);
                if (nw->uplink && ifname_check_nft(nw->uplink, &err) < 0)
                        verr(c, &nw->src, "network '%s', uplink: %s", nw->name, err.msg);
                check_subnet(c, nw, &nw->subnet, &nw->gateway, "subnet");
                check_subnet(c, nw, &nw->subnet6, &nw->gateway6, "subnet6");
                if (nw->gateway.family && !nw->subnet.family)
                        verr(c, &nw->src, "network '%s': 'gateway' needs 'subnet'", nw->name);
                if (nw->gateway6.family && !nw->subnet6.family)
                        verr(c, &nw->src, "network '%s': 'gateway6' needs 'subnet6'", nw->name);
        }
        check_overlaps(c, AF_INET);
        check_overlaps(c, AF_INET6);
        for (size_t i = 0; cfg->n_networks > 0 && i < cfg->n_host_sysctls; i++)
                if ((streq(cfg->host_sysctls[i].key, "net.ipv4.ip_forward") ||
                     streq(cfg->host_sysctls[i].key, "net/ipv4/ip_forward")) && streq(cfg->host_sysctls[i].value, "0"))
                        verr(c, &cfg->host_sysctls[i].src,
                             "host: net.ipv4.ip_forward = 0 contradicts the networks, which route through the host");
}

/* Interface names for attachments that give none: the lowest free ethN.
 * Before anything looks devices up: routes may name these. A name taken
 * once stays taken, so the search goes on from the last one. */
static void name_attachments(Checker *c, NsCheck *x) {
        Netns *ns = x->ns;
        unsigned n = 0;

        for (size_t i = 0; i < ns->n_attachments; i++)
                if (ns->attachments[i].ifname)
                        (void) map_add_first(c, &x->att_names, ns->attachments[i].ifname, i, NULL);
        for (size_t i = 0; i < ns->n_attachments; i++) {
                Attachment *at = &ns->attachments[i];

                for (; !at->ifname; n++) {
                        char name[16];

                        snprintf(name, sizeof(name), "eth%u", n);
                        if (find_iface(x, name) || strmap_get(&x->att_names, name, NULL))
                                continue;
                        at->ifname = strdup(name);
                        if (!at->ifname) {
                                oom(c);
                                return;
                        }
                        (void) map_add_first(c, &x->att_names, name, i, NULL);
                }
        }
}

/* Attachments: addresses inside their subnet, one attachment per network
 * and interface, ports only where there is an address to forward to. */
static void check_attachments(Checker *c, NsCheck *x) {
        _cleanup_(strmap_done) StrMap networks = {};
        Netns *ns = x->ns;
        char buf[CIDR_STRLEN], sbuf[CIDR_STRLEN];
        bool v4 = false;

        for (size_t i = 0; i < ns->n_attachments; i++) {
                Attachment *at = &ns->attachments[i];
                const Network *nw = find_network(c, at->network);
                _cleanup_error_ NmError err = NM_ERROR_INIT;
                size_t first;

                if (!at->network)
                        continue;
                if (!nw) {
                        verr(c, &at->src, "namespace '%s': network '%s' is not declared", ns->name, at->network);
                        continue;
                }
                v4 = v4 || nw->subnet.family || nw->subnet6.family;
                if (!map_add_first(c, &networks, at->network, i, NULL))
                        verr(c, &at->src, "namespace '%s' is attached to network '%s' twice", ns->name, at->network);
                if (at->ifname) {
                        if (ifname_check(at->ifname, &err) < 0)
                                verr(c, &at->src, "namespace '%s', network '%s': %s", ns->name, at->network, err.msg);
                        else if (find_iface(x, at->ifname))
                                verr(c, &at->src, "namespace '%s', network '%s': interface '%s' is declared in the namespace already",
                                     ns->name, at->network, at->ifname);
                        else if (strmap_get(&x->att_names, at->ifname, &first) && first != i)
                                verr(c, &at->src, "namespace '%s', network '%s': interface '%s' is the attachment to network '%s' already",
                                     ns->name, at->network, at->ifname, ns->attachments[first].network);
                }
                if (at->address.family && nw->subnet.family &&
                    (!ipam_is_host_addr(&nw->subnet, &at->address) || cidr_addr_equal(&at->address, &nw->gateway)))
                        verr(c, &at->src, "namespace '%s', network '%s': address %s is not free for a namespace in %s (outside, the gateway, or the network or broadcast address)",
                             ns->name, at->network, cidr_format(&at->address, false, buf),
                             cidr_format(&nw->subnet, true, sbuf));
                if (at->address.family && !nw->subnet.family)
                        verr(c, &at->src, "namespace '%s': network '%s' has no IPv4 subnet for 'address'", ns->name,
                             at->network);
                if (at->address6.family && nw->subnet6.family &&
                    (!ipam_is_host_addr(&nw->subnet6, &at->address6) || cidr_addr_equal(&at->address6, &nw->gateway6)))
                        verr(c, &at->src, "namespace '%s', network '%s': address6 %s is not free for a namespace in %s",
                             ns->name, at->network, cidr_format(&at->address6, false, buf),
                             cidr_format(&nw->subnet6, true, sbuf));
                if (at->address6.family && !nw->subnet6.family)
                        verr(c, &at->src, "namespace '%s': network '%s' has no IPv6 subnet for 'address6'", ns->name,
                             at->network);
        }
        if (ns->n_ports > 0 && !v4)
                verr(c, &ns->ports[0].src, "namespace '%s' publishes ports but is attached to no network to forward them to",
                     ns->name);
}

/* Addresses given to attachments: each once on its network. */
static void check_network_addresses(Checker *c) {
        Config *cfg = c->cfg;
        AddrSet *sets = calloc(cfg->n_networks + 1, sizeof(AddrSet));
        char where[300];

        if (!sets) {
                oom(c);
                return;
        }
        for (size_t i = 0; i < cfg->n_netns; i++) {
                const Netns *ns = &cfg->netns[i];

                for (size_t j = 0; j < ns->n_attachments; j++) {
                        const Attachment *at = &ns->attachments[j];
                        const Network *nw = find_network(c, at->network);

                        if (!nw || (!at->address.family && !at->address6.family))
                                continue;
                        snprintf(where, sizeof(where), "namespace '%s', network '%s'", ns->name, nw->name);
                        if (at->address.family)
                                addr_use(c, &sets[nw - cfg->networks], &at->address, where, at->src);
                        if (at->address6.family)
                                addr_use(c, &sets[nw - cfg->networks], &at->address6, where, at->src);
                }
        }
        for (size_t k = 0; k < cfg->n_networks; k++) {
                char scope[128];

                snprintf(scope, sizeof(scope), "on network '%s'", cfg->networks[k].name);
                addrset_report(c, &sets[k], scope);
                addrset_done(&sets[k]);
        }
        free(sets);
}

/* The maps every check looks names up in. */
static void index_config(Checker *c) {
        Config *cfg = c->cfg;

        for (size_t i = 0; i < cfg->n_networks; i++) {
                if (cfg->networks[i].name)
                        (void) map_add_first(c, &c->networks, cfg->networks[i].name, i, NULL);
                if (cfg->networks[i].name && cfg->networks[i].bridge)
                        (void) map_add_first(c, &c->net_bridges, cfg->networks[i].bridge, i, NULL);
        }
        for (size_t i = 0; i < cfg->n_bridges; i++)
                if (cfg->bridges[i].name)
                        (void) map_add_first(c, &c->bridges, cfg->bridges[i].name, i, NULL);
        for (size_t k = 0; k < cfg->n_netns; k++)
                for (size_t j = 0; j < cfg->netns[k].n_ifaces; j++) {
                        const Iface *it = &cfg->netns[k].ifaces[j];

                        if (it->kind != IFACE_VETH || it->peer_netns || !it->peer_name)
                                continue;
                        if (GREEDY_REALLOC(c->host_end_of, c->cap_host_ends, c->n_host_ends + 1) < 0) {
                                oom(c);
                                return;
                        }
                        c->host_end_of[c->n_host_ends] = (struct HostEnd) { .ns = &cfg->netns[k], .iface = it };
                        if (map_add_first(c, &c->host_ends, it->peer_name, c->n_host_ends, NULL))
                                c->n_host_ends++;
                }
}

/* One namespace: its devices by name first, then the checks. */
static void check_one_netns(Checker *c, const PeerIndex *idx, Netns *ns) {
        _cleanup_(nscheck_done) NsCheck x = { .ns = ns };

        x.peers = peers_in(idx, ns->name, &x.n_peers);
        for (size_t i = 0; i < ns->n_ifaces; i++)
                if (ns->ifaces[i].name)
                        (void) map_add_first(c, &x.ifaces, ns->ifaces[i].name, i, NULL);
        for (size_t k = 0; k < x.n_peers; k++)
                (void) map_add_first(c, &x.peer_names, x.peers[k].name, k, NULL);
        name_attachments(c, &x);
        check_netns(c, &x);
        check_attachments(c, &x);
}

static int netns_ptr_cmp(const void *a, const void *b) {
        const Netns *x = *(const Netns *const *) a, *y = *(const Netns *const *) b;
        int r = strcmp(x->name, y->name);

        return r ? r : (x > y) - (x < y);
}

int config_validate(Config *cfg, ConfigErrors *errors) {
        _cleanup_(checker_done) Checker c = { .cfg = cfg, .errors = errors };
        _cleanup_free_ const Netns **sorted = NULL;
        _cleanup_free_ PeerRef *peers = NULL;
        size_t n_sorted = 0, n_peers = 0, cap = 0;
        PeerIndex idx;

        sorted = calloc(cfg->n_netns + 1, sizeof(Netns *));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_netns; i++) {
                Netns *ns = &cfg->netns[i];
                _cleanup_error_ NmError err = NM_ERROR_INIT;

                if (!ns->name)
                        continue;
                if (netns_name_check(ns->name, &err) < 0) {
                        verr(&c, &ns->src, "%s", err.msg);
                        continue;
                }
                sorted[n_sorted++] = ns;
                /* Derive the peer names that were not given, once. */
                for (size_t j = 0; j < ns->n_ifaces; j++) {
                        Iface *it = &ns->ifaces[j];

                        if (it->kind != IFACE_VETH || !it->name)
                                continue;
                        if (!it->peer_name) {
                                it->peer_name = veth_peer_name_derive(ns->name, it->name);
                                if (!it->peer_name)
                                        return -ENOMEM;
                                it->peer_name_derived = true;
                        }
                        if (it->peer_netns && it->peer_name) {
                                if (GREEDY_REALLOC(peers, cap, n_peers + 1) < 0)
                                        return -ENOMEM;
                                peers[n_peers++] = (PeerRef) { .netns = it->peer_netns, .name = it->peer_name,
                                                               .from = ns, .iface = it };
                        }
                }
        }
        if (n_sorted > 1)
                qsort(sorted, n_sorted, sizeof(Netns *), netns_ptr_cmp);
        for (size_t i = 1; i < n_sorted; i++)
                if (streq(sorted[i]->name, sorted[i - 1]->name))
                        verr(&c, &sorted[i]->src, "namespace '%s' is declared twice (also at %s:%d)", sorted[i]->name,
                             sorted[i - 1]->src.file, sorted[i - 1]->src.line);
        if (n_peers > 1)
                qsort(peers, n_peers, sizeof(PeerRef), peer_cmp);
        idx = (PeerIndex) { .v = peers, .n = n_peers };

        index_config(&c);
        check_networks(&c);
        for (size_t i = 0; i < n_sorted; i++)
                check_one_netns(&c, &idx, (Netns *) sorted[i]);
        check_ports(&c);
        check_network_addresses(&c);
        check_host(&c);
        if (errors->oom)
                return -ENOMEM;
        return errors->n > 0 ? -EINVAL : 0;
}

int config_load_files(char *const *files, Config **ret, NmError *err) {
        _cleanup_(config_errors_done) ConfigErrors errors = {};
        _cleanup_config_ Config *c = NULL;
        int r;

        c = calloc(1, sizeof(Config));
        if (!c)
                return nm_error(err, -ENOMEM, "out of memory while reading the config");
        STRV_FOREACH(f, files) {
                r = config_parse_file(c, *f, &errors);
                if (r < 0)
                        return nm_error(err, r, "cannot read %s: %s", *f, strerror(-r));
        }
        for (size_t i = 0; i < c->n_netns; i++)
                if (config_index_netns(c, i) < 0)
                        return nm_error(err, -ENOMEM, "out of memory while reading the config");
        /* Cross-checks run on what did parse, so one pass says everything. */
        r = config_validate(c, &errors);
        if (r == -ENOMEM)
                errors.oom = true;
        r = config_errors_report(&errors, c->files, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, Config **ret, NmError *err) {
        _cleanup_strv_free_ char **files = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct stat st;
        glob_t g = {};
        int r;

        /* The file itself is checked as it is read (a regular file, not too
         * big), and every problem is said there. */
        if (path) {
                if (!*path)
                        return nm_error(err, -EINVAL, "the config file name is empty");
                r = strv_extend(&files, path);
                if (r < 0)
                        return r;
                return config_load_files(files, ret, err);
        }

        /* Only a main file that is not there at all is an empty one: one
         * that cannot be read (a dangling link, no permission) is an
         * error, not a reason to tear everything down. */
        if (lstat(NSMGR_CONF_FILE, &st) >= 0 && strv_extend(&files, NSMGR_CONF_FILE) < 0)
                return -ENOMEM;
        else if (errno != ENOENT && !files)
                return nm_error(err, negative_errno(), "cannot read config %s: %m", NSMGR_CONF_FILE);
        d = opendir(NSMGR_CONF_D);
        if (!d && errno != ENOENT)
                return nm_error(err, negative_errno(), "cannot read the config folder %s: %m", NSMGR_CONF_D);
        /* glob() sorts in name order (LC_COLLATE is C for us). */
        r = d ? glob(NSMGR_CONF_D "/*.conf", GLOB_ERR, NULL, &g) : GLOB_NOMATCH;
        if (r != 0 && r != GLOB_NOMATCH) {
                globfree(&g);
                return nm_error(err, r == GLOB_NOSPACE ? -ENOMEM : -EIO, "cannot read the config folder %s",
                                NSMGR_CONF_D);
        }
        for (size_t i = 0; r == 0 && i < g.gl_pathc; i++)
                if (strv_extend(&files, g.gl_pathv[i]) < 0) {
                        globfree(&g);
                        return -ENOMEM;
                }
        globfree(&g);
        if (!files) {
                Config *c = calloc(1, sizeof(Config));
                if (!c)
                        return -ENOMEM;
                *ret = c;
                return 0;
        }
        return config_load_files(files, ret, err);
}

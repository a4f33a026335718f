/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "config-internal.h"
#include "desired.h"
#include "strv.h"

static void *own(Desired *d, void *p) {
        if (!p)
                return NULL;
        if (GREEDY_REALLOC(d->owned, d->cap_owned, d->n_owned + 1) < 0) {
                free(p);
                return NULL;
        }
        d->owned[d->n_owned++] = p;
        return p;
}

static char *own_str(Desired *d, const char *s) {
        return own(d, strdup(s));
}

Desired *desired_free(Desired *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_owned; i++)
                free(d->owned[i]);
        free(d->owned);
        strmap_done(&d->model.netns_index);
        free(d);
        return NULL;
}

/* The bridge address of a gateway: the gateway with the subnet's prefix. */
static Cidr with_prefix(const Cidr *addr, const Cidr *subnet) {
        Cidr c = *addr;

        c.prefixlen = subnet->prefixlen;
        return c;
}

static bool has_default_route(const Netns *ns, int family) {
        for (size_t i = 0; i < ns->n_routes; i++)
                if (ns->routes[i].dst.family == family && ns->routes[i].dst.prefixlen == 0 &&
                    ns->routes[i].table == 254)
                        return true;
        return false;
}

static int build_bridges(Desired *d, const Config *cfg) {
        Config *m = &d->model;

        m->bridges = own(d, calloc(cfg->n_bridges + cfg->n_networks + 1, sizeof(Bridge)));
        if (!m->bridges)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_bridges; i++)
                m->bridges[m->n_bridges++] = cfg->bridges[i];
        /* A network's bridge carries the gateway addresses. */
        for (size_t k = 0; k < cfg->n_networks; k++) {
                const Network *nw = &cfg->networks[k];
                Bridge *b = &m->bridges[m->n_bridges++];

                *b = (Bridge) { .name = nw->bridge, .network = nw->name, .ipv6 = -1, .src = nw->src };
                b->addresses = own(d, calloc(2, sizeof(Cidr)));
                if (!b->addresses)
                        return -ENOMEM;
                if (nw->subnet.family)
                        b->addresses[b->n_addresses++] = with_prefix(&nw->gateway, &nw->subnet);
                if (nw->subnet6.family)
                        b->addresses[b->n_addresses++] = with_prefix(&nw->gateway6, &nw->subnet6);
        }
        return 0;
}

/* The sysctls networks need: forwarding, and route_localnet on a bridge
 * whose namespaces publish ports (the host's 127.0.0.1:PORT is forwarded
 * onto the bridge, which the kernel drops unless told not to). A key the
 * config sets itself stays as the config says (validation made sure it
 * allows forwarding). */
static bool sysctl_declared(const Config *m, const char *key) {
        for (size_t i = 0; i < m->n_host_sysctls; i++)
                if (streq(m->host_sysctls[i].key, key))
                        return true;
        return false;
}

static int add_host_sysctl(Desired *d, const char *key, const char *value, bool late, Source src) {
        Config *m = &d->model;
        char *k;

        if (sysctl_declared(m, key))
                return 0;
        k = own_str(d, key);
        if (!k)
                return -ENOMEM;
        m->host_sysctls[m->n_host_sysctls++] = (Sysctl) { .key = k, .value = (char *) value, .late = late, .src = src };
        return 0;
}

/* "net.ipv4.conf.IFNAME.route_localnet", in sysctl(8)'s dotted spelling;
 * an interface name with a dot can only be spelled with slashes. */
static char *localnet_key(const char *ifname) {
        char *k;

        if (asprintf(&k, strchr(ifname, '.') ? "net/ipv4/conf/%s/route_localnet" : "net.ipv4.conf.%s.route_localnet",
                     ifname) < 0)
                return NULL;
        return k;
}

static int build_host_sysctls(Desired *d, const Config *cfg, const LeaseTable *lt) {
        Config *m = &d->model;
        bool any6 = false;
        int r;

        m->host_sysctls = own(d, calloc(cfg->n_host_sysctls + 2 + cfg->n_networks + 1, sizeof(Sysctl)));
        if (!m->host_sysctls)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_host_sysctls; i++)
                m->host_sysctls[m->n_host_sysctls++] = cfg->host_sysctls[i];
        if (cfg->n_networks == 0)
                return 0;
        for (size_t k = 0; k < cfg->n_networks; k++)
                any6 = any6 || cfg->networks[k].subnet6.family;
        r = add_host_sysctl(d, "net.ipv4.ip_forward", "1", false, cfg->networks[0].src);
        if (r >= 0 && any6)
                r = add_host_sysctl(d, "net.ipv6.conf.all.forwarding", "1", false, cfg->networks[0].src);
        for (size_t k = 0; r >= 0 && k < cfg->n_networks; k++) {
                const Network *nw = &cfg->networks[k];
                _cleanup_free_ char *key = NULL;
                bool ports = false;

                for (size_t i = 0; i < cfg->n_netns && !ports; i++)
                        ports = cfg->netns[i].n_ports > 0 && cfg->netns[i].n_attachments > 0 &&
                                streq(cfg->netns[i].attachments[0].network, nw->name);
                /* Run-time attachments publish too (the CNI plugin's). */
                for (size_t j = 0; j < lt->n && !ports; j++)
                        ports = lt->v[j].ports && lt->v[j].network == nw;
                if (!ports || !nw->subnet.family)
                        continue;
                key = localnet_key(nw->bridge);
                if (!key)
                        return -ENOMEM;
                r = add_host_sysctl(d, key, "1", true, nw->src);
        }
        return r;
}

/* The veth of an attachment, on the network's bridge, with its addresses. */
static int attachment_iface(Desired *d, const Netns *ns, const LeasedAttachment *la, Iface *ret) {
        const Network *nw = la->network;
        Iface it = {
                .kind = IFACE_VETH,
                .up = true,
                .ipv6 = la->addr6.family ? 1 : 0,
                .src = la->src,
                .bridge = nw->bridge,
                .network = nw->name,
                .peer_name_derived = true,
        };

        it.name = own_str(d, la->ifname);
        it.peer_name = own(d, veth_peer_name_derive(ns->name, la->ifname));
        it.addresses = own(d, calloc(2, sizeof(Cidr)));
        if (!it.name || !it.peer_name || !it.addresses)
                return -ENOMEM;
        if (la->addr4.family)
                it.addresses[it.n_addresses++] = la->addr4;
        if (la->addr6.family)
                it.addresses[it.n_addresses++] = la->addr6;
        *ret = it;
        return 0;
}

/* Published ports a run-time attachment's lease records ("8080:80/tcp,..."),
 * as a declared namespace's: its first attachment is the network. */
static int lease_ports(Desired *d, Netns *ns, const LeasedAttachment *la) {
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        size_t n = 1;

        if (!la->ports || ns->n_attachments > 0)
                return 0;
        for (const char *p = la->ports; *p; p++)
                n += *p == ',';
        copy = strdup(la->ports);
        ns->attachments = own(d, calloc(1, sizeof(Attachment)));
        ns->ports = own(d, calloc(n + 1, sizeof(Port)));
        if (!copy || !ns->attachments || !ns->ports)
                return -ENOMEM;
        ns->attachments[0] = (Attachment) { .network = (char *) la->network->name, .ifname = own_str(d, la->ifname),
                                            .src = la->src };
        if (!ns->attachments[0].ifname)
                return -ENOMEM;
        ns->n_attachments = 1;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                Port pt;

                /* Checked when the plugin wrote it; a damaged one is left out. */
                if (port_parse(t, &pt) < 0)
                        continue;
                pt.src = la->src;
                ns->ports[ns->n_ports++] = pt;
        }
        return 0;
}

static int find_or_add_netns(Desired *d, const char *name, Source src, size_t *ret) {
        Config *m = &d->model;
        size_t i;
        char *copy;
        int r;

        if (strmap_get(&m->netns_index, name, &i)) {
                *ret = i;
                return 0;
        }
        /* Not declared: a namespace nsmgr wires but never makes. */
        copy = own_str(d, name);
        if (!copy)
                return -ENOMEM;
        i = m->n_netns++;
        m->netns[i] = (Netns) { .name = copy, .transient = true, .src = src };
        r = strmap_put(&m->netns_index, copy, i);
        if (r < 0)
                return r;
        *ret = i;
        return 0;
}

static int build_netns(Desired *d, const Config *cfg, const LeaseTable *lt, const StrMap *only) {
        Config *m = &d->model;
        _cleanup_free_ size_t *extra = NULL, *owner = NULL;
        _cleanup_free_ bool *soft4 = NULL, *soft6 = NULL;
        size_t cap = cfg->n_netns + lt->n;
        int r;

        m->netns = own(d, calloc(cap + 1, sizeof(Netns)));
        extra = calloc(cap + 1, sizeof(size_t));
        owner = calloc(lt->n + 1, sizeof(size_t));
        soft4 = calloc(cap + 1, sizeof(bool));
        soft6 = calloc(cap + 1, sizeof(bool));
        if (!m->netns || !extra || !owner || !soft4 || !soft6)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_netns; i++) {
                if (only && !strmap_get(only, cfg->netns[i].name, NULL))
                        continue;
                r = strmap_put(&m->netns_index, cfg->netns[i].name, m->n_netns);
                if (r < 0)
                        return r;
                m->netns[m->n_netns++] = cfg->netns[i];
        }

        /* Which namespace each attachment goes to, and how many each gets. */
        for (size_t j = 0; j < lt->n; j++) {
                Netns *ns;

                if (only && !strmap_get(only, lt->v[j].netns, NULL)) {
                        owner[j] = SIZE_MAX;
                        continue;
                }
                r = find_or_add_netns(d, lt->v[j].netns, lt->v[j].src, &owner[j]);
                if (r < 0)
                        return r;
                extra[owner[j]]++;
                /* A namespace known by its path is reached by that path. */
                ns = &m->netns[owner[j]];
                if (ns->transient && lt->v[j].path && !ns->path) {
                        ns->path = own_str(d, lt->v[j].path);
                        ns->path_inode = lt->v[j].path_inode;
                        if (!ns->path)
                                return -ENOMEM;
                }
                if (ns->transient) {
                        r = lease_ports(d, ns, &lt->v[j]);
                        if (r < 0)
                                return r;
                }
        }

        /* Interfaces and routes: the declared ones, then the attachments'. */
        for (size_t i = 0; i < m->n_netns; i++) {
                Netns *ns = &m->netns[i];
                Iface *ifaces;
                Route *routes;

                if (extra[i] == 0)
                        continue;
                ifaces = own(d, calloc(ns->n_ifaces + extra[i] + 1, sizeof(Iface)));
                routes = own(d, calloc(ns->n_routes + 2 * extra[i] + 1, sizeof(Route)));
                if (!ifaces || !routes)
                        return -ENOMEM;
                if (ns->n_ifaces)
                        memcpy(ifaces, ns->ifaces, ns->n_ifaces * sizeof(Iface));
                if (ns->n_routes)
                        memcpy(routes, ns->routes, ns->n_routes * sizeof(Route));
                ns->ifaces = ifaces;
                ns->routes = routes;
        }
        for (size_t j = 0; j < lt->n; j++) {
                const LeasedAttachment *la = &lt->v[j];
                Netns *ns;
                Iface *it;

                if (owner[j] == SIZE_MAX)
                        continue;
                ns = &m->netns[owner[j]];
                it = &ns->ifaces[ns->n_ifaces];

                r = attachment_iface(d, ns, la, it);
                if (r < 0)
                        return r;
                ns->n_ifaces++;

                /* The first network of a family gives the default route,
                 * unless the namespace declares one; it gives way to one the
                 * namespace has already ("soft"). */
                for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
                        const Cidr *a = fam == AF_INET ? &la->addr4 : &la->addr6;
                        bool *soft = fam == AF_INET ? &soft4[owner[j]] : &soft6[owner[j]];

                        if (!a->family || *soft || has_default_route(ns, fam))
                                continue;
                        ns->routes[ns->n_routes++] = (Route) {
                                .dst = { .family = fam },
                                .via = fam == AF_INET ? la->network->gateway : la->network->gateway6,
                                .dev = it->name,
                                .table = 254,
                                .src = la->src,
                                .soft = true,
                        };
                        *soft = true;
                }
        }
        return 0;
}

int desired_build_only(const Config *cfg, const LeaseTable *lt, const StrMap *only, Desired **ret) {
        _cleanup_desired_ Desired *d = NULL;
        int r;

        d = calloc(1, sizeof(Desired));
        if (!d)
                return -ENOMEM;
        d->model.files = cfg->files;
        d->model.networks = cfg->networks;
        d->model.n_networks = cfg->n_networks;

        r = build_bridges(d, cfg);
        if (r >= 0)
                r = build_netns(d, cfg, lt, only);
        if (r >= 0)
                r = build_host_sysctls(d, cfg, lt);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int desired_build(const Config *cfg, const LeaseTable *lt, Desired **ret) {
        return desired_build_only(cfg, lt, NULL, ret);
}

const Cidr *desired_address_of(const Config *model, const char *netns, const char *network, int family) {
        const Netns *ns = config_find_netns(model, netns);

        for (size_t i = 0; ns && i < ns->n_ifaces; i++) {
                const Iface *it = &ns->ifaces[i];

                if (!it->network || !streq(it->network, network))
                        continue;
                for (size_t j = 0; j < it->n_addresses; j++)
                        if (it->addresses[j].family == family)
                                return &it->addresses[j];
        }
        return NULL;
}

char **desired_host_links(const Config *m) {
        char **names = NULL;
        size_t n = 0;

        for (size_t i = 0; i < m->n_bridges; i++)
                if (strv_push_at(&names, n++, strdup(m->bridges[i].name)) < 0)
                        return strv_free(names);
        for (size_t i = 0; i < m->n_netns; i++)
                for (size_t j = 0; j < m->netns[i].n_ifaces; j++) {
                        const Iface *it = &m->netns[i].ifaces[j];
                        const char *host = it->kind == IFACE_VETH && !it->peer_netns ? it->peer_name
                                         : it->kind == IFACE_MACVLAN ? it->parent : NULL;

                        /* A name twice (a shared macvlan parent) does no harm. */
                        if (host && strv_push_at(&names, n++, strdup(host)) < 0)
                                return strv_free(names);
                }
        /* Never NULL: an empty list means no host link matters. */
        return names ? names : calloc(1, sizeof(char *));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <sys/stat.h>

#include "cniindex.h"
#include "config-internal.h"
#include "fileio.h"
#include "ipam.h"
#include "netns.h"
#include "netnspath.h"
#include "network.h"
#include "nl.h"
#include "paths.h"
#include "podwire.h"
#include "strv.h"

static bool netns_alive(const char *name) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        _cleanup_close_ int fd = -EBADF;

        return netns_open(name, &fd, &e) >= 0;
}

/* A run-time attachment's namespace is alive: by its path (and the same
 * namespace as when it was leased) when it was attached by path. */
static bool lease_owner_alive(const Lease *l) {
        if (l->path)
                return netns_path_is(l->path, l->inode);
        return netns_alive(l->netns);
}

/* Attachments wired by nsmgr in a namespace known by its path: when the
 * lease goes, the engine cannot reach the namespace any more, so its link
 * goes first (the host end, and the pair with it). */
static bool lease_wired_by_path(const Lease *l) {
        return l->path && (streq(l->origin, LEASE_ATTACH) || streq(l->origin, LEASE_CNI));
}

static int unwire_lease(const Lease *l, NlSock **host, NmError *err) {
        _cleanup_free_ char *host_end = veth_peer_name_derive(l->netns, l->ifname);
        int r;

        if (!host_end)
                return -ENOMEM;
        if (!*host) {
                r = nls_open(host);
                if (r < 0)
                        return nm_error(err, r, "cannot open a netlink socket: %s", strerror(-r));
        }
        return pod_unwire(*host, host_end, err);
}

/* A CNI attachment's lease goes: its entry in the CNI plugin's index
 * (cniindex.h) goes with it. */
static void forget_cni_index(const Lease *l) {
        if ((streq(l->origin, LEASE_CNI) || streq(l->origin, LEASE_CNI_IPAM)) && l->cni_network && l->container)
                (void) cni_index_remove(l->cni_network, l->container, l->ifname);
}

/* Published ports recorded in a lease ("8080:80/tcp,..."), for NAT. */
static int add_lease_ports(Netns *ns, const Network *nw, const Lease *l) {
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;

        if (!l->ports || ns->n_attachments > 0)
                return 0;
        copy = strdup(l->ports);
        ns->attachments = calloc(1, sizeof(Attachment));
        if (!copy || !ns->attachments)
                return -ENOMEM;
        ns->attachments[0] = (Attachment) { .network = strdup(nw->name), .ifname = strdup(l->ifname), .src = nw->src };
        ns->n_attachments = 1;
        if (!ns->attachments[0].network || !ns->attachments[0].ifname)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                Port *v = realloc(ns->ports, (ns->n_ports + 1) * sizeof(Port)), pt;

                if (!v)
                        return -ENOMEM;
                ns->ports = v;
                if (port_parse(t, &pt) < 0)
                        continue;
                pt.src = nw->src;
                ns->ports[ns->n_ports++] = pt;
        }
        return 0;
}

static int open_ipam(const Network *nw, bool dry_run, Ipam *ret, NmError *err) {
        return ipam_open(nw->name, nw->subnet.family ? &nw->subnet : NULL, nw->subnet.family ? &nw->gateway : NULL,
                         nw->subnet6.family ? &nw->subnet6 : NULL, nw->subnet6.family ? &nw->gateway6 : NULL,
                         dry_run, ret, err);
}

/* The bridge address of a gateway: the gateway with the subnet's prefix. */
static Cidr with_prefix(const Cidr *addr, const Cidr *subnet) {
        Cidr c = *addr;

        c.prefixlen = subnet->prefixlen;
        return c;
}

static Netns *netns_by_name(Config *cfg, const char *name) {
        return (Netns *) config_find_netns(cfg, name);
}

static bool has_default_route(const Netns *ns, int family) {
        for (size_t i = 0; i < ns->n_routes; i++)
                if (ns->routes[i].dst.family == family && ns->routes[i].dst.prefixlen == 0 &&
                    ns->routes[i].table == 254 && !ns->routes[i].soft)
                        return true;
        return false;
}

static bool has_soft_default(const Netns *ns, int family) {
        for (size_t i = 0; i < ns->n_routes; i++)
                if (ns->routes[i].dst.family == family && ns->routes[i].dst.prefixlen == 0 && ns->routes[i].soft)
                        return true;
        return false;
}

static int add_route(Netns *ns, const Cidr *via, const char *dev, Source src) {
        Route *v = realloc(ns->routes, (ns->n_routes + 1) * sizeof(Route));

        if (!v)
                return -ENOMEM;
        ns->routes = v;
        v[ns->n_routes] = (Route) { .dst = { .family = via->family, .prefixlen = 0 }, .via = *via,
                                    .dev = strdup(dev), .table = 254, .src = src, .soft = true };
        if (!v[ns->n_routes].dev)
                return -ENOMEM;
        ns->n_routes++;
        return 0;
}

/* The veth of an attachment, on the network's bridge, with its addresses;
 * the default route via the gateway for the first network of a family. */
static int add_attachment(Netns *ns, const Network *nw, const char *ifname, const Cidr *a4, const Cidr *a6,
                          Source src) {
        Iface *v = realloc(ns->ifaces, (ns->n_ifaces + 1) * sizeof(Iface));
        Iface *it;
        int r;

        if (!v)
                return -ENOMEM;
        ns->ifaces = v;
        it = &v[ns->n_ifaces];
        *it = (Iface) { .kind = IFACE_VETH, .up = true, .ipv6 = a6 ? 1 : 0, .src = src };
        it->name = strdup(ifname);
        it->bridge = strdup(nw->bridge);
        it->network = strdup(nw->name);
        it->peer_name = veth_peer_name_derive(ns->name, ifname);
        it->peer_name_derived = true;
        it->addresses = calloc(2, sizeof(Cidr));
        if (!it->name || !it->bridge || !it->network || !it->peer_name || !it->addresses) {
                free(it->name);
                free(it->bridge);
                free(it->network);
                free(it->peer_name);
                free(it->addresses);
                return -ENOMEM;
        }
        if (a4)
                it->addresses[it->n_addresses++] = *a4;
        if (a6)
                it->addresses[it->n_addresses++] = *a6;
        ns->n_ifaces++;

        if (a4 && !has_default_route(ns, AF_INET) && !has_soft_default(ns, AF_INET)) {
                r = add_route(ns, &nw->gateway, ifname, src);
                if (r < 0)
                        return r;
        }
        if (a6 && !has_default_route(ns, AF_INET6) && !has_soft_default(ns, AF_INET6)) {
                r = add_route(ns, &nw->gateway6, ifname, src);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_sysctl(Config *cfg, const char *key, const char *value, bool late) {
        Sysctl *v;

        for (size_t i = 0; i < cfg->n_host_sysctls; i++)
                if (streq(cfg->host_sysctls[i].key, key))
                        return 0;   /* the config says; validation made sure it allows forwarding */
        v = realloc(cfg->host_sysctls, (cfg->n_host_sysctls + 1) * sizeof(Sysctl));
        if (!v)
                return -ENOMEM;
        cfg->host_sysctls = v;
        v[cfg->n_host_sysctls] = (Sysctl) { .key = strdup(key), .value = strdup(value), .late = late,
                                            .src = cfg->networks[0].src };
        if (!v[cfg->n_host_sysctls].key || !v[cfg->n_host_sysctls].value)
                return -ENOMEM;
        cfg->n_host_sysctls++;
        return 0;
}

static void remember_lease(Expansion *exp, const char *network, const Cidr *addr) {
        struct NewLease *v = realloc(exp->new_leases, (exp->n_new_leases + 1) * sizeof(*v));

        if (!v)
                return;
        exp->new_leases = v;
        v[exp->n_new_leases] = (struct NewLease) { .network = strdup(network), .addr = *addr };
        if (v[exp->n_new_leases].network)
                exp->n_new_leases++;
}

static bool declared_attachment(const Config *cfg, const char *network, const char *netns, const char *ifname) {
        const Netns *ns = config_find_netns(cfg, netns);

        if (!ns)
                return false;
        for (size_t i = 0; i < ns->n_attachments; i++)
                if (streq(ns->attachments[i].network, network) && streq_ptr(ns->attachments[i].ifname, ifname))
                        return true;
        return false;
}

int networks_expand(Config *cfg, ExpandFlags flags, Expansion *ret, NmError *err) {
        bool dry = flags & EXPAND_DRY_RUN;
        Expansion exp = {};
        bool any6 = false;
        size_t n_orig = cfg->n_netns;
        int r = 0;

        exp.n_bridges = cfg->n_bridges;
        exp.n_netns = cfg->n_netns;
        exp.n_host_sysctls = cfg->n_host_sysctls;
        exp.n_ifaces = calloc(n_orig + 1, sizeof(size_t));
        exp.n_routes = calloc(n_orig + 1, sizeof(size_t));
        if (!exp.n_ifaces || !exp.n_routes) {
                free(exp.n_ifaces);
                free(exp.n_routes);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_orig; i++) {
                exp.n_ifaces[i] = cfg->netns[i].n_ifaces;
                exp.n_routes[i] = cfg->netns[i].n_routes;
        }
        *ret = exp;
        if (cfg->n_networks == 0)
                return 0;
        /* From here on the caller undoes what is done, with
         * networks_unexpand() (and networks_rollback()). */

        for (size_t k = 0; k < cfg->n_networks; k++) {
                const Network *nw = &cfg->networks[k];
                _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
                _cleanup_nl_ NlSock *host = NULL;
                Bridge *bv;
                Bridge *b;

                any6 = any6 || nw->subnet6.family;

                /* The network's bridge, with the gateway addresses. */
                bv = realloc(cfg->bridges, (cfg->n_bridges + 1) * sizeof(Bridge));
                if (!bv)
                        return -ENOMEM;
                cfg->bridges = bv;
                b = &bv[cfg->n_bridges];
                *b = (Bridge) { .name = strdup(nw->bridge), .network = strdup(nw->name), .ipv6 = -1, .src = nw->src };
                b->addresses = calloc(2, sizeof(Cidr));
                if (!b->name || !b->network || !b->addresses) {
                        free(b->name);
                        free(b->network);
                        free(b->addresses);
                        return -ENOMEM;
                }
                if (nw->subnet.family)
                        b->addresses[b->n_addresses++] = with_prefix(&nw->gateway, &nw->subnet);
                if (nw->subnet6.family)
                        b->addresses[b->n_addresses++] = with_prefix(&nw->gateway6, &nw->subnet6);
                cfg->n_bridges++;

                r = open_ipam(nw, dry, &ipam, err);
                if (r < 0)
                        return r;

                /* Leases whose owner is gone. */
                for (size_t i = ipam.n_leases; i > 0; i--) {
                        Lease *l = &ipam.leases[i - 1];
                        char buf[CIDR_STRLEN];
                        bool gone;

                        if (streq(l->origin, LEASE_CONFIG))
                                gone = !declared_attachment(cfg, nw->name, l->netns, l->ifname);
                        else
                                gone = !lease_owner_alive(l);
                        if (!gone)
                                continue;
                        if (!dry && lease_wired_by_path(l)) {
                                _cleanup_error_ NmError e = NM_ERROR_INIT;

                                /* The link first: a namespace that is gone
                                 * from its path may live on elsewhere. */
                                if (unwire_lease(l, &host, &e) < 0) {
                                        (void) strv_extendf(&ret->notes, "kept lease %s of %s:%s on network '%s': %s",
                                                            cidr_format(&l->addr, false, buf), l->netns, l->ifname, nw->name,
                                                            nm_error_message(&e));
                                        continue;
                                }
                        }
                        (void) strv_extendf(&ret->notes, "%s lease %s of %s:%s on network '%s' (%s)", dry ? "would release" : "released",
                             cidr_format(&l->addr, false, buf), l->netns, l->ifname, nw->name,
                             streq(l->origin, LEASE_CONFIG) ? "no longer declared" : "its namespace no longer exists");
                        if (!dry) {
                                Cidr a = l->addr;

                                forget_cni_index(l);
                                r = ipam_release(&ipam, &a, err);
                                if (r < 0)
                                        return r;
                        } else {
                                Cidr a = l->addr;
                                ipam_forget(&ipam, &a);
                        }
                }

                /* Declared attachments. */
                for (size_t i = 0; i < n_orig; i++) {
                        Netns *ns = &cfg->netns[i];

                        for (size_t j = 0; j < ns->n_attachments; j++) {
                                const Attachment *at = &ns->attachments[j];
                                Cidr a4 = {}, a6 = {};
                                char buf[CIDR_STRLEN];

                                if (!streq(at->network, nw->name))
                                        continue;
                                /* The config moved the attachment to another address. */
                                for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
                                        const Cidr *want = fam == AF_INET ? &at->address : &at->address6;
                                        const Lease *have = ipam_find(&ipam, fam, ns->name, at->ifname);

                                        if (have && want->family && !cidr_addr_equal(&have->addr, want)) {
                                                Cidr old = have->addr;
                                                (void) strv_extendf(&ret->notes, "%s lease %s of %s:%s on network '%s' (the config asks for another address)",
                                                     dry ? "would release" : "released", cidr_format(&old, false, buf),
                                                     ns->name, at->ifname, nw->name);
                                                if (dry)
                                                        ipam_forget(&ipam, &old);
                                                else if ((r = ipam_release(&ipam, &old, err)) < 0)
                                                        return r;
                                        }
                                }
                                if (nw->subnet.family) {
                                        r = ipam_lease(&ipam, AF_INET, ns->name, at->ifname, &at->address, LEASE_CONFIG,
                                                       dry, &a4, err);
                                        if (r < 0)
                                                return nm_error_prefix(err, r, "%s:%d: namespace '%s', network '%s'",
                                                                       at->src.file, at->src.line, ns->name, nw->name);
                                        if (r > 0) {
                                                (void) strv_extendf(&ret->leased, "%s: %s for %s:%s", nw->name,
                                                     cidr_format(&a4, false, buf), ns->name, at->ifname);
                                                if (!dry)
                                                        remember_lease(ret, nw->name, &a4);
                                        }
                                }
                                if (nw->subnet6.family) {
                                        r = ipam_lease(&ipam, AF_INET6, ns->name, at->ifname, &at->address6,
                                                       LEASE_CONFIG, dry, &a6, err);
                                        if (r < 0)
                                                return nm_error_prefix(err, r, "%s:%d: namespace '%s', network '%s'",
                                                                       at->src.file, at->src.line, ns->name, nw->name);
                                        if (r > 0) {
                                                (void) strv_extendf(&ret->leased, "%s: %s for %s:%s", nw->name,
                                                     cidr_format(&a6, false, buf), ns->name, at->ifname);
                                                if (!dry)
                                                        remember_lease(ret, nw->name, &a6);
                                        }
                                }
                                r = add_attachment(ns, nw, at->ifname, a4.family ? &a4 : NULL, a6.family ? &a6 : NULL,
                                                   at->src);
                                if (r < 0)
                                        return r;
                        }
                }

                /* Run-time attachments (nsmgrctl attach, the OCI hook). */
                for (size_t i = 0; i < ipam.n_leases; i++) {
                        const Lease *l = &ipam.leases[i];
                        const Lease *other;
                        Netns *ns;

                        if (!streq(l->origin, LEASE_ATTACH) && !streq(l->origin, LEASE_CNI))
                                continue;
                        /* Both families of one attachment make one veth. */
                        other = ipam_find(&ipam, l->addr.family == AF_INET ? AF_INET6 : AF_INET, l->netns, l->ifname);
                        if (other && l->addr.family == AF_INET6)
                                continue;
                        ns = netns_by_name(cfg, l->netns);
                        if (!ns) {
                                /* Not declared: a namespace nsmgr wires but never makes. */
                                Netns *nv = realloc(cfg->netns, (cfg->n_netns + 1) * sizeof(Netns));
                                if (!nv)
                                        return -ENOMEM;
                                cfg->netns = nv;
                                ns = &nv[cfg->n_netns];
                                *ns = (Netns) { .name = strdup(l->netns), .transient = true, .src = nw->src };
                                if (!ns->name)
                                        return -ENOMEM;
                                cfg->n_netns++;
                                config_index_netns(cfg, cfg->n_netns - 1);
                        }
                        if (ns->transient && l->path && !ns->path) {
                                ns->path = strdup(l->path);
                                ns->path_inode = l->inode;
                                if (!ns->path)
                                        return -ENOMEM;
                        }
                        if (ns->transient && (r = add_lease_ports(ns, nw, l)) < 0)
                                return r;
                        {
                                const Cidr *mine = &l->addr, *theirs = other ? &other->addr : NULL;

                                r = add_attachment(ns, nw, l->ifname, mine->family == AF_INET ? mine : theirs,
                                                   mine->family == AF_INET6 ? mine : theirs, nw->src);
                        }
                        if (r < 0)
                                return r;
                }
        }

        r = add_sysctl(cfg, "net.ipv4.ip_forward", "1", false);
        if (r >= 0 && any6)
                r = add_sysctl(cfg, "net.ipv6.conf.all.forwarding", "1", false);
        /* Published ports reached at the host's 127.0.0.1 are forwarded onto
         * the bridge; the kernel drops such packets unless told not to. */
        for (size_t k = 0; r >= 0 && k < cfg->n_networks; k++)
                for (size_t i = 0; i < cfg->n_netns; i++)
                        if (cfg->netns[i].n_ports > 0 && cfg->netns[i].n_attachments > 0 &&
                            streq(cfg->netns[i].attachments[0].network, cfg->networks[k].name) &&
                            cfg->networks[k].subnet.family) {
                                _cleanup_free_ char *key = NULL;

                                if (asprintf(&key, "net/ipv4/conf/%s/route_localnet", cfg->networks[k].bridge) < 0)
                                        return -ENOMEM;
                                r = add_sysctl(cfg, key, "1", true);
                                break;
                        }
        return r;
}

void networks_unexpand(Config *cfg, Expansion *exp) {
        if (!exp->n_ifaces)
                return;
        for (size_t i = exp->n_bridges; i < cfg->n_bridges; i++) {
                free(cfg->bridges[i].name);
                free(cfg->bridges[i].addresses);
                free(cfg->bridges[i].network);
        }
        cfg->n_bridges = exp->n_bridges;
        for (size_t i = exp->n_host_sysctls; i < cfg->n_host_sysctls; i++) {
                free(cfg->host_sysctls[i].key);
                free(cfg->host_sysctls[i].value);
        }
        cfg->n_host_sysctls = exp->n_host_sysctls;
        for (size_t i = 0; i < cfg->n_netns; i++) {
                Netns *ns = &cfg->netns[i];
                size_t keep_if = i < exp->n_netns ? exp->n_ifaces[i] : 0;
                size_t keep_rt = i < exp->n_netns ? exp->n_routes[i] : 0;

                for (size_t j = keep_if; j < ns->n_ifaces; j++)
                        iface_done(&ns->ifaces[j]);
                ns->n_ifaces = keep_if;
                for (size_t j = keep_rt; j < ns->n_routes; j++)
                        free(ns->routes[j].dev);
                ns->n_routes = keep_rt;
                if (i >= exp->n_netns) {
                        config_unindex_netns(cfg, i);
                        free(ns->name);
                        free(ns->ifaces);
                        free(ns->routes);
                        free(ns->path);
                        free(ns->ports);
                        for (size_t j = 0; j < ns->n_attachments; j++) {
                                free(ns->attachments[j].network);
                                free(ns->attachments[j].ifname);
                        }
                        free(ns->attachments);
                }
        }
        cfg->n_netns = exp->n_netns;
        free(exp->n_ifaces);
        free(exp->n_routes);
        strv_free(exp->notes);
        strv_free(exp->leased);
        for (size_t i = 0; i < exp->n_new_leases; i++)
                free(exp->new_leases[i].network);
        free(exp->new_leases);
        *exp = (Expansion) {};
}

void networks_rollback(const Config *cfg, Expansion *exp) {
        for (size_t i = 0; i < exp->n_new_leases; i++) {
                const Network *nw = config_find_network(cfg, exp->new_leases[i].network);
                _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };

                if (nw && open_ipam(nw, false, &ipam, NULL) >= 0)
                        (void) ipam_release(&ipam, &exp->new_leases[i].addr, NULL);
        }
}

const Cidr *network_address_of(const Config *cfg, const char *netns, const char *network, int family) {
        const Netns *ns = config_find_netns(cfg, netns);

        if (!ns)
                return NULL;
        for (size_t i = 0; i < ns->n_ifaces; i++) {
                const Iface *it = &ns->ifaces[i];

                if (!it->network || !streq(it->network, network))
                        continue;
                for (size_t j = 0; j < it->n_addresses; j++)
                        if (it->addresses[j].family == family)
                                return &it->addresses[j];
        }
        return NULL;
}

/* The interfaces a namespace has, to pick a free ethN. */
static int observed_names(int nsfd, char ***ret) {
        _cleanup_nl_ NlSock *nl = NULL;
        _cleanup_cache_ struct nl_cache *links = NULL;
        char **names = NULL;
        int r;

        r = nls_open_in(nsfd, &nl);
        if (r < 0)
                return r;
        r = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &links);
        if (r < 0)
                return nls_errno(nl, r);
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o))
                if (strv_extend(&names, rtnl_link_get_name((struct rtnl_link *) o)) < 0)
                        return -ENOMEM;
        *ret = names;
        return 0;
}

int network_attach(const Config *cfg, const AttachRequest *req, char **ret_ifname, Cidr *ret_addr,
                   Cidr *ret_addr6, NmError *err) {
        const Network *nw = config_find_network(cfg, req->network);
        _cleanup_strv_free_ char **taken = NULL;
        _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
        _cleanup_close_ int nsfd = -EBADF;
        _cleanup_free_ char *ifname = NULL;
        const Netns *decl;
        LeaseExtra x = {};
        Cidr a4 = {}, a6 = {};
        int r;

        if (!nw)
                return nm_error(err, -ENOENT, "cannot attach '%s': network '%s' is not declared in the config",
                                req->netns, req->network);
        if (req->path) {
                uint64_t ino = 0;

                r = netns_open_path(req->path, &nsfd, &ino, err);
                if (r >= 0 && req->inode && ino != req->inode)
                        r = nm_error(err, -ESTALE, "%s is another namespace now", req->path);
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot attach %s to '%s'", req->path, req->network);
                x.path = req->path;
                x.inode = ino;
        } else {
                r = netns_open(req->netns, &nsfd, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot attach '%s' to '%s'", req->netns, req->network);
        }
        if (req->address.family && ((req->address.family == AF_INET && !nw->subnet.family) ||
                                    (req->address.family == AF_INET6 && !nw->subnet6.family)))
                return nm_error(err, -EINVAL, "cannot attach '%s': network '%s' has no %s subnet for %s", req->netns,
                                nw->name, req->address.family == AF_INET ? "IPv4" : "IPv6",
                                req->ifname ? req->ifname : "the address");

        r = open_ipam(nw, false, &ipam, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ipam.n_leases; i++)
                if (streq(ipam.leases[i].netns, req->netns))
                        return nm_error(err, -EEXIST, "'%s' is already attached to network '%s' (interface %s)",
                                        req->netns, nw->name, ipam.leases[i].ifname);
        decl = config_find_netns(cfg, req->netns);
        for (size_t i = 0; decl && i < decl->n_attachments; i++)
                if (streq(decl->attachments[i].network, nw->name))
                        return nm_error(err, -EEXIST, "'%s' is attached to network '%s' by the config already",
                                        req->netns, nw->name);

        /* Names in use: what the namespace has, what the config declares
         * there, what other leases of it hold. */
        r = observed_names(nsfd, &taken);
        if (r < 0)
                return nm_error(err, r, "cannot look into namespace '%s': %s", req->netns, strerror(-r));
        for (size_t i = 0; decl && i < decl->n_ifaces; i++)
                (void) strv_extend(&taken, decl->ifaces[i].name);
        for (size_t i = 0; decl && i < decl->n_attachments; i++)
                if (decl->attachments[i].ifname)
                        (void) strv_extend(&taken, decl->attachments[i].ifname);
        {
                LeaseInfo *all = NULL;
                size_t n = 0;

                if (leases_read_all(&all, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                if (streq(all[i].netns, req->netns))
                                        (void) strv_extend(&taken, all[i].ifname);
                leases_free(all, n);
        }

        if (req->ifname) {
                if (strv_contains(taken, req->ifname))
                        return nm_error(err, -EEXIST, "cannot attach '%s': it has an interface named %s already; choose another with --ifname",
                                        req->netns, req->ifname);
                ifname = strdup(req->ifname);
        } else
                for (unsigned n = 0; !ifname; n++) {
                        char c[16];

                        snprintf(c, sizeof(c), "eth%u", n);
                        if (!strv_contains(taken, c))
                                ifname = strdup(c);
                }
        if (!ifname)
                return -ENOMEM;

        if (nw->subnet.family) {
                r = ipam_lease_extra(&ipam, AF_INET, req->netns, ifname,
                                     req->address.family == AF_INET ? &req->address : NULL, LEASE_ATTACH, &x, false, &a4, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot attach '%s'", req->netns);
        }
        if (nw->subnet6.family) {
                r = ipam_lease_extra(&ipam, AF_INET6, req->netns, ifname,
                                     req->address.family == AF_INET6 ? &req->address : NULL, LEASE_ATTACH, &x, false, &a6,
                                     err);
                if (r < 0) {
                        if (a4.family)
                                (void) ipam_release(&ipam, &a4, NULL);
                        return nm_error_prefix(err, r, "cannot attach '%s'", req->netns);
                }
        }
        *ret_ifname = TAKE_PTR(ifname);
        *ret_addr = a4;
        *ret_addr6 = a6;
        return 0;
}

int network_detach(const Config *cfg, const char *netns, const char *network, NmError *err) {
        const Network *nw = config_find_network(cfg, network);
        _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
        _cleanup_nl_ NlSock *host = NULL;
        bool found = false;
        int r;

        if (!nw)
                return nm_error(err, -ENOENT, "cannot detach '%s': network '%s' is not declared in the config", netns,
                                network);
        r = open_ipam(nw, false, &ipam, err);
        if (r < 0)
                return r;
        for (size_t i = ipam.n_leases; i > 0; i--) {
                Lease *l = &ipam.leases[i - 1];
                Cidr a;

                if (!streq(l->netns, netns))
                        continue;
                if (streq(l->origin, LEASE_CONFIG))
                        return nm_error(err, -EPERM,
                                        "cannot detach '%s' from '%s': the config attaches it; remove it from the config and apply",
                                        netns, network);
                if (lease_wired_by_path(l)) {
                        r = unwire_lease(l, &host, err);
                        if (r < 0)
                                return nm_error_prefix(err, r, "cannot detach '%s' from '%s'", netns, network);
                }
                forget_cni_index(l);
                a = l->addr;
                r = ipam_release(&ipam, &a, err);
                if (r < 0)
                        return r;
                found = true;
        }
        if (!found)
                return nm_error(err, -ENOENT, "'%s' is not attached to network '%s'", netns, network);
        return 0;
}

void leases_free(LeaseInfo *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].network);
                free(v[i].netns);
                free(v[i].ifname);
                free(v[i].origin);
        }
        free(v);
}

int leases_read_all(LeaseInfo **ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = NULL;
        LeaseInfo *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        *ret = NULL;
        *ret_n = 0;
        d = opendir(NSMGR_STATE_DIR "/ipam");
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
                Cidr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };

                if (de->d_name[0] == '.')
                        continue;
                /* Read without the lock: a listing, not an allocation. */
                ipam.network = strdup(de->d_name);
                if (!ipam.network || asprintf(&ipam.dir, NSMGR_STATE_DIR "/ipam/%s", de->d_name) < 0)
                        break;
                ipam.subnet = any4;
                ipam.subnet6 = any6;
                {
                        _cleanup_closedir_ DIR *ld = opendir(ipam.dir);
                        struct dirent *le;

                        while (ld && (le = readdir(ld))) {
                                _cleanup_free_ char *path = NULL, *text = NULL;
                                char *netns = NULL, *ifname = NULL, *origin = NULL, *save = NULL;
                                Cidr a;

                                if (le->d_name[0] == '.' || cidr_parse(le->d_name, false, &a) < 0)
                                        continue;
                                if (asprintf(&path, "%s/%s", ipam.dir, le->d_name) < 0 ||
                                    read_full_file(path, &text, NULL) < 0)
                                        continue;
                                for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                                        if (strneq(line, "netns=", 6))
                                                netns = line + 6;
                                        else if (strneq(line, "interface=", 10))
                                                ifname = line + 10;
                                        else if (strneq(line, "origin=", 7))
                                                origin = line + 7;
                                }
                                if (!netns || !ifname || GREEDY_REALLOC(v, cap, n + 1) < 0)
                                        continue;
                                v[n] = (LeaseInfo) { .network = strdup(de->d_name), .netns = strdup(netns),
                                                     .ifname = strdup(ifname),
                                                     .origin = strdup(origin ? origin : LEASE_CONFIG), .addr = a };
                                n++;
                        }
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

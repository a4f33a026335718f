/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sys/socket.h>

#include "nl.h"

#include <netlink/msg.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/vrf.h>
#include <netlink/route/link/vxlan.h>

#include "fileio.h"
#include "marks.h"
#include "netns.h"
#include "netnspath.h"
#include "nsthread.h"
#include "observe.h"
#include "owner.h"
#include "paths.h"
#include "procscan.h"
#include "strv.h"
#include "sysctl.h"

/* --- dumps ---------------------------------------------------------------------- */

static void link_from_nl(struct rtnl_link *l, ObsLink *o) {
        struct nl_addr *mac = rtnl_link_get_addr(l);
        const char *kind = rtnl_link_get_type(l);
        int32_t nsid = -1;

        *o = (ObsLink) { .ifindex = rtnl_link_get_ifindex(l), .master = rtnl_link_get_master(l),
                         .link = rtnl_link_get_link(l), .link_netnsid = -1, .mtu = rtnl_link_get_mtu(l),
                         .flags = rtnl_link_get_flags(l), .group = rtnl_link_get_group(l), .macvlan_mode = -1,
                         .addr_gen_mode = -1 };
        uint8_t mode;
        snprintf(o->name, sizeof(o->name), "%s", rtnl_link_get_name(l));
        snprintf(o->kind, sizeof(o->kind), "%s", kind ? kind : "");
        if (rtnl_link_get_link_netnsid(l, &nsid) >= 0)
                o->link_netnsid = nsid;
        if (rtnl_link_inet6_get_addr_gen_mode(l, &mode) >= 0)
                o->addr_gen_mode = mode;
        if (mac && nl_addr_get_len(mac) == 6) {
                memcpy(o->mac, nl_addr_get_binary_addr(mac), 6);
                o->has_mac = true;
        }
        if (!kind)
                return;
        if (streq(kind, "vxlan")) {
                struct nl_addr *a = NULL;
                uint32_t port = 0;

                (void) rtnl_link_vxlan_get_id(l, &o->vxlan_id);
                if (rtnl_link_vxlan_get_port(l, &port) >= 0)
                        o->vxlan_port = (uint16_t) port;
                if (rtnl_link_vxlan_get_group(l, &a) >= 0) {
                        (void) cidr_from_nl(a, &o->vxlan_group);
                        nl_addr_put(a);
                }
                a = NULL;
                if (rtnl_link_vxlan_get_local(l, &a) >= 0) {
                        (void) cidr_from_nl(a, &o->vxlan_local);
                        nl_addr_put(a);
                }
        } else if (streq(kind, "vrf"))
                (void) rtnl_link_vrf_get_tableid(l, &o->vrf_table);
        else if (streq(kind, "macvlan"))
                o->macvlan_mode = (int) rtnl_link_macvlan_get_mode(l);
}

/* The links of a scope, without their statistics: libnl's own dump asks for
 * every counter of every link (and the kernel fills kilobytes of IPv6 ones
 * per link), none of which is looked at. The request is built with libnl
 * and the answer parsed into an ordinary libnl cache. */
static int dump_links(NlSock *nl, ObsScope *s) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        _cleanup_cache_ struct nl_cache *cache = NULL;
        struct ifinfomsg hdr = { .ifi_family = AF_UNSPEC };
        size_t n = 0;
        int r;

        r = nl_cache_alloc_name("route/link", &cache);
        if (r < 0)
                return r;
        msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
        if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
                return -NLE_NOMEM;
        r = nl_send_auto(nl->sk, msg);
        if (r >= 0)
                r = nl_cache_pickup(nl->sk, cache);
        if (r < 0)
                return r;
        s->links = calloc((size_t) nl_cache_nitems(cache) + 1, sizeof(ObsLink));
        if (!s->links)
                return -NLE_NOMEM;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *l = (struct rtnl_link *) o;

                if (!rtnl_link_get_name(l) || n >= (size_t) nl_cache_nitems(cache))
                        continue;
                link_from_nl(l, &s->links[n++]);
        }
        s->n_links = n;
        return 0;
}

struct addr_dump {
        ObsScope *s;
        size_t cap;
        bool oom;
};

/* Addresses are parsed here rather than by libnl's cache, which drops
 * IFA_PROTO: nsmgr's mark on the addresses it adds. */
static int on_addr(struct nl_msg *msg, void *arg) {
        static struct nla_policy policy[IFA_MAX + 1] = {
                [IFA_PROTO] = { .type = NLA_U8 },
        };
        struct addr_dump *d = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct nlattr *tb[IFA_MAX + 1], *a;
        struct ifaddrmsg *ifa;
        ObsAddr o;

        if (h->nlmsg_type != RTM_NEWADDR || nlmsg_parse(h, sizeof(*ifa), tb, IFA_MAX, policy) < 0)
                return NL_SKIP;
        ifa = nlmsg_data(h);
        a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!a || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) ||
            nla_len(a) != cidr_addr_bytes(ifa->ifa_family))
                return NL_SKIP;
        o = (ObsAddr) { .ifindex = (int) ifa->ifa_index,
                        .addr = { .family = ifa->ifa_family, .prefixlen = ifa->ifa_prefixlen },
                        .proto = tb[IFA_PROTO] ? nla_get_u8(tb[IFA_PROTO]) : 0 };
        memcpy(o.addr.addr, nla_data(a), (size_t) nla_len(a));
        if (GREEDY_REALLOC(d->s->addrs, d->cap, d->s->n_addrs + 1) < 0) {
                d->oom = true;
                return NL_STOP;
        }
        d->s->addrs[d->s->n_addrs++] = o;
        return NL_OK;
}

static int dump_addrs(NlSock *nl, ObsScope *s) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct ifaddrmsg hdr = { .ifa_family = AF_UNSPEC };
        struct addr_dump d = { .s = s };
        struct nl_cb *cb, *orig;
        int r;

        msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
        if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0)
                return -NLE_NOMEM;
        r = nl_send_auto(nl->sk, msg);
        if (r < 0)
                return r;
        orig = nl_socket_get_cb(nl->sk);
        cb = nl_cb_clone(orig);
        nl_cb_put(orig);
        if (!cb)
                return -NLE_NOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_addr, &d);
        r = nl_recvmsgs(nl->sk, cb);
        nl_cb_put(cb);
        if (d.oom)
                return -NLE_NOMEM;
        return r < 0 ? r : 0;
}

static int dump_routes_family(NlSock *nl, ObsScope *s, int family) {
        _cleanup_cache_ struct nl_cache *cache = NULL;
        ObsRoute *v;
        size_t n;
        int r;

        r = rtnl_route_alloc_cache(nl->sk, family, 0, &cache);
        if (r < 0)
                return r;
        n = (size_t) nl_cache_nitems(cache);
        v = realloc(s->routes, (s->n_routes + n + 1) * sizeof(ObsRoute));
        if (!v)
                return -NLE_NOMEM;
        s->routes = v;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *rt = (struct rtnl_route *) o;
                struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
                ObsRoute *x = &s->routes[s->n_routes];

                *x = (ObsRoute) { .table = rtnl_route_get_table(rt), .metric = rtnl_route_get_priority(rt),
                                  .type = rtnl_route_get_type(rt), .protocol = rtnl_route_get_protocol(rt) };
                if (cidr_from_nl(rtnl_route_get_dst(rt), &x->dst) < 0)
                        continue;
                x->dst.prefixlen = (uint8_t) nl_addr_get_prefixlen(rtnl_route_get_dst(rt));
                if (nh) {
                        x->oif = rtnl_route_nh_get_ifindex(nh);
                        if (rtnl_route_nh_get_gateway(nh))
                                (void) cidr_from_nl(rtnl_route_nh_get_gateway(nh), &x->gw);
                }
                s->n_routes++;
        }
        return 0;
}

/* IPv4 and IPv6 routes apart: a dump of every family at once takes the
 * kernel's global lock and the observing threads queue behind each other.
 * A family nothing is declared or recorded for is not dumped at all. */
static int dump_scope_once(ObsScope *s, bool routes4, bool routes6) {
        int r;

        nls_reset_error(s->nl);
        r = dump_links(s->nl, s);
        if (r >= 0)
                r = dump_addrs(s->nl, s);
        if (r >= 0 && routes4) {
                r = dump_routes_family(s->nl, s, AF_INET);
                s->routes4 = r >= 0;
        }
        if (r >= 0 && routes6) {
                r = dump_routes_family(s->nl, s, AF_INET6);
                s->routes6 = r >= 0;
        }
        if (r < 0)
                return r;
        return obs_scope_sort(s) < 0 ? -NLE_NOMEM : 0;
}

/* A dump the kernel interrupted because links changed meanwhile
 * (NLM_F_DUMP_INTR: what it holds may be torn) is taken again. */
static int dump_scope(ObsScope *s, bool routes4, bool routes6) {
        int r;

        for (unsigned attempt = 0;; attempt++) {
                r = dump_scope_once(s, routes4, routes6);
                if (r != -NLE_DUMP_INTR || attempt >= 10)
                        return r;
                s->links = mfree(s->links);
                s->by_index = mfree(s->by_index);
                s->addrs = mfree(s->addrs);
                s->routes = mfree(s->routes);
                s->n_links = s->n_addrs = s->n_routes = 0;
                s->routes4 = s->routes6 = false;
        }
}

/* --- one namespace, from a thread inside it ----------------------------------------- */

typedef struct Visit {
        ObsScope *s;
        bool routes4, routes6;
        bool want_host_nsid;
        bool dns;                /* it has a folder under /etc/netns */
} Visit;

struct observe_args {
        Visit *v;
        int host_fd;
        pthread_mutex_t lock;    /* err: several threads observe */
        NmError *err;
};

static int read_sysctls(ObsScope *s, NmError *err) {
        const Netns *d = s->decl;

        if (!d || d->n_sysctls == 0)
                return 0;
        s->sysctls = calloc(d->n_sysctls + 1, sizeof(char *));
        if (!s->sysctls)
                return -ENOMEM;
        s->n_sysctls = d->n_sysctls;
        for (size_t k = 0; k < d->n_sysctls; k++) {
                int r = sysctl_read(d->sysctls[k].key, &s->sysctls[k]);

                if (r == -ENOENT)
                        continue;   /* the planner says it */
                if (r < 0)
                        return nm_error(err, r, "namespace '%s': cannot read sysctl '%s': %s", s->name,
                                        d->sysctls[k].key, strerror(-r));
        }
        return 0;
}

static int read_dns(ObsScope *s) {
        for (DnsFile f = 0; f < _DNS_FILE_MAX; f++) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (asprintf(&path, NETNS_ETC_DIR "/%s/%s", s->name, dns_file_name(f)) < 0)
                        return -ENOMEM;
                r = read_full_file(path, &s->dns[f], NULL);
                if (r < 0 && r != -ENOENT)
                        s->dns[f] = NULL;   /* unreadable: taken as absent, and written if wanted */
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

static int visit(Visit *v, int host_fd, NmError *err) {
        ObsScope *s = v->s;
        int r;

        r = nls_open(&s->nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket in namespace '%s': %s", s->name, strerror(-r));
        s->cookie = netns_cookie_of_socket(nl_socket_get_fd(s->nl->sk));
        r = read_sysctls(s, err);
        if (r < 0)
                return r;
        /* The dumps from this thread too: the kernel answers them in parallel. */
        r = dump_scope(s, v->routes4, v->routes6);
        if (r < 0)
                return nm_error(err, nls_errno(s->nl, r), "cannot read the interfaces of %s: %s", s->name,
                                nl_geterror(r));
        /* The host's nsid as this namespace sees it (after the dump, which
         * assigns it for a veth to the host): a lookup among the few ids
         * this namespace has. The other way round, the host's lookup of a
         * namespace's id walks every id the host has, O(N) each. */
        if (host_fd >= 0 && v->want_host_nsid)
                (void) nls_get_nsid(s->nl, host_fd, &s->host_nsid);
        if (v->dns)
                return read_dns(s);
        return 0;
}

static int visit_in_thread(size_t i, void *userdata) {
        struct observe_args *a = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        int r;

        r = visit(&a->v[i], a->host_fd, &err);
        if (r < 0) {
                pthread_mutex_lock(&a->lock);
                if (err.msg)
                        nm_error(a->err, r, "%s", err.msg);
                pthread_mutex_unlock(&a->lock);
        }
        return r;
}

/* --- the whole observation ------------------------------------------------------------- */

typedef struct Observer {
        const ObserveInput *in;
        Observed *o;
        NmError *err;
        Visit *visits;
        int *fds;
        size_t n_visits;
        StrMap etc_dirs;         /* names with a folder under /etc/netns */
        ProcScan ps;
        bool ps_done;
} Observer;

static void observer_done(Observer *ob) {
        free(ob->visits);
        free(ob->fds);
        strmap_done(&ob->etc_dirs);
        proc_scan_done(&ob->ps);
}

static int read_etc_dirs(Observer *ob) {
        _cleanup_closedir_ DIR *d = opendir(NETNS_ETC_DIR);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strmap_put(&ob->etc_dirs, de->d_name, 1) < 0)
                        return -ENOMEM;
        return 0;
}

/* The host's nsid is asked in every namespace: it tells which host veths
 * pair with links there, and costs a lookup among the namespace's few ids. */
static void add_visit(Observer *ob, ObsScope *s, bool routes4, bool routes6) {
        ob->visits[ob->n_visits] = (Visit) { .s = s, .routes4 = routes4, .routes6 = routes6,
                                             .want_host_nsid = true,
                                             .dns = strmap_get(&ob->etc_dirs, s->name, NULL) };
        ob->fds[ob->n_visits++] = s->nsfd;
}

/* What to read in a desired namespace: the route families declared or
 * put there before. */
static void visit_desired(Observer *ob, ObsScope *s) {
        const StateNetns *rec = state_netns(ob->in->state, s->name);
        bool r4 = ob->in->rebuild, r6 = ob->in->rebuild;

        for (size_t i = 0; i < s->decl->n_routes; i++) {
                r4 |= s->decl->routes[i].dst.family == AF_INET;
                r6 |= s->decl->routes[i].dst.family == AF_INET6;
        }
        if (rec) {
                r4 |= rec->routes4;
                r6 |= rec->routes6;
        }
        add_visit(ob, s, r4, r6);
}

/* A scoped run looks at its namespace and at those its veths reach. */
static bool needed_by_only(const Config *m, const char *only, const char *name) {
        const Netns *ns = config_find_netns(m, only);

        for (size_t i = 0; ns && i < ns->n_ifaces; i++)
                if (ns->ifaces[i].peer_netns && streq(ns->ifaces[i].peer_netns, name))
                        return true;
        return false;
}

/* A declared namespace by its name; a run-time attachment's by the path it
 * was attached by, when it has one (CNI_NETNS), and only while that path
 * still leads to the namespace of the lease. */
static int scope_open(const Netns *decl, int *ret_fd, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t ino = 0;
        int r;

        if (!decl->path)
                return netns_open(decl->name, ret_fd, err);
        r = netns_open_path(decl->path, &fd, &ino, err);
        if (r == -EMEDIUMTYPE)
                return -ENOENT;
        if (r < 0)
                return r;
        if (decl->path_inode && ino != decl->path_inode)
                return -ENOENT;   /* another namespace there now: not ours to wire */
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int observe_desired(Observer *ob) {
        const Config *m = ob->in->model;
        Observed *o = ob->o;

        o->scopes = calloc(m->n_netns + 1, sizeof(ObsScope));
        if (!o->scopes)
                return -ENOMEM;
        /* Every scope is valid (no fd 0) before any can fail. */
        for (size_t i = 0; i < m->n_netns; i++)
                o->scopes[i] = (ObsScope) { .decl = &m->netns[i], .nsfd = -EBADF, .host_nsid = -1 };
        o->n_scopes = m->n_netns;

        for (size_t i = 0; i < m->n_netns; i++) {
                ObsScope *s = &o->scopes[i];
                _cleanup_error_ NmError e = NM_ERROR_INIT;
                const char *only = ob->in->only;
                int r;

                s->name = strdup(s->decl->name);
                if (!s->name)
                        return -ENOMEM;
                if (only && !streq(s->name, only)) {
                        s->skip = true;
                        if (!needed_by_only(m, only, s->name))
                                continue;
                }
                r = scope_open(s->decl, &s->nsfd, &e);
                if (r == -ENOENT || r == -ENXIO) {
                        /* A namespace that is only there for run-time
                         * attachments is never made by nsmgr. */
                        if (s->decl->transient)
                                s->skip = true;
                        else if (!s->skip)
                                s->create = true;
                        continue;
                }
                if (r < 0)
                        return nm_error(ob->err, r, "%s", nm_error_message(&e));
                s->exists = true;
                (void) netns_fd_inode(s->nsfd, &s->ino);
                visit_desired(ob, s);
        }
        return 0;
}

static int scan_processes(Observer *ob) {
        if (ob->ps_done)
                return 0;
        ob->ps_done = true;
        return proc_scan(&ob->ps);
}

static bool gone_candidate(Observer *ob, const char *name) {
        if (config_find_netns(ob->in->model, name))
                return false;
        return !ob->in->only || streq(name, ob->in->only);
}

static int add_gone(Observer *ob, const char *name, const StateNetns *rec) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        ObsScope *g = &ob->o->gone[ob->o->n_gone];
        int r;

        *g = (ObsScope) { .nsfd = -EBADF, .host_nsid = -1, .name = strdup(name) };
        if (!g->name)
                return -ENOMEM;
        ob->o->n_gone++;
        r = netns_open(name, &g->nsfd, &e);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || netns_fd_inode(g->nsfd, &g->ino) < 0 || (rec && g->ino != rec->ino)) {
                /* Gone, or another namespace by that name now. */
                g->nsfd = safe_close(g->nsfd);
                return 0;
        }
        g->exists = true;
        return 0;
}

/* Namespaces an earlier run wired that the model no longer has, and those
 * apply made (by their owner records). */
static int observe_gone(Observer *ob) {
        const State *st = ob->in->state;
        OwnerRecord *owners = NULL;
        size_t n_owners = 0, cap;
        int r;

        /* Owner records are written before the pin: a namespace apply
         * made is found even when the run that made it was killed before
         * it recorded anything else. */
        r = owner_load_all(&owners, &n_owners);
        if (r < 0)
                return nm_error(ob->err, r, "cannot read nsmgr's owner records: %s", strerror(-r));
        cap = st->n_netns + n_owners;
        ob->o->gone = calloc(cap + 1, sizeof(ObsScope));
        if (!ob->o->gone) {
                owner_records_free(owners, n_owners);
                return -ENOMEM;
        }
        for (size_t i = 0; i < st->n_netns; i++) {
                if (!gone_candidate(ob, st->netns[i].name))
                        continue;
                r = add_gone(ob, st->netns[i].name, &st->netns[i]);
                if (r < 0)
                        goto out;
        }
        for (size_t i = 0; i < n_owners; i++) {
                if (!streq(owners[i].origin, OWNER_CONFIG) || state_netns(st, owners[i].name) ||
                    !gone_candidate(ob, owners[i].name))
                        continue;
                r = add_gone(ob, owners[i].name, NULL);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        owner_records_free(owners, n_owners);
        return r;
}

/* After the visits: which gone namespaces are still the ones recorded
 * (their cookie), which of them apply made, and who is inside. */
static int settle_gone(Observer *ob) {
        for (size_t i = 0; i < ob->o->n_gone; i++) {
                ObsScope *g = &ob->o->gone[i];
                const StateNetns *rec = state_netns(ob->in->state, g->name);
                _cleanup_free_ char *origin = NULL;
                int r;

                if (!g->exists)
                        continue;
                if (rec && rec->cookie && g->cookie && rec->cookie != g->cookie) {
                        g->exists = false;
                        continue;
                }
                if (owner_lookup(g->name, g->ino, g->cookie, &origin) <= 0 || !streq(origin, OWNER_CONFIG))
                        continue;
                g->created_by_config = true;
                r = scan_processes(ob);
                if (r < 0)
                        return nm_error(ob->err, r, "cannot scan /proc: %s", strerror(-r));
                g->n_procs = proc_scan_find(&ob->ps, g->ino, NULL);
        }
        return 0;
}

/* The two ends of a veth between the host and a namespace are nsmgr's when
 * either is marked: a run killed between making a pair and marking its
 * second end (linkkind.c) left one end unmarked. */
static void pair_marks(Observed *o) {
        for (size_t k = 0; k < o->n_scopes + o->n_gone; k++) {
                ObsScope *s = k < o->n_scopes ? &o->scopes[k] : &o->gone[k - o->n_scopes];

                if (s->host_nsid < 0)
                        continue;
                for (size_t i = 0; i < s->n_links; i++) {
                        ObsLink *in = &s->links[i], *out;

                        if (!streq(in->kind, "veth") || in->link_netnsid != s->host_nsid || in->link <= 0)
                                continue;
                        out = (ObsLink *) obs_link_by_index(&o->host, in->link);
                        if (!out || out->link != in->ifindex || !streq(out->kind, "veth"))
                                continue;
                        if (in->group == NSMGR_LINK_GROUP && out->group != NSMGR_LINK_GROUP) {
                                out->group = NSMGR_LINK_GROUP;
                                out->mark_inferred = true;
                        } else if (out->group == NSMGR_LINK_GROUP && in->group != NSMGR_LINK_GROUP) {
                                in->group = NSMGR_LINK_GROUP;
                                in->mark_inferred = true;
                        }
                }
        }
}

/* The nsid a namespace has in another one its veth reaches. */
static void peer_nsids(Observer *ob) {
        const Config *m = ob->in->model;
        Observed *o = ob->o;

        for (size_t i = 0; i < o->n_scopes; i++) {
                ObsScope *s = &o->scopes[i];

                if (!s->exists || !s->nl)
                        continue;
                for (size_t j = 0; j < s->decl->n_ifaces; j++) {
                        const Iface *it = &s->decl->ifaces[j];
                        ObsScope *p;
                        int nsid = -1;

                        if (it->kind != IFACE_VETH || !it->peer_netns || strmap_get(&s->peer_nsid, it->peer_netns, NULL))
                                continue;
                        p = observed_scope(o, m, it->peer_netns);
                        if (!p || !p->nl || nls_get_nsid(p->nl, s->nsfd, &nsid) < 0 || nsid < 0)
                                continue;
                        (void) strmap_put(&s->peer_nsid, it->peer_netns, (size_t) nsid);
                }
        }
}

static int observe_host(Observer *ob) {
        const Config *m = ob->in->model;
        ObsScope *h = &ob->o->host;
        int r;

        *h = (ObsScope) { .nsfd = -EBADF, .host_nsid = -1, .exists = true };
        r = nls_open(&h->nl);
        if (r < 0)
                return nm_error(ob->err, r, "cannot open a netlink socket: %s", strerror(-r));
        /* The host's dump holds an end of every veth: room for it. */
        (void) nl_socket_set_buffer_size(h->nl->sk, 1 << 20, 1 << 20);
        h->cookie = netns_cookie_of_socket(nl_socket_get_fd(h->nl->sk));
        r = dump_scope(h, false, false);
        if (r < 0)
                return nm_error(ob->err, nls_errno(h->nl, r), "cannot read the interfaces of the host: %s",
                                nl_geterror(r));
        h->sysctls = calloc(m->n_host_sysctls + 1, sizeof(char *));
        if (!h->sysctls)
                return -ENOMEM;
        h->n_sysctls = m->n_host_sysctls;
        for (size_t i = 0; i < m->n_host_sysctls; i++) {
                r = sysctl_read(m->host_sysctls[i].key, &h->sysctls[i]);
                if (r < 0 && r != -ENOENT)
                        return nm_error(ob->err, r, "cannot read sysctl '%s': %s", m->host_sysctls[i].key,
                                        strerror(-r));
        }
        return 0;
}

int observe(const ObserveInput *in, Observed *ret, NmError *err) {
        _cleanup_(observer_done) Observer ob = { .in = in, .err = err };
        _cleanup_close_ int host_fd = -EBADF;
        Observed o = OBSERVED_INIT;
        struct observe_args oa = { .lock = PTHREAD_MUTEX_INITIALIZER, .err = err };
        size_t cap;
        int r;

        ob.o = &o;
        r = read_etc_dirs(&ob);
        if (r >= 0)
                r = observe_host(&ob);
        if (r >= 0) {
                cap = in->model->n_netns + in->state->n_netns + 1;
                ob.visits = calloc(cap, sizeof(Visit));
                ob.fds = calloc(cap, sizeof(int));
                if (!ob.visits || !ob.fds)
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = observe_desired(&ob);
        if (r >= 0)
                r = observe_gone(&ob);
        if (r >= 0) {
                /* Room for what observe_gone found beyond the records. */
                Visit *v = realloc(ob.visits, (ob.n_visits + o.n_gone + 1) * sizeof(Visit));
                int *f = v ? realloc(ob.fds, (ob.n_visits + o.n_gone + 1) * sizeof(int)) : NULL;

                if (v)
                        ob.visits = v;
                if (f)
                        ob.fds = f;
                if (!v || !f)
                        r = -ENOMEM;
        }
        if (r < 0) {
                observed_done(&o);
                return r;
        }
        for (size_t i = 0; i < o.n_gone; i++)
                if (o.gone[i].exists)
                        add_visit(&ob, &o.gone[i], true, true);

        /* A few threads (one per CPU) visit the namespaces: a socket bound
         * to each, the sysctls that can only be read from inside, and the
         * dumps of its links, addresses and routes. */
        host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        oa.v = ob.visits;
        oa.host_fd = host_fd;
        r = ns_run_batch_parallel(ob.fds, ob.n_visits, visit_in_thread, &oa, 0, NULL);
        if (r < 0) {
                observed_done(&o);
                return nm_error(err, r, "cannot look into the namespaces: %s", strerror(-r));
        }
        peer_nsids(&ob);
        pair_marks(&o);
        r = settle_gone(&ob);
        if (r < 0) {
                observed_done(&o);
                return r;
        }
        *ret = o;
        return 0;
}

int observe_open_socket(ObsScope *s, NmError *err) {
        int r;

        if (s->nl || s->nsfd < 0)
                return 0;
        r = nls_open_in(s->nsfd, &s->nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket in namespace '%s': %s", s->name, strerror(-r));
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "nl.h"

#include <netlink/msg.h>

#include <linux/rtnetlink.h>

#include "dns.h"
#include "fileio.h"
#include "link.h"
#include "linkkind.h"
#include "nat.h"
#include "netns.h"
#include "netnspath.h"
#include "network.h"
#include "nsthread.h"
#include "owner.h"
#include "paths.h"
#include "procscan.h"
#include "reconcile.h"
#include "state.h"
#include "strmap.h"
#include "strv.h"
#include "sysctl.h"

/* --- observed links by name ----------------------------------------------
 * libnl finds links by name with a linear scan; with a thousand veth ends in
 * the host that would make an apply quadratic. One sorted index per cache. */

typedef struct LinkIndex {
        struct LinkRef {
                const char *name;
                struct rtnl_link *link;
        } *v;
        size_t n;
} LinkIndex;

static int linkref_cmp(const void *a, const void *b) {
        return strcmp(((const struct LinkRef *) a)->name, ((const struct LinkRef *) b)->name);
}

static int link_index_build(struct nl_cache *cache, LinkIndex *ret) {
        size_t n = 0, cap = (size_t) nl_cache_nitems(cache);

        ret->v = calloc(cap + 1, sizeof(struct LinkRef));
        if (!ret->v)
                return -ENOMEM;
        for (struct nl_object *o = nl_cache_get_first(cache); o && n < cap; o = nl_cache_get_next(o)) {
                struct rtnl_link *l = (struct rtnl_link *) o;

                if (!rtnl_link_get_name(l))
                        continue;
                ret->v[n++] = (struct LinkRef) { .name = rtnl_link_get_name(l), .link = l };
        }
        if (n > 1)
                qsort(ret->v, n, sizeof(struct LinkRef), linkref_cmp);
        ret->n = n;
        return 0;
}

static struct rtnl_link *link_index_find(const LinkIndex *ix, const char *name) {
        struct LinkRef key = { .name = name }, *r;

        if (!ix->v || ix->n == 0)
                return NULL;
        r = bsearch(&key, ix->v, ix->n, sizeof(struct LinkRef), linkref_cmp);
        return r ? r->link : NULL;
}

/* --- scopes: the host and each namespace as apply sees them -------------- */

typedef struct Made {
        char *name;
        int ifindex;
} Made;

typedef struct Scope {
        char *name;              /* NULL: the host */
        const Netns *decl;       /* NULL: the host, or a namespace being torn down */
        int nsfd;
        NlSock *nl;
        bool nl_borrowed;
        ino_t ino;
        bool exists;             /* before this run */
        bool create;             /* this run makes it */
        int host_nsid;           /* the host's nsid in it, -1 if none */
        struct nl_cache *links, *addrs, *routes;
        LinkIndex lix;
        struct rtnl_addr **addr_ix;  /* addrs sorted by ifindex */
        size_t n_addr_ix;
        char **sysctl_now;       /* current values of decl->sysctls, "" if unknown */
        Made *made;
        size_t n_made, cap_made;
        int *replaced;           /* ifindexes of links this run deletes and makes anew */
        size_t n_replaced;
        int *unaddressed;        /* ifindexes of links this run removes addresses from */
        size_t n_unaddressed;
        bool skip;               /* a run-time attachment's namespace that is gone */
        bool want_routes4;       /* IPv4 routes are declared or recorded here: dump them */
        bool want_routes6;
        bool want_host_nsid;     /* a veth to the host is declared here */
} Scope;

static void scope_done(Scope *s) {
        free(s->name);
        safe_close(s->nsfd);
        if (!s->nl_borrowed)
                nls_close(s->nl);
        if (s->links)
                nl_cache_free(s->links);
        if (s->addrs)
                nl_cache_free(s->addrs);
        if (s->routes)
                nl_cache_free(s->routes);
        free(s->lix.v);
        free(s->addr_ix);
        strv_free(s->sysctl_now);
        for (size_t i = 0; i < s->n_made; i++)
                free(s->made[i].name);
        free(s->made);
        free(s->replaced);
        free(s->unaddressed);
        *s = (Scope) { .nsfd = -EBADF };
}

static void scope_remember(Scope *s, const char *name, int ifindex) {
        char *n = strdup(name);

        if (!n || GREEDY_REALLOC(s->made, s->cap_made, s->n_made + 1) < 0) {
                free(n);
                return;
        }
        s->made[s->n_made++] = (Made) { .name = n, .ifindex = ifindex };
}

static bool scope_replaced(const Scope *s, int ifindex) {
        for (size_t i = 0; i < s->n_replaced; i++)
                if (s->replaced[i] == ifindex)
                        return true;
        return false;
}

static void int_push(int **v, size_t *n, int x) {
        int *nv = realloc(*v, (*n + 1) * sizeof(int));

        if (!nv)
                return;
        nv[(*n)++] = x;
        *v = nv;
}

static bool int_has(const int *v, size_t n, int x) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == x)
                        return true;
        return false;
}

static void scope_replace(Scope *s, int ifindex) {
        int_push(&s->replaced, &s->n_replaced, ifindex);
}

/* A link seen before this run, unless this run deletes it: then what
 * stood on it (a vxlan, a macvlan, routes) goes with it and is made anew. */
static struct rtnl_link *scope_link(const Scope *s, const char *name) {
        struct rtnl_link *l = link_index_find(&s->lix, name);

        if (l && scope_replaced(s, rtnl_link_get_ifindex(l)))
                return NULL;
        return l;
}

/* The ifindex of a link in a scope: made in this run, seen before it, or
 * asked from the kernel. */
static int scope_ifindex(Scope *s, const char *name, int *ret) {
        struct rtnl_link *l;
        int r;

        for (size_t i = s->n_made; i > 0; i--)
                if (streq(s->made[i - 1].name, name)) {
                        *ret = s->made[i - 1].ifindex;
                        return 0;
                }
        l = scope_link(s, name);
        if (l) {
                *ret = rtnl_link_get_ifindex(l);
                return 0;
        }
        r = link_ifindex(s->nl, name, ret);
        if (r < 0)
                return r;
        scope_remember(s, name, *ret);
        return 0;
}

/* --- the plan ------------------------------------------------------------ */

/* Steps run phase by phase across every scope, so that whatever a step
 * needs (a namespace, a bridge, the peer of a veth, an address for a
 * gateway) was made by an earlier phase. */
typedef enum Phase {
        PHASE_HOST_SYSCTL,
        PHASE_BRIDGE,
        PHASE_NETNS_CREATE,
        PHASE_NETNS_SYSCTL,
        PHASE_LINK_DELETE,
        PHASE_LINK_CREATE,
        PHASE_LINK_CREATE_STACKED,   /* vxlan on a parent made just before */
        PHASE_LINK_SET,
        PHASE_ADDR_DEL,
        PHASE_ADDR_ADD,
        PHASE_LINK_UP,
        PHASE_ROUTE_DEL,
        PHASE_ROUTE_ADD,
        PHASE_NAT,
        PHASE_DNS,
        PHASE_TEARDOWN_NETNS,
        PHASE_TEARDOWN_LINK,
} Phase;

typedef enum ActType {
        ACT_SYSCTL,
        ACT_BRIDGE_CREATE,
        ACT_NETNS_CREATE,
        ACT_LINK_DELETE,
        ACT_LINK_CREATE,
        ACT_LINK_SET,
        ACT_ADDR_ADD,
        ACT_ADDR_DEL,
        ACT_ROUTE_ADD,
        ACT_ROUTE_DEL,
        ACT_DNS_WRITE,
        ACT_DNS_REMOVE,
        ACT_NETNS_DELETE,
        ACT_NAT,
} ActType;

/* A route as nsmgr names it; also its record in the state file. */
typedef struct RouteSpec {
        Cidr dst;
        Cidr via;
        char dev[IFNAMSIZ];
        uint32_t metric;
        uint32_t table;
} RouteSpec;

typedef struct Action {
        Phase phase;
        ActType type;
        size_t order;
        Scope *scope;
        Scope *peer;
        const Iface *iface;
        const Bridge *bridge;
        const Sysctl *sysctl;
        char *ifname;
        char *master;            /* ACT_LINK_SET: master to set, "" to release */
        int ifindex;
        Cidr addr;
        RouteSpec rs;
        LinkChange change;
        char *file;
        char *content;
        char *desc;
} Action;

typedef struct Reconciler {
        const Config *cfg;
        ReconcileFlags flags;
        ReconcileReport *report;
        NmError *err;
        State state;
        Scope host;
        Scope *scopes;           /* one per declared namespace, in config order */
        size_t n_scopes;
        Scope *gone;             /* recorded namespaces the config dropped */
        size_t n_gone;
        Action *actions;
        size_t n_actions, cap_actions;
        char **conflicts;
        unsigned kinds;          /* link kinds the plan creates */
        ProcScan ps;
        bool ps_done;
        const char *only;        /* reconcile_netns(): this namespace alone */
        NatPlan nat;
        StrMap declared;         /* "SCOPE\001IFNAME" of every link the config puts somewhere */
        StrMap scope_index;      /* namespace name -> index in scopes */
} Reconciler;

static void action_free(Action *a) {
        free(a->ifname);
        free(a->master);
        free(a->file);
        free(a->content);
        free(a->desc);
}

_printf_(5, 6) static Action *act(Reconciler *R, Phase phase, ActType type, Scope *s, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        Action *a;
        va_list ap;

        if (GREEDY_REALLOC(R->actions, R->cap_actions, R->n_actions + 1) < 0)
                return NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return NULL;
        a = &R->actions[R->n_actions];
        *a = (Action) { .phase = phase, .type = type, .order = R->n_actions, .scope = s, .change = LINK_CHANGE_NONE };
        if (s && s->name) {
                if (asprintf(&a->desc, "%s: %s", s->name, msg) < 0)
                        return NULL;
        } else
                a->desc = TAKE_PTR(msg);
        R->n_actions++;
        return a;
}

_printf_(2, 3) static void conflict(Reconciler *R, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) strv_extendv(&R->conflicts, fmt, ap);
        va_end(ap);
}

_printf_(2, 3) static void warn(Reconciler *R, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) strv_extendv(&R->report->warnings, fmt, ap);
        va_end(ap);
}

/* The kernel gives IPv6 routes without a metric 1024 (IP6_RT_PRIO_USER). */
#define IPV6_DEFAULT_METRIC 1024

static void route_spec_from_decl(const Route *r, RouteSpec *ret) {
        *ret = (RouteSpec) { .dst = r->dst, .via = r->via, .metric = r->metric, .table = r->table };
        if (r->dst.family == AF_INET6 && r->metric == 0)
                ret->metric = IPV6_DEFAULT_METRIC;
        if (r->dev)
                snprintf(ret->dev, sizeof(ret->dev), "%s", r->dev);
}

static char *route_key(const RouteSpec *rs) {
        char dst[CIDR_STRLEN], via[CIDR_STRLEN];
        char *k;

        if (asprintf(&k, "%u %s %s %s %u", rs->table, cidr_format(&rs->dst, true, dst),
                     rs->via.family ? cidr_format(&rs->via, false, via) : "-", rs->dev[0] ? rs->dev : "-",
                     rs->metric) < 0)
                return NULL;
        return k;
}

static int route_key_parse(const char *k, RouteSpec *ret) {
        char dst[64], via[64], dev[IFNAMSIZ];
        RouteSpec rs = {};

        if (sscanf(k, "%u %63s %63s %15s %u", &rs.table, dst, via, dev, &rs.metric) != 5)
                return -EINVAL;
        if (cidr_parse(dst, true, &rs.dst) < 0)
                return -EINVAL;
        if (!streq(via, "-") && cidr_parse(via, false, &rs.via) < 0)
                return -EINVAL;
        if (!streq(dev, "-"))
                memcpy(rs.dev, dev, sizeof(rs.dev));
        *ret = rs;
        return 0;
}

static const char *route_text(const RouteSpec *rs, char *buf, size_t len) {
        char dst[CIDR_STRLEN], via[CIDR_STRLEN];
        int n;

        n = snprintf(buf, len, "%s", rs->dst.prefixlen == 0 ? (rs->dst.family == AF_INET6 ? "default (IPv6)" : "default")
                                                               : cidr_format(&rs->dst, true, dst));
        if (rs->via.family && n >= 0 && (size_t) n < len)
                n += snprintf(buf + n, len - (size_t) n, " via %s", cidr_format(&rs->via, false, via));
        if (rs->dev[0] && n >= 0 && (size_t) n < len)
                n += snprintf(buf + n, len - (size_t) n, " dev %s", rs->dev);
        if (rs->metric && !(rs->dst.family == AF_INET6 && rs->metric == IPV6_DEFAULT_METRIC) && n >= 0 &&
            (size_t) n < len)
                n += snprintf(buf + n, len - (size_t) n, " metric %u", rs->metric);
        if (rs->table != RT_TABLE_MAIN && n >= 0 && (size_t) n < len)
                snprintf(buf + n, len - (size_t) n, " table %u", rs->table);
        return buf;
}

/* --- observing ----------------------------------------------------------- */

static int addr_ifindex_cmp(const void *a, const void *b) {
        int x = rtnl_addr_get_ifindex(*(struct rtnl_addr *const *) a);
        int y = rtnl_addr_get_ifindex(*(struct rtnl_addr *const *) b);

        return (x > y) - (x < y);
}

/* A scope's addresses by link, so that looking at every link's addresses
 * costs O(N log N) in a host with a thousand links, not O(N^2). */
static int addr_index_build(Scope *s) {
        size_t n = 0, cap = (size_t) nl_cache_nitems(s->addrs);

        s->addr_ix = calloc(cap + 1, sizeof(struct rtnl_addr *));
        if (!s->addr_ix)
                return -ENOMEM;
        for (struct nl_object *o = nl_cache_get_first(s->addrs); o && n < cap; o = nl_cache_get_next(o))
                s->addr_ix[n++] = (struct rtnl_addr *) o;
        if (n > 1)
                qsort(s->addr_ix, n, sizeof(struct rtnl_addr *), addr_ifindex_cmp);
        s->n_addr_ix = n;
        return 0;
}

/* The addresses of one link: a range of the index. */
static struct rtnl_addr **addrs_of(const Scope *s, int ifindex, size_t *ret_n) {
        size_t lo = 0, hi = s->n_addr_ix, n = 0;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (rtnl_addr_get_ifindex(s->addr_ix[mid]) < ifindex)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        while (lo + n < s->n_addr_ix && rtnl_addr_get_ifindex(s->addr_ix[lo + n]) == ifindex)
                n++;
        *ret_n = n;
        return s->addr_ix ? s->addr_ix + lo : NULL;
}

/* IPv4 and IPv6 routes, one dump each: the kernel answers a dump of one
 * family without its global lock (RTNL), while a dump of every family
 * (AF_UNSPEC) takes it, and then the threads that observe namespaces in
 * parallel queue behind each other (mutex_spin_on_owner in the profile). */
/* IPv4 and IPv6 routes apart: a dump of every family at once takes the
 * kernel's global lock and the observing threads queue behind each other.
 * A family nothing is declared or recorded for is not dumped at all. */
static int route_dump(Scope *s) {
        struct nl_cache *v6 = NULL;
        int r;

        if (!s->want_routes4 && !s->want_routes6)
                return 0;
        if (!s->want_routes6)
                return rtnl_route_alloc_cache(s->nl->sk, AF_INET, 0, &s->routes);
        if (!s->want_routes4)
                return rtnl_route_alloc_cache(s->nl->sk, AF_INET6, 0, &s->routes);
        r = rtnl_route_alloc_cache(s->nl->sk, AF_INET, 0, &s->routes);
        if (r < 0)
                return r;
        r = rtnl_route_alloc_cache(s->nl->sk, AF_INET6, 0, &v6);
        if (r < 0)
                return r;
        for (struct nl_object *o = nl_cache_get_first(v6); o; o = nl_cache_get_next(o)) {
                r = nl_cache_add(s->routes, o);
                if (r < 0)
                        break;
        }
        nl_cache_free(v6);
        return r;
}

/* The links of a scope, without their statistics: libnl's own dump asks for
 * every counter of every link (and the kernel fills kilobytes of IPv6 ones
 * per link), none of which apply looks at. The request is built with libnl
 * and the answer parsed into an ordinary libnl cache. */
static int link_dump(NlSock *nl, struct nl_cache **ret) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nl_cache *cache = NULL;
        struct ifinfomsg hdr = { .ifi_family = AF_UNSPEC };
        uint32_t mask = RTEXT_FILTER_SKIP_STATS;
        int r;

        r = nl_cache_alloc_name("route/link", &cache);
        if (r < 0)
                return r;
        msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
        if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, IFLA_EXT_MASK, mask) < 0) {
                nl_cache_free(cache);
                return -NLE_NOMEM;
        }
        r = nl_send_auto(nl->sk, msg);
        if (r >= 0)
                r = nl_cache_pickup(nl->sk, cache);
        if (r < 0) {
                nl_cache_free(cache);
                return r;
        }
        *ret = cache;
        return 0;
}

static int dump_scope_err(Scope *s, bool routes, NmError *err) {
        int r;

        nls_reset_error(s->nl);
        r = link_dump(s->nl, &s->links);
        if (r >= 0)
                r = rtnl_addr_alloc_cache(s->nl->sk, &s->addrs);
        if (r >= 0 && routes)
                r = route_dump(s);
        if (r < 0)
                return nm_error(err, nls_errno(s->nl, r), "cannot read the interfaces of %s: %s",
                                s->name ? s->name : "the host", nl_geterror(r));
        r = addr_index_build(s);
        if (r < 0)
                return r;
        return link_index_build(s->links, &s->lix);
}

static int dump_scope(Reconciler *R, Scope *s, bool routes) {
        return dump_scope_err(s, routes, R->err);
}

struct observe_args {
        Reconciler *R;
        Scope **v;
        int host_fd;
        pthread_mutex_t lock;    /* R->err: several threads observe */
};

static int observe_one(Scope *s, int host_fd, NmError *err) {
        int r;

        r = nls_open(&s->nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket in namespace '%s': %s", s->name, strerror(-r));
        s->sysctl_now = calloc(s->decl->n_sysctls + 1, sizeof(char *));
        if (!s->sysctl_now)
                return -ENOMEM;
        for (size_t k = 0; k < s->decl->n_sysctls; k++) {
                const Sysctl *sc = &s->decl->sysctls[k];

                r = sysctl_read(sc->key, &s->sysctl_now[k]);
                if (r == -ENOENT)
                        return nm_error(err, r, "%s:%d: namespace '%s': there is no sysctl '%s' in it",
                                        sc->src.file, sc->src.line, s->name, sc->key);
                if (r < 0)
                        return nm_error(err, r, "namespace '%s': cannot read sysctl '%s': %s", s->name, sc->key,
                                        strerror(-r));
        }
        /* The dumps from this thread too: the kernel answers them in
         * parallel. */
        r = dump_scope_err(s, true, err);
        if (r < 0)
                return r;
        /* The host's nsid as this namespace sees it (after the dump, which
         * assigns it for a veth to the host): a lookup among the few ids
         * this namespace has. The other way round, the host's lookup of a
         * namespace's id walks every id the host has, O(N) each. */
        if (host_fd >= 0 && s->want_host_nsid)
                (void) nls_get_nsid(s->nl, host_fd, &s->host_nsid);
        return 0;
}

/* What observing a namespace needs to read, decided before the threads go:
 * the routes of the families declared or recorded there, and the host's
 * nsid when a veth to the host is declared. */
static void plan_observation(Reconciler *R, Scope *s) {
        _cleanup_strv_free_ char **owned = state_routes(&R->state, s->name);

        for (size_t i = 0; i < s->decl->n_routes; i++) {
                s->want_routes4 |= s->decl->routes[i].dst.family == AF_INET;
                s->want_routes6 |= s->decl->routes[i].dst.family == AF_INET6;
        }
        STRV_FOREACH(k, owned) {
                RouteSpec rs;
                if (route_key_parse(*k, &rs) >= 0) {
                        s->want_routes4 |= rs.dst.family == AF_INET;
                        s->want_routes6 |= rs.dst.family == AF_INET6;
                }
        }
        for (size_t i = 0; i < s->decl->n_ifaces; i++)
                if (s->decl->ifaces[i].kind == IFACE_VETH && !s->decl->ifaces[i].peer_netns)
                        s->want_host_nsid = true;
}

static int observe_in_thread(size_t i, void *userdata) {
        struct observe_args *a = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        int r;

        r = observe_one(a->v[i], a->host_fd, &err);
        if (r < 0) {
                pthread_mutex_lock(&a->lock);
                if (err.msg)
                        nm_error(a->R->err, r, "%s", err.msg);
                pthread_mutex_unlock(&a->lock);
        }
        return r;
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

static int observe(Reconciler *R) {
        _cleanup_free_ Scope **existing = NULL;
        _cleanup_free_ int *fds = NULL;
        _cleanup_close_ int host_fd = -EBADF;
        struct observe_args oa = { .R = R, .lock = PTHREAD_MUTEX_INITIALIZER };
        size_t n_existing = 0;
        int r;

        r = nls_open(&R->host.nl);
        if (r < 0)
                return nm_error(R->err, r, "cannot open a netlink socket: %s", strerror(-r));
        /* The host's dump holds an end of every veth: room for it. */
        (void) nl_socket_set_buffer_size(R->host.nl->sk, 1 << 20, 1 << 20);
        R->host.nsfd = -EBADF;
        R->host.host_nsid = -1;
        r = dump_scope(R, &R->host, false);
        if (r < 0)
                return r;

        R->scopes = calloc(R->cfg->n_netns + 1, sizeof(Scope));
        existing = calloc(R->cfg->n_netns + 1, sizeof(Scope *));
        fds = calloc(R->cfg->n_netns + 1, sizeof(int));
        if (!R->scopes || !existing || !fds)
                return -ENOMEM;
        R->n_scopes = R->cfg->n_netns;

        for (size_t i = 0; i < R->n_scopes; i++) {
                Scope *s = &R->scopes[i];
                _cleanup_error_ NmError e = NM_ERROR_INIT;

                *s = (Scope) { .decl = &R->cfg->netns[i], .nsfd = -EBADF, .host_nsid = -1 };
                s->name = strdup(s->decl->name);
                if (!s->name)
                        return -ENOMEM;
                if (R->only && !streq(s->name, R->only)) {
                        s->skip = true;
                        continue;
                }
                r = scope_open(s->decl, &s->nsfd, &e);
                if (r == -ENOENT || r == -ENXIO) {
                        /* A namespace that is only there for run-time
                         * attachments is never made by nsmgr. */
                        if (s->decl->transient)
                                s->skip = true;
                        else
                                s->create = true;
                        continue;
                }
                if (r < 0)
                        return nm_error(R->err, r, "%s", nm_error_message(&e));
                s->exists = true;
                (void) netns_fd_inode(s->nsfd, &s->ino);
                plan_observation(R, s);
                existing[n_existing] = s;
                fds[n_existing++] = s->nsfd;
        }

        /* A few threads (one per CPU) visit the existing namespaces: a
         * socket bound to each, the sysctls that can only be read from
         * inside, and the dumps of its links, addresses and routes. */
        host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        oa.v = existing;
        oa.host_fd = host_fd;
        r = ns_run_batch_parallel(fds, n_existing, observe_in_thread, &oa, 0, NULL);
        if (r < 0)
                return nm_error(R->err, r, "cannot look into the namespaces: %s", strerror(-r));
        return 0;
}

/* --- planning ------------------------------------------------------------ */

static Scope *scope_by_name(Reconciler *R, const char *name) {
        size_t i;

        if (!name)
                return &R->host;
        if (strmap_get(&R->scope_index, name, &i) && i < R->n_scopes && streq(R->scopes[i].name, name))
                return &R->scopes[i];
        return NULL;
}

static bool link_is_kind(struct rtnl_link *l, const char *kind) {
        const char *t = rtnl_link_get_type(l);

        return t && streq(t, kind);
}

static bool ipv6_wanted(int setting, const Cidr *addrs, size_t n) {
        if (setting >= 0)
                return setting;
        for (size_t i = 0; i < n; i++)
                if (addrs[i].family == AF_INET6)
                        return true;
        return false;
}

/* The VRF a declared interface is a member of, or NULL. */
static const Iface *vrf_of(const Netns *ns, const char *ifname) {
        for (size_t i = 0; i < ns->n_ifaces; i++)
                if (ns->ifaces[i].kind == IFACE_VRF && strv_contains(ns->ifaces[i].members, ifname))
                        return &ns->ifaces[i];
        return NULL;
}

static void plan_addresses(Reconciler *R, Scope *s, const char *ifname, struct rtnl_link *observed,
                           const Cidr *want, size_t n_want) {
        char buf[CIDR_STRLEN];
        int ifindex = observed ? rtnl_link_get_ifindex(observed) : 0;
        struct rtnl_addr **have = NULL;
        size_t n_have = 0;

        if (observed)
                have = addrs_of(s, ifindex, &n_have);

        for (size_t i = 0; i < n_want; i++) {
                bool present = false;

                for (size_t j = 0; j < n_have && !present; j++) {
                        Cidr c;

                        if (cidr_from_nl(rtnl_addr_get_local(have[j]), &c) < 0)
                                continue;
                        c.prefixlen = (uint8_t) rtnl_addr_get_prefixlen(have[j]);
                        present = cidr_equal(&c, &want[i]);
                }
                if (!present) {
                        Action *a = act(R, PHASE_ADDR_ADD, ACT_ADDR_ADD, s, "add address %s to %s",
                                        cidr_format(&want[i], true, buf), ifname);
                        if (a) {
                                a->ifname = strdup(ifname);
                                a->addr = want[i];
                        }
                }
        }

        /* Addresses nsmgr added before and the config no longer declares. */
        for (size_t j = 0; j < n_have; j++) {
                bool declared = false;
                Cidr c;

                if (cidr_from_nl(rtnl_addr_get_local(have[j]), &c) < 0)
                        continue;
                c.prefixlen = (uint8_t) rtnl_addr_get_prefixlen(have[j]);
                for (size_t i = 0; i < n_want; i++)
                        declared = declared || cidr_equal(&c, &want[i]);
                if (!declared && state_addr_owned(&R->state, s->name, ifname, &c)) {
                        Action *x;

                        /* Removing an address takes the routes through its
                         * subnet along; they are made again afterwards. */
                        int_push(&s->unaddressed, &s->n_unaddressed, ifindex);
                        x = act(R, PHASE_ADDR_DEL, ACT_ADDR_DEL, s, "remove address %s from %s",
                                cidr_format(&c, true, buf), ifname);
                        if (x) {
                                x->ifname = strdup(ifname);
                                x->addr = c;
                                x->ifindex = ifindex;
                        }
                }
        }
}

static void plan_up(Reconciler *R, Scope *s, const char *ifname, struct rtnl_link *observed, bool want_up,
                    bool created, bool ipv6_off) {
        bool is_up = observed && (rtnl_link_get_flags(observed) & IFF_UP);
        Action *a;

        if (want_up && (created || !is_up)) {
                a = act(R, PHASE_LINK_UP, ACT_LINK_SET, s, "bring up %s", ifname);
                if (a) {
                        a->ifname = strdup(ifname);
                        a->change.up = 1;
                        a->change.ipv6_off = created && ipv6_off;
                }
        } else if (!want_up && is_up) {
                a = act(R, PHASE_LINK_UP, ACT_LINK_SET, s, "take down %s", ifname);
                if (a) {
                        a->ifname = strdup(ifname);
                        a->change.up = 0;
                }
        } else if (created && ipv6_off) {
                a = act(R, PHASE_LINK_SET, ACT_LINK_SET, s, "turn off IPv6 link-local addresses on %s", ifname);
                if (a) {
                        a->ifname = strdup(ifname);
                        a->change.ipv6_off = true;
                }
        }
}

static void plan_mtu(Reconciler *R, Scope *s, const char *ifname, struct rtnl_link *observed, uint32_t mtu) {
        Action *a;

        if (!observed || !mtu || rtnl_link_get_mtu(observed) == mtu)
                return;
        a = act(R, PHASE_LINK_SET, ACT_LINK_SET, s, "set MTU of %s to %u", ifname, mtu);
        if (a) {
                a->ifname = strdup(ifname);
                a->change.mtu = mtu;
        }
}

/* Is an existing veth the pair the config declares? Both ends must point
 * at each other, and the outer end at this very namespace. */
static bool veth_pair_ok(Reconciler *R, Scope *s, struct rtnl_link *inner, Scope *p, struct rtnl_link *outer) {
        int32_t nsid = -1;

        if (!outer || !link_is_kind(outer, "veth"))
                return false;
        if (rtnl_link_get_link(outer) != rtnl_link_get_ifindex(inner) ||
            rtnl_link_get_link(inner) != rtnl_link_get_ifindex(outer))
                return false;
        if (!p->name)
                /* Checked from the inside: the inner end's peer is in the
                 * host, and has the outer end's ifindex. */
                return rtnl_link_get_link_netnsid(inner, &nsid) >= 0 && nsid >= 0 && nsid == s->host_nsid;
        if (rtnl_link_get_link_netnsid(outer, &nsid) < 0)
                return false;
        {
                int want = -1;
                if (nls_get_nsid(p->nl, s->nsfd, &want) < 0)
                        return false;
                return nsid == want;
        }
}

/* Interfaces that live in a scope because the config puts them there:
 * declared there, a veth's other end, a host bridge. Indexed once, so
 * checking every owned link of every namespace stays O(N). */
static void declare(Reconciler *R, const char *scope, const char *ifname) {
        _cleanup_free_ char *k = NULL;

        if (asprintf(&k, "%s\001%s", scope ? scope : "", ifname) >= 0)
                (void) strmap_put(&R->declared, k, 1);
}

static void index_declared(Reconciler *R) {
        for (size_t i = 0; i < R->cfg->n_bridges; i++)
                declare(R, NULL, R->cfg->bridges[i].name);
        for (size_t i = 0; i < R->cfg->n_netns; i++) {
                const Netns *ns = &R->cfg->netns[i];

                (void) strmap_put(&R->scope_index, ns->name, i);
                for (size_t j = 0; j < ns->n_ifaces; j++) {
                        const Iface *it = &ns->ifaces[j];

                        declare(R, ns->name, it->name);
                        if (it->kind == IFACE_VETH && it->peer_name)
                                declare(R, it->peer_netns, it->peer_name);
                }
        }
}

static bool declared_in(Reconciler *R, Scope *s, const char *ifname) {
        _cleanup_free_ char *k = NULL;

        if (asprintf(&k, "%s\001%s", s->name ? s->name : "", ifname) < 0)
                return true;   /* when in doubt, tear nothing down */
        return strmap_get(&R->declared, k, NULL);
}

static void plan_iface(Reconciler *R, Scope *s, const Iface *d) {
        const LinkKindOps *ops = link_kind_ops(d->kind);
        struct rtnl_link *observed = scope_link(s, d->name);
        Scope *p = NULL;
        struct rtnl_link *outer = NULL;
        bool create = !observed, peer_create = false;
        const Iface *vrf;
        Action *a;

        if (d->kind == IFACE_VETH) {
                p = d->peer_netns ? scope_by_name(R, d->peer_netns) : &R->host;
                if (!p)
                        return;
                outer = scope_link(p, d->peer_name);
        }

        /* A vxlan or macvlan whose parent this run replaces goes with it. */
        if (observed && ((d->kind == IFACE_VXLAN && d->parent && !scope_link(s, d->parent)) ||
                         (d->kind == IFACE_MACVLAN && !scope_link(&R->host, d->parent)))) {
                scope_replace(s, rtnl_link_get_ifindex(observed));
                observed = NULL;
                create = true;
        }

        if (observed) {
                bool ok = link_is_kind(observed, ops->kernel_kind) && ops->matches(observed, d);

                if (ok && d->kind == IFACE_VETH)
                        ok = veth_pair_ok(R, s, observed, p, outer);
                if (ok && d->kind == IFACE_MACVLAN) {
                        struct rtnl_link *parent = scope_link(&R->host, d->parent);
                        ok = parent && rtnl_link_get_link(observed) == rtnl_link_get_ifindex(parent);
                }
                if (!ok) {
                        int ifindex = rtnl_link_get_ifindex(observed);

                        if (!state_link_owned(&R->state, s->name, d->name, ifindex)) {
                                conflict(R, "%s:%d: namespace '%s': interface '%s' exists but is not the %s the config declares, and nsmgr did not make it, so it is left alone; remove or rename it",
                                         d->src.file, d->src.line, s->name, d->name, ops->kernel_kind);
                                return;
                        }
                        a = act(R, PHASE_LINK_DELETE, ACT_LINK_DELETE, s, "delete %s (it does not match the config)",
                                d->name);
                        if (a) {
                                a->ifname = strdup(d->name);
                                a->ifindex = ifindex;
                        }
                        create = true;
                        observed = NULL;
                        scope_replace(s, ifindex);
                        /* The pair goes with it. */
                        if (d->kind == IFACE_VETH && outer && link_is_kind(outer, "veth") &&
                            rtnl_link_get_link(outer) == ifindex) {
                                scope_replace(p, rtnl_link_get_ifindex(outer));
                                outer = NULL;
                        }
                }
        }

        if (d->kind == IFACE_VETH && create && outer) {
                conflict(R, "%s:%d: namespace '%s', interface '%s': the peer name '%s' is taken in %s by an interface nsmgr did not make; remove it or give the peer another 'name' (a namespace deleted a moment ago may still be taking its interfaces along)",
                         d->src.file, d->src.line, s->name, d->name, d->peer_name,
                         p->name ? p->name : "the host");
                return;
        }
        if (d->kind == IFACE_MACVLAN && !scope_link(&R->host, d->parent) && !declared_in(R, &R->host, d->parent)) {
                conflict(R, "%s:%d: namespace '%s', interface '%s': parent '%s' does not exist in the host",
                         d->src.file, d->src.line, s->name, d->name, d->parent);
                return;
        }
        if (d->kind == IFACE_VETH && d->bridge && !config_find_bridge(R->cfg, d->bridge))
                return;

        if (create) {
                char extra[128] = "";

                if (d->kind == IFACE_VETH)
                        snprintf(extra, sizeof(extra), ", peer %s %s %s", d->peer_name, d->bridge ? "on bridge" : "in",
                                 d->bridge ? d->bridge : p->name ? p->name : "the host");
                else if (d->kind == IFACE_VRF)
                        snprintf(extra, sizeof(extra), ", table %u", d->table);
                else if (d->kind == IFACE_VXLAN)
                        snprintf(extra, sizeof(extra), ", vni %u", d->vni);
                else if (d->kind == IFACE_MACVLAN)
                        snprintf(extra, sizeof(extra), " on host interface %s", d->parent);
                a = act(R, d->kind == IFACE_VXLAN || d->kind == IFACE_MACVLAN ? PHASE_LINK_CREATE_STACKED : PHASE_LINK_CREATE,
                        ACT_LINK_CREATE, s,
                        "create %s %s%s", ops->kernel_kind, d->name, extra);
                if (a) {
                        a->iface = d;
                        a->peer = p;
                }
                R->kinds |= 1u << d->kind;
                peer_create = true;
        }

        /* Settings of the inner end. */
        vrf = vrf_of(s->decl, d->name);
        if (vrf) {
                int master = observed ? rtnl_link_get_master(observed) : 0;
                struct rtnl_link *vl = scope_link(s, vrf->name);

                if (create || !vl || master != rtnl_link_get_ifindex(vl)) {
                        a = act(R, PHASE_LINK_SET, ACT_LINK_SET, s, "enslave %s to VRF %s", d->name, vrf->name);
                        if (a) {
                                a->ifname = strdup(d->name);
                                a->master = strdup(vrf->name);
                        }
                }
        } else if (observed && d->kind != IFACE_VRF && rtnl_link_get_master(observed) > 0) {
                /* Out of a VRF the config no longer puts it in — but only
                 * out of a VRF nsmgr made: other masters are not ours. */
                _cleanup_link_ struct rtnl_link *m = s->links ? rtnl_link_get(s->links, rtnl_link_get_master(observed)) : NULL;

                if (m && link_is_kind(m, "vrf") && state_link_owned(&R->state, s->name, rtnl_link_get_name(m),
                                                                     rtnl_link_get_ifindex(m))) {
                        a = act(R, PHASE_LINK_SET, ACT_LINK_SET, s, "release %s from VRF %s", d->name,
                                rtnl_link_get_name(m));
                        if (a) {
                                a->ifname = strdup(d->name);
                                a->master = strdup("");
                        }
                }
        }
        if (!create)
                plan_mtu(R, s, d->name, observed, d->mtu);
        plan_addresses(R, s, d->name, observed, d->addresses, d->n_addresses);
        plan_up(R, s, d->name, observed, d->up, create, !ipv6_wanted(d->ipv6, d->addresses, d->n_addresses));

        /* The outer end of a veth. */
        if (d->kind == IFACE_VETH) {
                struct rtnl_link *po = peer_create ? NULL : outer;

                if (d->bridge && po) {
                        struct rtnl_link *br = scope_link(&R->host, d->bridge);
                        if (!br || rtnl_link_get_master(po) != rtnl_link_get_ifindex(br)) {
                                a = act(R, PHASE_LINK_SET, ACT_LINK_SET, p, "attach %s to bridge %s", d->peer_name,
                                        d->bridge);
                                if (a) {
                                        a->ifname = strdup(d->peer_name);
                                        a->master = strdup(d->bridge);
                                }
                        }
                }
                if (!peer_create)
                        plan_mtu(R, p, d->peer_name, po, d->mtu);
                if (!d->bridge)
                        plan_addresses(R, p, d->peer_name, po, d->peer_addresses, d->n_peer_addresses);
                plan_up(R, p, d->peer_name, po, d->up, peer_create,
                        d->bridge || !ipv6_wanted(d->ipv6, d->peer_addresses, d->n_peer_addresses));
        }
}

static bool route_matches(Scope *s, struct rtnl_route *rt, const RouteSpec *rs) {
        struct rtnl_nexthop *nh;
        Cidr dst;

        nh = rtnl_route_nexthop_n(rt, 0);
        if (nh && (scope_replaced(s, rtnl_route_nh_get_ifindex(nh)) ||
                   int_has(s->unaddressed, s->n_unaddressed, rtnl_route_nh_get_ifindex(nh))))
                return false;

        if (rtnl_route_get_family(rt) != rs->dst.family || rtnl_route_get_table(rt) != rs->table ||
            rtnl_route_get_priority(rt) != rs->metric || rtnl_route_get_type(rt) != RTN_UNICAST)
                return false;
        if (cidr_from_nl(rtnl_route_get_dst(rt), &dst) < 0)
                return false;
        dst.prefixlen = (uint8_t) nl_addr_get_prefixlen(rtnl_route_get_dst(rt));
        if (!cidr_equal(&dst, &rs->dst))
                return false;
        if (rs->via.family) {
                Cidr gw;
                if (!nh || !rtnl_route_nh_get_gateway(nh) || cidr_from_nl(rtnl_route_nh_get_gateway(nh), &gw) < 0 ||
                    !cidr_addr_equal(&gw, &rs->via))
                        return false;
        }
        if (rs->dev[0]) {
                struct rtnl_link *l = scope_link(s, rs->dev);
                if (!nh || !l || rtnl_route_nh_get_ifindex(nh) != rtnl_link_get_ifindex(l))
                        return false;
        }
        return true;
}

/* The route at the same place (family, table, destination, metric): the
 * kernel holds one there at a time. */
static struct rtnl_route *route_at(Scope *s, const RouteSpec *rs) {
        if (!s->routes)
                return NULL;
        for (struct nl_object *o = nl_cache_get_first(s->routes); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *rt = (struct rtnl_route *) o;
                RouteSpec at = *rs;

                at.via = (Cidr) {};
                at.dev[0] = 0;
                if (route_matches(s, rt, &at))
                        return rt;
        }
        return NULL;
}

static void plan_routes(Reconciler *R, Scope *s) {
        _cleanup_strv_free_ char **owned = NULL;
        _cleanup_strv_free_ char **wanted = NULL;
        char text[256];

        for (size_t i = 0; i < s->decl->n_routes; i++) {
                RouteSpec rs;
                struct rtnl_route *at;
                char *key;
                Action *a;

                route_spec_from_decl(&s->decl->routes[i], &rs);
                key = route_key(&rs);
                if (!key || strv_push(&wanted, key) < 0)
                        return;
                at = route_at(s, &rs);
                if (at && route_matches(s, at, &rs))
                        continue;
                if (at && s->decl->routes[i].soft) {
                        /* A network's default route gives way to one the
                         * namespace has already (unless it is ours). */
                        bool ours = false;
                        _cleanup_strv_free_ char **recorded = state_routes(&R->state, s->name);
                        STRV_FOREACH(k, recorded) {
                                RouteSpec old;
                                if (route_key_parse(*k, &old) >= 0 && route_matches(s, at, &old))
                                        ours = true;
                        }
                        if (!ours)
                                continue;
                }
                if (at) {
                        /* Someone else's route sits where ours goes. Ours from
                         * an earlier apply is removed below; another is not. */
                        bool ours = false;
                        _cleanup_strv_free_ char **recorded = state_routes(&R->state, s->name);
                        STRV_FOREACH(k, recorded) {
                                RouteSpec old;
                                if (route_key_parse(*k, &old) >= 0 && route_matches(s, at, &old) &&
                                    !strv_contains(wanted, *k))
                                        ours = true;
                        }
                        if (!ours) {
                                conflict(R, "%s:%d: namespace '%s': a route to %s (table %u, metric %u) already exists and nsmgr did not make it; remove it or give this route another metric",
                                         s->decl->routes[i].src.file, s->decl->routes[i].src.line, s->name,
                                         route_text(&(RouteSpec) { .dst = rs.dst, .table = RT_TABLE_MAIN }, text,
                                                    sizeof(text)),
                                         rs.table, rs.metric);
                                continue;
                        }
                }
                a = act(R, PHASE_ROUTE_ADD, ACT_ROUTE_ADD, s, "add route %s", route_text(&rs, text, sizeof(text)));
                if (a)
                        a->rs = rs;
        }

        owned = state_routes(&R->state, s->name);
        STRV_FOREACH(k, owned) {
                RouteSpec rs;
                Action *a;
                bool present = false;

                if (strv_contains(wanted, *k) || route_key_parse(*k, &rs) < 0)
                        continue;
                if (s->routes)
                        for (struct nl_object *o = nl_cache_get_first(s->routes); o && !present; o = nl_cache_get_next(o))
                                present = route_matches(s, (struct rtnl_route *) o, &rs);
                if (!present) {
                        state_route_remove(&R->state, s->name, *k);
                        continue;
                }
                a = act(R, PHASE_ROUTE_DEL, ACT_ROUTE_DEL, s, "remove route %s", route_text(&rs, text, sizeof(text)));
                if (a)
                        a->rs = rs;
        }
}

static const char *const dns_files[] = { "resolv.conf", "hosts" };

static void plan_dns(Reconciler *R, Scope *s) {
        char *content[2] = {};

        if (dns_render(s->decl, &content[0], &content[1]) < 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(dns_files); i++) {
                _cleanup_free_ char *path = NULL, *old = NULL;
                Action *a;

                if (asprintf(&path, NETNS_ETC_DIR "/%s/%s", s->name, dns_files[i]) < 0)
                        break;
                if (content[i]) {
                        if (read_full_file(path, &old, NULL) >= 0 && streq(old, content[i]) &&
                            state_dns_owned(&R->state, s->name, dns_files[i])) {
                                free(content[i]);
                                continue;
                        }
                        a = act(R, PHASE_DNS, ACT_DNS_WRITE, s, "write %s", path);
                        if (a) {
                                a->file = TAKE_PTR(path);
                                a->content = TAKE_PTR(content[i]);
                                a->ifname = strdup(dns_files[i]);
                        }
                        free(content[i]);
                } else if (state_dns_owned(&R->state, s->name, dns_files[i])) {
                        a = act(R, PHASE_DNS, ACT_DNS_REMOVE, s, "remove %s", path);
                        if (a) {
                                a->file = TAKE_PTR(path);
                                a->ifname = strdup(dns_files[i]);
                        }
                }
        }
}

/* Links nsmgr made in s that the config no longer declares. */
static void plan_stale_links(Reconciler *R, Scope *s, Phase phase) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ int *idx = NULL;
        size_t n;

        n = state_links(&R->state, s->name, &names, &idx);
        for (size_t i = 0; i < n; i++) {
                struct rtnl_link *l = scope_link(s, names[i]);
                Action *a;

                if (declared_in(R, s, names[i]))
                        continue;
                if (!l || rtnl_link_get_ifindex(l) != idx[i]) {
                        /* Gone, or somebody else's by now: forget it. */
                        state_link_remove(&R->state, s->name, names[i]);
                        continue;
                }
                a = act(R, phase, ACT_LINK_DELETE, s, "delete %s %s (no longer declared)",
                        rtnl_link_get_type(l) ? rtnl_link_get_type(l) : "interface", names[i]);
                if (a) {
                        a->ifname = strdup(names[i]);
                        a->ifindex = idx[i];
                }
        }
}

static void plan_bridge(Reconciler *R, const Bridge *b) {
        struct rtnl_link *l = scope_link(&R->host, b->name);
        bool create = !l;
        Action *a;

        if (l && !link_is_kind(l, "bridge")) {
                conflict(R, "%s:%d: bridge '%s': a host interface of that name exists and is a %s, not a bridge; remove or rename it",
                         b->src.file, b->src.line, b->name, rtnl_link_get_type(l) ? rtnl_link_get_type(l) : "device");
                return;
        }
        if (create) {
                a = act(R, PHASE_BRIDGE, ACT_BRIDGE_CREATE, &R->host, "create bridge %s", b->name);
                if (a)
                        a->bridge = b;
                R->kinds |= LINK_KIND_BRIDGE_BIT;
        } else
                plan_mtu(R, &R->host, b->name, l, b->mtu);
        plan_addresses(R, &R->host, b->name, l, b->addresses, b->n_addresses);
        plan_up(R, &R->host, b->name, l, true, create, !ipv6_wanted(b->ipv6, b->addresses, b->n_addresses));
}

static void plan_sysctls(Reconciler *R, Scope *s, const Sysctl *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *now = s->sysctl_now ? s->sysctl_now[i] : NULL;
                _cleanup_free_ char *host_now = NULL;
                Action *a;

                if (!s->name) {
                        int r = sysctl_read(v[i].key, &host_now);
                        if (r == -ENOENT && v[i].late)
                                now = NULL;    /* its interface is made by this plan */
                        else if (r == -ENOENT) {
                                conflict(R, "%s:%d: host: there is no sysctl '%s'", v[i].src.file, v[i].src.line,
                                         v[i].key);
                                continue;
                        }
                        now = host_now;
                }
                if (now && sysctl_value_equal(now, v[i].value))
                        continue;
                a = act(R, s->name ? PHASE_NETNS_SYSCTL : v[i].late ? PHASE_LINK_UP : PHASE_HOST_SYSCTL, ACT_SYSCTL, s,
                        "set sysctl %s = %s", v[i].key, v[i].value);
                if (a)
                        a->sysctl = &v[i];
        }
}

static int scan_processes(Reconciler *R) {
        if (R->ps_done)
                return 0;
        R->ps_done = true;
        return proc_scan(&R->ps);
}

/* Namespaces recorded by an earlier apply that the config dropped. */
static int plan_teardown(Reconciler *R) {
        _cleanup_strv_free_ char **names = state_netns_names(&R->state);
        size_t n = strv_length(names);
        int r;

        R->gone = calloc(n + 1, sizeof(Scope));
        if (!R->gone)
                return -ENOMEM;
        STRV_FOREACH(name, names) {
                _cleanup_error_ NmError e = NM_ERROR_INIT;
                Scope *s = &R->gone[R->n_gone];
                bool created = false;
                size_t inside;

                if (config_find_netns(R->cfg, *name) || (R->only && !streq(*name, R->only)))
                        continue;
                *s = (Scope) { .nsfd = -EBADF, .host_nsid = -1 };
                if (netns_open(*name, &s->nsfd, &e) < 0 || netns_fd_inode(s->nsfd, &s->ino) < 0 ||
                    !state_netns_known(&R->state, *name, s->ino, &created)) {
                        /* Gone, or another namespace by that name now. */
                        safe_close(s->nsfd);
                        state_netns_remove(&R->state, *name);
                        continue;
                }
                s->name = strdup(*name);
                if (!s->name)
                        return -ENOMEM;
                R->n_gone++;

                r = scan_processes(R);
                if (r < 0)
                        return nm_error(R->err, r, "cannot scan /proc: %s", strerror(-r));
                inside = proc_scan_find(&R->ps, s->ino, NULL);
                if (inside > 0) {
                        warn(R, "namespace '%s' is no longer declared, but %zu process%s still inside; it is kept as it is",
                             *name, inside, inside == 1 ? " is" : "es are");
                        continue;
                }
                if (created) {
                        Action *a = act(R, PHASE_TEARDOWN_NETNS, ACT_NETNS_DELETE, s,
                                        "delete namespace (no longer declared)");
                        (void) a;
                        continue;
                }
                /* Not made by nsmgr: only what nsmgr put into it goes. */
                r = nls_open_in(s->nsfd, &s->nl);
                if (r < 0)
                        return nm_error(R->err, r, "cannot look into namespace '%s': %s", *name, strerror(-r));
                r = dump_scope(R, s, true);
                if (r < 0)
                        return r;
                plan_stale_links(R, s, PHASE_TEARDOWN_LINK);
                {
                        _cleanup_strv_free_ char **files = state_dns_files(&R->state, s->name);
                        STRV_FOREACH(f, files) {
                                Action *a = act(R, PHASE_DNS, ACT_DNS_REMOVE, s, "remove " NETNS_ETC_DIR "/%s/%s",
                                                s->name, *f);
                                if (a) {
                                        a->ifname = strdup(*f);
                                        if (asprintf(&a->file, NETNS_ETC_DIR "/%s/%s", s->name, *f) < 0)
                                                a->file = NULL;
                                }
                        }
                }
        }
        return 0;
}

static bool bridge_used_by(Reconciler *R, const char *bridge) {
        const Netns *ns = config_find_netns(R->cfg, R->only);

        for (size_t i = 0; ns && i < ns->n_ifaces; i++)
                if (ns->ifaces[i].bridge && streq(ns->ifaces[i].bridge, bridge))
                        return true;
        return false;
}

static int plan(Reconciler *R) {
        int r;

        index_declared(R);
        plan_sysctls(R, &R->host, R->cfg->host_sysctls, R->cfg->n_host_sysctls);
        for (size_t i = 0; i < R->cfg->n_bridges; i++)
                if (!R->only || bridge_used_by(R, R->cfg->bridges[i].name))
                        plan_bridge(R, &R->cfg->bridges[i]);

        for (size_t i = 0; i < R->n_scopes; i++) {
                Scope *s = &R->scopes[i];

                if (s->skip)
                        continue;
                if (s->create) {
                        Action *a = act(R, PHASE_NETNS_CREATE, ACT_NETNS_CREATE, s, "create namespace");
                        (void) a;
                }
                plan_sysctls(R, s, s->decl->sysctls, s->decl->n_sysctls);
                if (s->exists)
                        plan_stale_links(R, s, PHASE_LINK_DELETE);
        }
        /* Links that stand on others (vxlan, macvlan) after those, so that
         * a parent made anew takes its dependents with it. */
        for (int stacked = 0; stacked <= 1; stacked++)
                for (size_t i = 0; i < R->n_scopes; i++) {
                        Scope *s = &R->scopes[i];

                        if (s->skip)
                                continue;
                        for (size_t j = 0; j < s->decl->n_ifaces; j++) {
                                const Iface *d = &s->decl->ifaces[j];
                                bool is_stacked = d->kind == IFACE_VXLAN || d->kind == IFACE_MACVLAN;

                                if (is_stacked == (bool) stacked)
                                        plan_iface(R, s, d);
                        }
                }
        for (size_t i = 0; i < R->n_scopes; i++) {
                if (R->scopes[i].skip)
                        continue;
                plan_routes(R, &R->scopes[i]);
                plan_dns(R, &R->scopes[i]);
        }
        if (!R->only)
                plan_stale_links(R, &R->host, PHASE_TEARDOWN_LINK);

        r = plan_teardown(R);
        if (r < 0)
                return r;

        /* NAT last: it needs only the addresses the plan settles. */
        r = nat_plan(R->cfg, &R->state, &R->nat, R->err);
        if (r < 0)
                return r;
        STRV_FOREACH(c, R->nat.changes)
                (void) act(R, PHASE_NAT, ACT_NAT, &R->host, "%s", *c);
        return 0;
}

/* --- execution ----------------------------------------------------------- */

static int action_cmp(const void *a, const void *b) {
        const Action *x = a, *y = b;

        if (x->phase != y->phase)
                return x->phase < y->phase ? -1 : 1;
        return (x->order > y->order) - (x->order < y->order);
}

static int kernel_error(Reconciler *R, const Action *a, NlSock *nl, int r) {
        const char *msg = nls_last_message(nl);

        return nm_error(R->err, r, "%s: %s%s%s%s", a->desc, strerror(-r), msg ? " (the kernel says: " : "",
                        msg ? msg : "", msg ? ")" : "");
}

struct sysctl_args {
        const Sysctl *sc;
};

static int write_sysctl_in_thread(void *userdata) {
        struct sysctl_args *a = userdata;

        return sysctl_write(a->sc->key, a->sc->value);
}

static int exec_netns_create(Reconciler *R, Action *first, size_t count) {
        _cleanup_free_ NetnsNew *v = calloc(count + 1, sizeof(NetnsNew));
        int r;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                const Netns *d = first[i].scope->decl;

                v[i].name = first[i].scope->name;
                /* Interfaces and routes are made through a socket bound to
                 * the namespace; a bare namespace needs none. */
                v[i].want_socket = d->n_ifaces > 0 || d->n_routes > 0;
        }
        r = netns_create_many(v, count, false, R->err);
        for (size_t i = 0; i < count; i++) {
                Scope *s = first[i].scope;

                if (!v[i].created)
                        continue;
                s->nsfd = v[i].fd;
                s->nl = v[i].nl;
                (void) netns_fd_inode(s->nsfd, &s->ino);
                state_netns_set(&R->state, s->name, s->ino, true);
                (void) owner_record(s->name, s->ino, OWNER_CONFIG);
                (void) strv_extend(&R->report->changes, first[i].desc);
        }
        return r;
}

static int exec_link_create(Reconciler *R, Action *a) {
        Scope *s = a->scope;
        const Iface *d = a->iface;
        const LinkKindOps *ops = link_kind_ops(d->kind);
        LinkEnv env = { .host = R->host.nl, .nl = s->nl, .nsfd = s->nsfd, .peer_nsfd = -1 };
        int r, ifindex;

        if (d->kind == IFACE_VETH) {
                if (a->peer && a->peer->name)
                        env.peer_nsfd = a->peer->nsfd;
                if (d->bridge) {
                        r = scope_ifindex(&R->host, d->bridge, &env.bridge_ifindex);
                        if (r < 0)
                                return nm_error(R->err, r, "%s: cannot find bridge %s: %s", a->desc, d->bridge,
                                                strerror(-r));
                }
        } else if (d->kind == IFACE_MACVLAN) {
                r = scope_ifindex(&R->host, d->parent, &env.parent_ifindex);
                if (r < 0)
                        return nm_error(R->err, r, "%s: cannot find host interface %s: %s", a->desc, d->parent,
                                        strerror(-r));
        } else if (d->kind == IFACE_VXLAN && d->parent) {
                r = scope_ifindex(s, d->parent, &env.parent_ifindex);
                if (r < 0)
                        return nm_error(R->err, r, "%s: cannot find %s: %s", a->desc, d->parent, strerror(-r));
        }

        r = ops->create(&env, d, R->err);
        if (r < 0)
                return nm_error_prefix(R->err, r, "%s", a->desc);
        r = link_ifindex(s->nl, d->name, &ifindex);
        if (r < 0)
                return kernel_error(R, a, s->nl, r);
        scope_remember(s, d->name, ifindex);
        state_link_add(&R->state, s->name, d->name, ifindex);
        return 0;
}

static int exec_link_set(Reconciler *R, Action *a) {
        Scope *s = a->scope;
        LinkChange c = a->change;
        int r, ifindex;

        if (a->master && !*a->master)
                c.master = 0;
        else if (a->master) {
                r = scope_ifindex(s, a->master, &c.master);
                if (r < 0)
                        return nm_error(R->err, r, "%s: cannot find %s: %s", a->desc, a->master, strerror(-r));
        }
        r = scope_ifindex(s, a->ifname, &ifindex);
        if (r < 0)
                return kernel_error(R, a, s->nl, r);
        r = link_change(s->nl, ifindex, &c);
        if (r < 0)
                return kernel_error(R, a, s->nl, r);
        return 0;
}

static int exec_addr(Reconciler *R, Action *a, bool add) {
        _cleanup_addr_ struct rtnl_addr *addr = NULL;
        _cleanup_nladdr_ struct nl_addr *local = NULL;
        Scope *s = a->scope;
        int r, ifindex = a->ifindex;

        if (!ifindex) {
                r = scope_ifindex(s, a->ifname, &ifindex);
                if (r < 0)
                        return kernel_error(R, a, s->nl, r);
        }
        addr = rtnl_addr_alloc();
        local = cidr_to_nl(&a->addr);
        if (!addr || !local)
                return -ENOMEM;
        rtnl_addr_set_ifindex(addr, ifindex);
        rtnl_addr_set_local(addr, local);
        rtnl_addr_set_prefixlen(addr, a->addr.prefixlen);
        /* A declared address is ours to use at once: no duplicate address
         * detection holding it back as "tentative" for a second. */
        if (a->addr.family == AF_INET6)
                rtnl_addr_set_flags(addr, IFA_F_NODAD);
        nls_reset_error(s->nl);
        if (add)
                r = nls_errno(s->nl, rtnl_addr_add(s->nl->sk, addr, NLM_F_CREATE | NLM_F_REPLACE));
        else
                r = nls_errno(s->nl, rtnl_addr_delete(s->nl->sk, addr, 0));
        if (r == -EADDRNOTAVAIL && !add)
                r = 0;
        if (r < 0)
                return kernel_error(R, a, s->nl, r);
        if (add)
                state_addr_add(&R->state, s->name, a->ifname, &a->addr);
        else
                state_addr_remove(&R->state, s->name, a->ifname, &a->addr);
        return 0;
}

static int build_route(Reconciler *R, Scope *s, const RouteSpec *rs, struct rtnl_route **ret) {
        _cleanup_route_ struct rtnl_route *rt = NULL;
        _cleanup_nladdr_ struct nl_addr *dst = NULL;
        struct rtnl_nexthop *nh;
        int r;

        rt = rtnl_route_alloc();
        dst = cidr_to_nl(&rs->dst);
        nh = rtnl_route_nh_alloc();
        if (!rt || !dst || !nh) {
                rtnl_route_nh_free(nh);
                return -ENOMEM;
        }
        rtnl_route_set_family(rt, (uint8_t) rs->dst.family);
        rtnl_route_set_dst(rt, dst);
        rtnl_route_set_table(rt, rs->table);
        rtnl_route_set_priority(rt, rs->metric);
        rtnl_route_set_protocol(rt, RTPROT_STATIC);
        rtnl_route_set_type(rt, RTN_UNICAST);
        rtnl_route_set_scope(rt, rs->via.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
        if (rs->via.family) {
                _cleanup_nladdr_ struct nl_addr *gw = cidr_to_nl(&rs->via);
                if (!gw) {
                        rtnl_route_nh_free(nh);
                        return -ENOMEM;
                }
                rtnl_route_nh_set_gateway(nh, gw);
        }
        if (rs->dev[0]) {
                int ifindex;
                r = scope_ifindex(s, rs->dev, &ifindex);
                if (r < 0) {
                        rtnl_route_nh_free(nh);
                        return r;
                }
                rtnl_route_nh_set_ifindex(nh, ifindex);
        }
        rtnl_route_add_nexthop(rt, nh);
        *ret = TAKE_PTR(rt);
        (void) R;
        return 0;
}

static int exec_route(Reconciler *R, Action *a, bool add) {
        _cleanup_route_ struct rtnl_route *rt = NULL;
        _cleanup_free_ char *key = NULL;
        Scope *s = a->scope;
        int r;

        r = build_route(R, s, &a->rs, &rt);
        if (r < 0)
                return kernel_error(R, a, s->nl, r);
        key = route_key(&a->rs);
        if (!key)
                return -ENOMEM;
        nls_reset_error(s->nl);
        if (add)
                /* REPLACE: the plan made sure nothing but our own route sits
                 * at this place (a route the kernel may or may not have
                 * flushed with an address is made again either way). */
                r = nls_errno(s->nl, rtnl_route_add(s->nl->sk, rt, NLM_F_CREATE | NLM_F_REPLACE));
        else
                r = nls_errno(s->nl, rtnl_route_delete(s->nl->sk, rt, 0));
        if (!add && r == -ESRCH)
                r = 0;
        if (r < 0)
                return kernel_error(R, a, s->nl, r);
        if (add)
                state_route_add(&R->state, s->name, key);
        else
                state_route_remove(&R->state, s->name, key);
        return 0;
}

static int exec_dns(Reconciler *R, Action *a, bool write) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (asprintf(&dir, NETNS_ETC_DIR "/%s", a->scope->name) < 0)
                return -ENOMEM;
        if (write) {
                r = mkdir_p(dir, 0755);
                if (r >= 0)
                        r = write_file_if_changed(a->file, a->content, strlen(a->content), 0644);
                if (r < 0)
                        return nm_error(R->err, r, "%s: %s", a->desc, strerror(-r));
                state_dns_add(&R->state, a->scope->name, a->ifname);
                return 0;
        }
        if (unlink(a->file) < 0 && errno != ENOENT)
                return nm_error(R->err, negative_errno(), "%s: %m", a->desc);
        (void) rmdir(dir);
        state_dns_remove(&R->state, a->scope->name, a->ifname);
        return 0;
}

static int exec_netns_delete(Reconciler *R, Action *a) {
        _cleanup_strv_free_ char **names = NULL, **files = NULL;
        _cleanup_free_ int *idx = NULL;
        _cleanup_free_ char *dir = NULL;
        Scope *s = a->scope;
        size_t n;
        int r;

        /* The links first, so the host ends of veth pairs go now rather than
         * whenever the kernel gets round to freeing the namespace. */
        n = state_links(&R->state, s->name, &names, &idx);
        if (n > 0 && !s->nl) {
                r = nls_open_in(s->nsfd, &s->nl);
                if (r < 0)
                        return nm_error(R->err, r, "%s: cannot look into it: %s", a->desc, strerror(-r));
        }
        if (n > 0) {
                for (size_t i = 0; i < n; i++) {
                        _cleanup_link_ struct rtnl_link *l = NULL;

                        if (rtnl_link_get_kernel(s->nl->sk, idx[i], NULL, &l) < 0 || !rtnl_link_get_name(l) ||
                            !streq(rtnl_link_get_name(l), names[i]))
                                continue;
                        (void) link_delete(s->nl, idx[i]);
                }
        }
        files = state_dns_files(&R->state, s->name);
        STRV_FOREACH(f, files) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, NETNS_ETC_DIR "/%s/%s", s->name, *f) >= 0)
                        (void) unlink(p);
        }
        if (asprintf(&dir, NETNS_ETC_DIR "/%s", s->name) >= 0)
                (void) rmdir(dir);

        s->nsfd = safe_close(s->nsfd);
        r = netns_unpin(s->name, R->err);
        if (r < 0 && r != -ENOENT)
                return nm_error_prefix(R->err, r, "%s", a->desc);
        (void) owner_forget(s->name);
        state_netns_remove(&R->state, s->name);
        return 0;
}

static int exec_one(Reconciler *R, Action *a) {
        Scope *s = a->scope;
        int r;

        switch (a->type) {
        case ACT_SYSCTL:
                if (!s->name)
                        r = sysctl_write(a->sysctl->key, a->sysctl->value);
                else
                        r = ns_run_in(s->nsfd, write_sysctl_in_thread, &(struct sysctl_args) { .sc = a->sysctl });
                if (r < 0)
                        return nm_error(R->err, r, "%s: %s", a->desc, strerror(-r));
                return 0;
        case ACT_BRIDGE_CREATE: {
                int ifindex;

                r = bridge_create(R->host.nl, a->bridge->name, a->bridge->mtu, R->err);
                if (r < 0)
                        return r;
                r = link_ifindex(R->host.nl, a->bridge->name, &ifindex);
                if (r < 0)
                        return kernel_error(R, a, R->host.nl, r);
                scope_remember(&R->host, a->bridge->name, ifindex);
                state_link_add(&R->state, NULL, a->bridge->name, ifindex);
                return 0;
        }
        case ACT_LINK_DELETE:
                r = link_delete(s->nl, a->ifindex);
                if (r < 0 && r != -ENODEV)
                        return kernel_error(R, a, s->nl, r);
                state_link_remove(&R->state, s->name, a->ifname);
                return 0;
        case ACT_LINK_CREATE:
                return exec_link_create(R, a);
        case ACT_LINK_SET:
                return exec_link_set(R, a);
        case ACT_ADDR_ADD:
                return exec_addr(R, a, true);
        case ACT_ADDR_DEL:
                return exec_addr(R, a, false);
        case ACT_ROUTE_ADD:
                return exec_route(R, a, true);
        case ACT_ROUTE_DEL:
                return exec_route(R, a, false);
        case ACT_DNS_WRITE:
                return exec_dns(R, a, true);
        case ACT_DNS_REMOVE:
                return exec_dns(R, a, false);
        case ACT_NETNS_DELETE:
                return exec_netns_delete(R, a);
        case ACT_NETNS_CREATE:
        default:
                return -EINVAL;
        }
}

static int execute(Reconciler *R) {
        if (R->n_actions > 1)
                qsort(R->actions, R->n_actions, sizeof(Action), action_cmp);

        for (size_t i = 0; i < R->n_actions; i++) {
                Action *a = &R->actions[i];
                int r;

                if (a->type == ACT_NETNS_CREATE) {
                        size_t k = i;
                        while (k < R->n_actions && R->actions[k].type == ACT_NETNS_CREATE)
                                k++;
                        r = exec_netns_create(R, a, k - i);
                        if (r < 0)
                                return r;
                        i = k - 1;
                        continue;
                }
                if (a->type == ACT_NAT) {
                        size_t k = i;
                        while (k < R->n_actions && R->actions[k].type == ACT_NAT)
                                k++;
                        r = nat_apply(&R->nat, &R->state, R->err);
                        if (r < 0)
                                return r;
                        for (size_t j = i; j < k; j++)
                                (void) strv_extend(&R->report->changes, R->actions[j].desc);
                        i = k - 1;
                        continue;
                }
                /* A namespace made bare gets a socket when something is
                 * done in it after all (the far end of another's veth). */
                for (Scope **sp = (Scope *[]) { a->scope, a->peer, NULL }; *sp; sp++) {
                        Scope *sc = *sp;

                        if (sc->name && !sc->nl && sc->nsfd >= 0) {
                                r = nls_open_in(sc->nsfd, &sc->nl);
                                if (r < 0)
                                        return nm_error(R->err, r, "%s: cannot open a netlink socket in it: %s",
                                                        a->desc, strerror(-r));
                        }
                }
                r = exec_one(R, a);
                if (r < 0)
                        return r;
                (void) strv_extend(&R->report->changes, a->desc);
        }
        return 0;
}

int reconcile_lock(NmError *err) {
        int fd, r;

        r = mkdir_p(NSMGR_RUN_DIR, 0755);
        if (r < 0)
                return nm_error(err, r, "cannot create " NSMGR_RUN_DIR ": %s%s", strerror(-r),
                                r == -EACCES || r == -EPERM ? "; this needs root" : "");
        fd = open(NSMGR_RUN_DIR "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return nm_error(err, negative_errno(), "cannot open " NSMGR_RUN_DIR "/lock: %m%s",
                                errno == EACCES ? "; this needs root" : "");
        if (flock(fd, LOCK_EX) < 0) {
                r = negative_errno();
                close(fd);
                return nm_error(err, r, "cannot lock " NSMGR_RUN_DIR "/lock: %s", strerror(-r));
        }
        return fd;
}

void reconcile_report_done(ReconcileReport *r) {
        r->changes = strv_free(r->changes);
        r->warnings = strv_free(r->warnings);
}

static void reconciler_done(Reconciler *R) {
        for (size_t i = 0; i < R->n_actions; i++)
                action_free(&R->actions[i]);
        free(R->actions);
        for (size_t i = 0; i < R->n_scopes; i++)
                scope_done(&R->scopes[i]);
        free(R->scopes);
        for (size_t i = 0; i < R->n_gone; i++)
                scope_done(&R->gone[i]);
        free(R->gone);
        scope_done(&R->host);
        strv_free(R->conflicts);
        proc_scan_done(&R->ps);
        state_done(&R->state);
        nat_plan_done(&R->nat);
        strmap_done(&R->declared);
        strmap_done(&R->scope_index);
}

static int run(const Config *cfg, const char *only, ReconcileFlags flags, ReconcileReport *report, NmError *err) {
        /* The config is extended for this call only (networks_expand) and
         * restored before returning: the caller's view does not change. */
        Config *mcfg = (Config *) cfg;
        _cleanup_close_ int lock = -EBADF;
        Expansion exp = {};
        _cleanup_(reconciler_done) Reconciler R = {
                .cfg = cfg,
                .flags = flags,
                .report = report,
                .err = err,
                .only = only,
                .host = { .nsfd = -EBADF, .host_nsid = -1 },
        };
        int r, saved;

        report->n_netns = (unsigned) cfg->n_netns;
        report->n_networks = (unsigned) cfg->n_networks;

        if (!(flags & RECONCILE_LOCKED)) {
                lock = reconcile_lock(err);
                if (lock < 0)
                        return lock;
        }
        r = state_load(&R.state);
        if (r == -EBADMSG)
                warn(&R, NSMGR_RUN_DIR "/state.json is damaged; nsmgr forgets what it made before and tears nothing down");
        else if (r < 0)
                return nm_error(err, r, "cannot read " NSMGR_RUN_DIR "/state.json: %s", strerror(-r));

        r = networks_expand(mcfg, flags & RECONCILE_DRY_RUN ? EXPAND_DRY_RUN : 0, &exp, err);
        if (r >= 0) {
                STRV_FOREACH(n, exp.notes)
                        (void) strv_extend(&report->changes, *n);
                r = observe(&R);
        }
        if (r >= 0)
                r = plan(&R);
        if (r >= 0 && R.conflicts) {
                _cleanup_free_ char *joined = NULL;
                size_t len = 0;

                STRV_FOREACH(c, R.conflicts)
                        len += strlen(*c) + 1;
                joined = calloc(len + 1, 1);
                if (!joined)
                        r = -ENOMEM;
                else {
                        STRV_FOREACH(c, R.conflicts) {
                                if (*joined)
                                        strcat(joined, "\n");
                                strcat(joined, *c);
                        }
                        r = nm_error(err, -EEXIST, "%s", joined);
                }
        }
        /* Kernel features before any change: an apply that cannot finish
         * must not start. */
        if (r >= 0) {
                /* veths and bridges every kernel that runs containers has;
                 * probing makes a scratch namespace whose tear-down holds the
                 * RTNL lock for tens of milliseconds. Only the kinds that are
                 * often missing (modules not built, not loaded) are probed. */
                r = link_kinds_probe(R.kinds & ~((1u << IFACE_VETH) | LINK_KIND_BRIDGE_BIT), err);
                if (r == -EOPNOTSUPP) {
                        for (size_t i = 0; i < R.n_actions; i++) {
                                const Iface *d = R.actions[i].iface;
                                _cleanup_free_ char *why = NULL;

                                if (R.actions[i].type != ACT_LINK_CREATE ||
                                    !strstr(nm_error_message(err), link_kind_ops(d->kind)->feature))
                                        continue;
                                why = strdup(nm_error_message(err));
                                nm_error_clear(err);
                                r = nm_error(err, r, "%s:%d: namespace '%s', interface '%s': cannot create a %s: %s; nothing was changed",
                                             d->src.file, d->src.line, R.actions[i].scope->name, d->name,
                                             link_kind_ops(d->kind)->kernel_kind, why ? why : "unsupported");
                                break;
                        }
                        if (!strstr(nm_error_message(err), "nothing was changed"))
                                r = nm_error_prefix(err, r, "cannot apply the config; nothing was changed");
                }
        }
        if (r < 0 || (flags & RECONCILE_DRY_RUN)) {
                /* A refused apply changes nothing: not even a lease. */
                if (r < 0)
                        networks_rollback(cfg, &exp);
                if (r >= 0) {
                        if (R.n_actions > 1)
                                qsort(R.actions, R.n_actions, sizeof(Action), action_cmp);
                        for (size_t i = 0; i < R.n_actions; i++)
                                (void) strv_extend(&report->changes, R.actions[i].desc);
                }
                networks_unexpand(mcfg, &exp);
                return r;
        }

        /* Namespaces that exist and are declared are now wired by nsmgr. */
        for (size_t i = 0; i < R.n_scopes; i++)
                if (R.scopes[i].exists && !R.scopes[i].skip)
                        state_netns_set(&R.state, R.scopes[i].name, R.scopes[i].ino, false);

        r = execute(&R);
        saved = state_save(&R.state);
        networks_unexpand(mcfg, &exp);
        if (r < 0)
                return r;
        if (saved < 0)
                return nm_error(err, saved, "cannot record what nsmgr made in " NSMGR_RUN_DIR "/state.json: %s",
                                strerror(-saved));
        return 0;
}

int reconcile(const Config *cfg, ReconcileFlags flags, ReconcileReport *report, NmError *err) {
        return run(cfg, NULL, flags, report, err);
}

int reconcile_netns(const Config *cfg, const char *netns, ReconcileFlags flags, ReconcileReport *report,
                    NmError *err) {
        return run(cfg, netns, flags, report, err);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>

#include "dns.h"
#include "marks.h"
#include "paths.h"
#include "plan.h"
#include "strv.h"
#include "sysctl.h"

/* What the planner knows of a scope beyond the observation: links this
 * plan deletes (and makes anew), links it takes addresses from (routes
 * through them go with the address and are made again). */
typedef struct ScopeSide {
        int *replaced;
        size_t n_replaced;
        int *unaddressed;
        size_t n_unaddressed;
        int *deleted;
        size_t n_deleted;
        int *paired;             /* host: veth ends whose peer is in an observed namespace */
        size_t n_paired;
} ScopeSide;

typedef struct Planner {
        const PlanInput *in;
        const Config *m;
        Observed *o;
        Plan *p;
        int oom;                 /* the first allocation failure: the plan fails as a whole */
        StrMap declared;         /* "SCOPE\001IFNAME" of every link the model puts somewhere */
        ScopeSide *side;         /* host, then scopes, then gone */
} Planner;

/* --- bookkeeping --------------------------------------------------------------- */

static void nomem(Planner *P) {
        if (!P->oom)
                P->oom = -ENOMEM;
}

static Action *act(Planner *P, Phase phase, ActionType type, ObsScope *s) {
        Action *a;

        if (GREEDY_REALLOC(P->p->v, P->p->cap, P->p->n + 1) < 0) {
                nomem(P);
                return NULL;
        }
        a = &P->p->v[P->p->n];
        *a = (Action) { .type = type, .phase = phase, .order = P->p->n, .scope = s };
        P->p->n++;
        return a;
}

_printf_(2, 3) static void conflict(Planner *P, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (strv_extendv(&P->p->conflicts, fmt, ap) < 0)
                nomem(P);
        va_end(ap);
}

_printf_(2, 3) static void warn(Planner *P, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (strv_extendv(&P->p->warnings, fmt, ap) < 0)
                nomem(P);
        va_end(ap);
}

/* A string the plan owns (derived names that actions point at). */
static const char *keep(Planner *P, char *s) {
        if (!s || strv_push(&P->p->strings, s) < 0) {
                free(s);
                nomem(P);
                return NULL;
        }
        return s;
}

static ScopeSide *side_of(Planner *P, const ObsScope *s) {
        if (s == &P->o->host)
                return &P->side[0];
        if (s >= P->o->scopes && s < P->o->scopes + P->o->n_scopes)
                return &P->side[1 + (size_t) (s - P->o->scopes)];
        assert(s >= P->o->gone && s < P->o->gone + P->o->n_gone);
        return &P->side[1 + P->o->n_scopes + (size_t) (s - P->o->gone)];
}

static void int_push(Planner *P, int **v, size_t *n, int x) {
        int *nv = realloc(*v, (*n + 1) * sizeof(int));

        if (!nv) {
                nomem(P);
                return;
        }
        nv[(*n)++] = x;
        *v = nv;
}

static bool int_has(const int *v, size_t n, int x) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == x)
                        return true;
        return false;
}

static bool replaced(Planner *P, const ObsScope *s, int ifindex) {
        ScopeSide *sd = side_of(P, s);

        return int_has(sd->replaced, sd->n_replaced, ifindex);
}

static void replace(Planner *P, const ObsScope *s, int ifindex) {
        ScopeSide *sd = side_of(P, s);

        int_push(P, &sd->replaced, &sd->n_replaced, ifindex);
}

/* A link seen before this run, unless this run deletes it: then what
 * stood on it (a vxlan, a macvlan, routes) goes with it and is made anew. */
static const ObsLink *scope_link(Planner *P, const ObsScope *s, const char *name) {
        const ObsLink *l = obs_link(s, name);

        if (l && replaced(P, s, l->ifindex))
                return NULL;
        return l;
}

static bool link_ours(const ObsLink *l) {
        return l->group == NSMGR_LINK_GROUP;
}

static bool link_is_kind(const ObsLink *l, const char *kind) {
        return streq(l->kind, kind);
}

static bool dns_ours(const char *content) {
        return content && strneq(content, NSMGR_DNS_MARK, strlen(NSMGR_DNS_MARK));
}

static const char *scope_text(const ObsScope *s) {
        return s->name ? s->name : "the host";
}

static char *declared_key(const char *scope, const char *ifname) {
        char *k;

        if (asprintf(&k, "%s\001%s", scope ? scope : "", ifname) < 0)
                return NULL;
        return k;
}

static void declare(Planner *P, const char *scope, const char *ifname) {
        _cleanup_free_ char *k = declared_key(scope, ifname);

        if (!k || strmap_put(&P->declared, k, 1) < 0)
                nomem(P);
}

static bool declared_in(Planner *P, const ObsScope *s, const char *ifname) {
        _cleanup_free_ char *k = declared_key(s->name, ifname);

        if (!k) {
                nomem(P);
                return true;   /* when in doubt, tear nothing down */
        }
        return strmap_get(&P->declared, k, NULL);
}

static void index_declared(Planner *P) {
        for (size_t i = 0; i < P->m->n_bridges; i++)
                declare(P, NULL, P->m->bridges[i].name);
        for (size_t i = 0; i < P->m->n_netns; i++) {
                const Netns *ns = &P->m->netns[i];

                for (size_t j = 0; j < ns->n_ifaces; j++) {
                        const Iface *it = &ns->ifaces[j];

                        declare(P, ns->name, it->name);
                        if (link_kind_ops(it->kind)->has_peer && it->peer_name)
                                declare(P, it->peer_netns, it->peer_name);
                }
        }
}

static bool deleting(Planner *P, const ObsScope *s, int ifindex) {
        ScopeSide *sd = side_of(P, s);

        return int_has(sd->deleted, sd->n_deleted, ifindex);
}

static void plan_link_delete(Planner *P, ObsScope *s, Phase phase, const ObsLink *l, const char *kind, const char *why) {
        ScopeSide *sd = side_of(P, s);
        Action *a;

        if (int_has(sd->deleted, sd->n_deleted, l->ifindex))
                return;
        int_push(P, &sd->deleted, &sd->n_deleted, l->ifindex);
        a = act(P, phase, ACT_LINK_DELETE, s);
        if (a)
                a->del = (typeof(a->del)) { .ifname = l->name, .ifindex = l->ifindex, .kind = kind, .why = why };
}

static void plan_set(Planner *P, Phase phase, ObsScope *s, LinkSetKind what, const char *ifname, const char *master) {
        Action *a = act(P, phase, ACT_LINK_SET, s);

        if (a)
                a->set = (typeof(a->set)) { .what = what, .ifname = ifname, .master = master };
}

/* --- addresses, state, MTU ------------------------------------------------------ */

static bool ipv6_wanted(int setting, const Cidr *addrs, size_t n) {
        if (setting >= 0)
                return setting;
        for (size_t i = 0; i < n; i++)
                if (addrs[i].family == AF_INET6)
                        return true;
        return false;
}

static void plan_addresses(Planner *P, ObsScope *s, const char *ifname, const ObsLink *observed, const Cidr *want,
                           size_t n_want) {
        int ifindex = observed ? observed->ifindex : 0;
        const ObsAddr *have = NULL;
        size_t n_have = 0;

        if (observed)
                have = obs_addrs_of(s, ifindex, &n_have);

        for (size_t i = 0; i < n_want; i++) {
                bool present = false;
                Action *a;

                for (size_t j = 0; j < n_have && !present; j++)
                        present = cidr_equal(&have[j].addr, &want[i]);
                if (present)
                        continue;
                a = act(P, PHASE_ADDR_ADD, ACT_ADDR_ADD, s);
                if (a)
                        a->addr = (typeof(a->addr)) { .ifname = ifname, .addr = want[i] };
        }

        /* Addresses nsmgr added before and the model no longer has. */
        for (size_t j = 0; j < n_have; j++) {
                bool declared = false;
                Action *a;

                for (size_t i = 0; i < n_want && !declared; i++)
                        declared = cidr_equal(&have[j].addr, &want[i]);
                if (declared || have[j].proto != NSMGR_RTPROT)
                        continue;
                /* Removing an address takes the routes through its subnet
                 * along; they are made again afterwards. */
                int_push(P, &side_of(P, s)->unaddressed, &side_of(P, s)->n_unaddressed, ifindex);
                a = act(P, PHASE_ADDR_DEL, ACT_ADDR_DEL, s);
                if (a)
                        a->addr = (typeof(a->addr)) { .ifname = ifname, .ifindex = ifindex, .addr = have[j].addr };
        }
}

static void plan_up(Planner *P, ObsScope *s, const char *ifname, const ObsLink *observed, bool want_up,
                    bool created) {
        bool is_up = observed && (observed->flags & IFF_UP);

        /* A link made without IPv6 gets no link-local address: the creating
         * step sees to it (a link whose peer is up already would get one as
         * it comes up, before a request that brings it up could say no). */
        if (want_up && (created || !is_up))
                plan_set(P, PHASE_LINK_UP, s, SET_UP, ifname, NULL);
        else if (!want_up && is_up)
                plan_set(P, PHASE_LINK_UP, s, SET_DOWN, ifname, NULL);
}

/* A link nsmgr made without IPv6 stays so: no link-local address. */
static void plan_ipv6_off(Planner *P, ObsScope *s, const char *ifname, const ObsLink *observed, bool want_off) {
        const ObsAddr *have;
        size_t n = 0;

        if (!observed || !want_off || !link_ours(observed))
                return;
        if (observed->addr_gen_mode >= 0 && observed->addr_gen_mode != IN6_ADDR_GEN_MODE_NONE)
                plan_set(P, PHASE_LINK_SET, s, SET_IPV6_OFF, ifname, NULL);
        have = obs_addrs_of(s, observed->ifindex, &n);
        for (size_t i = 0; i < n; i++) {
                Action *a;

                if (have[i].addr.family != AF_INET6 || have[i].addr.addr[0] != 0xfe || (have[i].addr.addr[1] & 0xc0) != 0x80)
                        continue;
                a = act(P, PHASE_ADDR_DEL, ACT_ADDR_DEL, s);
                if (a)
                        a->addr = (typeof(a->addr)) { .ifname = ifname, .ifindex = observed->ifindex, .addr = have[i].addr };
        }
}

/* The second end of a pair a killed run made but did not mark. */
static void plan_mark(Planner *P, ObsScope *s, const char *ifname, const ObsLink *observed) {
        if (observed && observed->mark_inferred)
                plan_set(P, PHASE_LINK_SET, s, SET_MARK, ifname, NULL);
}

static void plan_mtu(Planner *P, ObsScope *s, const char *ifname, const ObsLink *observed, uint32_t mtu) {
        Action *a;

        if (!observed || !mtu || observed->mtu == mtu)
                return;
        a = act(P, PHASE_LINK_SET, ACT_LINK_SET, s);
        if (a)
                a->set = (typeof(a->set)) { .what = SET_MTU, .ifname = ifname, .mtu = mtu };
}

/* --- interfaces ---------------------------------------------------------------- */

/* Is an existing veth the pair the model declares? Both ends must point at
 * each other, and the outer end at this very namespace. */
static bool veth_pair_ok(const ObsScope *s, const ObsLink *inner, const ObsScope *p, const ObsLink *outer) {
        size_t want;

        if (!outer || !link_is_kind(outer, "veth"))
                return false;
        if (outer->link != inner->ifindex || inner->link != outer->ifindex)
                return false;
        if (!p->name)
                /* Checked from the inside: the inner end's peer is in the
                 * host, and has the outer end's ifindex. */
                return inner->link_netnsid >= 0 && inner->link_netnsid == s->host_nsid;
        return strmap_get(&s->peer_nsid, p->name, &want) && outer->link_netnsid >= 0 &&
               (size_t) outer->link_netnsid == want;
}

/* The VRF a declared interface is a member of, or NULL. */
static const Iface *vrf_of(const Netns *ns, const char *ifname) {
        for (size_t i = 0; i < ns->n_ifaces; i++)
                if (ns->ifaces[i].kind == IFACE_VRF && strv_contains(ns->ifaces[i].members, ifname))
                        return &ns->ifaces[i];
        return NULL;
}

/* The other end of a veth: settings of its own, and its bridge. */
static void plan_outer_end(Planner *P, ObsScope *p, const Iface *d, const ObsLink *outer, bool created) {
        const ObsLink *po = created ? NULL : outer;

        if (d->bridge && po) {
                const ObsLink *br = scope_link(P, &P->o->host, d->bridge);

                if (!br || po->master != br->ifindex)
                        plan_set(P, PHASE_LINK_SET, p, SET_BRIDGE, d->peer_name, d->bridge);
        }
        if (!created) {
                plan_mtu(P, p, d->peer_name, po, d->mtu);
                plan_mark(P, p, d->peer_name, po);
                plan_ipv6_off(P, p, d->peer_name, po,
                              d->bridge || !ipv6_wanted(d->ipv6, d->peer_addresses, d->n_peer_addresses));
        }
        if (!d->bridge)
                plan_addresses(P, p, d->peer_name, po, d->peer_addresses, d->n_peer_addresses);
        plan_up(P, p, d->peer_name, po, d->up, created);
}

static void plan_iface(Planner *P, ObsScope *s, const Iface *d) {
        const LinkKindOps *ops = link_kind_ops(d->kind);
        const ObsLink *observed = scope_link(P, s, d->name), *outer = NULL;
        const char *parent = link_parent(d);
        ObsScope *p = NULL;
        bool create = !observed;
        const Iface *vrf;
        Action *a;

        if (ops->has_peer) {
                p = observed_scope(P->o, P->m, d->peer_netns);
                if (!p)
                        return;
                outer = scope_link(P, p, d->peer_name);
        }

        /* A stacked link whose parent this run replaces goes with it. */
        if (observed && parent && !scope_link(P, ops->parent_in_host ? &P->o->host : s, parent)) {
                replace(P, s, observed->ifindex);
                observed = NULL;
                create = true;
        }

        if (observed) {
                bool ok = link_is_kind(observed, ops->kernel_kind) && ops->matches(observed, d);

                if (ok && ops->has_peer)
                        ok = veth_pair_ok(s, observed, p, outer);
                if (ok && parent && ops->parent_in_host) {
                        const ObsLink *pl = scope_link(P, &P->o->host, parent);
                        ok = pl && observed->link == pl->ifindex;
                }
                if (!ok) {
                        int ifindex = observed->ifindex;

                        if (!link_ours(observed)) {
                                conflict(P, "%s:%d: namespace '%s': interface '%s' exists but is not the %s the config declares, and nsmgr did not make it, so it is left alone; remove or rename it",
                                         d->src.file, d->src.line, s->name, d->name, ops->kernel_kind);
                                return;
                        }
                        plan_link_delete(P, s, PHASE_LINK_DELETE, observed, NULL, "it does not match the config");
                        create = true;
                        observed = NULL;
                        replace(P, s, ifindex);
                        /* The pair goes with it. */
                        if (ops->has_peer && outer && link_is_kind(outer, "veth") && outer->link == ifindex) {
                                replace(P, p, outer->ifindex);
                                outer = NULL;
                        }
                }
        }

        if (ops->has_peer && create && outer) {
                conflict(P, "%s:%d: namespace '%s', interface '%s': the peer name '%s' is taken in %s by an interface nsmgr did not make; remove it or give the peer another 'name' (a namespace deleted a moment ago may still be taking its interfaces along)",
                         d->src.file, d->src.line, s->name, d->name, d->peer_name, scope_text(p));
                return;
        }
        if (parent && ops->parent_in_host && !scope_link(P, &P->o->host, parent) &&
            !declared_in(P, &P->o->host, parent)) {
                conflict(P, "%s:%d: namespace '%s', interface '%s': parent '%s' does not exist in the host", d->src.file,
                         d->src.line, s->name, d->name, parent);
                return;
        }
        if (d->bridge && !config_find_bridge(P->m, d->bridge))
                return;

        if (create) {
                a = act(P, ops->create_type == LINK_CREATE_STACKED ? PHASE_LINK_CREATE_STACKED : PHASE_LINK_CREATE,
                        ACT_LINK_CREATE, s);
                if (a)
                        a->create = (typeof(a->create)) {
                                .iface = d,
                                .peer = p,
                                .ipv6_off = !ipv6_wanted(d->ipv6, d->addresses, d->n_addresses),
                                .peer_ipv6_off = ops->has_peer &&
                                                 (d->bridge || !ipv6_wanted(d->ipv6, d->peer_addresses, d->n_peer_addresses)),
                        };
                P->p->kinds |= 1u << d->kind;
        }

        /* Settings of the inner end. */
        vrf = s->decl ? vrf_of(s->decl, d->name) : NULL;
        if (vrf) {
                int master = observed ? observed->master : 0;
                const ObsLink *vl = scope_link(P, s, vrf->name);

                if (create || !vl || master != vl->ifindex)
                        plan_set(P, PHASE_LINK_SET, s, SET_VRF, d->name, vrf->name);
        } else if (observed && d->kind != IFACE_VRF && observed->master > 0) {
                /* Out of a VRF the model no longer puts it in -- but only out
                 * of a VRF nsmgr made: other masters are not ours. */
                const ObsLink *m = obs_link_by_index(s, observed->master);

                if (m && link_is_kind(m, "vrf") && link_ours(m))
                        plan_set(P, PHASE_LINK_SET, s, SET_NOVRF, d->name, m->name);
        }
        if (!create) {
                plan_mtu(P, s, d->name, observed, d->mtu);
                plan_mark(P, s, d->name, observed);
                plan_ipv6_off(P, s, d->name, observed, !ipv6_wanted(d->ipv6, d->addresses, d->n_addresses));
        }
        plan_addresses(P, s, d->name, observed, d->addresses, d->n_addresses);
        plan_up(P, s, d->name, observed, d->up, create);

        if (ops->has_peer)
                plan_outer_end(P, p, d, outer, create);
}

/* Loopback of every namespace nsmgr wires is up: a namespace is made
 * with it up, and one whose maker was killed half-way is repaired. */
static void plan_loopback(Planner *P, ObsScope *s) {
        const ObsLink *lo = obs_link(s, "lo");

        if (s->create || !lo || (lo->flags & IFF_UP))
                return;
        plan_set(P, PHASE_LINK_UP, s, SET_UP, "lo", NULL);
}

/* --- routes ---------------------------------------------------------------------- */

void route_spec_from_decl(const Route *r, RouteSpec *ret) {
        *ret = (RouteSpec) { .dst = r->dst, .via = r->via, .dev = r->dev, .metric = r->metric, .table = r->table };
        if (r->dst.family == AF_INET6 && r->metric == 0)
                ret->metric = IPV6_DEFAULT_METRIC;
}

/* Is the observed route the one rs names? With `lasting`, it must also
 * outlive this run: not on a link the plan replaces or takes an address
 * from (the kernel drops such routes, and they are made again). */
static bool route_is(Planner *P, ObsScope *s, const ObsRoute *rt, const RouteSpec *rs, bool lasting) {
        ScopeSide *sd = side_of(P, s);

        if (lasting && rt->oif &&
            (int_has(sd->replaced, sd->n_replaced, rt->oif) || int_has(sd->unaddressed, sd->n_unaddressed, rt->oif)))
                return false;
        if (rt->dst.family != rs->dst.family || rt->table != rs->table || rt->metric != rs->metric ||
            rt->type != RTN_UNICAST || !cidr_equal(&rt->dst, &rs->dst))
                return false;
        if (rs->via.family && (!rt->gw.family || !cidr_addr_equal(&rt->gw, &rs->via)))
                return false;
        if (rs->dev) {
                const ObsLink *l = lasting ? scope_link(P, s, rs->dev) : obs_link(s, rs->dev);
                if (!l || rt->oif != l->ifindex)
                        return false;
        }
        return true;
}

static bool route_matches(Planner *P, ObsScope *s, const ObsRoute *rt, const RouteSpec *rs) {
        return route_is(P, s, rt, rs, true);
}

/* The route at the same place (family, table, destination, metric): the
 * kernel holds one there at a time. */
static const ObsRoute *route_at(Planner *P, ObsScope *s, const RouteSpec *rs) {
        RouteSpec at = *rs;

        at.via = (Cidr) {};
        at.dev = NULL;
        for (size_t i = 0; i < s->n_routes; i++)
                if (route_matches(P, s, &s->routes[i], &at))
                        return &s->routes[i];
        return NULL;
}

static const char *route_where(const RouteSpec *rs, char *buf, size_t len) {
        char dst[CIDR_STRLEN];

        snprintf(buf, len, "%s", rs->dst.prefixlen == 0 ? (rs->dst.family == AF_INET6 ? "default (IPv6)" : "default")
                                                         : cidr_format(&rs->dst, true, dst));
        return buf;
}

static void plan_routes(Planner *P, ObsScope *s) {
        const Netns *ns = s->decl;
        char text[128];

        for (size_t i = 0; i < ns->n_routes; i++) {
                const ObsRoute *at;
                RouteSpec rs;
                Action *a;

                route_spec_from_decl(&ns->routes[i], &rs);
                at = route_at(P, s, &rs);
                if (at && route_matches(P, s, at, &rs))
                        continue;
                /* A network's default route gives way to one the namespace
                 * has already, unless that one is nsmgr's. */
                if (at && ns->routes[i].soft && at->protocol != NSMGR_RTPROT)
                        continue;
                if (at && at->protocol != NSMGR_RTPROT) {
                        conflict(P, "%s:%d: namespace '%s': a route to %s (table %u, metric %u) already exists and nsmgr did not make it; remove it or give this route another metric",
                                 ns->routes[i].src.file, ns->routes[i].src.line, s->name,
                                 route_where(&rs, text, sizeof(text)), rs.table, rs.metric);
                        continue;
                }
                /* Made, or nsmgr's own route at the place replaced. */
                a = act(P, PHASE_ROUTE_ADD, ACT_ROUTE_ADD, s);
                if (a)
                        a->route.rs = rs;
        }
}

/* Routes nsmgr made in a scope that the model no longer has. */
static void plan_stale_routes(Planner *P, ObsScope *s, Phase phase) {
        for (size_t j = 0; j < s->n_routes; j++) {
                const ObsRoute *rt = &s->routes[j];
                const ObsLink *dev;
                bool wanted = false;
                Action *a;

                if (rt->protocol != NSMGR_RTPROT)
                        continue;
                for (size_t i = 0; s->decl && i < s->decl->n_routes && !wanted; i++) {
                        RouteSpec rs;

                        route_spec_from_decl(&s->decl->routes[i], &rs);
                        wanted = route_is(P, s, rt, &rs, false);
                }
                if (wanted)
                        continue;
                dev = rt->oif ? obs_link_by_index(s, rt->oif) : NULL;
                a = act(P, phase, ACT_ROUTE_DEL, s);
                if (a)
                        a->route.rs = (RouteSpec) { .dst = rt->dst, .via = rt->gw, .dev = dev ? dev->name : NULL,
                                                    .metric = rt->metric, .table = rt->table };
        }
}

/* --- files, sysctls, bridges ------------------------------------------------------ */

static void plan_dns(Planner *P, ObsScope *s, const Netns *decl) {
        char *content[_DNS_FILE_MAX] = {};

        if (decl && dns_render(decl, &content[DNS_RESOLV_CONF], &content[DNS_HOSTS]) < 0) {
                nomem(P);
                return;
        }
        for (DnsFile f = 0; f < _DNS_FILE_MAX; f++) {
                Action *a;

                if (content[f]) {
                        if (s->dns[f] && streq(s->dns[f], content[f])) {
                                free(content[f]);
                                continue;
                        }
                        a = act(P, PHASE_DNS, ACT_DNS_WRITE, s);
                        if (!a) {
                                free(content[f]);
                                continue;
                        }
                        a->dns = (typeof(a->dns)) { .file = f, .content = content[f] };
                } else if (dns_ours(s->dns[f])) {
                        a = act(P, PHASE_DNS, ACT_DNS_REMOVE, s);
                        if (a)
                                a->dns = (typeof(a->dns)) { .file = f };
                }
        }
}

static void plan_sysctls(Planner *P, ObsScope *s, const Sysctl *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *now = i < s->n_sysctls ? s->sysctls[i] : NULL;
                Action *a;

                if (!now && s->exists && !v[i].late) {
                        if (s->name)
                                conflict(P, "%s:%d: namespace '%s': there is no sysctl '%s' in it", v[i].src.file,
                                         v[i].src.line, s->name, v[i].key);
                        else
                                conflict(P, "%s:%d: host: there is no sysctl '%s'", v[i].src.file, v[i].src.line,
                                         v[i].key);
                        continue;
                }
                if (now && sysctl_value_equal(now, v[i].value))
                        continue;
                a = act(P, s->name ? PHASE_NETNS_SYSCTL : v[i].late ? PHASE_LINK_UP : PHASE_HOST_SYSCTL, ACT_SYSCTL,
                        s);
                if (a)
                        a->sysctl.sysctl = &v[i];
        }
}

static void plan_bridge(Planner *P, const Bridge *b) {
        ObsScope *h = &P->o->host;
        const ObsLink *l = scope_link(P, h, b->name);
        bool create = !l;
        Action *a;

        if (l && !link_is_kind(l, "bridge")) {
                conflict(P, "%s:%d: bridge '%s': a host interface of that name exists and is a %s, not a bridge; remove or rename it",
                         b->src.file, b->src.line, b->name, l->kind[0] ? l->kind : "device");
                return;
        }
        if (create) {
                a = act(P, PHASE_BRIDGE, ACT_BRIDGE_CREATE, h);
                if (a)
                        a->bridge = (typeof(a->bridge)) { .bridge = b,
                                                          .ipv6_off = !ipv6_wanted(b->ipv6, b->addresses, b->n_addresses) };
                P->p->kinds |= LINK_KIND_BRIDGE_BIT;
        } else {
                plan_mtu(P, h, b->name, l, b->mtu);
                plan_ipv6_off(P, h, b->name, l, !ipv6_wanted(b->ipv6, b->addresses, b->n_addresses));
                /* A bridge nsmgr made keeps the address it was made with. */
                if (P->in->machine_key && link_ours(l)) {
                        uint8_t mac[6];

                        link_mac_derive(P->in->machine_key, NULL, b->name, mac);
                        if (!l->has_mac || memcmp(l->mac, mac, 6) != 0) {
                                a = act(P, PHASE_LINK_SET, ACT_LINK_SET, h);
                                if (a) {
                                        a->set = (typeof(a->set)) { .what = SET_MAC, .ifname = b->name };
                                        memcpy(a->set.mac, mac, 6);
                                }
                        }
                }
        }
        plan_addresses(P, h, b->name, l, b->addresses, b->n_addresses);
        plan_up(P, h, b->name, l, true, create);
}

/* A namespace no longer declared that is kept, because processes are still
 * inside: kept as it is, with the host ends of its veths. */
static bool kept(const ObsScope *g) {
        return g->exists && g->created_by_config && g->n_procs > 0;
}

/* Host ends of veths whose other end is in a namespace this run looks at:
 * the pair is that namespace's to keep or remove (and goes as one). */
static int build_paired(Planner *P) {
        Observed *o = P->o;
        ScopeSide *h = &P->side[0];

        for (size_t k = 0; k < o->n_scopes + o->n_gone; k++) {
                const ObsScope *s = k < o->n_scopes ? &o->scopes[k] : &o->gone[k - o->n_scopes];

                if (s->host_nsid < 0)
                        continue;
                for (size_t i = 0; i < s->n_links; i++)
                        if (link_is_kind(&s->links[i], "veth") && s->links[i].link_netnsid == s->host_nsid &&
                            s->links[i].link > 0)
                                int_push(P, &h->paired, &h->n_paired, s->links[i].link);
        }
        return P->oom;
}

static bool paired(Planner *P, const ObsScope *s, const ObsLink *l) {
        ScopeSide *sd = side_of(P, s);

        return !s->name && link_is_kind(l, "veth") && int_has(sd->paired, sd->n_paired, l->ifindex);
}

/* Links nsmgr made in s that the model no longer puts there. */
static void plan_stale_links(Planner *P, ObsScope *s, Phase phase) {
        for (size_t i = 0; i < s->n_links; i++) {
                const ObsLink *l = &s->links[i];

                if (!link_ours(l) || declared_in(P, s, l->name) || paired(P, s, l))
                        continue;
                plan_link_delete(P, s, phase, l, l->kind[0] ? l->kind : "interface", "no longer declared");
        }
}

/* Addresses nsmgr added in a scope it no longer wires, on links it keeps. */
static void plan_stale_addresses(Planner *P, ObsScope *s) {
        for (size_t i = 0; i < s->n_addrs; i++) {
                const ObsAddr *ad = &s->addrs[i];
                const ObsLink *l;
                Action *a;

                if (ad->proto != NSMGR_RTPROT || deleting(P, s, ad->ifindex))
                        continue;
                l = obs_link_by_index(s, ad->ifindex);
                if (!l)
                        continue;
                a = act(P, PHASE_TEARDOWN_LINK, ACT_ADDR_DEL, s);
                if (a)
                        a->addr = (typeof(a->addr)) { .ifname = l->name, .ifindex = l->ifindex, .addr = ad->addr };
        }
}

/* Namespaces an earlier run wired that the model no longer has. */
static void plan_teardown(Planner *P) {
        for (size_t i = 0; i < P->o->n_gone; i++) {
                ObsScope *g = &P->o->gone[i];
                Action *a;

                if (!g->exists) {
                        /* Gone, or another namespace by that name now. */
                        if (strv_extend(&P->p->forget, g->name) < 0)
                                nomem(P);
                        continue;
                }
                if (g->created_by_config) {
                        if (kept(g)) {
                                warn(P, "namespace '%s' is no longer declared, but %zu process%s still inside; it is kept as it is",
                                     g->name, g->n_procs, g->n_procs == 1 ? " is" : "es are");
                                continue;
                        }
                        a = act(P, PHASE_TEARDOWN_NETNS, ACT_NETNS_DELETE, g);
                        (void) a;
                        continue;
                }
                /* Not made by nsmgr: only what nsmgr put into it goes. */
                plan_stale_links(P, g, PHASE_TEARDOWN_LINK);
                plan_stale_addresses(P, g);
                plan_stale_routes(P, g, PHASE_TEARDOWN_LINK);
                plan_dns(P, g, NULL);
                if (strv_extend(&P->p->forget, g->name) < 0)
                        nomem(P);
        }
}

/* Leases given back: what used the address goes first. */
static void plan_releases(Planner *P) {
        const LeaseTable *lt = P->in->leases;

        for (size_t i = 0; lt && i < lt->n_release; i++) {
                const LeaseRelease *rel = &lt->release[i];
                ObsScope *h = &P->o->host, *s = observed_scope(P->o, P->m, rel->netns);
                const char *peer = keep(P, veth_peer_name_derive(rel->netns, rel->ifname));
                const ObsLink *l;
                Action *a;

                if (!peer)
                        return;
                /* The veth of the attachment, from the host (the namespace
                 * itself may be out of reach: its pin is gone). */
                l = obs_link(h, peer);
                if (l && link_ours(l) && !declared_in(P, h, peer) && !paired(P, h, l))
                        plan_link_delete(P, h, PHASE_TEARDOWN_LINK, l, "veth", "its lease is given back");
                /* An address the attachment keeps its link for (it moved). */
                l = s && !s->skip ? obs_link(s, rel->ifname) : NULL;
                if (l && !deleting(P, s, l->ifindex)) {
                        size_t n;
                        const ObsAddr *have = obs_addrs_of(s, l->ifindex, &n);
                        bool planned = false;

                        for (size_t k = 0; k < P->p->n && !planned; k++)
                                planned = P->p->v[k].type == ACT_ADDR_DEL && P->p->v[k].scope == s &&
                                          P->p->v[k].addr.ifindex == l->ifindex &&
                                          cidr_addr_equal(&P->p->v[k].addr.addr, &rel->addr);
                        for (size_t k = 0; k < n && !planned; k++)
                                if (cidr_addr_equal(&have[k].addr, &rel->addr)) {
                                        a = act(P, PHASE_ADDR_DEL, ACT_ADDR_DEL, s);
                                        if (a)
                                                a->addr = (typeof(a->addr)) { .ifname = l->name, .ifindex = l->ifindex,
                                                                              .addr = have[k].addr };
                                        planned = true;
                                }
                }
                a = act(P, PHASE_LEASE_RELEASE, ACT_LEASE_RELEASE, h);
                if (a)
                        a->lease.lease = rel;
        }
}

static bool bridge_used_by(const Config *m, const char *only, const char *bridge) {
        const Netns *ns = config_find_netns(m, only);

        for (size_t i = 0; ns && i < ns->n_ifaces; i++)
                if (ns->ifaces[i].bridge && streq(ns->ifaces[i].bridge, bridge))
                        return true;
        return false;
}

static void planner_done(Planner *P) {
        size_t n = P->o ? 1 + P->o->n_scopes + P->o->n_gone : 0;

        for (size_t i = 0; P->side && i < n; i++) {
                free(P->side[i].replaced);
                free(P->side[i].unaddressed);
                free(P->side[i].deleted);
                free(P->side[i].paired);
        }
        free(P->side);
        strmap_done(&P->declared);
}

int plan_build(const PlanInput *in, Plan *ret) {
        _cleanup_(plan_done) Plan p = { .dry_run = in->dry_run };
        _cleanup_(planner_done) Planner P = { .in = in, .m = in->model, .o = in->observed, .p = &p };
        Observed *o = in->observed;

        P.side = calloc(1 + o->n_scopes + o->n_gone, sizeof(ScopeSide));
        if (!P.side)
                return -ENOMEM;
        index_declared(&P);
        if (build_paired(&P) < 0)
                return -ENOMEM;

        plan_sysctls(&P, &o->host, P.m->host_sysctls, P.m->n_host_sysctls);
        for (size_t i = 0; i < P.m->n_bridges; i++)
                if (!in->only || bridge_used_by(P.m, in->only, P.m->bridges[i].name))
                        plan_bridge(&P, &P.m->bridges[i]);

        for (size_t i = 0; i < o->n_scopes; i++) {
                ObsScope *s = &o->scopes[i];

                if (s->skip)
                        continue;
                if (s->create)
                        (void) act(&P, PHASE_NETNS_CREATE, ACT_NETNS_CREATE, s);
                plan_sysctls(&P, s, s->decl->sysctls, s->decl->n_sysctls);
                if (s->exists) {
                        plan_stale_links(&P, s, PHASE_LINK_DELETE);
                        if (!s->decl->transient)
                                plan_loopback(&P, s);
                }
        }
        /* Links that stand on others after those, so that a parent made
         * anew takes its dependents with it. */
        for (int stacked = 0; stacked <= 1; stacked++)
                for (size_t i = 0; i < o->n_scopes; i++) {
                        ObsScope *s = &o->scopes[i];

                        if (s->skip)
                                continue;
                        for (size_t j = 0; j < s->decl->n_ifaces; j++) {
                                const Iface *d = &s->decl->ifaces[j];
                                bool is_stacked = link_kind_ops(d->kind)->create_type == LINK_CREATE_STACKED;

                                if (is_stacked == (bool) stacked)
                                        plan_iface(&P, s, d);
                        }
                }
        for (size_t i = 0; i < o->n_scopes; i++) {
                ObsScope *s = &o->scopes[i];

                if (s->skip)
                        continue;
                plan_routes(&P, s);
                if (s->exists)
                        plan_stale_routes(&P, s, PHASE_ROUTE_DEL);
                plan_dns(&P, s, s->decl);
        }
        if (!in->only)
                plan_stale_links(&P, &o->host, PHASE_TEARDOWN_LINK);
        plan_teardown(&P);
        plan_releases(&P);

        if (P.oom)
                return P.oom;
        *ret = p;
        p = (Plan) {};
        return 0;
}

int plan_add_nat(Plan *p, ObsScope *host, const char *text) {
        Action *a;

        if (GREEDY_REALLOC(p->v, p->cap, p->n + 1) < 0)
                return -ENOMEM;
        a = &p->v[p->n];
        *a = (Action) { .type = ACT_NAT, .phase = PHASE_NAT, .order = p->n, .scope = host, .nat.text = text };
        p->n++;
        return 0;
}

void plan_done(Plan *p) {
        for (size_t i = 0; i < p->n; i++)
                if (p->v[i].type == ACT_DNS_WRITE)
                        free(p->v[i].dns.content);
        free(p->v);
        strv_free(p->conflicts);
        strv_free(p->warnings);
        strv_free(p->forget);
        strv_free(p->strings);
        *p = (Plan) {};
}

static int action_cmp(const void *a, const void *b) {
        const Action *x = a, *y = b;

        if (x->phase != y->phase)
                return x->phase < y->phase ? -1 : 1;
        return (x->order > y->order) - (x->order < y->order);
}

void plan_sort(Plan *p) {
        if (p->n > 1)
                qsort(p->v, p->n, sizeof(Action), action_cmp);
}

/* --- steps as records and as text ------------------------------------------------- */

static const char *route_text(const RouteSpec *rs, char *buf, size_t len) {
        char via[CIDR_STRLEN];
        int n;

        route_where(rs, buf, len);
        n = (int) strlen(buf);
        if (rs->via.family && (size_t) n < len)
                n += snprintf(buf + n, len - (size_t) n, " via %s", cidr_format(&rs->via, false, via));
        if (rs->dev && n >= 0 && (size_t) n < len)
                n += snprintf(buf + n, len - (size_t) n, " dev %s", rs->dev);
        if (rs->metric && !(rs->dst.family == AF_INET6 && rs->metric == IPV6_DEFAULT_METRIC) && n >= 0 &&
            (size_t) n < len)
                n += snprintf(buf + n, len - (size_t) n, " metric %u", rs->metric);
        if (rs->table != RT_TABLE_MAIN && n >= 0 && (size_t) n < len)
                snprintf(buf + n, len - (size_t) n, " table %u", rs->table);
        return buf;
}

void plan_step_done(PlanStep *s) {
        free(s->action);
        free(s->kind);
        free(s->netns);
        free(s->ifname);
        free(s->detail);
        free(s->text);
        *s = (PlanStep) {};
}

static const char *const set_text[] = {
        [SET_MTU] = "set MTU of %s to %s",
        [SET_UP] = "bring up %s",
        [SET_DOWN] = "take down %s",
        [SET_IPV6_OFF] = "turn off IPv6 link-local addresses on %s",
        [SET_VRF] = "enslave %s to VRF %s",
        [SET_NOVRF] = "release %s from VRF %s",
        [SET_BRIDGE] = "attach %s to bridge %s",
        [SET_MAC] = "set the MAC address of %s to %s",
        [SET_MARK] = "mark %s as nsmgr's",
};

static const char *const set_action[] = {
        [SET_MTU] = "set", [SET_UP] = "up", [SET_DOWN] = "down", [SET_IPV6_OFF] = "set", [SET_VRF] = "set",
        [SET_NOVRF] = "set", [SET_BRIDGE] = "set", [SET_MAC] = "set", [SET_MARK] = "set",
};

int action_to_step(const Action *a, bool dry_run, PlanStep *ret) {
        _cleanup_(plan_step_done) PlanStep s = {};
        _cleanup_free_ char *what = NULL, *extra = NULL;
        const char *action = NULL, *kind = NULL, *ifname = NULL;
        char buf[256], b1[CIDR_STRLEN];
        int r = 0;

        switch (a->type) {
        case ACT_SYSCTL:
                action = "set", kind = "sysctl";
                r = asprintf(&s.detail, "%s=%s", a->sysctl.sysctl->key, a->sysctl.sysctl->value);
                if (r >= 0)
                        r = asprintf(&what, "set sysctl %s = %s", a->sysctl.sysctl->key, a->sysctl.sysctl->value);
                break;
        case ACT_NETNS_CREATE:
                action = "create", kind = "namespace";
                what = strdup("create namespace");
                break;
        case ACT_NETNS_DELETE:
                action = "delete", kind = "namespace";
                what = strdup("delete namespace (no longer declared)");
                break;
        case ACT_BRIDGE_CREATE:
                action = "create", kind = "bridge", ifname = a->bridge.bridge->name;
                r = asprintf(&what, "create bridge %s", ifname);
                break;
        case ACT_LINK_CREATE: {
                const Iface *d = a->create.iface;
                const LinkKindOps *ops = link_kind_ops(d->kind);

                action = "create", kind = ops->kernel_kind, ifname = d->name;
                extra = ops->describe(d, a->create.peer ? scope_text(a->create.peer) : "the host");
                if (!extra)
                        return -ENOMEM;
                s.detail = strdup(extra[0] == ',' ? extra + 2 : extra + 1);
                r = asprintf(&what, "create %s %s%s", ops->kernel_kind, d->name, extra);
                break;
        }
        case ACT_LINK_DELETE:
                action = "delete", kind = a->del.kind ? a->del.kind : "link", ifname = a->del.ifname;
                s.detail = strdup(a->del.why);
                r = a->del.kind ? asprintf(&what, "delete %s %s (%s)", a->del.kind, ifname, a->del.why)
                                : asprintf(&what, "delete %s (%s)", ifname, a->del.why);
                break;
        case ACT_LINK_SET: {
                const char *arg = a->set.master;

                action = set_action[a->set.what], kind = "link", ifname = a->set.ifname;
                if (a->set.what == SET_MTU) {
                        snprintf(b1, sizeof(b1), "%u", a->set.mtu);
                        arg = b1;
                } else if (a->set.what == SET_MAC) {
                        snprintf(b1, sizeof(b1), "%02x:%02x:%02x:%02x:%02x:%02x", a->set.mac[0], a->set.mac[1],
                                 a->set.mac[2], a->set.mac[3], a->set.mac[4], a->set.mac[5]);
                        arg = b1;
                }
                r = asprintf(&what, set_text[a->set.what], ifname, arg ? arg : "");
                if (r >= 0)
                        s.detail = strdup(what);
                break;
        }
        case ACT_ADDR_ADD:
        case ACT_ADDR_DEL:
                action = a->type == ACT_ADDR_ADD ? "add" : "remove", kind = "address", ifname = a->addr.ifname;
                s.detail = strdup(cidr_format(&a->addr.addr, true, b1));
                r = asprintf(&what, a->type == ACT_ADDR_ADD ? "add address %s to %s" : "remove address %s from %s", b1,
                             ifname);
                break;
        case ACT_ROUTE_ADD:
        case ACT_ROUTE_DEL:
                action = a->type == ACT_ROUTE_ADD ? "add" : "remove", kind = "route", ifname = a->route.rs.dev;
                s.detail = strdup(route_text(&a->route.rs, buf, sizeof(buf)));
                r = asprintf(&what, "%s route %s", action, buf);
                break;
        case ACT_DNS_WRITE:
        case ACT_DNS_REMOVE:
                action = a->type == ACT_DNS_WRITE ? "write" : "remove", kind = "file";
                r = asprintf(&s.detail, NETNS_ETC_DIR "/%s/%s", a->scope->name, dns_file_name(a->dns.file));
                if (r >= 0)
                        r = asprintf(&what, "%s %s", action, s.detail);
                break;
        case ACT_NAT:
                action = "set", kind = "nat";
                s.detail = strdup(a->nat.text);
                what = strdup(a->nat.text);
                break;
        case ACT_LEASE_RELEASE: {
                const LeaseRelease *l = a->lease.lease;

                action = "release", kind = "lease", ifname = l->ifname;
                r = asprintf(&s.detail, "%s on network '%s' (%s)", cidr_format(&l->addr, false, b1), l->network,
                             l->why);
                if (r >= 0)
                        r = asprintf(&what, "%s lease %s of %s:%s on network '%s' (%s)",
                                     dry_run ? "would release" : "released", b1, l->netns, l->ifname, l->network,
                                     l->why);
                s.netns = strdup(l->netns);
                if (!s.netns)
                        return -ENOMEM;
                break;
        }
        default:
                return -EINVAL;
        }
        if (r < 0 || !what)
                return -ENOMEM;
        s.action = strdup(action);
        s.kind = strdup(kind);
        if (ifname && !(s.ifname = strdup(ifname)))
                return -ENOMEM;
        if (!s.netns && a->scope && a->scope->name && !(s.netns = strdup(a->scope->name)))
                return -ENOMEM;
        /* Host-wide steps (NAT, leases) stand without a scope prefix. */
        if (a->scope && a->scope->name && a->type != ACT_LEASE_RELEASE)
                r = asprintf(&s.text, "%s: %s", a->scope->name, what);
        else
                s.text = TAKE_PTR(what);
        if (!s.detail)
                s.detail = strdup("");
        if (r < 0 || !s.text || !s.action || !s.kind || !s.detail)
                return -ENOMEM;
        *ret = s;
        s = (PlanStep) {};
        return 0;
}

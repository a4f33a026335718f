/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <sys/stat.h>

#include "address.h"
#include "execute.h"
#include "fileio.h"
#include "leases.h"
#include "link.h"
#include "linkkind.h"
#include "marks.h"
#include "netns.h"
#include "nsthread.h"
#include "observe.h"
#include "owner.h"
#include "paths.h"
#include "strv.h"
#include "sysctl.h"

#define ASK_KERNEL SIZE_MAX

typedef struct Exec {
        const ExecInput *in;
        NmError *err;
        StrMap known;            /* "SCOPE\001NAME" -> ifindex of links this run made; ASK_KERNEL: the observation is stale */
} Exec;

int report_add_step(ReconcileReport *report, const Action *a, bool dry_run) {
        PlanStep s, *v;
        int r;

        r = action_to_step(a, dry_run, &s);
        if (r < 0)
                return r;
        v = realloc(report->steps, (report->n_steps + 1) * sizeof(PlanStep));
        if (!v || strv_extend(&report->changes, s.text) < 0) {
                if (v)
                        report->steps = v;
                plan_step_done(&s);
                return -ENOMEM;
        }
        report->steps = v;
        report->steps[report->n_steps++] = s;
        return 0;
}

static char *known_key(const ObsScope *s, const char *name) {
        char *k;

        if (asprintf(&k, "%s\001%s", s->name ? s->name : "", name) < 0)
                return NULL;
        return k;
}

static void remember(Exec *X, const ObsScope *s, const char *name, size_t ifindex) {
        _cleanup_free_ char *k = known_key(s, name);

        /* Without the entry, a lookup asks the kernel: slower, never wrong. */
        if (k)
                (void) strmap_put(&X->known, k, ifindex);
}

/* The ifindex of a link in a scope: made by this run, seen before it, or
 * asked from the kernel. */
static int scope_ifindex(Exec *X, ObsScope *s, const char *name, int *ret) {
        _cleanup_free_ char *k = known_key(s, name);
        const ObsLink *l;
        size_t v;
        int r;

        if (!k)
                return -ENOMEM;
        if (strmap_get(&X->known, k, &v) && v != ASK_KERNEL) {
                *ret = (int) v;
                return 0;
        }
        l = strmap_get(&X->known, k, NULL) ? NULL : obs_link(s, name);
        if (l) {
                *ret = l->ifindex;
                return 0;
        }
        r = link_ifindex(s->nl, name, ret);
        if (r < 0)
                return r;
        (void) strmap_put(&X->known, k, (size_t) *ret);
        return 0;
}

static int step_error(Exec *X, const Action *a, NlSock *nl, int r) {
        _cleanup_(plan_step_done) PlanStep s = {};
        const char *msg = nl ? nls_last_message(nl) : NULL;

        if (action_to_step(a, false, &s) < 0)
                return nm_error(X->err, r, "%s", strerror(-r));
        return nm_error(X->err, r, "%s: %s%s%s%s", s.text, strerror(-r), msg ? " (the kernel says: " : "", msg ? msg : "",
                        msg ? ")" : "");
}

struct sysctl_args {
        const Sysctl *sc;
};

static int write_sysctl_in_thread(void *userdata) {
        struct sysctl_args *a = userdata;

        return sysctl_write(a->sc->key, a->sc->value);
}

static int exec_sysctl(Exec *X, const Action *a) {
        ObsScope *s = a->scope;
        int r;

        if (!s->name)
                r = sysctl_write(a->sysctl.sysctl->key, a->sysctl.sysctl->value);
        else
                r = ns_run_in(s->nsfd, write_sysctl_in_thread, &(struct sysctl_args) { .sc = a->sysctl.sysctl });
        return r < 0 ? step_error(X, a, NULL, r) : 0;
}

static int exec_bridge(Exec *X, const Action *a) {
        const Bridge *b = a->bridge.bridge;
        ObsScope *h = a->scope;
        uint8_t mac[6];
        int r, ifindex;

        if (X->in->machine_key)
                link_mac_derive(X->in->machine_key, NULL, b->name, mac);
        r = bridge_create(h->nl, b->name, b->mtu, X->in->machine_key ? mac : NULL, b->netfilter, X->err);
        if (r < 0)
                return r;
        r = link_ifindex(h->nl, b->name, &ifindex);
        if (r >= 0 && a->bridge.ipv6_off)
                r = link_change(h->nl, ifindex, &(LinkChange) { .master = -1, .up = -1, .ipv6_off = true });
        if (r < 0)
                return step_error(X, a, h->nl, r);
        remember(X, h, b->name, (size_t) ifindex);
        return 0;
}

static int exec_link_create(Exec *X, const Action *a) {
        ObsScope *s = a->scope, *p = a->create.peer, *h = &X->in->observed->host;
        const Iface *d = a->create.iface;
        const LinkKindOps *ops = link_kind_ops(d->kind);
        const char *parent = link_parent(d);
        LinkEnv env = { .host = h->nl, .nl = s->nl, .nsfd = s->nsfd, .peer_nsfd = -1 };
        uint8_t mac[6], peer_mac[6];
        int r, ifindex, peer_ifindex = 0;

        if (X->in->machine_key) {
                link_mac_derive(X->in->machine_key, s->name, d->name, mac);
                env.mac = mac;
                if (ops->has_peer) {
                        link_mac_derive(X->in->machine_key, d->peer_netns, d->peer_name, peer_mac);
                        env.peer_mac = peer_mac;
                }
        }

        if (p && p->name) {
                env.peer_nsfd = p->nsfd;
                env.peer_nl = p->nl;
        }
        if (d->bridge) {
                r = scope_ifindex(X, h, d->bridge, &env.bridge_ifindex);
                if (r < 0)
                        return nm_error(X->err, r, "%s: cannot find bridge %s: %s", a->scope->name, d->bridge,
                                        strerror(-r));
        }
        if (parent) {
                ObsScope *ps = ops->parent_in_host ? h : s;

                r = scope_ifindex(X, ps, parent, &env.parent_ifindex);
                if (r < 0)
                        return nm_error(X->err, r, "%s: cannot find %s in %s: %s", a->scope->name, parent,
                                        ops->parent_in_host ? "the host" : "the namespace", strerror(-r));
        }
        r = ops->create(&env, d, X->err);
        if (r < 0)
                return nm_error_prefix(X->err, r, "namespace '%s'", s->name);
        r = link_ifindex_peer(s->nl, d->name, &ifindex, &peer_ifindex);
        if (r < 0)
                return step_error(X, a, s->nl, r);
        remember(X, s, d->name, (size_t) ifindex);
        if (ops->has_peer) {
                /* The other end is new too: what was seen of its name is
                 * stale. It was made without nsmgr's mark (linkkind.c). */
                bool inner_is_peer = d->bridge != NULL;   /* libnl's "peer" end */
                ObsScope *ms = inner_is_peer ? s : p;
                LinkChange c = LINK_CHANGE_NONE;

                remember(X, p, d->peer_name, (size_t) peer_ifindex);
                c.group = NSMGR_LINK_GROUP;
                c.ipv6_off = inner_is_peer ? a->create.ipv6_off : a->create.peer_ipv6_off;
                r = observe_open_socket(ms, X->err);
                if (r >= 0)
                        r = link_change(ms->nl, inner_is_peer ? ifindex : peer_ifindex, &c);
                if (r < 0)
                        return step_error(X, a, ms->nl, r);
                /* And the main end's IPv6, before either comes up. */
                if (inner_is_peer ? a->create.peer_ipv6_off : a->create.ipv6_off) {
                        ObsScope *os = inner_is_peer ? p : s;

                        r = link_change(os->nl, inner_is_peer ? peer_ifindex : ifindex,
                                        &(LinkChange) { .master = -1, .up = -1, .ipv6_off = true });
                        if (r < 0)
                                return step_error(X, a, os->nl, r);
                }
                return 0;
        }
        if (a->create.ipv6_off) {
                r = link_change(s->nl, ifindex, &(LinkChange) { .master = -1, .up = -1, .ipv6_off = true });
                if (r < 0)
                        return step_error(X, a, s->nl, r);
        }
        return 0;
}

static int exec_link_delete(Exec *X, const Action *a) {
        ObsScope *s = a->scope;
        int r;

        r = link_delete(s->nl, a->del.ifindex);
        if (r < 0 && r != -ENODEV)
                return step_error(X, a, s->nl, r);
        remember(X, s, a->del.ifname, ASK_KERNEL);
        return 0;
}

static int exec_link_set(Exec *X, const Action *a) {
        ObsScope *s = a->scope;
        LinkChange c = LINK_CHANGE_NONE;
        int r, ifindex;

        switch (a->set.what) {
        case SET_MTU:
                c.mtu = a->set.mtu;
                break;
        case SET_UP:
                c.up = 1;
                break;
        case SET_DOWN:
                c.up = 0;
                break;
        case SET_IPV6_OFF:
                c.ipv6_off = true;
                break;
        case SET_VRF:
        case SET_BRIDGE:
                r = scope_ifindex(X, a->set.what == SET_BRIDGE ? &X->in->observed->host : s, a->set.master, &c.master);
                if (r < 0)
                        return step_error(X, a, s->nl, r);
                break;
        case SET_NOVRF:
                c.master = 0;
                break;
        case SET_MAC:
                c.mac = a->set.mac;
                break;
        case SET_MARK:
                c.group = NSMGR_LINK_GROUP;
                break;
        }
        r = scope_ifindex(X, s, a->set.ifname, &ifindex);
        if (r >= 0)
                r = link_change(s->nl, ifindex, &c);
        return r < 0 ? step_error(X, a, s->nl, r) : 0;
}

static int exec_addr(Exec *X, const Action *a) {
        ObsScope *s = a->scope;
        int r, ifindex = a->addr.ifindex;

        if (!ifindex) {
                r = scope_ifindex(X, s, a->addr.ifname, &ifindex);
                if (r < 0)
                        return step_error(X, a, s->nl, r);
        }
        if (a->type == ACT_ADDR_ADD)
                r = address_add(s->nl, ifindex, &a->addr.addr);
        else {
                r = address_del(s->nl, ifindex, &a->addr.addr);
                if (r == -EADDRNOTAVAIL || r == -ENODEV)
                        r = 0;
        }
        return r < 0 ? step_error(X, a, s->nl, r) : 0;
}

static int exec_route(Exec *X, const Action *a) {
        const RouteSpec *rs = &a->route.rs;
        ObsScope *s = a->scope;
        int r, oif = 0;

        if (rs->dev) {
                r = scope_ifindex(X, s, rs->dev, &oif);
                if (r < 0) {
                        if (a->type == ACT_ROUTE_DEL)
                                return 0;   /* its link is gone, and the route with it */
                        return step_error(X, a, s->nl, r);
                }
        }
        if (a->type == ACT_ROUTE_ADD)
                r = route_add(s->nl, rs, oif);
        else {
                r = route_del(s->nl, rs, oif);
                if (r == -ESRCH || r == -ENOENT)
                        r = 0;
        }
        return r < 0 ? step_error(X, a, s->nl, r) : 0;
}

static int dns_path(const ObsScope *s, DnsFile f, char **ret) {
        return asprintf(ret, NETNS_ETC_DIR "/%s/%s", s->name, dns_file_name(f)) < 0 ? -ENOMEM : 0;
}

static int exec_dns(Exec *X, const Action *a) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        ObsScope *s = a->scope;
        int r;

        if (asprintf(&dir, NETNS_ETC_DIR "/%s", s->name) < 0 || dns_path(s, a->dns.file, &path) < 0)
                return -ENOMEM;
        if (a->type == ACT_DNS_WRITE) {
                r = mkdir_p(dir, 0755);
                if (r >= 0)
                        r = write_file_if_changed(path, a->dns.content, strlen(a->dns.content), 0644);
                return r < 0 ? step_error(X, a, NULL, r) : 0;
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return step_error(X, a, NULL, negative_errno());
        (void) rmdir(dir);
        return 0;
}

static int exec_netns_delete(Exec *X, const Action *a) {
        _cleanup_free_ char *dir = NULL;
        ObsScope *s = a->scope;
        int r;

        /* nsmgr's links first, so the host ends of veth pairs go now rather
         * than whenever the kernel gets round to freeing the namespace. */
        for (size_t i = 0; s->nl && i < s->n_links; i++)
                if (s->links[i].group == NSMGR_LINK_GROUP)
                        (void) link_delete(s->nl, s->links[i].ifindex);
        for (DnsFile f = 0; f < _DNS_FILE_MAX; f++) {
                _cleanup_free_ char *path = NULL;

                if (!s->dns[f] || !strneq(s->dns[f], NSMGR_DNS_MARK, strlen(NSMGR_DNS_MARK)) ||
                    dns_path(s, f, &path) < 0)
                        continue;
                (void) unlink(path);
        }
        if (asprintf(&dir, NETNS_ETC_DIR "/%s", s->name) >= 0)
                (void) rmdir(dir);

        /* Nothing of ours may hold it alive. */
        if (!s->nl_borrowed)
                nls_close(s->nl);
        s->nl = NULL;
        s->nsfd = safe_close(s->nsfd);
        r = netns_unpin(s->name, X->err);
        if (r < 0 && r != -ENOENT)
                return step_error(X, a, NULL, r);
        (void) owner_forget(s->name);
        state_netns_remove(X->in->state, s->name);
        return 0;
}

/* Namespaces made in one go, each recorded as nsmgr's before it is pinned. */
static int exec_netns_create(Exec *X, Action *first, size_t count) {
        _cleanup_free_ NetnsNew *v = calloc(count + 1, sizeof(NetnsNew));
        int r;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                const Netns *d = first[i].scope->decl;

                v[i].name = first[i].scope->name;
                v[i].origin = OWNER_CONFIG;
                /* Interfaces and routes are made through a socket bound to
                 * the namespace; a bare namespace needs none. */
                v[i].want_socket = d->n_ifaces > 0 || d->n_routes > 0;
        }
        r = netns_create_many(v, count, false, X->err);
        for (size_t i = 0; i < count; i++) {
                ObsScope *s = first[i].scope;

                if (!v[i].created)
                        continue;
                s->nsfd = v[i].fd;
                s->nl = v[i].nl;
                s->ino = v[i].ino;
                s->cookie = v[i].cookie;
                if (state_netns_set(X->in->state, s->name, s->ino, s->cookie) < 0 ||
                    report_add_step(X->in->report, &first[i], false) < 0)
                        r = r < 0 ? r : -ENOMEM;
        }
        return r;
}

static int exec_one(Exec *X, const Action *a) {
        switch (a->type) {
        case ACT_SYSCTL:
                return exec_sysctl(X, a);
        case ACT_BRIDGE_CREATE:
                return exec_bridge(X, a);
        case ACT_LINK_CREATE:
                return exec_link_create(X, a);
        case ACT_LINK_DELETE:
                return exec_link_delete(X, a);
        case ACT_LINK_SET:
                return exec_link_set(X, a);
        case ACT_ADDR_ADD:
        case ACT_ADDR_DEL:
                return exec_addr(X, a);
        case ACT_ROUTE_ADD:
        case ACT_ROUTE_DEL:
                return exec_route(X, a);
        case ACT_DNS_WRITE:
        case ACT_DNS_REMOVE:
                return exec_dns(X, a);
        case ACT_NETNS_DELETE:
                return exec_netns_delete(X, a);
        case ACT_LEASE_RELEASE:
                return lease_release(a->lease.lease, X->err);
        case ACT_NETNS_CREATE:
        case ACT_NAT:
        case _ACT_MAX:
                break;
        }
        return -EINVAL;
}

/* Where routes go, the state says before they are made: a later run must
 * know to look there even if this one is killed half-way. */
static int note_route_families(Exec *X) {
        Plan *p = X->in->plan;

        for (size_t i = 0; i < p->n; i++) {
                const Action *a = &p->v[i];

                if (a->type == ACT_ROUTE_ADD && a->scope->name && state_netns(X->in->state, a->scope->name))
                        state_netns_routes(X->in->state, a->scope->name, a->route.rs.dst.family);
        }
        return state_save(X->in->state);
}

static void forget(Exec *X) {
        STRV_FOREACH(name, X->in->plan->forget) {
                _cleanup_free_ char *origin = NULL;
                _cleanup_close_ int fd = -EBADF;
                int r;

                state_netns_remove(X->in->state, *name);
                /* An owner record of apply's whose pin is gone for good, or
                 * left as an empty placeholder by a tear-down that was
                 * killed half-way: the tear-down is finished. */
                if (owner_read(*name, &(ino_t) { 0 }, NULL, &origin) <= 0 || !streq(origin, OWNER_CONFIG))
                        continue;
                r = netns_open(*name, &fd, NULL);
                if (r == -ENXIO)
                        r = netns_unpin(*name, NULL);
                if (r == -ENOENT || r == 0)
                        (void) owner_forget(*name);
        }
        /* A NAT record of a table that is gone, with nothing declared. */
        if (X->in->nat && X->in->nat->forget_record)
                nat_forget(X->in->state);
}

int execute(const ExecInput *in, NmError *err) {
        Exec X = { .in = in, .err = err };
        Plan *p = in->plan;
        int r;

        r = note_route_families(&X);
        if (r < 0) {
                strmap_done(&X.known);
                return nm_error(err, r, "cannot record what nsmgr is about to make in " NSMGR_RUN_DIR "/state.json: %s",
                                strerror(-r));
        }
        for (size_t i = 0; i < p->n; i++) {
                Action *a = &p->v[i];

                if (a->type == ACT_NETNS_CREATE) {
                        size_t k = i;

                        while (k < p->n && p->v[k].type == ACT_NETNS_CREATE)
                                k++;
                        r = exec_netns_create(&X, a, k - i);
                        if (r >= 0)
                                r = note_route_families(&X);
                        if (r < 0)
                                break;
                        i = k - 1;
                        continue;
                }
                if (a->type == ACT_NAT) {
                        size_t k = i;

                        while (k < p->n && p->v[k].type == ACT_NAT)
                                k++;
                        r = nat_apply(in->nat, in->state, err);
                        for (size_t j = i; r >= 0 && j < k; j++)
                                r = report_add_step(in->report, &p->v[j], false);
                        if (r < 0)
                                break;
                        i = k - 1;
                        continue;
                }
                /* A namespace made bare gets a socket when something is
                 * done in it after all (the far end of another's veth). */
                r = observe_open_socket(a->scope, err);
                if (r >= 0 && a->type == ACT_LINK_CREATE && a->create.peer)
                        r = observe_open_socket(a->create.peer, err);
                if (r >= 0)
                        r = exec_one(&X, a);
                if (r >= 0)
                        r = report_add_step(in->report, a, false);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                forget(&X);
        strmap_done(&X.known);
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drift.h"
#include "linkkind.h"
#include "strv.h"

void drift_index_done(DriftIndex *x) {
        for (size_t i = 0; i < x->n_objs; i++) {
                free(x->objs[i].name);
                for (size_t j = 0; j < x->objs[i].n_netns; j++)
                        free(x->objs[i].netns[j]);
                free(x->objs[i].netns);
        }
        free(x->objs);
        strmap_done(&x->links);
        *x = (DriftIndex) {};
}

static struct DriftHostObj *obj(DriftIndex *x, size_t *cap, const char *name, bool bridge) {
        struct DriftHostObj *o;
        size_t i;

        if (strmap_get(&x->links, name, &i)) {
                x->objs[i].bridge |= bridge;
                return &x->objs[i];
        }
        if (GREEDY_REALLOC(x->objs, *cap, x->n_objs + 1) < 0)
                return NULL;
        o = &x->objs[x->n_objs];
        *o = (struct DriftHostObj) { .name = strdup(name), .bridge = bridge };
        if (!o->name || strmap_put(&x->links, name, x->n_objs) < 0) {
                free(o->name);
                return NULL;
        }
        x->n_objs++;
        return o;
}

static int obj_add_netns(struct DriftHostObj *o, const char *netns) {
        char **v;

        /* Listed once (several interfaces of one namespace on a bridge). */
        if (o->n_netns > 0 && streq(o->netns[o->n_netns - 1], netns))
                return 0;
        v = realloc(o->netns, (o->n_netns + 1) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        o->netns = v;
        v[o->n_netns] = strdup(netns);
        if (!v[o->n_netns])
                return -ENOMEM;
        o->n_netns++;
        return 0;
}

int drift_index_build(const Config *m, DriftIndex *ret) {
        DriftIndex x = {};
        size_t cap = 0;

        for (size_t i = 0; i < m->n_bridges; i++)
                if (!obj(&x, &cap, m->bridges[i].name, true))
                        goto oom;
        for (size_t i = 0; i < m->n_netns; i++) {
                const Netns *ns = &m->netns[i];

                for (size_t j = 0; j < ns->n_ifaces; j++) {
                        const Iface *it = &ns->ifaces[j];
                        const LinkKindOps *ops = link_kind_ops(it->kind);
                        const char *parent = link_parent(it);
                        struct DriftHostObj *o;

                        if (ops->has_peer && !it->peer_netns && it->peer_name) {
                                o = obj(&x, &cap, it->peer_name, false);
                                if (!o || obj_add_netns(o, ns->name) < 0)
                                        goto oom;
                        }
                        if (it->bridge) {
                                o = obj(&x, &cap, it->bridge, true);
                                if (!o || obj_add_netns(o, ns->name) < 0)
                                        goto oom;
                        }
                        if (parent && ops->parent_in_host) {
                                o = obj(&x, &cap, parent, false);
                                if (!o || obj_add_netns(o, ns->name) < 0)
                                        goto oom;
                        }
                }
        }
        *ret = x;
        return 0;
oom:
        drift_index_done(&x);
        return -ENOMEM;
}

void drift_done(Drift *d) {
        strmap_done(&d->netns);
        strmap_done(&d->bridges);
        *d = (Drift) {};
}

bool drift_any(const Drift *d) {
        return d->full || d->nat || d->netns.n > 0 || d->bridges.n > 0;
}

int drift_add_netns(Drift *d, const char *name) {
        int r = strmap_put(&d->netns, name, 1);

        /* Without memory to say what, everything. */
        if (r < 0)
                d->full = true;
        return r;
}

static void add_bridge(Drift *d, const char *name) {
        if (strmap_put(&d->bridges, name, 1) < 0)
                d->full = true;
}

/* A host link: the namespaces it belongs to, or the bridge it is. */
static void add_host_link(Drift *d, const DriftIndex *x, const char *name, bool deleted) {
        const struct DriftHostObj *o;
        size_t i;

        if (!strmap_get(&x->links, name, &i)) {
                /* Listed to the watch, but not in the model it was built
                 * from: the model changed meanwhile. */
                d->full = true;
                return;
        }
        o = &x->objs[i];
        if (o->bridge) {
                add_bridge(d, name);
                /* A bridge made anew has lost its ports. */
                if (!deleted)
                        return;
        }
        for (size_t k = 0; k < o->n_netns; k++)
                (void) drift_add_netns(d, o->netns[k]);
}

void drift_add_event(Drift *d, const DriftIndex *x, const WatchEvent *ev) {
        switch (ev->src) {
        case WATCH_MOUNTS:
                d->pins = true;
                return;
        case WATCH_NFTABLES:
                d->nat = true;
                return;
        case WATCH_NETLINK:
                break;
        }
        if (ev->scope) {
                (void) drift_add_netns(d, ev->scope);
                return;
        }
        if (ev->everything || !x) {
                d->full = true;
                return;
        }
        /* A run-time attachment's veth on one of our bridges: its namespace
         * is to be watched. */
        if (ev->ports)
                d->resync = true;
        STRV_FOREACH(l, ev->links)
                add_host_link(d, x, *l, strv_contains(ev->deleted, *l));
}

static int cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int keys(const StrMap *m, char ***ret) {
        char **v = calloc(m->n + 1, sizeof(char *));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
                if (m->slots[i].key) {
                        v[n] = strdup(m->slots[i].key);
                        if (!v[n]) {
                                strv_free(v);
                                return -ENOMEM;
                        }
                        n++;
                }
        if (n > 1)
                qsort(v, n, sizeof(char *), cmp);
        *ret = v;
        return 0;
}

int drift_lists(const Drift *d, char ***ret_netns, char ***ret_bridges) {
        char **n = NULL, **b = NULL;

        if (keys(&d->netns, &n) < 0 || keys(&d->bridges, &b) < 0) {
                strv_free(n);
                return -ENOMEM;
        }
        *ret_netns = n;
        *ret_bridges = b;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/stat.h>

#include "cniindex.h"
#include "ipam.h"
#include "leases.h"
#include "netns.h"
#include "netnspath.h"
#include "paths.h"
#include "runcache.h"
#include "strv.h"

#define IPAM_DIR NSMGR_STATE_DIR "/ipam"

void lease_table_done(LeaseTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->v[i].netns);
                free(t->v[i].ifname);
                free(t->v[i].path);
                free(t->v[i].ports);
        }
        free(t->v);
        for (size_t i = 0; i < t->n_release; i++) {
                free(t->release[i].network);
                free(t->release[i].netns);
                free(t->release[i].ifname);
        }
        free(t->release);
        for (size_t i = 0; i < t->n_made; i++)
                free(t->made[i].network);
        free(t->made);
        strv_free(t->notes);
        strv_free(t->warnings);
        *t = (LeaseTable) {};
}

static int open_network(const Network *nw, bool dry_run, Ipam *ret, NmError *err) {
        return ipam_open(nw->name, nw->subnet.family ? &nw->subnet : NULL, nw->subnet.family ? &nw->gateway : NULL,
                         nw->subnet6.family ? &nw->subnet6 : NULL, nw->subnet6.family ? &nw->gateway6 : NULL,
                         dry_run, ret, err);
}

/* A network the config no longer declares: every lease, whatever its family. */
static int open_any(const char *network, Ipam *ret, NmError *err) {
        Cidr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };

        return ipam_open(network, &any4, NULL, &any6, NULL, true, ret, err);
}

static int add_release(LeaseTable *t, const char *network, const Lease *l, const char *why) {
        LeaseRelease *v = realloc(t->release, (t->n_release + 1) * sizeof(LeaseRelease));
        LeaseRelease *r;

        if (!v)
                return -ENOMEM;
        t->release = v;
        r = &v[t->n_release];
        *r = (LeaseRelease) { .network = strdup(network), .netns = strdup(l->netns ? l->netns : "?"),
                              .ifname = strdup(l->ifname ? l->ifname : "?"), .addr = l->addr, .why = why };
        if (!r->network || !r->netns || !r->ifname) {
                free(r->network);
                free(r->netns);
                free(r->ifname);
                return -ENOMEM;
        }
        t->n_release++;
        return 0;
}

static int add_made(LeaseTable *t, const char *network, const Cidr *addr) {
        struct LeaseMade *v = realloc(t->made, (t->n_made + 1) * sizeof(*v));

        if (!v)
                return -ENOMEM;
        t->made = v;
        v[t->n_made] = (struct LeaseMade) { .network = strdup(network), .addr = *addr };
        if (!v[t->n_made].network)
                return -ENOMEM;
        t->n_made++;
        return 0;
}

static int add_attachment(LeaseTable *t, const Network *nw, const char *netns, const char *ifname, const Cidr *a4,
                          const Cidr *a6, const Lease *l, Source src) {
        LeasedAttachment *v = realloc(t->v, (t->n + 1) * sizeof(LeasedAttachment));
        LeasedAttachment *a;

        if (!v)
                return -ENOMEM;
        t->v = v;
        a = &v[t->n];
        *a = (LeasedAttachment) { .network = nw, .netns = strdup(netns), .ifname = strdup(ifname),
                                  .runtime = l != NULL, .src = src };
        if (a4)
                a->addr4 = *a4;
        if (a6)
                a->addr6 = *a6;
        if (l && l->path) {
                a->path = strdup(l->path);
                a->path_inode = l->inode;
        }
        if (l && l->ports)
                a->ports = strdup(l->ports);
        if (!a->netns || !a->ifname || (l && l->path && !a->path) || (l && l->ports && !a->ports)) {
                free(a->netns);
                free(a->ifname);
                free(a->path);
                free(a->ports);
                return -ENOMEM;
        }
        t->n++;
        return 0;
}

static bool declared_attachment(const Config *cfg, const char *network, const char *netns, const char *ifname) {
        const Netns *ns = config_find_netns(cfg, netns);

        for (size_t i = 0; ns && i < ns->n_attachments; i++)
                if (streq(ns->attachments[i].network, network) && streq_ptr(ns->attachments[i].ifname, ifname))
                        return true;
        return false;
}

static bool netns_pinned(const char *name) {
        _cleanup_close_ int fd = -EBADF;

        return netns_open(name, &fd, NULL) >= 0;
}

/* A run-time attachment's namespace is alive: by its path (and the same
 * namespace as when it was leased) when it was attached by path. */
static bool lease_owner_alive(const Lease *l) {
        if (l->path)
                return netns_path_is(l->path, l->inode);
        return netns_pinned(l->netns);
}

/* Run-time attachments nsmgr wires: nsmgrctl attach, the OCI hook, the CNI
 * plugin (as IPAM only, another plugin wires it). */
static bool lease_wired(const Lease *l) {
        return streq(l->origin, LEASE_ATTACH) || streq(l->origin, LEASE_CNI);
}

/* Leases whose use is over: given back at the end of the run, after what
 * used them is gone. Until then their addresses stay out of use. */
static bool in_scope(const StrMap *only, const char *netns) {
        return !only || strmap_get(only, netns, NULL);
}

static int collect_releases(LeaseTable *t, const Config *cfg, const Network *nw, Ipam *ipam, const StrMap *only) {
        int r;

        for (size_t i = 0; i < ipam->n_leases; i++) {
                const Lease *l = &ipam->leases[i];
                const char *why = NULL;

                if (!l->netns || !in_scope(only, l->netns))
                        continue;
                if (l->releasing)
                        why = "detached";
                else if (streq(l->origin, LEASE_CONFIG))
                        why = declared_attachment(cfg, nw->name, l->netns, l->ifname) ? NULL : "no longer declared";
                else if (!lease_owner_alive(l))
                        why = "its namespace no longer exists";
                if (!why)
                        continue;
                r = add_release(t, nw->name, l, why);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool released(const LeaseTable *t, const char *network, const Cidr *addr) {
        for (size_t i = 0; i < t->n_release; i++)
                if (streq(t->release[i].network, network) && cidr_addr_equal(&t->release[i].addr, addr))
                        return true;
        return false;
}

static int lease_declared(LeaseTable *t, const Network *nw, Ipam *ipam, const Netns *ns, const Attachment *at,
                          NmError *err) {
        Cidr a4 = {}, a6 = {};
        char buf[CIDR_STRLEN];
        int r;

        for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
                const Cidr *want = fam == AF_INET ? &at->address : &at->address6;
                const Cidr *subnet = fam == AF_INET ? &nw->subnet : &nw->subnet6;
                const Lease *have;
                Cidr *got = fam == AF_INET ? &a4 : &a6;

                if (!subnet->family)
                        continue;
                /* The config moved the attachment to another address: the
                 * old lease is given back once the address is off the link. */
                have = ipam_find(ipam, fam, ns->name, at->ifname);
                if (have && want->family && !cidr_addr_equal(&have->addr, want)) {
                        Cidr old = have->addr;

                        r = add_release(t, nw->name, have, "the config asks for another address");
                        if (r < 0)
                                return r;
                        ipam_retire(ipam, &old);
                        t->ipam_changed = true;
                }
                r = ipam_lease(ipam, fam, ns->name, at->ifname, want, LEASE_CONFIG, t->dry_run, got, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "%s:%d: namespace '%s', network '%s'", at->src.file,
                                               at->src.line, ns->name, nw->name);
                if (r > 0) {
                        t->ipam_changed = true;
                        (void) strv_extendf(&t->notes, "leased %s to %s:%s on network '%s'",
                                            cidr_format(got, false, buf), ns->name, at->ifname, nw->name);
                        if (!t->dry_run) {
                                r = add_made(t, nw->name, got);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return add_attachment(t, nw, ns->name, at->ifname, a4.family ? &a4 : NULL, a6.family ? &a6 : NULL, NULL,
                              at->src);
}

static int lease_cmp(const void *a, const void *b) {
        const Lease *x = *(const Lease *const *) a, *y = *(const Lease *const *) b;
        int c = strcmp(x->netns, y->netns);

        return c ? c : strcmp(x->ifname, y->ifname);
}

/* Run-time attachments that hold on: both families of one make one veth. */
static int collect_runtime(LeaseTable *t, const Config *cfg, const Network *nw, Ipam *ipam, const StrMap *only) {
        _cleanup_free_ const Lease **v = calloc(ipam->n_leases + 1, sizeof(Lease *));
        size_t n = 0;
        int r;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < ipam->n_leases; i++) {
                const Lease *l = &ipam->leases[i];

                if (!l->netns || !in_scope(only, l->netns) || l->retired || l->releasing || !lease_wired(l) ||
                    released(t, nw->name, &l->addr) || declared_attachment(cfg, nw->name, l->netns, l->ifname))
                        continue;
                /* The IPv6 lease rides with the IPv4 one of the same owner. */
                if (l->addr.family == AF_INET6 && ipam_find(ipam, AF_INET, l->netns, l->ifname))
                        continue;
                v[n++] = l;
        }
        /* In a stable order, whatever order the folder lists them in. */
        if (n > 1)
                qsort(v, n, sizeof(Lease *), lease_cmp);
        for (size_t i = 0; i < n; i++) {
                const Lease *l = v[i], *other;

                other = ipam_find(ipam, l->addr.family == AF_INET ? AF_INET6 : AF_INET, l->netns, l->ifname);
                if (other && released(t, nw->name, &other->addr))
                        other = NULL;
                r = add_attachment(t, nw, l->netns, l->ifname,
                                   l->addr.family == AF_INET ? &l->addr : other ? &other->addr : NULL,
                                   l->addr.family == AF_INET6 ? &l->addr : other ? &other->addr : NULL, l, nw->src);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Lease folders of networks the config no longer declares: every lease goes. */
static int collect_undeclared(LeaseTable *t, const Config *cfg, NmError *err) {
        _cleanup_closedir_ DIR *d = opendir(IPAM_DIR);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT ? 0 : nm_error(err, negative_errno(), "cannot read " IPAM_DIR ": %m");
        while ((de = readdir(d))) {
                _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };

                if (de->d_name[0] == '.' || config_find_network(cfg, de->d_name))
                        continue;
                r = open_any(de->d_name, &ipam, err);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ipam.n_leases; i++) {
                        if (!ipam.leases[i].netns)
                                continue;
                        r = add_release(t, de->d_name, &ipam.leases[i], "the network is no longer declared");
                        if (r < 0)
                                return r;
                }
                STRV_FOREACH(w, ipam.warnings)
                        (void) strv_extend(&t->warnings, *w);
        }
        return 0;
}

/* A scoped run's declared attachment from cached leases: it must hold its
 * lease already, at the address asked for; -EAGAIN if anything is to be
 * written (the leases are then read and locked as usual). */
static int declared_cached(LeaseTable *t, const Network *nw, const Ipam *ipam, const Netns *ns, const Attachment *at) {
        Cidr a4 = {}, a6 = {};

        for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
                const Cidr *want = fam == AF_INET ? &at->address : &at->address6;
                const Cidr *subnet = fam == AF_INET ? &nw->subnet : &nw->subnet6;
                const Lease *have;

                if (!subnet->family)
                        continue;
                have = ipam_find(ipam, fam, ns->name, at->ifname);
                if (!have || have->retired || have->releasing || !streq_ptr(have->origin, LEASE_CONFIG) ||
                    (want->family && !cidr_addr_equal(&have->addr, want)))
                        return -EAGAIN;
                *(fam == AF_INET ? &a4 : &a6) = have->addr;
        }
        return add_attachment(t, nw, ns->name, at->ifname, a4.family ? &a4 : NULL, a6.family ? &a6 : NULL, false,
                              at->src);
}

static int netns_index_cmp(const void *a, const void *b) {
        size_t x = *(const size_t *) a, y = *(const size_t *) b;

        return (x > y) - (x < y);
}

/* The config's namespaces with attachments that a run leases for, in the
 * config's order (addresses are handed out in it): the scope's alone in a
 * scoped run, found by name rather than among all. */
static int attaching_netns(const Config *cfg, const StrMap *model_only, size_t **ret, size_t *ret_n) {
        size_t *v, n = 0;

        v = calloc((model_only ? model_only->n : cfg->n_netns) + 1, sizeof(size_t));
        if (!v)
                return -ENOMEM;
        if (!model_only) {
                for (size_t i = 0; i < cfg->n_netns; i++)
                        if (cfg->netns[i].n_attachments > 0)
                                v[n++] = i;
        } else {
                for (size_t i = 0; i < model_only->cap; i++) {
                        const Netns *ns;

                        if (!model_only->slots[i].key)
                                continue;
                        ns = config_find_netns(cfg, model_only->slots[i].key);
                        if (ns && ns->n_attachments > 0)
                                v[n++] = (size_t) (ns - cfg->netns);
                }
                if (n > 1)
                        qsort(v, n, sizeof(size_t), netns_index_cmp);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* One network: what is given back, the declared attachments (leased now
 * if new), and the run-time ones. From cached leases (read-only) the
 * declared ones must all be leased already: -EAGAIN otherwise. */
static int sync_network(LeaseTable *t, const Config *cfg, const Network *nw, Ipam *ipam, bool cached,
                        const StrMap *only, const StrMap *model_only, const size_t *attaching, size_t n_attaching,
                        NmError *err) {
        int r;

        STRV_FOREACH(w, ipam->warnings)
                (void) strv_extend(&t->warnings, *w);
        r = collect_releases(t, cfg, nw, ipam, only);
        for (size_t k = 0; r >= 0 && k < n_attaching; k++) {
                const Netns *ns = &cfg->netns[attaching[k]];

                for (size_t j = 0; r >= 0 && j < ns->n_attachments; j++) {
                        if (!streq(ns->attachments[j].network, nw->name))
                                continue;
                        r = cached ? declared_cached(t, nw, ipam, ns, &ns->attachments[j])
                                   : lease_declared(t, nw, ipam, ns, &ns->attachments[j], err);
                }
        }
        if (r >= 0)
                r = collect_runtime(t, cfg, nw, ipam, model_only);
        return r;
}

/* Appends what src holds to dst (src is left empty). */
static int lease_table_take(LeaseTable *dst, LeaseTable *src) {
        LeasedAttachment *v = realloc(dst->v, (dst->n + src->n + 1) * sizeof(LeasedAttachment));
        LeaseRelease *rel;

        if (v)
                dst->v = v;
        rel = v ? realloc(dst->release, (dst->n_release + src->n_release + 1) * sizeof(LeaseRelease)) : NULL;
        if (rel)
                dst->release = rel;
        if (!v || !rel)
                return -ENOMEM;
        /* An empty table's arrays are NULL, which memcpy() may not get. */
        if (src->n > 0)
                memcpy(dst->v + dst->n, src->v, src->n * sizeof(LeasedAttachment));
        dst->n += src->n;
        if (src->n_release > 0)
                memcpy(dst->release + dst->n_release, src->release, src->n_release * sizeof(LeaseRelease));
        dst->n_release += src->n_release;
        STRV_FOREACH(w, src->warnings)
                (void) strv_extend(&dst->warnings, *w);
        free(src->v);
        free(src->release);
        src->v = NULL;
        src->release = NULL;
        src->n = src->n_release = 0;
        lease_table_done(src);
        return 0;
}

int leases_sync(const Config *cfg, const StrMap *only, LeaseSyncFlags flags, RunCache *cache, LeaseTable *ret,
                NmError *err) {
        LeaseTable t = { .dry_run = flags & LEASE_SYNC_DRY_RUN };
        const StrMap *model_only = flags & LEASE_SYNC_SCOPED_MODEL ? only : NULL;
        _cleanup_free_ size_t *attaching = NULL;
        size_t n_attaching = 0;
        int r = 0;

        if (cfg->n_networks > 0)
                r = attaching_netns(cfg, model_only, &attaching, &n_attaching);
        /* A cache serves scoped runs; a full one reads everything, and
         * fills it anew. A dry run neither uses nor fills it. */
        if (t.dry_run)
                cache = NULL;
        for (size_t k = 0; r >= 0 && k < cfg->n_networks; k++) {
                const Network *nw = &cfg->networks[k];
                _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
                const Ipam *cached = cache && only ? run_cache_leases(cache, nw) : NULL;
                FileStamp stamp = {};
                size_t made;

                if (cached) {
                        LeaseTable part = { .dry_run = t.dry_run };

                        r = sync_network(&part, cfg, nw, (Ipam *) cached, true, only, model_only, attaching,
                                         n_attaching, err);
                        if (r >= 0)
                                r = lease_table_take(&t, &part);
                        lease_table_done(&part);
                        if (r != -EAGAIN)
                                continue;
                        r = 0;
                }
                if (cache) {
                        _cleanup_free_ char *dir = NULL;

                        if (asprintf(&dir, IPAM_DIR "/%s", nw->name) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        file_stamp(dir, &stamp);
                }
                r = open_network(nw, t.dry_run, &ipam, err);
                if (r < 0)
                        break;
                made = t.n_made;
                t.ipam_changed = false;
                r = sync_network(&t, cfg, nw, &ipam, false, only, model_only, attaching, n_attaching, err);
                /* What was read, as long as nothing was written to it. */
                if (r >= 0 && cache && t.n_made == made && !t.ipam_changed)
                        run_cache_keep_leases(cache, nw, &ipam, &stamp);
        }
        if (r >= 0 && !only)
                r = collect_undeclared(&t, cfg, err);
        if (r < 0) {
                /* Nothing this call leased stays. */
                leases_rollback(&t);
                lease_table_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

void leases_rollback(const LeaseTable *t) {
        for (size_t i = 0; i < t->n_made; i++) {
                _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };

                if (open_any(t->made[i].network, &ipam, NULL) >= 0)
                        (void) ipam_release(&ipam, &t->made[i].addr, NULL);
        }
}

int lease_release(const LeaseRelease *rel, NmError *err) {
        _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
        const Lease *l;
        int r;

        r = open_any(rel->network, &ipam, err);
        if (r < 0)
                return r;
        /* A CNI attachment's entry in the plugin's index (cniindex.h) goes
         * with its lease. */
        l = ipam_find_addr(&ipam, &rel->addr);
        if (l && l->origin && (streq(l->origin, LEASE_CNI) || streq(l->origin, LEASE_CNI_IPAM)) && l->cni_network &&
            l->container && l->ifname)
                (void) cni_index_remove(l->cni_network, l->container, l->ifname);
        return ipam_release(&ipam, &rel->addr, err);
}

const LeasedAttachment *lease_table_find(const LeaseTable *t, const char *netns, const char *network) {
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->v[i].netns, netns) && streq(t->v[i].network->name, network))
                        return &t->v[i];
        return NULL;
}

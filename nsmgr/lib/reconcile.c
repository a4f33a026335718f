/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine, stage by stage: leases, desired (a pure function of the
 * config and the leases), observe (what the kernel holds), plan (a pure
 * function of the three), checks that every step can be taken, execute.
 * One code path for nsmgrctl apply, attach/detach and nsmgrd. */
#include <assert.h>
#include <fcntl.h>
#include <sys/file.h>

#include "desired.h"
#include "execute.h"
#include "fileio.h"
#include "leases.h"
#include "linkkind.h"
#include "nat.h"
#include "observe.h"
#include "paths.h"
#include "plan.h"
#include "reconcile.h"
#include "runcache.h"
#include "state.h"
#include "strv.h"

int reconcile_lock(NmError *err) {
        int fd, r;

        r = mkdir_p(NSMGR_RUN_DIR, 0755);
        if (r < 0)
                return nm_error(err, r, "cannot create " NSMGR_RUN_DIR ": %s%s", strerror(-r),
                                r == -EACCES || r == -EPERM ? "; this needs root" : "");
        fd = open(NSMGR_RUN_DIR "/lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
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
        for (size_t i = 0; i < r->n_steps; i++)
                plan_step_done(&r->steps[i]);
        r->steps = mfree(r->steps);
        r->n_steps = r->cap_steps = 0;
        r->changes = strv_free(r->changes);
        r->warnings = strv_free(r->warnings);
        for (size_t i = 0; i < r->n_ids; i++)
                free(r->ids[i].name);
        r->ids = mfree(r->ids);
        r->n_ids = 0;
}

/* What the run saw of the namespaces' nsids in the host. */
static int report_ids(ReconcileReport *report, const Observed *o) {
        NetnsId *v = calloc(o->n_scopes + 1, sizeof(NetnsId));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < o->n_scopes; i++) {
                const ObsScope *s = &o->scopes[i];

                if (!s->exists || s->skip || s->nsid_in_host < 0)
                        continue;
                v[n] = (NetnsId) { .name = strdup(s->name), .ino = s->ino, .nsid = s->nsid_in_host };
                if (!v[n].name)
                        break;
                n++;
        }
        report->ids = v;
        report->n_ids = n;
        return 0;
}

typedef struct Run {
        const Config *cfg;
        const ReconcileScope *scope;  /* NULL: everything */
        RunCache *cache;
        StrMap only_set;
        const StrMap *only;           /* the scope's namespaces and those their veths join; NULL: all */
        char **host_links;            /* a scoped run: the host links it reads */
        ReconcileFlags flags;
        ReconcileReport *report;
        NmError *err;
        State state;
        LeaseTable leases;
        Desired *desired;
        Observed observed;
        Plan plan;
        NatPlan nat;
        bool want_nat;
        uint8_t machine_key[16];
        bool have_key;
} Run;

static void run_done(Run *R) {
        strmap_done(&R->only_set);
        strv_free(R->host_links);
        nat_plan_done(&R->nat);
        plan_done(&R->plan);
        observed_done(&R->observed);
        desired_free(R->desired);
        lease_table_done(&R->leases);
        state_done(&R->state);
}

static void warn_all(Run *R, char *const *lines) {
        STRV_FOREACH(l, lines)
                (void) strv_extend(&R->report->warnings, *l);
}

static int refuse_conflicts(Run *R) {
        _cleanup_free_ char *joined = NULL;
        size_t len = 0;

        STRV_FOREACH(c, R->plan.conflicts)
                len += strlen(*c) + 1;
        joined = calloc(len + 1, 1);
        if (!joined)
                return -ENOMEM;
        STRV_FOREACH(c, R->plan.conflicts) {
                if (*joined)
                        strcat(joined, "\n");
                strcat(joined, *c);
        }
        return nm_error(R->err, -EEXIST, "%s", joined);
}

/* Kernel features before any change: an apply that cannot finish must not
 * start. veths and bridges every kernel that runs containers has; probing
 * makes a scratch namespace whose tear-down holds the RTNL lock for tens of
 * milliseconds, so only the kinds that are often missing (modules not
 * built, not loaded) are probed. */
static int check_kernel(Run *R) {
        _cleanup_error_ NmError why = NM_ERROR_INIT;
        int missing = -1, r;

        r = link_kinds_probe(R->plan.kinds & ~((1u << IFACE_VETH) | LINK_KIND_BRIDGE_BIT), &missing, &why);
        if (r >= 0)
                return 0;
        for (size_t i = 0; r == -EOPNOTSUPP && i < R->plan.n; i++) {
                const Action *a = &R->plan.v[i];
                const Iface *d;

                if (a->type != ACT_LINK_CREATE || (int) a->create.iface->kind != missing)
                        continue;
                d = a->create.iface;
                return nm_error(R->err, r, "%s:%d: namespace '%s', interface '%s': cannot create a %s: %s; nothing was changed",
                                d->src.file, d->src.line, a->scope->name, d->name, link_kind_ops(d->kind)->kernel_kind,
                                nm_error_message(&why));
        }
        return nm_error(R->err, r, "cannot apply the config; nothing was changed: %s", nm_error_message(&why));
}

/* Namespaces that exist and are wired now are recorded before anything is
 * done in them: a later run finds what this one put there even if it is
 * killed half-way (what it makes carries nsmgr's mark). */
static int record_wired(Run *R) {
        for (size_t i = 0; i < R->observed.n_scopes; i++) {
                const ObsScope *s = &R->observed.scopes[i];
                int r;

                if (!s->exists || s->skip)
                        continue;
                r = state_netns_set(&R->state, s->name, s->ino, s->cookie);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int plan_everything(Run *R) {
        PlanInput in = {
                .model = &R->desired->model,
                .observed = &R->observed,
                .state = &R->state,
                .leases = &R->leases,
                .only = R->only,
                .bridges = R->scope ? R->scope->bridges : NULL,
                .machine_key = R->have_key ? R->machine_key : NULL,
                .dry_run = R->flags & RECONCILE_DRY_RUN,
        };
        int r;

        r = plan_build(&in, &R->plan);
        if (r < 0)
                return r;
        if (!R->want_nat) {
                plan_sort(&R->plan);
                return 0;
        }
        /* NAT last: it needs only the addresses the model settles. */
        r = nat_plan(&R->desired->model, &R->state, &R->nat, R->err);
        if (r < 0)
                return r;
        STRV_FOREACH(c, R->nat.changes) {
                r = plan_add_nat(&R->plan, &R->observed.host, *c);
                if (r < 0)
                        return r;
        }
        plan_sort(&R->plan);
        return 0;
}

/* A scoped run's namespaces, closed over veths between namespaces (both
 * ways: a pair is planned by the namespace that declares it, and its far
 * end is declared there too, so neither side may be looked at alone). */
static int scope_close(Run *R) {
        const Config *cfg = R->cfg;
        bool grew = true;

        STRV_FOREACH(n, R->scope->netns)
                if (strmap_put(&R->only_set, *n, 1) < 0)
                        return -ENOMEM;
        while (grew) {
                grew = false;
                for (size_t i = 0; i < cfg->n_netns; i++) {
                        const Netns *ns = &cfg->netns[i];

                        for (size_t j = 0; j < ns->n_ifaces; j++) {
                                const char *peer = ns->ifaces[j].peer_netns;
                                bool a, b;

                                if (!peer)
                                        continue;
                                a = strmap_get(&R->only_set, ns->name, NULL);
                                b = strmap_get(&R->only_set, peer, NULL);
                                if (a == b)
                                        continue;
                                if (strmap_put(&R->only_set, a ? peer : ns->name, 1) < 0)
                                        return -ENOMEM;
                                grew = true;
                        }
                }
        }
        R->only = &R->only_set;
        return 0;
}

/* The host links a scoped run reads: the bridges it checks, the host ends
 * of its veths, the host parents of its macvlans, and the host ends of the
 * attachments whose leases it gives back. */
static int scope_host_links(Run *R) {
        const Config *m = &R->desired->model;
        size_t n = 0;

        STRV_FOREACH(b, R->scope->bridges)
                if (strv_push_at(&R->host_links, n++, strdup(*b)) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < m->n_netns; i++)
                for (size_t j = 0; j < m->netns[i].n_ifaces; j++) {
                        const Iface *it = &m->netns[i].ifaces[j];
                        const char *parent = link_parent(it);

                        if (it->bridge && strv_push_at(&R->host_links, n++, strdup(it->bridge)) < 0)
                                return -ENOMEM;
                        if (link_kind_ops(it->kind)->has_peer && !it->peer_netns && it->peer_name &&
                            strv_push_at(&R->host_links, n++, strdup(it->peer_name)) < 0)
                                return -ENOMEM;
                        if (parent && link_kind_ops(it->kind)->parent_in_host &&
                            strv_push_at(&R->host_links, n++, strdup(parent)) < 0)
                                return -ENOMEM;
                }
        for (size_t i = 0; i < R->leases.n_release; i++) {
                const LeaseRelease *rel = &R->leases.release[i];

                if (strv_push_at(&R->host_links, n++, veth_peer_name_derive(rel->netns, rel->ifname)) < 0)
                        return -ENOMEM;
        }
        if (!R->host_links)
                R->host_links = calloc(1, sizeof(char *));
        return R->host_links ? 0 : -ENOMEM;
}

/* The state: from the cache in a scoped run when the file is as it was,
 * else read (and stamped first, for the cache). */
static int load_state(Run *R, FileStamp *ret_stamp) {
        bool dry = R->flags & RECONCILE_DRY_RUN;

        *ret_stamp = (FileStamp) {};
        if (R->cache && !dry && R->scope && run_cache_take_state(R->cache, &R->state, ret_stamp))
                return 0;
        if (R->cache && !dry)
                file_stamp(NSMGR_STATE_FILE, ret_stamp);
        return state_load(&R->state, dry);
}

/* After the run: the state goes back to the cache, stamped as the file is
 * now if this run wrote it (and then read again next time: it is too
 * recent to be trusted). */
static void keep_state(Run *R, const FileStamp *stamp, bool saved) {
        FileStamp now;

        if (!R->cache || (R->flags & RECONCILE_DRY_RUN))
                return;
        if (!saved) {
                run_cache_keep_state(R->cache, &R->state, stamp);
                return;
        }
        file_stamp(NSMGR_STATE_FILE, &now);
        run_cache_keep_state(R->cache, &R->state, &now);
}

static int run(const Config *cfg, const ReconcileScope *scope, RunCache *cache, HostReadAhead *ahead_in,
               ReconcileFlags flags, ReconcileReport *report, NmError *err) {
        _cleanup_(run_done) Run R = { .cfg = cfg, .scope = scope, .cache = cache, .flags = flags, .report = report,
                                      .err = err, .observed = OBSERVED_INIT };
        FileStamp stamp = {};
        bool wrote;
        _cleanup_close_ int lock = -EBADF;
        _cleanup_(host_read_ahead_freep) HostReadAhead *ahead =
                ahead_in ? ahead_in : !scope && cache ? TAKE_PTR(cache->host_ahead) : NULL;
        bool dry = flags & RECONCILE_DRY_RUN;
        LeaseSyncFlags lflags = dry ? LEASE_SYNC_DRY_RUN : 0;
        int r, saved;

        report->n_netns = (unsigned) cfg->n_netns;
        report->n_networks = (unsigned) cfg->n_networks;
        /* NAT takes the whole model: the addresses and ports of every
         * namespace. A scoped run plans it only when asked to. */
        R.want_nat = !scope || scope->nat;

        if (!(flags & RECONCILE_LOCKED)) {
                lock = reconcile_lock(err);
                if (lock < 0)
                        return lock;
        }
        if (scope) {
                r = scope_close(&R);
                if (r < 0)
                        return r;
                if (!R.want_nat)
                        lflags |= LEASE_SYNC_SCOPED_MODEL;
        }
        r = load_state(&R, &stamp);
        if (r < 0)
                return nm_error(err, r, "cannot read " NSMGR_RUN_DIR "/state.json: %s", strerror(-r));
        if (R.state.lost_reason)
                (void) strv_extend(&report->warnings, R.state.lost_reason);
        R.have_key = machine_key_read(R.machine_key) >= 0;

        r = leases_sync(cfg, R.only, lflags, cache, &R.leases, err);
        if (r < 0)
                return r;
        warn_all(&R, R.leases.warnings);
        r = desired_build_only(cfg, &R.leases, R.want_nat ? NULL : R.only, &R.desired);
        if (r >= 0 && scope)
                r = scope_host_links(&R);
        if (r >= 0)
                r = observe(&(ObserveInput) { .model = &R.desired->model, .state = &R.state, .only = R.only,
                                              .host_links = R.host_links, .rebuild = R.state.lost,
                                              .host_ahead = ahead },
                            &R.observed, err);
        if (r >= 0)
                r = plan_everything(&R);
        if (r >= 0) {
                warn_all(&R, R.plan.warnings);
                if (R.plan.conflicts)
                        r = refuse_conflicts(&R);
        }
        if (r >= 0)
                r = check_kernel(&R);
        if (r < 0 || dry) {
                /* A refused apply changes nothing: not even a lease. */
                if (r < 0)
                        leases_rollback(&R.leases);
                for (size_t i = 0; r >= 0 && i < R.plan.n; i++)
                        r = report_add_step(report, &R.plan.v[i], true);
                keep_state(&R, &stamp, false);
                return r;
        }

        (void) report_ids(report, &R.observed);
        r = record_wired(&R);
        if (r >= 0)
                r = execute(&(ExecInput) { .plan = &R.plan, .observed = &R.observed, .state = &R.state, .nat = &R.nat,
                                           .machine_key = R.have_key ? R.machine_key : NULL, .report = report },
                            err);
        wrote = R.state.dirty;
        saved = state_save(&R.state);
        if (saved >= 0)
                keep_state(&R, &stamp, wrote);
        else if (cache)
                run_cache_forget(cache);
        if (r < 0)
                return r;
        if (saved < 0)
                return nm_error(err, saved, "cannot record what nsmgr made in " NSMGR_RUN_DIR "/state.json: %s",
                                strerror(-saved));
        return 0;
}

int reconcile(const Config *cfg, ReconcileFlags flags, ReconcileReport *report, NmError *err) {
        return run(cfg, NULL, NULL, NULL, flags, report, err);
}

int reconcile_read_ahead(const Config *cfg, HostReadAhead *ahead, ReconcileFlags flags, ReconcileReport *report,
                         NmError *err) {
        assert(flags & RECONCILE_LOCKED);
        return run(cfg, NULL, NULL, ahead, flags, report, err);
}

int reconcile_scoped(const Config *cfg, const ReconcileScope *scope, RunCache *cache, ReconcileFlags flags,
                     ReconcileReport *report, NmError *err) {
        return run(cfg, scope, cache, NULL, flags, report, err);
}

int reconcile_netns(const Config *cfg, const char *netns, ReconcileFlags flags, ReconcileReport *report,
                    NmError *err) {
        char *names[] = { (char *) netns, NULL };

        /* A lease changed: the addresses NAT rules point at may have too. */
        return run(cfg, &(ReconcileScope) { .netns = names, .nat = true }, NULL, NULL, flags, report, err);
}

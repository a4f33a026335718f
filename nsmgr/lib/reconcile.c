/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine, stage by stage: leases, desired (a pure function of the
 * config and the leases), observe (what the kernel holds), plan (a pure
 * function of the three), checks that every step can be taken, execute.
 * One code path for nsmgrctl apply, attach/detach and nsmgrd. */
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
        r->n_steps = 0;
        r->changes = strv_free(r->changes);
        r->warnings = strv_free(r->warnings);
}

typedef struct Run {
        const Config *cfg;
        const char *only;
        ReconcileFlags flags;
        ReconcileReport *report;
        NmError *err;
        State state;
        LeaseTable leases;
        Desired *desired;
        Observed observed;
        Plan plan;
        NatPlan nat;
        uint8_t machine_key[16];
        bool have_key;
} Run;

static void run_done(Run *R) {
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

                if (!s->exists || (s->skip && (!R->only || !streq(s->name, R->only))))
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
                .machine_key = R->have_key ? R->machine_key : NULL,
                .dry_run = R->flags & RECONCILE_DRY_RUN,
        };
        int r;

        r = plan_build(&in, &R->plan);
        if (r < 0)
                return r;
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

static int run(const Config *cfg, const char *only, ReconcileFlags flags, ReconcileReport *report, NmError *err) {
        _cleanup_(run_done) Run R = { .cfg = cfg, .only = only, .flags = flags, .report = report, .err = err,
                                      .observed = OBSERVED_INIT };
        _cleanup_close_ int lock = -EBADF;
        bool dry = flags & RECONCILE_DRY_RUN;
        int r, saved;

        report->n_netns = (unsigned) cfg->n_netns;
        report->n_networks = (unsigned) cfg->n_networks;

        if (!(flags & RECONCILE_LOCKED)) {
                lock = reconcile_lock(err);
                if (lock < 0)
                        return lock;
        }
        r = state_load(&R.state, dry);
        if (r < 0)
                return nm_error(err, r, "cannot read " NSMGR_RUN_DIR "/state.json: %s", strerror(-r));
        if (R.state.lost_reason)
                (void) strv_extend(&report->warnings, R.state.lost_reason);
        R.have_key = machine_key_read(R.machine_key) >= 0;

        r = leases_sync(cfg, only, dry ? LEASE_SYNC_DRY_RUN : 0, &R.leases, err);
        if (r < 0)
                return r;
        warn_all(&R, R.leases.warnings);
        r = desired_build(cfg, &R.leases, &R.desired);
        if (r >= 0)
                r = observe(&(ObserveInput) { .model = &R.desired->model, .state = &R.state, .only = only,
                                              .rebuild = R.state.lost },
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
                return r;
        }

        r = record_wired(&R);
        if (r >= 0)
                r = execute(&(ExecInput) { .plan = &R.plan, .observed = &R.observed, .state = &R.state, .nat = &R.nat,
                                           .machine_key = R.have_key ? R.machine_key : NULL, .report = report },
                            err);
        saved = state_save(&R.state);
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

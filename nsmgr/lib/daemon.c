/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus-manager.h"
#include "config.h"
#include "daemon.h"
#include "fileio.h"
#include "netns.h"
#include "desired.h"
#include "drift.h"
#include "leases.h"
#include "network.h"
#include "observe.h"
#include "ops.h"
#include "overlap.h"
#include "owner.h"
#include "procscan.h"
#include "reconcile.h"
#include "runcache.h"
#include "state.h"
#include "status.h"
#include "strv.h"
#include "watch.h"

/* How many notable events a repair names in the log; the rest are counted. */
#define NOTES_MAX 6
#define RETRY_FIRST_SEC 1
#define RETRY_MAX_SEC 60
#define DEBOUNCE_ACCURACY_USEC 1000

#define DAEMON_LOCK_FILE NSMGR_RUN_DIR "/nsmgrd.lock"

typedef struct Daemon {
        const DaemonOptions *o;
        int lock_fd;                /* held while running: one nsmgrd at a time */
        sd_event *event;
        Watch *watch;
        Config *cfg;
        DaemonStatus status;
        sd_event_source *debounce;
        sd_event_source *retry;
        sd_event_source *sweep;
        sd_event_source *sig_hup, *sig_term, *sig_int;
        Drift drift;                /* what events touched since the last repair (drift.h) */
        DriftIndex index;           /* host links -> what they belong to, from the last model */
        RunCache cache;             /* what scoped repairs need not read again (runcache.h) */
        FileStamp *lease_stamps;    /* of each network's lease folder at the last sync of the watches */
        size_t n_lease_stamps;
        char **notes;               /* what the first of them said */
        size_t more_notes;
        unsigned retry_sec;
        char **warnings;            /* of the last reconcile, said once */
        BusManager *bus;            /* the D-Bus API (bus-manager.h) */
} Daemon;

/* What a drift repair did, for the log and the DriftRepaired signal. */
typedef struct Repairs {
        char **lines;
        PlanStep *steps;
        size_t n_steps;
} Repairs;

static void repairs_done(Repairs *r) {
        strv_free(r->lines);
        plan_steps_free(r->steps, r->n_steps);
        *r = (Repairs) {};
}

_printf_(4, 0) static void dlogv(Daemon *d, int prio, const LogFields *fields, const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;

        if (!d->o->log)
                return;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        if (msg)
                d->o->log(prio, fields, msg, d->o->log_userdata);
}

_printf_(3, 4) static void dlog(Daemon *d, int prio, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        dlogv(d, prio, NULL, fmt, ap);
        va_end(ap);
}

/* A line with journal fields (daemon.h): MESSAGE_ID, the namespace and
 * interface it is about. */
_printf_(4, 5) static void dlog_fields(Daemon *d, int prio, const LogFields *fields, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        dlogv(d, prio, fields, fmt, ap);
        va_end(ap);
}

/* An error of several lines (a config with several problems) is logged
 * one line at a time, each with the same prefix. */
static void dlog_error_lines(Daemon *d, int prio, const char *prefix, const NmError *err) {
        _cleanup_free_ char *copy = strdup(nm_error_message(err));
        char *line, *save = NULL;

        if (!copy)
                return;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                dlog(d, prio, "%s%s", prefix, line);
}

static const char *plural(uint64_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

/* --- the status record and STATUS= ---------------------------------------- */

static void status_run_set(StatusRun *run, const char *trigger, uint64_t begun, int result, const NmError *err,
                           unsigned changes) {
        free(run->trigger);
        free(run->error);
        run->trigger = strdup(trigger);
        run->begun = begun;
        run->finished = now_monotonic_usec();
        run->duration = run->finished - begun;
        run->time = now_realtime_usec();
        run->result = result < 0 ? result : 0;
        run->error = result < 0 ? strdup(nm_error_message(err)) : NULL;
        run->changes = changes;
}

static void publish(Daemon *d, const char *notify_prefix) {
        DaemonStatus *s = &d->status;
        const char *error = s->reconcile.result < 0 ? s->reconcile.error : NULL;
        int r;

        s->n_netns = d->cfg ? (unsigned) d->cfg->n_netns : 0;
        s->n_networks = d->cfg ? (unsigned) d->cfg->n_networks : 0;
        s->n_watched = (unsigned) watch_count(d->watch);
        r = daemon_status_write(s);
        if (r < 0)
                dlog(d, LOG_WARNING, "cannot write the status record " NSMGRD_STATUS_FILE ": %s; 'nsmgrctl status' will be out of date, ignoring",
                     strerror(-r));
        bus_manager_status_changed(d->bus);

        /* STATUS= is one line: of a multi-line error, the first. */
        (void) sd_notifyf(false, "%sSTATUS=%u %s, %u %s, %" PRIu64 " %s repaired%s%.*s", notify_prefix ? notify_prefix : "",
                          s->n_netns, plural(s->n_netns, "namespace", "namespaces"), s->n_networks,
                          plural(s->n_networks, "network", "networks"), s->drifts_repaired,
                          plural(s->drifts_repaired, "drift", "drifts"),
                          error ? "; last reconcile failed: " : "", error ? (int) strcspn(error, "\n") : 0,
                          error ? error : "");
}

static void set_state(Daemon *d, const char *state) {
        free(d->status.state);
        d->status.state = strdup(state);
}

/* --- reconcile, watches ----------------------------------------------------- */

/* The nsids the run saw go to the watch, which places notifications by
 * them (and asks the kernel for those of namespaces it did not see). */
static void learn_nsids(Daemon *d, const ReconcileReport *report) {
        _cleanup_free_ WatchNsid *v = calloc(report->n_ids + 1, sizeof(WatchNsid));
        _cleanup_strv_free_ char **warnings = NULL;

        if (!v)
                return;
        for (size_t i = 0; i < report->n_ids; i++)
                v[i] = (WatchNsid) { .name = report->ids[i].name, .ino = report->ids[i].ino, .nsid = report->ids[i].nsid };
        (void) watch_learn_nsids(d->watch, v, report->n_ids, &warnings);
        STRV_FOREACH(w, warnings)
                dlog(d, LOG_WARNING, "%s", *w);
}

/* A full reconcile (scope NULL) or a scoped one. A full one is what
 * `nsmgrctl apply` does, its checks included (a subnet that overlaps the
 * host's addresses, overlap.h). */
static int run_reconcile(Daemon *d, const Config *cfg, const char *trigger, const ReconcileScope *scope,
                         ReconcileFlags flags, ReconcileReport *report, NmError *err) {
        _cleanup_free_ char *ifname = NULL;
        uint64_t begun = now_monotonic_usec();
        int r = 0;

        if (!scope) {
                r = networks_check_host_overlap(cfg, &ifname, err);
                if (r == -EADDRINUSE && ifname)
                        dlog_fields(d, LOG_ERR, &(LogFields) { .message_id = NSMGR_MESSAGE_APPLY_REFUSED, .ifname = ifname },
                                    "apply refused: %s", nm_error_message(err));
        }
        /* A full run reads everything again, and fills the cache anew. */
        if (r >= 0)
                r = reconcile_scoped(cfg, scope, &d->cache, flags, report, err);
        status_run_set(&d->status.reconcile, trigger, begun, r, err, (unsigned) strv_length(report->changes));
        /* A warning stands until its cause goes ("... is kept"): said when
         * it appears, not at every check after a drift. A scoped run only
         * sees its own part of them. */
        STRV_FOREACH(w, report->warnings)
                if (!strv_contains(d->warnings, *w))
                        dlog(d, LOG_WARNING, "%s", *w);
        if (!scope) {
                strv_free(d->warnings);
                d->warnings = strv_copy(report->warnings);
        }
        if (r < 0)
                run_cache_forget(&d->cache);
        learn_nsids(d, report);
        return r;
}

static void arm_debounce(Daemon *d) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(d->debounce, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time_relative(d->debounce, d->o->debounce_usec ? d->o->debounce_usec
                                                                                   : DAEMON_DEBOUNCE_USEC);
        (void) sd_event_source_set_enabled(d->debounce, SD_EVENT_ONESHOT);
}

/* What to watch: the namespaces the config declares, those that run-time
 * attachments to its networks wire (leases: nsmgr did not make them), and
 * the host links of both -- from the desired model, with the leases read
 * as a dry run that writes nothing. The model also says which host link
 * belongs to which namespace (drift.h). */
static void watch_targets(Daemon *d, char ***ret_declared, char ***ret_wired, char ***ret_host) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_(lease_table_done) LeaseTable lt = {};
        _cleanup_desired_ Desired *des = NULL;
        size_t n_declared = 0, n_wired = 0;
        int r;

        *ret_declared = *ret_wired = *ret_host = NULL;
        r = leases_sync(d->cfg, NULL, LEASE_SYNC_DRY_RUN, NULL, &lt, &err);
        if (r < 0)
                dlog(d, LOG_DEBUG, "cannot read the leases to watch their attachments: %s", nm_error_message(&err));
        drift_index_done(&d->index);
        r = desired_build(d->cfg, &lt, &des);
        if (r < 0) {
                for (size_t i = 0; i < d->cfg->n_netns; i++)
                        (void) strv_push_at(ret_declared, n_declared++, strdup(d->cfg->netns[i].name));
                *ret_host = calloc(1, sizeof(char *));
                return;
        }
        /* A run-time attachment by path (CNI) is watched by that path. */
        for (size_t i = 0; i < des->model.n_netns; i++) {
                const Netns *ns = &des->model.netns[i];
                const char *target = ns->path ? ns->path : ns->name;

                if (ns->transient)
                        (void) strv_push_at(ret_wired, n_wired++, strdup(target));
                else
                        (void) strv_push_at(ret_declared, n_declared++, strdup(target));
        }
        *ret_host = desired_host_links(&des->model);
        /* Without it every host event asks for a full reconcile. */
        if (drift_index_build(&des->model, &d->index) < 0)
                dlog(d, LOG_DEBUG, "cannot index the host links: out of memory; host events are repaired in full");
}

#define IPAM_DIR NSMGR_STATE_DIR "/ipam"

static char *lease_dir(const Network *nw) {
        char *p;

        return asprintf(&p, IPAM_DIR "/%s", nw->name) < 0 ? NULL : p;
}

/* The lease folders as the watches were made from them: a lease taken or
 * given back meanwhile (attach, detach) may add or drop a namespace. */
static void stamp_leases(Daemon *d) {
        free(d->lease_stamps);
        d->n_lease_stamps = 0;
        d->lease_stamps = calloc(d->cfg->n_networks + 1, sizeof(FileStamp));
        if (!d->lease_stamps)
                return;
        for (size_t k = 0; k < d->cfg->n_networks; k++) {
                _cleanup_free_ char *dir = lease_dir(&d->cfg->networks[k]);

                if (dir)
                        file_stamp(dir, &d->lease_stamps[k]);
        }
        d->n_lease_stamps = d->cfg->n_networks;
}

static bool leases_changed(Daemon *d) {
        if (!d->lease_stamps || d->n_lease_stamps != d->cfg->n_networks)
                return true;
        for (size_t k = 0; k < d->cfg->n_networks; k++) {
                _cleanup_free_ char *dir = lease_dir(&d->cfg->networks[k]);

                if (!dir || !file_stamp_holds(dir, &d->lease_stamps[k]))
                        return true;
        }
        return false;
}

static void sync_watches(Daemon *d, bool arm_for_new) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_strv_free_ char **names = NULL, **wired = NULL, **host = NULL, **warnings = NULL, **opened = NULL;
        int r;

        stamp_leases(d);
        watch_targets(d, &names, &wired, &host);
        /* Without the list (no memory), every host change is looked at. */
        (void) watch_set_host_links(d->watch, host);
        r = watch_sync(d->watch, names, wired, &opened, &warnings, &err);
        STRV_FOREACH(w, warnings)
                dlog(d, LOG_WARNING, "%s", *w);
        if (r < 0) {
                dlog(d, LOG_ERR, "%s; drift in some namespaces goes unnoticed until the next change", nm_error_message(&err));
                return;
        }
        /* A namespace just made was not watched between its creation and
         * now: look once more, so a change in that moment is not missed. */
        if (r > 0 && arm_for_new) {
                STRV_FOREACH(n, opened)
                        (void) drift_add_netns(&d->drift, *n);
                arm_debounce(d);
        }
}

/* Restores pins that were removed while nsmgrd watched their namespaces.
 * Returns how many pins changed (restored or replaced by someone); each
 * such namespace goes into the drift to repair (dr). */
static unsigned check_pins(Daemon *d, Drift *dr, Repairs *repairs) {
        PinEvent *ev = NULL;
        size_t n = 0;
        unsigned changed = 0;
        int r;

        r = watch_check_pins(d->watch, &ev, &n);
        if (r < 0) {
                dlog(d, LOG_ERR, "cannot check the pins: %s", strerror(-r));
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                char *line = NULL;

                switch (ev[i].kind) {
                case PIN_RESTORED:
                        dlog_fields(d, LOG_WARNING,
                                    &(LogFields) { .message_id = NSMGR_MESSAGE_DRIFT_REPAIRED, .netns = ev[i].name },
                                    "drift: the pin " NETNS_RUN_DIR "/%s was removed; pinned the same namespace again (inode %ju): its links and processes are as they were",
                                    ev[i].name, (uintmax_t) ev[i].ino);
                        r = ops_pin_restored(ev[i].name, ev[i].ino);
                        if (r < 0)
                                dlog(d, LOG_WARNING, "cannot record that nsmgr keeps '%s' again: %s; 'nsmgrctl list' may show it as not managed, ignoring",
                                     ev[i].name, strerror(-r));
                        if (asprintf(&line, "%s: pin " NETNS_RUN_DIR "/%s restored (same namespace, inode %ju)",
                                     ev[i].name, ev[i].name, (uintmax_t) ev[i].ino) < 0)
                                line = NULL;
                        else {
                                char detail[32];

                                (void) snprintf(detail, sizeof(detail), "inode %ju", (uintmax_t) ev[i].ino);
                                (void) plan_step_add(&repairs->steps, &repairs->n_steps, "restore", "pin", ev[i].name,
                                                     NULL, detail, line);
                        }
                        changed++;
                        break;
                case PIN_REPLACED:
                        dlog(d, LOG_WARNING,
                             "drift: " NETNS_RUN_DIR "/%s now pins another namespace (inode %ju, was %ju); wiring that one as the config declares",
                             ev[i].name, (uintmax_t) ev[i].now_ino, (uintmax_t) ev[i].ino);
                        if (asprintf(&line, "%s: another namespace was pinned under the name (inode %ju, was %ju)",
                                     ev[i].name, (uintmax_t) ev[i].now_ino, (uintmax_t) ev[i].ino) < 0)
                                line = NULL;
                        changed++;
                        break;
                case PIN_FAILED:
                        dlog(d, LOG_ERR, "drift: the pin " NETNS_RUN_DIR "/%s was removed and cannot be restored: %s",
                             ev[i].name, ev[i].error ? ev[i].error : "unknown error");
                        break;
                case PIN_GONE:
                        /* Not nsmgr's to keep: its watch goes, and the
                         * lease's owner is gone for the next reconcile. */
                        dlog(d, LOG_INFO, "namespace '%s', attached to a network at run time, was deleted", ev[i].name);
                        changed++;
                        break;
                }
                if (line)
                        (void) strv_push(&repairs->lines, line);
                if (ev[i].kind != PIN_FAILED)
                        (void) drift_add_netns(dr, ev[i].name);
                /* Another namespace to watch, or one no longer to. */
                if (ev[i].kind == PIN_REPLACED || ev[i].kind == PIN_GONE)
                        dr->resync = true;
        }
        pin_events_free(ev, n);
        return changed;
}

static void arm_retry(Daemon *d) {
        d->retry_sec = d->retry_sec ? d->retry_sec * 2 : RETRY_FIRST_SEC;
        if (d->retry_sec > RETRY_MAX_SEC)
                d->retry_sec = RETRY_MAX_SEC;
        (void) sd_event_source_set_time_relative(d->retry, (uint64_t) d->retry_sec * 1000000u);
        (void) sd_event_source_set_enabled(d->retry, SD_EVENT_ONESHOT);
}

/* After a full run and the watches made from it: the dumps of every
 * namespace and the desired model are freed by now, in the arenas of the
 * threads that observed and in the holes of the main heap; give those
 * pages back instead of keeping the high-water mark for good (on 10,000
 * namespaces, most of nsmgrd's resident memory). */
static void give_back_memory(void) {
        (void) malloc_trim(0);
}

static void arm_sweep(Daemon *d) {
        uint64_t usec = d->o->sweep_usec ? d->o->sweep_usec : DAEMON_SWEEP_USEC;

        if (usec == DAEMON_SWEEP_OFF)
                return;
        (void) sd_event_source_set_time_relative(d->sweep, usec);
        (void) sd_event_source_set_enabled(d->sweep, SD_EVENT_ONESHOT);
}

static void retry_done(Daemon *d) {
        d->retry_sec = 0;
        (void) sd_event_source_set_enabled(d->retry, SD_EVENT_OFF);
}

/* Something taken away: what needs repairing (watch.c says "deleted",
 * "removed", "lost"); a mere change is often its consequence. */
static bool note_is_loss(const char *note) {
        return strstr(note, " deleted") || strstr(note, " removed") || strstr(note, " lost");
}

static char *notes_text(char **notes, size_t more) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return NULL;
        /* What was taken away first: that is what needed repairing; what
         * merely changed state is often its consequence. */
        for (int pass = 0; pass < 2; pass++)
                STRV_FOREACH(n, notes)
                        if (note_is_loss(*n) == (pass == 0))
                                fprintf(f, "%s%s", ftell(f) > 0 ? "; " : "", *n);
        if (more)
                fprintf(f, "; and %zu more change%s", more, more == 1 ? "" : "s");
        if (!notes)
                fputs("a change nsmgrd was not told the details of", f);
        if (fclose(f) != 0)
                return mfree(text);
        return text;
}

/* What a repair looked at, for the log: "namespace red", "namespaces
 * red, blue and 3 more; bridge br0", or "everything". */
static char *where_text(char **netns, char **bridges, bool nat) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return NULL;
        for (int k = 0; k < 2; k++) {
                char **l = k == 0 ? netns : bridges;
                size_t n = strv_length(l);

                if (n == 0)
                        continue;
                fprintf(f, "%s%s%s ", ftell(f) > 0 ? "; " : "", k == 0 ? "namespace" : "bridge", n == 1 ? "" : "s");
                for (size_t i = 0; i < n && i < 5; i++)
                        fprintf(f, "%s%s", i ? ", " : "", l[i]);
                if (n > 5)
                        fprintf(f, " and %zu more", n - 5);
        }
        if (nat)
                fprintf(f, "%sNAT", ftell(f) > 0 ? "; " : "");
        if (ftell(f) == 0)
                fputs("nothing", f);
        if (fclose(f) != 0)
                return mfree(text);
        return text;
}

/* Namespaces apply made for a config that no longer declares them (an
 * apply of another config forced while nsmgrd runs): the mount table
 * changed, and their owner records say so. Each goes into the drift, so
 * that the scoped run tears it down, as a full one would. */
static void add_undeclared(Daemon *d, Drift *dr) {
        OwnerRecord *v = NULL;
        size_t n = 0;

        if (owner_load_all(&v, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(v[i].origin, OWNER_CONFIG) && !config_find_netns(d->cfg, v[i].name))
                        (void) drift_add_netns(dr, v[i].name);
        owner_records_free(v, n);
}

/* One repair: pins first (a reconcile would otherwise make a new namespace
 * where the old one only lost its name), then a reconcile of what the
 * events touched (drift.h) -- or of everything, for the periodic sweep, a
 * retry, or events that cannot be placed. */
static void repair(Daemon *d, const char *trigger) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_strv_free_ char **notes = TAKE_PTR(d->notes), **netns = NULL, **bridges = NULL;
        _cleanup_(repairs_done) Repairs repairs = {};
        _cleanup_(drift_done) Drift dr = d->drift;
        _cleanup_free_ char *what = NULL, *where = NULL;
        _cleanup_close_ int lock = -EBADF;
        ReconcileReport report = {};
        size_t more = d->more_notes;
        bool full = dr.full || !streq(trigger, "drift");
        unsigned pins = 0;
        int r;

        d->drift = (Drift) {};
        d->more_notes = 0;

        /* Pins and the reconcile under one hold of the appliers' lock: an
         * apply running meanwhile (of another config, forced) could unpin
         * a namespace between the two, and reconcile would make a new one
         * where the old one only lost its name. */
        lock = reconcile_lock(&err);
        if (lock < 0) {
                arm_retry(d);
                dlog(d, LOG_ERR, "cannot repair drift: %s; trying again in %us", nm_error_message(&err), d->retry_sec);
                return;
        }
        /* The mount table changed (or everything is looked at). */
        if (dr.pins || full)
                pins = check_pins(d, &dr, &repairs);
        if (dr.pins && !full)
                add_undeclared(d, &dr);
        if (!full && !drift_any(&dr)) {
                lock = safe_close(lock);
                if (dr.resync)
                        sync_watches(d, true);
                return;
        }
        if (!full && drift_lists(&dr, &netns, &bridges) < 0)
                full = true;

        what = streq(trigger, "sweep") && !notes ? strdup("found by the periodic sweep") : notes_text(notes, more);
        where = full ? strdup("everything") : where_text(netns, bridges, dr.nat);
        r = run_reconcile(d, d->cfg, trigger,
                          full ? NULL : &(ReconcileScope) { .netns = netns, .bridges = bridges, .nat = dr.nat },
                          RECONCILE_LOCKED, &report, &err);
        lock = safe_close(lock);
        if (report.changes) {
                size_t first = repairs.n_steps;

                dlog(d, LOG_WARNING, "drift: %s", what ? what : "?");
                (void) plan_steps_from_report(&report, &repairs.steps, &repairs.n_steps);
                for (size_t i = first; i < repairs.n_steps; i++) {
                        const PlanStep *st = &repairs.steps[i];

                        dlog_fields(d, LOG_WARNING,
                                    &(LogFields) { .message_id = NSMGR_MESSAGE_DRIFT_REPAIRED, .netns = st->netns,
                                                   .ifname = st->ifname },
                                    "repaired: %s", st->text);
                }
                STRV_FOREACH(c, report.changes)
                        (void) strv_extend(&repairs.lines, *c);
        } else if (r >= 0 && pins == 0)
                dlog(d, LOG_DEBUG, "checked %s after %s: nothing to repair", where ? where : "?",
                     what ? what : "a change");

        if (repairs.lines) {
                d->status.drifts_repaired++;
                strv_free(d->status.last_repair);
                d->status.last_repair = strv_copy(repairs.lines);
                dlog(d, LOG_NOTICE, "drift repaired in %s (%zu %s, %.1f ms)", where ? where : "?",
                     strv_length(d->status.last_repair), plural(strv_length(d->status.last_repair), "step", "steps"),
                     (double) d->status.reconcile.duration / 1000.0);
                bus_manager_emit_drift_repaired(d->bus, repairs.steps, repairs.n_steps);
        }
        if (r < 0) {
                arm_retry(d);
                dlog_error_lines(d, LOG_ERR, "cannot repair drift: ", &err);
                dlog(d, LOG_ERR, "trying again in %us", d->retry_sec);
        } else
                retry_done(d);
        reconcile_report_done(&report);

        /* What to watch changes with the namespaces: after a full run, a
         * pin replaced or gone, a lease taken or given back. */
        if (full || dr.resync || leases_changed(d))
                sync_watches(d, true);
        /* The next sweep is due that long after the last full look. */
        if (full) {
                arm_sweep(d);
                give_back_memory();
        }
        publish(d, NULL);
}

/* --- event handlers ----------------------------------------------------------- */

/* The same thing seen twice (a link that changes state a few times as it
 * goes) is said once. At most NOTES_MAX notes: O(1) per event. */
static bool note_known(Daemon *d, const char *scope, const char *what) {
        const char *s = scope ? scope : "the host";
        size_t len = strlen(s);

        STRV_FOREACH(n, d->notes)
                if (strneq(*n, s, len) && strneq(*n + len, ": ", 2) && streq(*n + len + 2, what))
                        return true;
        return false;
}

/* Keeps the first NOTES_MAX notes, but a loss (what needs repairing) takes
 * the place of a mere change when the list is full. */
static void add_note(Daemon *d, const char *scope, const char *what) {
        size_t n = strv_length(d->notes);
        char *note;

        if (asprintf(&note, "%s: %s", scope ? scope : "the host", what) < 0)
                return;
        if (n < NOTES_MAX) {
                (void) strv_push(&d->notes, note);
                return;
        }
        d->more_notes++;
        if (note_is_loss(note))
                for (size_t i = 0; i < n; i++)
                        if (!note_is_loss(d->notes[i])) {
                                free(d->notes[i]);
                                d->notes[i] = note;
                                return;
                        }
        free(note);
}

static void on_watch(const WatchEvent *ev, void *userdata) {
        Daemon *d = userdata;

        drift_add_event(&d->drift, &d->index, ev);
        if (ev->what && !note_known(d, ev->scope, ev->what))
                add_note(d, ev->scope, ev->what);
        /* The mount table changes for many reasons; only a pin check
         * follows, which is one stat per watched namespace. */
        arm_debounce(d);
}

static int on_debounce(sd_event_source *s, uint64_t usec, void *userdata) {
        repair(userdata, "drift");
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        repair(userdata, "retry");
        return 0;
}

/* The safety net under the scoped repairs: now and then everything is
 * looked at, for drift no event told of (a notification lost without a
 * trace, a lease file edited in place). */
static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        repair(userdata, "sweep");
        return 0;
}

/* Re-reads the config and applies the difference; the new config is kept
 * in force unless nothing of it could be applied. What SIGHUP, the bus's
 * Reload and Apply do. The report and error go to the caller if it asks. */
static int reload(Daemon *d, const char *trigger, ReconcileReport *ret_report, NmError *ret_err) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        _cleanup_(repairs_done) Repairs repairs = {};
        _cleanup_(drift_done) Drift pinned = {};
        _cleanup_close_ int lock = -EBADF;
        const LogFields reloaded = { .message_id = NSMGR_MESSAGE_RELOADED };
        ReconcileReport report = {};
        uint64_t begun = now_monotonic_usec();
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading the config", begun);
        set_state(d, "reloading");
        d->status.reload.begun = begun;
        (void) daemon_status_write(&d->status);
        dlog(d, LOG_INFO, "reloading the config (%s)", d->o->config ? d->o->config : NSMGR_CONF_FILE " and " NSMGR_CONF_D);

        r = config_load(d->o->config, &cfg, &err);
        if (r < 0) {
                dlog_error_lines(d, LOG_ERR, "reload failed: ", &err);
                dlog_fields(d, LOG_ERR, &reloaded,
                            "reload failed: the config is broken; nothing was changed, the running config stays in force");
                status_run_set(&d->status.reload, trigger, begun, r, &err, 0);
                r = -EBADMSG;
                goto finish;
        }

        /* A pin removed in the meantime is restored first, as for drift,
         * under the same hold of the lock as the reconcile (which looks at
         * everything). */
        lock = reconcile_lock(&err);
        if (lock < 0) {
                dlog_error_lines(d, LOG_ERR, "reload failed: ", &err);
                status_run_set(&d->status.reload, trigger, begun, lock, &err, 0);
                r = lock;
                goto finish;
        }
        if (check_pins(d, &pinned, &repairs) > 0) {
                d->status.drifts_repaired++;
                strv_free(d->status.last_repair);
                d->status.last_repair = strv_copy(repairs.lines);
                bus_manager_emit_drift_repaired(d->bus, repairs.steps, repairs.n_steps);
        }
        r = run_reconcile(d, cfg, trigger, NULL, RECONCILE_LOCKED, &report, &err);
        lock = safe_close(lock);
        STRV_FOREACH(c, report.changes)
                dlog(d, LOG_INFO, "applied: %s", *c);
        status_run_set(&d->status.reload, trigger, begun, r, &err, (unsigned) strv_length(report.changes));
        if (r < 0 && !report.changes) {
                dlog_error_lines(d, LOG_ERR, "reload failed: ", &err);
                dlog_fields(d, LOG_ERR, &reloaded, "reload failed: nothing was changed, the running config stays in force");
        } else {
                /* Applied, or applied in part: the new config is the one to
                 * keep the system at from now on. */
                config_free(d->cfg);
                d->cfg = TAKE_PTR(cfg);
                strv_free(d->status.files);
                d->status.files = strv_copy(d->cfg->files);
                if (r < 0) {
                        dlog_error_lines(d, LOG_ERR, "reload failed: ", &err);
                        arm_retry(d);
                        dlog_fields(d, LOG_ERR, &reloaded, "reload failed after %zu of its changes; trying the rest again in %us",
                                    strv_length(report.changes), d->retry_sec);
                } else {
                        retry_done(d);
                        dlog_fields(d, LOG_NOTICE, &reloaded, "reloaded: %zu %s", strv_length(report.changes),
                                    plural(strv_length(report.changes), "change", "changes"));
                }
        }
        sync_watches(d, true);
        arm_sweep(d);
        give_back_memory();

finish:
        set_state(d, "running");
        publish(d, "READY=1\n");
        bus_manager_emit_reloaded(d->bus, r, (unsigned) strv_length(report.changes), r < 0 ? nm_error_message(&err) : NULL);
        if (ret_report)
                *ret_report = report;
        else
                reconcile_report_done(&report);
        if (r < 0 && ret_err) {
                ret_err->code = r;
                ret_err->msg = TAKE_PTR(err.msg);
        }
        return r;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) reload(userdata, "reload", NULL, NULL);
        return 0;
}

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;

        dlog(d, LOG_INFO, "stopping on %s; namespaces, links and the processes in them stay as they are",
             strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* --- the D-Bus API (bus-manager.h) ------------------------------------------------ */

static const Config *bus_config(void *userdata) {
        return ((Daemon *) userdata)->cfg;
}

static const DaemonStatus *bus_status(void *userdata) {
        return &((Daemon *) userdata)->status;
}

static int bus_apply(void *userdata, bool dry_run, ReconcileReport *report, NmError *err) {
        Daemon *d = userdata;
        _cleanup_config_ Config *cfg = NULL;
        int r;

        if (!dry_run)
                return reload(d, "apply", report, err);
        r = config_load(d->o->config, &cfg, err);
        if (r < 0)
                return -EBADMSG;
        return ops_apply(cfg, NULL, RECONCILE_DRY_RUN, report, NULL, err);
}

static void bus_changed(void *userdata) {
        Daemon *d = userdata;

        sync_watches(d, true);
        publish(d, NULL);
}

static void bus_log(void *userdata, int priority, const LogFields *fields, const char *msg) {
        Daemon *d = userdata;

        dlog_fields(d, priority, fields, "%s", msg);
}

static const BusManagerOps bus_ops = {
        .config = bus_config,
        .status = bus_status,
        .apply = bus_apply,
        .changed = bus_changed,
        .log = bus_log,
};

/* --- start --------------------------------------------------------------------- */

/* A handle held per watched namespace (the notifications of all of them
 * come through one socket, watch.c), and reconcile opens up to two fds per
 * namespace it visits at once: a thousand namespaces need more than the
 * default soft limit of 1024. select() is not used, so the hard limit is safe to take. */
static void raise_nofile(Daemon *d) {
        int r = rlimit_nofile_raise();

        if (r < 0)
                dlog(d, LOG_WARNING, "cannot raise the limit of open files: %s; ignoring", strerror(-r));
}

typedef struct Lost {
        char **names;
        ino_t *inos;
        size_t n;
} Lost;

static void lost_done(Lost *l) {
        strv_free(l->names);
        free(l->inos);
}

/* Declared namespaces whose pin went away while nsmgrd was not running. One
 * with a process still inside is pinned again from that process: it is
 * the same namespace, with its links. One with nothing inside has died; it
 * is listed in *ret, for reconcile to make anew and for us to say so. */
static int rescue_pins(Daemon *d, Lost *ret) {
        _cleanup_(proc_scan_done) ProcScan ps = {};
        bool scanned = false;
        State st = {};
        int r;

        r = state_load(&st, true);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->cfg->n_netns; i++) {
                const char *name = d->cfg->netns[i].name;
                _cleanup_error_ NmError e = NM_ERROR_INIT;
                const StateNetns *rec = state_netns(&st, name);
                ino_t ino = rec ? rec->ino : 0;
                size_t first = 0, inside;
                ino_t *inos;
                int fd;

                if (!ino)
                        continue;
                /* One statfs() says a pin is there, as it is for all but
                 * the lost ones; the rest are opened to tell why not. */
                if (netns_pin_present(name))
                        continue;
                r = netns_open(name, &fd, NULL);
                if (r >= 0) {
                        safe_close(fd);
                        continue;
                }
                if (r != -ENOENT && r != -ENXIO)
                        continue;
                if (!scanned) {
                        r = proc_scan(&ps);
                        if (r < 0)
                                dlog(d, LOG_WARNING, "cannot scan /proc for processes in lost namespaces: %s; ignoring",
                                     strerror(-r));
                        scanned = true;
                }
                inside = proc_scan_find(&ps, ino, &first);
                for (size_t k = 0; k < inside; k++) {
                        _cleanup_free_ char *comm = proc_comm(ps.v[first + k].pid);
                        int nsfd;

                        r = netns_pin_pid(name, ps.v[first + k].pid, false, NULL, &e);
                        if (r < 0)
                                continue;
                        /* The process may have moved on meanwhile: the
                         * pin must hold the namespace that was lost. */
                        if (netns_open(name, &nsfd, NULL) >= 0) {
                                ino_t now = 0;

                                (void) netns_fd_inode(nsfd, &now);
                                safe_close(nsfd);
                                if (now != ino) {
                                        (void) netns_unpin(name, NULL);
                                        continue;
                                }
                        }
                        dlog(d, LOG_WARNING,
                             "the pin " NETNS_RUN_DIR "/%s was removed while nsmgrd was not running; pinned the namespace again from process %d (%s) inside it (inode %ju)",
                             name, (int) ps.v[first + k].pid, comm ? comm : "?", (uintmax_t) ino);
                        ino = 0;
                        break;
                }
                if (!ino)
                        continue;
                inos = realloc(ret->inos, (ret->n + 1) * sizeof(ino_t));
                if (!inos || strv_extend(&ret->names, name) < 0) {
                        if (inos)
                                ret->inos = inos;
                        state_done(&st);
                        return -ENOMEM;
                }
                ret->inos = inos;
                ret->inos[ret->n++] = ino;
        }
        state_done(&st);
        return 0;
}

static void report_lost(Daemon *d, const Lost *lost) {
        for (size_t i = 0; i < lost->n; i++) {
                int fd;
                ino_t now = 0;

                if (netns_open(lost->names[i], &fd, NULL) < 0)
                        continue;
                (void) netns_fd_inode(fd, &now);
                safe_close(fd);
                dlog(d, LOG_ERR,
                     "NAMESPACE '%s' HAD DIED: its pin " NETNS_RUN_DIR "/%s was removed while nsmgrd was not running and no process was left in it (inode %ju); it was made anew (inode %ju) and wired again. Processes that used the old one must be restarted to join the new one.",
                     lost->names[i], lost->names[i], (uintmax_t) lost->inos[i], (uintmax_t) now);
        }
}

/* Two daemons would undo each other's repairs and overwrite each other's
 * status record: the second one refuses to start. */
static int lock_daemon(Daemon *d, NmError *err) {
        _cleanup_(daemon_status_donep) DaemonStatus other = {};
        int r;

        r = mkdir_p(NSMGR_RUN_DIR, 0755);
        if (r < 0)
                return nm_error(err, r, "cannot create " NSMGR_RUN_DIR ": %s", strerror(-r));
        d->lock_fd = open(DAEMON_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (d->lock_fd < 0)
                return nm_error(err, negative_errno(), "cannot open " DAEMON_LOCK_FILE ": %m");
        if (flock(d->lock_fd, LOCK_EX | LOCK_NB) >= 0)
                return 0;
        if (errno != EWOULDBLOCK)
                return nm_error(err, negative_errno(), "cannot lock " DAEMON_LOCK_FILE ": %m");
        if (daemon_status_read(&other) >= 0 && other.pid > 0)
                return nm_error(err, -EBUSY, "another nsmgrd is running (pid %d); stop it first ('systemctl stop nsmgrd')",
                                (int) other.pid);
        return nm_error(err, -EBUSY, "another nsmgrd is running (it holds " DAEMON_LOCK_FILE "); stop it first");
}

static int start(Daemon *d, bool *ret_bad_config, NmError *err) {
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_(lost_done) Lost lost = {};
        _cleanup_(host_read_ahead_freep) HostReadAhead *ahead = NULL;
        _cleanup_close_ int lock = -EBADF;
        ReconcileReport report = {};
        uint64_t t0 = now_monotonic_usec();
        sigset_t mask;
        int r;

        r = lock_daemon(d, err);
        if (r < 0)
                return r;
        raise_nofile(d);

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return nm_error(err, negative_errno(), "cannot block signals: %m");
        r = sd_event_default(&d->event);
        if (r < 0)
                return nm_error(err, r, "cannot make an event loop: %s", strerror(-r));
        if ((r = sd_event_add_signal(d->event, &d->sig_hup, SIGHUP, on_reload, d)) < 0 ||
            (r = sd_event_add_signal(d->event, &d->sig_term, SIGTERM, on_stop, d)) < 0 ||
            (r = sd_event_add_signal(d->event, &d->sig_int, SIGINT, on_stop, d)) < 0)
                return nm_error(err, r, "cannot watch signals: %s", strerror(-r));
        /* Made off; each is armed (relative to now) when needed. An
         * accuracy of 0 would mean sd-event's default, 250 ms of slack
         * for coalescing wake-ups: five times the debounce itself. */
        r = sd_event_add_time(d->event, &d->debounce, CLOCK_MONOTONIC, 0, DEBOUNCE_ACCURACY_USEC, on_debounce, d);
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->retry, CLOCK_MONOTONIC, 0, 0, on_retry, d);
        /* The sweep need not be punctual: a second of slack. */
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->sweep, CLOCK_MONOTONIC, 0, 1000000, on_sweep, d);
        if (r < 0)
                return nm_error(err, r, "cannot make timers: %s", strerror(-r));
        (void) sd_event_source_set_enabled(d->debounce, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(d->retry, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(d->sweep, SD_EVENT_OFF);
        /* WATCHDOG=1 at half the interval systemd asks for (WATCHDOG_USEC),
         * from the loop itself, so a stuck loop is noticed. */
        r = sd_event_set_watchdog(d->event, true);
        if (r < 0)
                return nm_error(err, r, "cannot set up the watchdog: %s", strerror(-r));

        d->status.pid = getpid();
        (void) proc_starttime(d->status.pid, &d->status.pid_starttime);
        d->status.started = now_realtime_usec();
        d->status.config = d->o->config ? strdup(d->o->config) : NULL;
        set_state(d, "starting");
        (void) daemon_status_write(&d->status);

        /* The appliers' lock from here to the end of the first reconcile:
         * the host is read ahead, by a thread of its own, while the config
         * is read and the watches are made (with ten thousand veths the
         * host's dump is the longest single read of the start), and only
         * drift, which the watch made first tells of, may change it
         * meanwhile -- no apply. */
        lock = reconcile_lock(err);
        if (lock < 0)
                return lock;
        r = watch_new(d->event, on_watch, d, &d->watch, &warnings, err);
        if (r < 0)
                return r;
        STRV_FOREACH(w, warnings)
                dlog(d, LOG_WARNING, "%s", *w);
        /* Without it (no thread), the reconcile reads the host itself. */
        (void) host_read_ahead(&ahead);

        r = config_load(d->o->config, &d->cfg, err);
        if (r < 0) {
                *ret_bad_config = true;
                status_run_set(&d->status.reconcile, "start", t0, r, err, 0);
                return r;
        }
        d->status.files = strv_copy(d->cfg->files);
        dlog(d, LOG_INFO, "config: %s", d->cfg->files ? d->cfg->files[0] : "(none: no " NSMGR_CONF_FILE ", an empty config)");
        for (size_t i = 1; d->cfg->files && d->cfg->files[i]; i++)
                dlog(d, LOG_INFO, "config: %s", d->cfg->files[i]);

        r = rescue_pins(d, &lost);
        if (r < 0)
                return nm_error(err, r, "cannot read what nsmgr made before (" NSMGR_RUN_DIR "/state.json): %s", strerror(-r));
        /* Watch what exists before applying, so that nothing that happens
         * while the config is applied goes unnoticed. */
        sync_watches(d, false);

        d->cache.host_ahead = TAKE_PTR(ahead);
        r = run_reconcile(d, d->cfg, "start", NULL, RECONCILE_LOCKED, &report, err);
        lock = safe_close(lock);
        STRV_FOREACH(c, report.changes)
                dlog(d, LOG_INFO, "applied: %s", *c);
        reconcile_report_done(&report);
        if (r < 0)
                return r;
        report_lost(d, &lost);
        dlog(d, LOG_INFO, "%s", d->status.reconcile.changes ? "the config is applied" :
                                "everything is as the config declares: adopted as it is, nothing changed");

        /* Adopted as it was: the watches made before are the ones. */
        if (d->status.reconcile.changes > 0)
                sync_watches(d, true);
        arm_sweep(d);
        give_back_memory();
        /* On the bus before READY=1: whoever sees nsmgrd ready finds it there. */
        r = bus_manager_new(d->event, &bus_ops, d, &d->bus);
        if (r < 0)
                return nm_error(err, r, "cannot set up the D-Bus API: %s", strerror(-r));
        set_state(d, "running");
        publish(d, "READY=1\n");
        dlog(d, LOG_NOTICE, "ready: %zu %s, %u %s, %zu watched; started in %.1f ms", d->cfg->n_netns,
             plural(d->cfg->n_netns, "namespace", "namespaces"), (unsigned) d->cfg->n_networks,
             plural(d->cfg->n_networks, "network", "networks"), watch_count(d->watch),
             (double) (now_monotonic_usec() - t0) / 1000.0);
        return 0;
}

static void daemon_done(Daemon *d) {
        bus_manager_free(d->bus);
        watch_free(d->watch);
        sd_event_source_disable_unref(d->debounce);
        sd_event_source_disable_unref(d->retry);
        sd_event_source_disable_unref(d->sweep);
        sd_event_source_disable_unref(d->sig_hup);
        sd_event_source_disable_unref(d->sig_term);
        sd_event_source_disable_unref(d->sig_int);
        sd_event_unref(d->event);
        config_free(d->cfg);
        daemon_status_done(&d->status);
        strv_free(d->notes);
        strv_free(d->warnings);
        drift_done(&d->drift);
        drift_index_done(&d->index);
        run_cache_done(&d->cache);
        free(d->lease_stamps);
        safe_close(d->lock_fd);
}

int daemon_run(const DaemonOptions *o, bool *ret_bad_config, NmError *err) {
        _cleanup_(daemon_done) Daemon d = { .o = o, .lock_fd = -EBADF };
        bool bad_config = false;
        int r;

        /* Threads that visit namespaces come and go; one malloc arena keeps
         * their allocations from pinning memory of arenas of their own. */
        (void) mallopt(M_ARENA_MAX, 1);

        r = start(&d, &bad_config, err);
        if (ret_bad_config)
                *ret_bad_config = bad_config;
        if (r < 0) {
                if (d.status.pid) {
                        if (d.status.reconcile.result >= 0)
                                status_run_set(&d.status.reconcile, "start", now_monotonic_usec(), r, err, 0);
                        set_state(&d, "stopped");
                        d.status.stopped = now_realtime_usec();
                        (void) daemon_status_write(&d.status);
                }
                return r;
        }

        r = sd_event_loop(d.event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=stopping; namespaces stay as they are");
        set_state(&d, "stopped");
        d.status.stopped = now_realtime_usec();
        (void) daemon_status_write(&d.status);
        if (r < 0)
                return nm_error(err, r, "the event loop failed: %s", strerror(-r));
        return 0;
}

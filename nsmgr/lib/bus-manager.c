/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <syslog.h>
#include <systemd/sd-bus.h>

#include "bus-def.h"
#include "bus-manager.h"
#include "bus-polkit.h"
#include "name.h"
#include "nat.h"
#include "netns.h"
#include "netnsmon.h"
#include "network.h"
#include "nl.h"
#include "ops.h"
#include "owner.h"
#include "procscan.h"
#include "show.h"
#include "strv.h"

#define RECONNECT_FIRST_SEC 1
#define RECONNECT_MAX_SEC 30

struct BusManager {
        sd_event *event;
        const BusManagerOps *ops;
        void *userdata;
        sd_bus *bus;
        sd_event_source *reconnect;
        unsigned reconnect_sec;
        bool told_unavailable;      /* that there is no bus is said once */
        PolkitRegistry *polkit;
        NetnsMon *mon;

        /* The properties as last announced. */
        char *state;
        char **files;
        unsigned n_netns, n_networks, n_watched;
        uint64_t drifts;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

_printf_(4, 5) static void blog(BusManager *bm, int prio, const LogFields *fields, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg && bm->ops->log)
                bm->ops->log(bm->userdata, prio, fields, msg);
}

/* Who asked, for the log: "uid 1000". */
static void sender_text(sd_bus_message *m, char buf[static 32]) {
        sd_bus_creds *c = NULL;
        uid_t uid;

        if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &c) >= 0 && sd_bus_creds_get_euid(c, &uid) >= 0)
                (void) snprintf(buf, 32, "uid %u", (unsigned) uid);
        else
                (void) snprintf(buf, 32, "%s", "a client");
        sd_bus_creds_unref(c);
}

/* The library's sentence, under the error name of its errno. */
static int reply_error(sd_bus_error *error, int r, const NmError *err) {
        const char *name = r == -EBADF ? SD_BUS_ERROR_INVALID_ARGS : nsmgr_bus_error_name(r);

        if (name)
                return sd_bus_error_setf(error, name, "%s", nm_error_message(err));
        return sd_bus_error_set_errnof(error, r, "%s", nm_error_message(err));
}

/* A refused change is logged (what was refused, who asked), then
 * answered; fields name the object. */
static int refuse(BusManager *bm, sd_bus_message *m, const char *netns, const char *ifname, sd_bus_error *error) {
        char who[32];

        sender_text(m, who);
        blog(bm, LOG_NOTICE,
             &(LogFields) { .message_id = NSMGR_MESSAGE_APPLY_REFUSED, .netns = netns, .ifname = ifname },
             "refused what %s asked over D-Bus: %s", who, error->message ? error->message : error->name);
        return -EACCES;
}

static int authorize(BusManager *bm, sd_bus_message *m, const char *action, const char *const *details,
                     const char *what, const char *netns, sd_bus_error *error) {
        int r = bus_verify_polkit_async(m, action, details, what, &bm->polkit, error);

        if (r < 0 && sd_bus_error_is_set(error) && streq(action, NSMGR_POLKIT_MANAGE))
                (void) refuse(bm, m, netns, NULL, error);
        return r;
}

static void log_done(BusManager *bm, sd_bus_message *m, const char *netns, const char *fmt, ...) _printf_(4, 5);
static void log_done(BusManager *bm, sd_bus_message *m, const char *netns, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL;
        char who[32];
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        va_end(ap);
        sender_text(m, who);
        blog(bm, LOG_INFO, &(LogFields) { .netns = netns }, "%s (asked over D-Bus by %s)", what ? what : "?", who);
}

static void log_warnings(BusManager *bm, char *const *warnings) {
        STRV_FOREACH(w, warnings)
                blog(bm, LOG_WARNING, NULL, "%s", *w);
}

static int check_flags(uint64_t flags, uint64_t allowed, sd_bus_error *error) {
        if (flags & ~allowed)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "unknown flags 0x%" PRIx64 " (this nsmgrd knows 0x%" PRIx64 ")",
                                         flags & ~allowed, allowed);
        return 0;
}

static int check_name(const char *name, sd_bus_error *error) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;

        if (netns_name_check(name, &err) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", nm_error_message(&err));
        return 0;
}

/* --- methods ------------------------------------------------------------------ */

static int method_create(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *what = NULL;
        OpsResult res = {};
        const char *name;
        uint64_t flags;
        int r;

        r = sd_bus_message_read(m, "st", &name, &flags);
        if (r < 0)
                return r;
        if ((r = check_flags(flags, NSMGR_FLAG_EXIST_OK, error)) < 0 || (r = check_name(name, error)) < 0)
                return r;
        if (asprintf(&what, "create namespace '%s'", name) < 0)
                return -ENOMEM;
        r = authorize(bm, m, NSMGR_POLKIT_MANAGE, (const char *const[]) { "verb", "create", "namespace", name, NULL },
                      what, name, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = ops_create(name, flags & NSMGR_FLAG_EXIST_OK ? OPS_EXIST_OK : 0, OWNER_CREATE, &res, &err);
        if (r < 0)
                return reply_error(error, r, &err);
        log_warnings(bm, res.warnings);
        if (res.changed) {
                log_done(bm, m, name, "created namespace '%s'", name);
                netnsmon_flush(bm->mon);
        }
        r = sd_bus_reply_method_return(m, "stb", res.path, (uint64_t) res.inode, res.changed);
        ops_result_done(&res);
        return r;
}

/* PinNamespace (a pidfd) and PinNamespaceHandle (a namespace handle). */
static int pin(sd_bus_message *m, BusManager *bm, bool by_pidfd, sd_bus_error *error) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *what = NULL;
        OpsResult res = {};
        const char *name;
        uint64_t flags;
        OpsFlags of;
        int fd, r;

        r = sd_bus_message_read(m, "sht", &name, &fd, &flags);
        if (r < 0)
                return r;
        if ((r = check_flags(flags, NSMGR_FLAG_ALLOW_HOST, error)) < 0 || (r = check_name(name, error)) < 0)
                return r;
        if (asprintf(&what, "pin namespace '%s'", name) < 0)
                return -ENOMEM;
        r = authorize(bm, m, NSMGR_POLKIT_MANAGE, (const char *const[]) { "verb", "pin", "namespace", name, NULL },
                      what, name, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        of = flags & NSMGR_FLAG_ALLOW_HOST ? OPS_ALLOW_HOST : 0;
        /* The fd stays the message's; the library only uses it. */
        r = by_pidfd ? ops_pin_pidfd(name, fd, of, OWNER_PIN, &res, &err) : ops_pin_handle(name, fd, of, OWNER_PIN, &res, &err);
        if (r < 0)
                return reply_error(error, r, &err);
        log_warnings(bm, res.warnings);
        log_done(bm, m, name, "pinned namespace '%s' (inode %ju)", name, (uintmax_t) res.inode);
        netnsmon_flush(bm->mon);
        r = sd_bus_reply_method_return(m, "st", res.path, (uint64_t) res.inode);
        ops_result_done(&res);
        return r;
}

static int method_pin(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return pin(m, userdata, true, error);
}

static int method_pin_handle(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return pin(m, userdata, false, error);
}

static int method_delete(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *what = NULL;
        OpsResult res = {};
        const char *name;
        uint64_t flags;
        OpsFlags of = 0;
        int r;

        r = sd_bus_message_read(m, "st", &name, &flags);
        if (r < 0)
                return r;
        if ((r = check_flags(flags, NSMGR_FLAG_FORCE | NSMGR_FLAG_MISSING_OK, error)) < 0 ||
            (r = check_name(name, error)) < 0)
                return r;
        if (asprintf(&what, "delete namespace '%s'", name) < 0)
                return -ENOMEM;
        r = authorize(bm, m, NSMGR_POLKIT_MANAGE, (const char *const[]) { "verb", "delete", "namespace", name, NULL },
                      what, name, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        if (flags & NSMGR_FLAG_FORCE)
                of |= OPS_FORCE;
        if (flags & NSMGR_FLAG_MISSING_OK)
                of |= OPS_MISSING_OK;
        r = ops_delete(name, of, bm->ops->config(bm->userdata), &res, &err);
        if (r < 0) {
                reply_error(error, r, &err);
                if (r == -NSMGR_ERRNO_DECLARED)
                        (void) refuse(bm, m, name, NULL, error);
                return r;
        }
        log_warnings(bm, res.warnings);
        if (res.changed) {
                log_done(bm, m, name, "deleted namespace '%s'", name);
                netnsmon_flush(bm->mon);
        }
        ops_result_done(&res);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_attach(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *what = NULL;
        ReconcileReport report = {};
        OpsAttachment res = {};
        AttachRequest req = {};
        const char *ifname, *address;
        char b4[CIDR_STRLEN] = "", b6[CIDR_STRLEN] = "";
        int r;

        r = sd_bus_message_read(m, "ssss", &req.netns, &req.network, &ifname, &address);
        if (r < 0)
                return r;
        if ((r = check_name(req.netns, error)) < 0)
                return r;
        if (*address && cidr_parse(address, false, &req.address) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "cannot attach '%s': '%s' is not an IP address",
                                         req.netns, address);
        if (*ifname) {
                if (ifname_check(ifname, &err) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", nm_error_message(&err));
                req.ifname = ifname;
        }
        if (asprintf(&what, "attach '%s' to network '%s'", req.netns, req.network) < 0)
                return -ENOMEM;
        r = authorize(bm, m, NSMGR_POLKIT_MANAGE,
                      (const char *const[]) { "verb", "attach", "namespace", req.netns, "network", req.network, NULL },
                      what, req.netns, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = ops_attach(bm->ops->config(bm->userdata), &req, &res, &report, &err);
        log_warnings(bm, report.warnings);
        reconcile_report_done(&report);
        if (r < 0)
                return reply_error(error, r, &err);
        log_done(bm, m, req.netns, "attached '%s' to network '%s' (%s)", req.netns, req.network, res.ifname);
        bm->ops->changed(bm->userdata);
        if (res.address.family)
                cidr_format(&res.address, true, b4);
        if (res.address6.family)
                cidr_format(&res.address6, true, b6);
        r = sd_bus_reply_method_return(m, "sss", res.ifname, b4, b6);
        ops_attachment_done(&res);
        return r;
}

static int method_detach(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *what = NULL;
        ReconcileReport report = {};
        const char *netns, *network;
        int r;

        r = sd_bus_message_read(m, "ss", &netns, &network);
        if (r < 0)
                return r;
        if ((r = check_name(netns, error)) < 0)
                return r;
        if (asprintf(&what, "detach '%s' from network '%s'", netns, network) < 0)
                return -ENOMEM;
        r = authorize(bm, m, NSMGR_POLKIT_MANAGE,
                      (const char *const[]) { "verb", "detach", "namespace", netns, "network", network, NULL }, what,
                      netns, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = ops_detach(bm->ops->config(bm->userdata), netns, network, &report, &err);
        log_warnings(bm, report.warnings);
        reconcile_report_done(&report);
        if (r < 0) {
                reply_error(error, r, &err);
                if (r == -NSMGR_ERRNO_DECLARED)
                        (void) refuse(bm, m, netns, NULL, error);
                return r;
        }
        log_done(bm, m, netns, "detached '%s' from network '%s'", netns, network);
        bm->ops->changed(bm->userdata);
        return sd_bus_reply_method_return(m, NULL);
}

/* a(ssssss): action, kind, namespace, interface, detail, text; "" for what
 * a step does not have. */
static int append_steps(sd_bus_message *reply, const PlanStep *steps, size_t n) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssssss)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const PlanStep *s = &steps[i];

                r = sd_bus_message_append(reply, "(ssssss)", s->action ?: "", s->kind ?: "", s->netns ?: "",
                                          s->ifname ?: "", s->detail ?: "", s->text ?: "");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_apply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        sd_bus_message *reply = NULL;
        ReconcileReport report = {};
        PlanStep *steps = NULL;
        size_t n_steps = 0;
        uint64_t flags;
        bool dry;
        int r;

        r = sd_bus_message_read(m, "t", &flags);
        if (r < 0)
                return r;
        if ((r = check_flags(flags, NSMGR_FLAG_DRY_RUN, error)) < 0)
                return r;
        dry = flags & NSMGR_FLAG_DRY_RUN;
        /* A plan changes nothing: reading is enough to ask for one. */
        r = authorize(bm, m, dry ? NSMGR_POLKIT_READ : NSMGR_POLKIT_MANAGE,
                      (const char *const[]) { "verb", dry ? "plan" : "apply", NULL },
                      dry ? "plan the config" : "apply the config", NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = bm->ops->apply(bm->userdata, dry, &report, &err);
        if (r < 0) {
                reconcile_report_done(&report);
                if (r == -EBADMSG)
                        return sd_bus_error_setf(error, NSMGR_ERROR_INVALID_CONFIG, "%s", nm_error_message(&err));
                return reply_error(error, r, &err);
        }
        if (!dry)
                log_done(bm, m, NULL, "applied the config: %zu %s", strv_length(report.changes),
                         strv_length(report.changes) == 1 ? "change" : "changes");
        r = plan_steps_from_report(&report, &steps, &n_steps);
        if (r >= 0)
                r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = append_steps(reply, steps, n_steps);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, report.warnings);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        plan_steps_free(steps, n_steps);
        reconcile_report_done(&report);
        return r;
}

static int method_reload(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        ReconcileReport report = {};
        unsigned changes;
        int r;

        r = authorize(bm, m, NSMGR_POLKIT_MANAGE, (const char *const[]) { "verb", "reload", NULL }, "reload the config",
                      NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = bm->ops->apply(bm->userdata, false, &report, &err);
        changes = (unsigned) strv_length(report.changes);
        reconcile_report_done(&report);
        if (r == -EBADMSG)
                return sd_bus_error_setf(error, NSMGR_ERROR_INVALID_CONFIG, "%s", nm_error_message(&err));
        if (r < 0)
                return reply_error(error, r, &err);
        return sd_bus_reply_method_return(m, "u", changes);
}

typedef struct Listing {
        NetnsEntry *entries;
        size_t n;
        OwnerRecord *owners;
        size_t n_owners;
        ProcScan ps;
} Listing;

static void listing_done(Listing *l) {
        netns_entries_free(l->entries, l->n);
        owner_records_free(l->owners, l->n_owners);
        proc_scan_done(&l->ps);
}

static int listing_load(Listing *l) {
        _cleanup_nl_ NlSock *nl = NULL;
        int r;

        if (nls_open(&nl) >= 0)
                nls_set_no_ack(nl);
        r = netns_list_nsid(&l->entries, &l->n, nl);
        if (r < 0)
                return r;
        (void) proc_scan(&l->ps);
        (void) owner_load_all(&l->owners, &l->n_owners);
        return 0;
}

static const char *entry_origin(const Listing *l, const NetnsEntry *e) {
        const OwnerRecord *o = e->broken ? NULL : owner_find(l->owners, l->n_owners, e->name, e->inode);

        return o ? o->origin : "";
}

static int method_list(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_(listing_done) Listing l = {};
        sd_bus_message *reply = NULL;
        int r;

        r = authorize(bm, m, NSMGR_POLKIT_READ, NULL, "list namespaces", NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = listing_load(&l);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot list " NETNS_RUN_DIR ": %s", strerror(-r));

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sstiubss)");
        for (size_t i = 0; r >= 0 && i < l.n; i++) {
                const NetnsEntry *e = &l.entries[i];
                _cleanup_free_ char *path = netns_path(e->name);

                r = sd_bus_message_append(reply, "(sstiubss)", e->name, path ?: "", (uint64_t) (e->broken ? 0 : e->inode),
                                          (int32_t) (e->broken ? -1 : e->nsid),
                                          (uint32_t) (e->broken ? 0 : proc_scan_find(&l.ps, e->inode, NULL)), e->broken,
                                          e->reason ?: "", entry_origin(&l, e));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static json_object *entry_json(const NetnsEntry *e, const ProcScan *ps, const char *origin) {
        _cleanup_free_ char *path = netns_path(e->name);
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(e->name));
        json_object_object_add(o, "path", path ? json_object_new_string(path) : NULL);
        json_object_object_add(o, "broken", json_object_new_boolean(e->broken));
        json_object_object_add(o, "reason", e->reason ? json_object_new_string(e->reason) : NULL);
        json_object_object_add(o, "inode", e->broken ? NULL : json_object_new_int64((int64_t) e->inode));
        json_object_object_add(o, "nsid", !e->broken && e->nsid >= 0 ? json_object_new_int(e->nsid) : NULL);
        json_object_object_add(o, "processes", e->broken ? NULL
                                               : json_object_new_int64((int64_t) proc_scan_find(ps, e->inode, NULL)));
        json_object_object_add(o, "managed", json_object_new_boolean(*origin));
        json_object_object_add(o, "origin", *origin ? json_object_new_string(origin) : NULL);
        return o;
}

static int reply_json(sd_bus_message *m, json_object *o) {
        return sd_bus_reply_method_return(
                m, "s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void add_networks_of(json_object *o, const char *name) {
        _cleanup_json_ json_object *ports = nat_ports_load();
        _cleanup_strv_free_ char **p = nat_ports_of(ports, name);
        json_object *nets = json_object_new_array(), *pa = json_object_new_array();
        LeaseInfo *leases = NULL;
        size_t n = 0;

        (void) leases_read_all(&leases, &n);
        for (size_t i = 0; i < n; i++) {
                json_object *x;
                char buf[CIDR_STRLEN];

                if (!streq(leases[i].netns, name))
                        continue;
                x = json_object_new_object();
                json_object_object_add(x, "network", json_object_new_string(leases[i].network));
                json_object_object_add(x, "interface", json_object_new_string(leases[i].ifname));
                json_object_object_add(x, "address", json_object_new_string(cidr_format(&leases[i].addr, false, buf)));
                json_object_object_add(x, "origin", json_object_new_string(leases[i].origin));
                json_object_array_add(nets, x);
        }
        leases_free(leases, n);
        STRV_FOREACH(x, p)
                json_object_array_add(pa, json_object_new_string(*x));
        json_object_object_add(o, "networks", nets);
        json_object_object_add(o, "ports", pa);
}

static int method_describe_namespace(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_nl_ NlSock *nl = NULL, *host = NULL;
        _cleanup_json_ json_object *o = NULL, *shown = NULL;
        _cleanup_(listing_done) Listing l = {};
        _cleanup_free_ char *origin = NULL;
        _cleanup_close_ int fd = -EBADF;
        NetnsEntry e = { .nsid = -1 };
        json_object *procs;
        const char *name;
        size_t first, count;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if ((r = check_name(name, error)) < 0)
                return r;
        r = authorize(bm, m, NSMGR_POLKIT_READ, (const char *const[]) { "namespace", name, NULL },
                      "describe a namespace", name, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = netns_open(name, &fd, &err);
        if (r < 0)
                return reply_error(error, r, &err);
        r = nls_open_in(fd, &nl);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot look into namespace '%s': %s", name, strerror(-r));
        r = show_netns(nl, &shown, &err);
        if (r < 0)
                return reply_error(error, r, &err);

        e.name = (char *) name;
        (void) netns_fd_inode(fd, &e.inode);
        if (nls_open(&host) >= 0)
                (void) nls_get_nsid(host, fd, &e.nsid);
        (void) proc_scan(&l.ps);
        {
                uint64_t cookie = 0;

                (void) netns_fd_cookie(fd, &cookie);
                (void) owner_lookup(name, e.inode, cookie, &origin);
        }
        o = entry_json(&e, &l.ps, origin ?: "");
        json_object_object_foreach(shown, key, val)
                json_object_object_add(o, key, json_object_get(val));
        add_networks_of(o, name);
        procs = json_object_new_array();
        count = proc_scan_find(&l.ps, e.inode, &first);
        for (size_t i = 0; i < count; i++) {
                _cleanup_free_ char *comm = proc_comm(l.ps.v[first + i].pid);
                json_object *p = json_object_new_object();

                json_object_object_add(p, "pid", json_object_new_int(l.ps.v[first + i].pid));
                json_object_object_add(p, "command", json_object_new_string(comm ?: "?"));
                json_object_array_add(procs, p);
        }
        json_object_object_add(o, "processes", procs);
        return reply_json(m, o);
}

static json_object *status_json(BusManager *bm) {
        json_object *o = daemon_status_to_json(bm->ops->status(bm->userdata));

        if (o)
                json_object_object_add(o, "running", json_object_new_boolean(true));
        return o;
}

static int method_status(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = authorize(bm, m, NSMGR_POLKIT_READ, NULL, "read nsmgrd's status", NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        o = status_json(bm);
        if (!o)
                return -ENOMEM;
        return reply_json(m, o);
}

/* Everything at once, as networkd's Describe: the status, the namespaces
 * under /run/netns and the networks of the config in force. */
static int method_describe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        _cleanup_(listing_done) Listing l = {};
        _cleanup_json_ json_object *o = json_object_new_object();
        const Config *cfg = bm->ops->config(bm->userdata);
        json_object *arr, *nets;
        int r;

        r = authorize(bm, m, NSMGR_POLKIT_READ, NULL, "describe nsmgrd's state", NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = listing_load(&l);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot list " NETNS_RUN_DIR ": %s", strerror(-r));

        json_object_object_add(o, "version", json_object_new_string(NSMGR_VERSION));
        json_object_object_add(o, "status", status_json(bm));
        arr = json_object_new_array();
        for (size_t i = 0; i < l.n; i++)
                json_object_array_add(arr, entry_json(&l.entries[i], &l.ps, entry_origin(&l, &l.entries[i])));
        json_object_object_add(o, "namespaces", arr);
        nets = json_object_new_array();
        for (size_t i = 0; cfg && i < cfg->n_networks; i++) {
                const Network *nw = &cfg->networks[i];
                json_object *x = json_object_new_object();
                char buf[CIDR_STRLEN];

                json_object_object_add(x, "name", json_object_new_string(nw->name));
                json_object_object_add(x, "bridge", json_object_new_string(nw->bridge));
                json_object_object_add(x, "subnet", nw->subnet.family ? json_object_new_string(cidr_format(&nw->subnet, true, buf)) : NULL);
                json_object_object_add(x, "subnet6", nw->subnet6.family ? json_object_new_string(cidr_format(&nw->subnet6, true, buf)) : NULL);
                json_object_object_add(x, "masquerade", json_object_new_boolean(nw->masquerade));
                json_object_array_add(nets, x);
        }
        json_object_object_add(o, "networks", nets);
        return reply_json(m, o);
}

/* --- properties ------------------------------------------------------------------ */

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;
        const DaemonStatus *s = bm->ops->status(bm->userdata);

        if (streq(property, "Version"))
                return sd_bus_message_append(reply, "s", NSMGR_VERSION);
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", s->state ?: "");
        if (streq(property, "ConfigFiles"))
                return sd_bus_message_append_strv(reply, s->files);
        if (streq(property, "Namespaces"))
                return sd_bus_message_append(reply, "u", s->n_netns);
        if (streq(property, "Networks"))
                return sd_bus_message_append(reply, "u", s->n_networks);
        if (streq(property, "Watched"))
                return sd_bus_message_append(reply, "u", s->n_watched);
        if (streq(property, "DriftsRepaired"))
                return sd_bus_message_append(reply, "t", s->drifts_repaired);
        return -ENOENT;
}

#define CHANGING SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, CHANGING),
        SD_BUS_PROPERTY("ConfigFiles", "as", property_get, 0, CHANGING),
        SD_BUS_PROPERTY("Namespaces", "u", property_get, 0, CHANGING),
        SD_BUS_PROPERTY("Networks", "u", property_get, 0, CHANGING),
        SD_BUS_PROPERTY("Watched", "u", property_get, 0, CHANGING),
        SD_BUS_PROPERTY("DriftsRepaired", "t", property_get, 0, CHANGING),

        /* Every method is open to everyone at the bus level: polkit decides
         * (bus-polkit.h). */
        SD_BUS_METHOD_WITH_ARGS("CreateNamespace", SD_BUS_ARGS("s", name, "t", flags),
                                SD_BUS_RESULT("s", path, "t", inode, "b", created), method_create,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PinNamespace", SD_BUS_ARGS("s", name, "h", pidfd, "t", flags),
                                SD_BUS_RESULT("s", path, "t", inode), method_pin, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PinNamespaceHandle", SD_BUS_ARGS("s", name, "h", handle, "t", flags),
                                SD_BUS_RESULT("s", path, "t", inode), method_pin_handle, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteNamespace", SD_BUS_ARGS("s", name, "t", flags), SD_BUS_NO_RESULT,
                                method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Attach", SD_BUS_ARGS("s", name, "s", network, "s", ifname, "s", address),
                                SD_BUS_RESULT("s", ifname, "s", address, "s", address6), method_attach,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Detach", SD_BUS_ARGS("s", name, "s", network), SD_BUS_NO_RESULT, method_detach,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Apply", SD_BUS_ARGS("t", flags), SD_BUS_RESULT("a(ssssss)", steps, "as", warnings),
                                method_apply, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_RESULT("u", changes), method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNamespaces", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sstiubss)", namespaces),
                                method_list, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DescribeNamespace", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", json),
                                method_describe_namespace, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Describe", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_describe,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Status", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", json), method_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("NamespaceAdded", SD_BUS_ARGS("s", name, "s", path, "t", inode, "s", origin), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NamespaceRemoved", SD_BUS_ARGS("s", name, "t", inode), 0),
        SD_BUS_SIGNAL_WITH_ARGS("DriftRepaired", SD_BUS_ARGS("a(ssssss)", steps), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Reloaded", SD_BUS_ARGS("b", ok, "u", changes, "s", error), 0),
        SD_BUS_VTABLE_END
};

/* --- signals --------------------------------------------------------------------- */

static void on_netns(NetnsMonEvent ev, const char *name, ino_t ino, void *userdata) {
        BusManager *bm = userdata;
        _cleanup_free_ char *origin = NULL, *path = NULL;

        if (!bm->bus)
                return;
        if (ev == NETNS_MON_REMOVED) {
                (void) sd_bus_emit_signal(bm->bus, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, "NamespaceRemoved", "st", name,
                                          (uint64_t) ino);
                return;
        }
        /* The inode alone: the namespace may be gone by now (cookie 0: not compared). */
        (void) owner_lookup(name, ino, 0, &origin);
        path = netns_path(name);
        (void) sd_bus_emit_signal(bm->bus, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, "NamespaceAdded", "ssts", name,
                                  path ?: "", (uint64_t) ino, origin ?: "");
}

void bus_manager_emit_drift_repaired(BusManager *bm, const PlanStep *steps, size_t n_steps) {
        sd_bus_message *m = NULL;
        int r;

        if (!bm || !bm->bus)
                return;
        /* What the repair did to pins is said first. */
        netnsmon_flush(bm->mon);
        r = sd_bus_message_new_signal(bm->bus, &m, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, "DriftRepaired");
        if (r >= 0)
                r = append_steps(m, steps, n_steps);
        if (r >= 0)
                r = sd_bus_send(bm->bus, m, NULL);
        sd_bus_message_unref(m);
        if (r < 0)
                blog(bm, LOG_DEBUG, NULL, "cannot send DriftRepaired: %s", strerror(-r));
}

void bus_manager_emit_reloaded(BusManager *bm, int result, unsigned changes, const char *error) {
        if (!bm || !bm->bus)
                return;
        netnsmon_flush(bm->mon);
        (void) sd_bus_emit_signal(bm->bus, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, "Reloaded", "bus", result >= 0,
                                  (uint32_t) changes, error ?: "");
}

void bus_manager_status_changed(BusManager *bm) {
        const DaemonStatus *s;
        char *changed[8] = {};
        size_t n = 0;

        if (!bm)
                return;
        s = bm->ops->status(bm->userdata);
        if (!streq_ptr(bm->state, s->state)) {
                free(bm->state);
                bm->state = s->state ? strdup(s->state) : NULL;
                changed[n++] = (char *) "State";
        }
        if (!strv_equal(bm->files, s->files)) {
                strv_free(bm->files);
                bm->files = strv_copy(s->files);
                changed[n++] = (char *) "ConfigFiles";
        }
        if (bm->n_netns != s->n_netns) {
                bm->n_netns = s->n_netns;
                changed[n++] = (char *) "Namespaces";
        }
        if (bm->n_networks != s->n_networks) {
                bm->n_networks = s->n_networks;
                changed[n++] = (char *) "Networks";
        }
        if (bm->n_watched != s->n_watched) {
                bm->n_watched = s->n_watched;
                changed[n++] = (char *) "Watched";
        }
        if (bm->drifts != s->drifts_repaired) {
                bm->drifts = s->drifts_repaired;
                changed[n++] = (char *) "DriftsRepaired";
        }
        if (n > 0 && bm->bus)
                (void) sd_bus_emit_properties_changed_strv(bm->bus, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, changed);
}

/* --- the connection ------------------------------------------------------------- */

static void arm_reconnect(BusManager *bm);

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BusManager *bm = userdata;

        blog(bm, LOG_WARNING, NULL, "lost the connection to the system bus; the D-Bus API is gone until it is back, trying again in %us",
             RECONNECT_FIRST_SEC);
        bm->reconnect_sec = 0;
        bm->told_unavailable = true;
        /* The bus is dropped from the timer, not from its own callback. */
        arm_reconnect(bm);
        return 0;
}

static const char *connect_error(int r) {
        switch (r) {
        case -EEXIST:
                return "another process owns the name " NSMGR_BUS_NAME;
        case -EACCES:
        case -EPERM:
                return "the bus policy does not let nsmgrd own " NSMGR_BUS_NAME " (is org.nsmgr1.conf installed in /usr/share/dbus-1/system.d, and nsmgrd running as root?)";
        case -ENOENT:
        case -ECONNREFUSED:
                return "there is no system bus (dbus-daemon is not running)";
        default:
                return strerror(-r);
        }
}

static void connected(BusManager *bm) {
        const char *unique = NULL;

        (void) sd_bus_get_unique_name(bm->bus, &unique);
        blog(bm, bm->told_unavailable ? LOG_NOTICE : LOG_INFO, NULL, "on the system bus as " NSMGR_BUS_NAME " (%s)",
             unique ?: "?");
        bm->told_unavailable = false;
        bm->reconnect_sec = 0;
}

static void not_connected(BusManager *bm, int r) {
        blog(bm, bm->told_unavailable ? LOG_DEBUG : LOG_WARNING, NULL,
             "no D-Bus API: %s; nsmgrd works without it and tries again now and then", connect_error(r));
        bm->told_unavailable = true;
}

/* RequestName's answer, when nsmgrd did not wait for it (reconnecting). */
static int on_name(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        BusManager *bm = userdata;
        uint32_t result = 0;
        int r = 0;

        if (sd_bus_message_is_method_error(reply, NULL))
                r = -sd_bus_error_get_errno(sd_bus_message_get_error(reply)) ?: -EIO;
        else if (sd_bus_message_read(reply, "u", &result) < 0)
                r = -EBADMSG;
        else if (result != 1 && result != 4) /* primary owner, or already */
                r = -EEXIST;
        if (r < 0) {
                not_connected(bm, r);
                arm_reconnect(bm);
        } else
                connected(bm);
        return 0;
}

/* Connects, publishes the object and asks for the name: at start waiting
 * for the answer (clients that see nsmgrd ready must find it), later not
 * (the loop keeps repairing drift and pinging the watchdog meanwhile). */
static int bus_connect(BusManager *bm, bool wait) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system_with_description(&bus, "nsmgrd");
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(bus, NULL, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, manager_vtable, bm);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, NULL, "org.freedesktop.DBus.Local", NULL, "org.freedesktop.DBus.Local",
                                              "Disconnected", on_disconnected, NULL, bm);
        if (r >= 0)
                r = sd_bus_attach_event(bus, bm->event, SD_EVENT_PRIORITY_NORMAL);
        /* Not queued: a second owner would answer for another daemon. */
        if (r >= 0)
                r = wait ? sd_bus_request_name(bus, NSMGR_BUS_NAME, 0)
                         : sd_bus_request_name_async(bus, NULL, NSMGR_BUS_NAME, 0, on_name, bm);
        if (r < 0) {
                sd_bus_flush_close_unref(bus);
                return r;
        }
        bm->bus = bus;
        return 0;
}

static int try_connect(BusManager *bm, bool wait) {
        int r;

        r = bus_connect(bm, wait);
        if (r < 0) {
                not_connected(bm, r);
                return r;
        }
        if (wait)
                connected(bm);
        return 0;
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        BusManager *bm = userdata;

        if (bm->bus)
                bm->bus = sd_bus_flush_close_unref(bm->bus);
        polkit_registry_free(bm->polkit);
        bm->polkit = NULL;
        if (try_connect(bm, false) < 0)
                arm_reconnect(bm);
        return 0;
}

static void arm_reconnect(BusManager *bm) {
        bm->reconnect_sec = bm->reconnect_sec ? bm->reconnect_sec * 2 : RECONNECT_FIRST_SEC;
        if (bm->reconnect_sec > RECONNECT_MAX_SEC)
                bm->reconnect_sec = RECONNECT_MAX_SEC;
        (void) sd_event_source_set_time_relative(bm->reconnect, (uint64_t) bm->reconnect_sec * 1000000u);
        (void) sd_event_source_set_enabled(bm->reconnect, SD_EVENT_ONESHOT);
}

int bus_manager_new(sd_event *e, const BusManagerOps *ops, void *userdata, BusManager **ret) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        BusManager *bm;
        int r;

        r = sd_bus_error_add_map(nsmgr_bus_errors);
        if (r < 0)
                return r;
        bm = calloc(1, sizeof(*bm));
        if (!bm)
                return -ENOMEM;
        bm->event = sd_event_ref(e);
        bm->ops = ops;
        bm->userdata = userdata;
        r = sd_event_add_time(e, &bm->reconnect, CLOCK_MONOTONIC, 0, 0, on_reconnect, bm);
        if (r < 0) {
                bus_manager_free(bm);
                return r;
        }
        (void) sd_event_source_set_enabled(bm->reconnect, SD_EVENT_OFF);

        /* NamespaceAdded/Removed come from what is seen under /run/netns. */
        r = netnsmon_new(e, on_netns, bm, &bm->mon, &err);
        if (r < 0)
                blog(bm, LOG_WARNING, NULL, "%s; NamespaceAdded and NamespaceRemoved will not be sent, ignoring",
                     nm_error_message(&err));

        if (try_connect(bm, true) < 0)
                arm_reconnect(bm);
        bus_manager_status_changed(bm);
        *ret = bm;
        return 0;
}

BusManager *bus_manager_free(BusManager *bm) {
        if (!bm)
                return NULL;
        polkit_registry_free(bm->polkit);
        if (bm->bus)
                sd_bus_flush_close_unref(bm->bus);
        sd_event_source_disable_unref(bm->reconnect);
        netnsmon_free(bm->mon);
        sd_event_unref(bm->event);
        free(bm->state);
        strv_free(bm->files);
        return mfree(bm);
}

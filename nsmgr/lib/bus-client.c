/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <unistd.h>

#include "bus-client.h"
#include "bus-def.h"
#include "ipaddr.h"
#include "macro.h"
#include "netns.h"
#include "status.h"
#include "strv.h"

/* Long enough for an apply of thousands of namespaces. */
#define CALL_TIMEOUT_USEC (5ULL * 60 * 1000 * 1000)

void daemon_link_done(DaemonLink *l) {
        if (l->bus)
                sd_bus_flush_close_unref(l->bus);
        strv_free(l->files);
        *l = (DaemonLink) {};
}

int daemon_link_open(DaemonLink *ret) {
        _cleanup_(daemon_status_donep) DaemonStatus s = {};
        DaemonLink l = {};
        sd_bus *bus = NULL;
        int r;

        *ret = l;
        if (daemon_status_read(&s) < 0 || !daemon_status_alive(&s))
                return 0;
        l.alive = true;
        l.pid = s.pid;
        l.files = TAKE_PTR(s.files);

        (void) sd_bus_error_add_map(nsmgr_bus_errors);
        if (sd_bus_open_system(&bus) >= 0) {
                sd_bus_message *reply = NULL;
                int has = 0;

                /* Only a daemon that has taken the name is asked; one that is
                 * still starting (or has no bus) is not on it yet. */
                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", NULL, &reply, "s", NSMGR_BUS_NAME);
                if (r >= 0 && sd_bus_message_read(reply, "b", &has) >= 0 && has)
                        l.bus = TAKE_PTR(bus);
                sd_bus_message_unref(reply);
                if (bus)
                        sd_bus_flush_close_unref(bus);
        }
        *ret = l;
        return 0;
}

int daemon_link_load_config(const DaemonLink *l, Config **ret, NmError *err) {
        if (!l->files) {
                /* No file at all: the default, an empty config. */
                return config_load(NULL, ret, err);
        }
        return config_load_files(l->files, ret, err);
}

static int from_error(const sd_bus_error *e, int r, NmError *err) {
        int code = sd_bus_error_get_errno(e);

        if (code <= 0)
                code = r < 0 ? -r : EIO;
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) || sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return nm_error(err, -ESRCH, "nsmgrd has just gone from the bus; try again");
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) || sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT))
                return nm_error(err, -ETIMEDOUT, "nsmgrd did not answer in time; see 'journalctl -u nsmgrd'");
        if (e->message)
                return nm_error(err, -code, "%s", e->message);
        return nm_error(err, -code, "nsmgrd: %s", e->name ? e->name : strerror(code));
}

static int call(sd_bus *bus, const char *method, uint64_t timeout_usec, sd_bus_message **ret_reply, NmError *err,
                const char *types, ...) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, NSMGR_BUS_NAME, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        /* Lets polkit ask for a password when an agent can (polkit-agent). */
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r < 0) {
                sd_bus_message_unref(m);
                return nm_error(err, r, "cannot ask nsmgrd: %s", strerror(-r));
        }
        r = sd_bus_call(bus, m, timeout_usec ?: CALL_TIMEOUT_USEC, &error, ret_reply);
        sd_bus_message_unref(m);
        if (r < 0)
                r = from_error(&error, r, err);
        sd_bus_error_free(&error);
        return r;
}

static int read_path_inode(sd_bus_message *reply, const char *extra, OpsResult *ret, NmError *err) {
        const char *path;
        uint64_t ino;
        int created = 1, r;

        r = extra ? sd_bus_message_read(reply, "stb", &path, &ino, &created) : sd_bus_message_read(reply, "st", &path, &ino);
        if (r < 0)
                return nm_error(err, r, "cannot read nsmgrd's answer: %s", strerror(-r));
        *ret = (OpsResult) { .path = strdup(path), .inode = (ino_t) ino, .changed = created };
        return ret->path ? 0 : -ENOMEM;
}

int bus_call_create(sd_bus *bus, const char *name, OpsFlags flags, OpsResult *ret, NmError *err) {
        sd_bus_message *reply = NULL;
        int r;

        r = call(bus, "CreateNamespace", 0, &reply, err, "st", name,
                 (uint64_t) (flags & OPS_EXIST_OK ? NSMGR_FLAG_EXIST_OK : 0));
        if (r >= 0)
                r = read_path_inode(reply, "b", ret, err);
        sd_bus_message_unref(reply);
        return r;
}

int bus_call_pin(sd_bus *bus, const char *name, int fd, bool by_pidfd, OpsFlags flags, OpsResult *ret, NmError *err) {
        sd_bus_message *reply = NULL;
        int r;

        r = call(bus, by_pidfd ? "PinNamespace" : "PinNamespaceHandle", 0, &reply, err, "sht", name, fd,
                 (uint64_t) (flags & OPS_ALLOW_HOST ? NSMGR_FLAG_ALLOW_HOST : 0));
        if (r >= 0)
                r = read_path_inode(reply, NULL, ret, err);
        sd_bus_message_unref(reply);
        return r;
}

int bus_call_delete(sd_bus *bus, const char *name, OpsFlags flags, NmError *err) {
        uint64_t f = 0;

        if (flags & OPS_FORCE)
                f |= NSMGR_FLAG_FORCE;
        if (flags & OPS_MISSING_OK)
                f |= NSMGR_FLAG_MISSING_OK;
        return call(bus, "DeleteNamespace", 0, NULL, err, "st", name, f);
}

int bus_call_attach(sd_bus *bus, const AttachRequest *req, OpsAttachment *ret, NmError *err) {
        sd_bus_message *reply = NULL;
        const char *ifname, *a4, *a6;
        char buf[CIDR_STRLEN] = "";
        OpsAttachment res = {};
        int r;

        if (req->address.family)
                cidr_format(&req->address, false, buf);
        r = call(bus, "Attach", 0, &reply, err, "ssss", req->netns, req->network, req->ifname ?: "", buf);
        if (r >= 0 && (r = sd_bus_message_read(reply, "sss", &ifname, &a4, &a6)) < 0)
                r = nm_error(err, r, "cannot read nsmgrd's answer: %s", strerror(-r));
        if (r >= 0) {
                res.ifname = strdup(ifname);
                if (!res.ifname)
                        r = -ENOMEM;
                if (*a4)
                        (void) cidr_parse(a4, true, &res.address);
                if (*a6)
                        (void) cidr_parse(a6, true, &res.address6);
        }
        sd_bus_message_unref(reply);
        if (r < 0) {
                ops_attachment_done(&res);
                return r;
        }
        *ret = res;
        return 0;
}

int bus_call_detach(sd_bus *bus, const char *netns, const char *network, NmError *err) {
        return call(bus, "Detach", 0, NULL, err, "ss", netns, network);
}

int bus_read_steps(sd_bus_message *m, PlanStep **ret, size_t *ret_n) {
        const char *action, *kind, *netns, *ifname, *detail, *text;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ssssss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ssssss)", &action, &kind, &netns, &ifname, &detail, &text)) > 0) {
                r = plan_step_add(ret, ret_n, *action ? action : NULL, *kind ? kind : NULL, *netns ? netns : NULL,
                                  *ifname ? ifname : NULL, *detail ? detail : NULL, text);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_call_apply(sd_bus *bus, bool dry_run, uint64_t timeout_usec, ReconcileReport *ret, NmError *err) {
        sd_bus_message *reply = NULL;
        ReconcileReport report = {};
        int r;

        r = call(bus, "Apply", timeout_usec, &reply, err, "t", (uint64_t) (dry_run ? NSMGR_FLAG_DRY_RUN : 0));
        if (r < 0)
                return r;
        r = bus_read_steps(reply, &report.steps, &report.n_steps);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &report.warnings);
        for (size_t i = 0; r >= 0 && i < report.n_steps; i++)
                r = strv_extend(&report.changes, report.steps[i].text ?: "");
        sd_bus_message_unref(reply);
        if (r < 0) {
                reconcile_report_done(&report);
                return nm_error(err, r, "cannot read nsmgrd's answer: %s", strerror(-r));
        }
        /* Records with only their text: the engine fills no steps yet, and
         * the report says so as a direct apply's would. */
        if (report.n_steps > 0 && !report.steps[0].action) {
                plan_steps_free(report.steps, report.n_steps);
                report.steps = NULL;
                report.n_steps = 0;
        }
        *ret = report;
        return 0;
}

int bus_call_reload(sd_bus *bus, uint64_t timeout_usec, unsigned *ret_changes, NmError *err) {
        sd_bus_message *reply = NULL;
        uint32_t n = 0;
        int r;

        r = call(bus, "Reload", timeout_usec, &reply, err, NULL);
        if (r >= 0 && sd_bus_message_read(reply, "u", &n) < 0)
                r = nm_error(err, -EBADMSG, "cannot read nsmgrd's answer");
        sd_bus_message_unref(reply);
        if (r >= 0 && ret_changes)
                *ret_changes = n;
        return r;
}

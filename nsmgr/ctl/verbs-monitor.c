/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgrctl monitor: one line (or JSON object) per event, from nsmgrd's
 * D-Bus signals while it is on the bus, and from /run/netns itself (as `ip
 * netns monitor` watches it) while it is not. */
#include <signal.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-client.h"
#include "bus-def.h"
#include "ctl.h"
#include "netns.h"
#include "netnsmon.h"
#include "owner.h"
#include "status.h"
#include "strv.h"

typedef struct Monitor {
        sd_event *event;
        sd_bus *bus;
        NetnsMon *mon;
        bool json;
} Monitor;

static void emit(Monitor *m, json_object *o, const char *fmt, ...) _printf_(3, 4);
static void emit(Monitor *m, json_object *o, const char *fmt, ...) {
        va_list ap;

        if (m->json) {
                json_object_object_add(o, "time_usec", json_object_new_int64((int64_t) now_realtime_usec()));
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        } else {
                va_start(ap, fmt);
                vprintf(fmt, ap);
                va_end(ap);
                putchar('\n');
        }
        json_object_put(o);
        /* Whoever reads a pipe sees each event as it happens. */
        fflush(stdout);
}

/* The verb for a pin that appeared: what made it. */
static const char *added_verb(const char *origin) {
        if (streq_ptr(origin, OWNER_CREATE) || streq_ptr(origin, OWNER_CONFIG))
                return "created";
        if (streq_ptr(origin, OWNER_PIN) || streq_ptr(origin, OWNER_HOOK))
                return "pinned";
        return "added";
}

static void event_added(Monitor *m, const char *source, const char *name, uint64_t ino, const char *origin) {
        _cleanup_free_ char *path = netns_path(name);
        const char *verb = added_verb(origin);
        json_object *o = json_object_new_object();

        json_object_object_add(o, "event", json_object_new_string(verb));
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "path", path ? json_object_new_string(path) : NULL);
        json_object_object_add(o, "inode", json_object_new_int64((int64_t) ino));
        json_object_object_add(o, "origin", origin && *origin ? json_object_new_string(origin) : NULL);
        json_object_object_add(o, "source", json_object_new_string(source));
        if (origin && *origin)
                emit(m, o, "%s %s (inode %" PRIu64 ", origin %s)", verb, name, ino, origin);
        else if (origin)
                emit(m, o, "%s %s (inode %" PRIu64 ", not made by nsmgr)", verb, name, ino);
        else
                emit(m, o, "%s %s (inode %" PRIu64 ")", verb, name, ino);
}

static void event_removed(Monitor *m, const char *source, const char *name, uint64_t ino) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "event", json_object_new_string("deleted"));
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "inode", json_object_new_int64((int64_t) ino));
        json_object_object_add(o, "source", json_object_new_string(source));
        emit(m, o, "deleted %s (inode %" PRIu64 ")", name, ino);
}

/* Without nsmgrd only what /run/netns shows is known, as `ip netns
 * monitor` knows it: a pin came or went. Who made it is not (its record
 * may be written a moment after the pin appears). */
static void on_netns(NetnsMonEvent ev, const char *name, ino_t ino, void *userdata) {
        Monitor *m = userdata;

        if (ev == NETNS_MON_REMOVED)
                event_removed(m, NETNS_RUN_DIR, name, ino);
        else
                event_added(m, NETNS_RUN_DIR, name, ino, NULL);
}

static json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static void event_repaired(Monitor *m, sd_bus_message *msg) {
        _cleanup_free_ char *text = NULL;
        PlanStep *steps = NULL;
        size_t n = 0, len = 0;
        json_object *o, *a;
        FILE *f;

        if (bus_read_steps(msg, &steps, &n) < 0) {
                plan_steps_free(steps, n);
                return;
        }
        o = json_object_new_object();
        a = json_object_new_array();
        f = open_memstream(&text, &len);
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_new_object();

                json_object_object_add(s, "action", str_or_null(steps[i].action));
                json_object_object_add(s, "kind", str_or_null(steps[i].kind));
                json_object_object_add(s, "namespace", str_or_null(steps[i].netns));
                json_object_object_add(s, "interface", str_or_null(steps[i].ifname));
                json_object_object_add(s, "detail", str_or_null(steps[i].detail));
                json_object_object_add(s, "text", str_or_null(steps[i].text));
                json_object_array_add(a, s);
                if (f)
                        fprintf(f, "%s%s", i ? "; " : "", steps[i].text ? steps[i].text : "?");
        }
        if (f)
                fclose(f);
        json_object_object_add(o, "event", json_object_new_string("repaired"));
        json_object_object_add(o, "steps", a);
        json_object_object_add(o, "source", json_object_new_string("nsmgrd"));
        emit(m, o, "repaired: %s", text ? text : "?");
        plan_steps_free(steps, n);
}

static void event_reloaded(Monitor *m, sd_bus_message *msg) {
        const char *error;
        uint32_t changes;
        int ok;
        json_object *o;

        if (sd_bus_message_read(msg, "bus", &ok, &changes, &error) < 0)
                return;
        o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string("reloaded"));
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
        json_object_object_add(o, "changes", json_object_new_int64(changes));
        json_object_object_add(o, "error", *error ? json_object_new_string(error) : NULL);
        json_object_object_add(o, "source", json_object_new_string("nsmgrd"));
        if (ok)
                emit(m, o, "reloaded: %u change%s", changes, changes == 1 ? "" : "s");
        else
                emit(m, o, "reload failed: %.*s", (int) strcspn(error, "\n"), error);
}

static int on_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Monitor *m = userdata;
        const char *member = sd_bus_message_get_member(msg), *name, *path, *origin;
        uint64_t ino;

        if (streq_ptr(member, "NamespaceAdded")) {
                if (sd_bus_message_read(msg, "ssts", &name, &path, &ino, &origin) >= 0)
                        event_added(m, "nsmgrd", name, ino, origin);
        } else if (streq_ptr(member, "NamespaceRemoved")) {
                if (sd_bus_message_read(msg, "st", &name, &ino) >= 0)
                        event_removed(m, "nsmgrd", name, ino);
        } else if (streq_ptr(member, "DriftRepaired"))
                event_repaired(m, msg);
        else if (streq_ptr(member, "Reloaded"))
                event_reloaded(m, msg);
        return 0;
}

/* While nsmgrd is on the bus its signals say everything; while it is not,
 * /run/netns is watched here. */
static void use_netnsmon(Monitor *m, bool on) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;

        if (!on) {
                m->mon = netnsmon_free(m->mon);
                return;
        }
        if (m->mon)
                return;
        if (netnsmon_new(m->event, on_netns, m, &m->mon, &err) < 0)
                log_warning("%s; only nsmgrd's events are shown", nm_error_message(&err));
}

static int on_owner(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Monitor *m = userdata;
        const char *name, *old, *new;
        json_object *o;

        if (sd_bus_message_read(msg, "sss", &name, &old, &new) < 0 || !streq(name, NSMGR_BUS_NAME))
                return 0;
        o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string(*new ? "nsmgrd-started" : "nsmgrd-stopped"));
        if (*new)
                emit(m, o, "nsmgrd is on the bus: its events follow");
        else
                emit(m, o, "nsmgrd left the bus: watching " NETNS_RUN_DIR " directly");
        use_netnsmon(m, !*new);
        return 0;
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Monitor *m = userdata;

        log_warning("lost the connection to the system bus; watching " NETNS_RUN_DIR " directly");
        use_netnsmon(m, true);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static bool connect_bus(Monitor *m) {
        sd_bus_message *reply = NULL;
        int has = 0, r;

        if (sd_bus_open_system(&m->bus) < 0)
                return false;
        /* Subscribed before asking who is there: nothing falls in between. */
        r = sd_bus_match_signal(m->bus, NULL, NSMGR_BUS_NAME, NSMGR_BUS_PATH, NSMGR_BUS_INTERFACE, NULL, on_signal, m);
        if (r >= 0)
                r = sd_bus_add_match(m->bus, NULL,
                                     "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                                     "member='NameOwnerChanged',arg0='" NSMGR_BUS_NAME "'",
                                     on_owner, m);
        if (r >= 0)
                r = sd_bus_match_signal_async(m->bus, NULL, "org.freedesktop.DBus.Local", NULL, "org.freedesktop.DBus.Local",
                                              "Disconnected", on_disconnected, NULL, m);
        if (r >= 0)
                r = sd_bus_call_method(m->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", NULL, &reply, "s", NSMGR_BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        if (r >= 0)
                r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                m->bus = sd_bus_flush_close_unref(m->bus);
                return false;
        }
        return has;
}

static int on_monitor_option(int c, const char *arg, void *userdata) {
        Monitor *m = userdata;

        if (c != OPT_JSON)
                return EXIT_USAGE;
        m->json = true;
        return 0;
}

int verb_monitor(const Verb *verb, int argc, char **argv) {
        Monitor m = {};
        sigset_t mask;
        bool daemon;
        int optind, r;

        r = parse_options(verb, argc, argv, on_monitor_option, &m, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("monitor: unexpected argument '%s'", argv[optind]);

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || sd_event_default(&m.event) < 0 ||
            sd_event_add_signal(m.event, NULL, SIGINT, on_exit_signal, NULL) < 0 ||
            sd_event_add_signal(m.event, NULL, SIGTERM, on_exit_signal, NULL) < 0) {
                log_error("cannot set up an event loop: %m");
                sd_event_unref(m.event);
                return EXIT_FAILURE;
        }

        daemon = connect_bus(&m);
        use_netnsmon(&m, !daemon);
        if (!daemon && !m.mon) {
                log_error("cannot monitor: nsmgrd is not on the bus and " NETNS_RUN_DIR " cannot be watched");
                r = EXIT_FAILURE;
                goto out;
        }
        /* Said on stderr, so that a script knows from when on nothing is missed. */
        fprintf(stderr, "%s: monitoring %s; Ctrl-C to stop\n", program_name,
                daemon ? "nsmgrd's events on the system bus" : NETNS_RUN_DIR " (nsmgrd is not on the bus)");

        r = sd_event_loop(m.event);
        r = r < 0 ? EXIT_FAILURE : 0;
out:
        netnsmon_free(m.mon);
        if (m.bus)
                sd_bus_flush_close_unref(m.bus);
        sd_event_unref(m.event);
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgrctl status, nsmgrctl reload: talking to nsmgrd through its status
 * record (status.h) and a signal. */
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <time.h>

#include "bus-client.h"
#include "ctl.h"
#include "status.h"
#include "strv.h"

static char *format_time(uint64_t usec) {
        time_t t = (time_t) (usec / 1000000u);
        struct tm tm;
        char buf[64];

        if (!usec || !localtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return strdup("never");
        return strdup(buf);
}

static char *format_span(uint64_t usec) {
        uint64_t s = usec / 1000000u;
        char *r;

        if (s >= 86400)
                return asprintf(&r, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600) < 0 ? NULL : r;
        if (s >= 3600)
                return asprintf(&r, "%" PRIu64 "h %" PRIu64 "min", s / 3600, s % 3600 / 60) < 0 ? NULL : r;
        if (s >= 60)
                return asprintf(&r, "%" PRIu64 "min %" PRIu64 "s", s / 60, s % 60) < 0 ? NULL : r;
        return asprintf(&r, "%" PRIu64 "s", s) < 0 ? NULL : r;
}

static const char *plural(uint64_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

static void print_lines(const char *indent, const char *text) {
        for (const char *p = text; p && *p;) {
                size_t n = strcspn(p, "\n");

                printf("%s%.*s\n", indent, (int) n, p);
                p += n;
                if (*p)
                        p++;
        }
}

static void print_run(const char *label, const StatusRun *run) {
        _cleanup_free_ char *when = format_time(run->time);
        _cleanup_free_ char *ago = format_span(now_realtime_usec() - run->time);

        if (!run->time) {
                printf("%16s: never\n", label);
                return;
        }
        printf("%16s: %s%s%s at %s (%s ago), %s", label, run->result < 0 ? ansi_red() : "",
               run->result < 0 ? "FAILED" : "ok", run->result < 0 ? ansi_normal() : "", when, ago ? ago : "?",
               run->trigger ? run->trigger : "?");
        if (run->result >= 0)
                printf(", %u %s in %.1f ms", run->changes, plural(run->changes, "change", "changes"),
                       (double) run->duration / 1000.0);
        printf("\n");
        if (run->result < 0)
                print_lines("                  ", run->error ? run->error : strerror(-run->result));
}

static void print_status(const DaemonStatus *s, bool alive) {
        _cleanup_free_ char *since = format_time(s->started), *up = format_span(now_realtime_usec() - s->started);
        _cleanup_free_ char *stopped = format_time(s->stopped);

        if (alive)
                printf("nsmgrd is %srunning%s (pid %d%s%s), since %s (%s)\n", ansi_green(), ansi_normal(), (int) s->pid,
                       s->state && !streq(s->state, "running") ? ", " : "",
                       s->state && !streq(s->state, "running") ? s->state : "", since, up ? up : "?");
        else if (s->stopped)
                printf("nsmgrd is %snot running%s: it stopped at %s (it ran as pid %d since %s)\n", ansi_red(), ansi_normal(),
                       stopped, (int) s->pid, since);
        else
                printf("nsmgrd is %snot running%s: pid %d, started at %s, is gone without stopping (killed or crashed; systemd restarts it if it is enabled)\n",
                       ansi_red(), ansi_normal(), (int) s->pid, since);

        printf("%16s: ", "config");
        if (!s->files)
                printf("%s\n", s->config ? s->config : "none (no " NSMGR_CONF_FILE ": an empty config)");
        STRV_FOREACH(f, s->files)
                printf("%s%s", *f, f[1] ? ", " : "\n");
        printf("%16s: %u %s (%u watched for drift), %u %s\n", "manages", s->n_netns,
               plural(s->n_netns, "namespace", "namespaces"), s->n_watched, s->n_networks,
               plural(s->n_networks, "network", "networks"));
        print_run("last reconcile", &s->reconcile);
        if (s->reload.time)
                print_run("last reload", &s->reload);
        printf("%16s: %" PRIu64 " repaired\n", "drifts", s->drifts_repaired);
        if (s->last_repair) {
                printf("%16s:\n", "last repair");
                STRV_FOREACH(l, s->last_repair)
                        printf("                  %s\n", *l);
        }
}

static int on_status_option(int c, const char *arg, void *userdata) {
        bool *json = userdata;

        if (c != OPT_JSON)
                return EXIT_USAGE;
        *json = true;
        return 0;
}

int verb_status(const Verb *verb, int argc, char **argv) {
        _cleanup_(daemon_status_donep) DaemonStatus s = {};
        bool json = false, alive;
        int optind, r;

        r = parse_options(verb, argc, argv, on_status_option, &json, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("status: unexpected argument '%s'", argv[optind]);

        r = daemon_status_read(&s);
        if (r < 0 && r != -ENOENT) {
                log_error("cannot read " NSMGRD_STATUS_FILE ": %s", r == -EBADMSG ? "it is damaged" : strerror(-r));
                return EXIT_FAILURE;
        }
        /* No record: nsmgrd has not run since boot. */
        alive = r >= 0 && daemon_status_alive(&s);

        if (json) {
                /* One shape, whether nsmgrd runs, ran or never did: the
                 * record's keys (zero and null for a record never written)
                 * and whether it runs. */
                json_object *o = daemon_status_to_json(&s);

                if (!o) {
                        log_error("cannot print the status: out of memory");
                        return EXIT_FAILURE;
                }
                json_object_object_add(o, "running", json_object_new_boolean(alive));
                print_json(o);
                json_object_put(o);
        } else if (r == -ENOENT)
                printf("nsmgrd is %snot running%s: it has not run since boot (there is no " NSMGRD_STATUS_FILE ")\n",
                       ansi_red(), ansi_normal());
        else
                print_status(&s, alive);
        return alive ? 0 : EXIT_NOT_RUNNING;
}

struct reload_args {
        unsigned timeout_sec;
};

static int on_reload_option(int c, const char *arg, void *userdata) {
        struct reload_args *a = userdata;
        char *end;
        unsigned long v;

        if (c != OPT_TIMEOUT)
                return EXIT_USAGE;
        errno = 0;
        v = strtoul(arg, &end, 10);
        if (errno || end == arg || *end || v == 0 || v > 86400)
                return usage_error("reload: --timeout: '%s' is not a number of seconds from 1 to 86400", arg);
        a->timeout_sec = (unsigned) v;
        return 0;
}

static int pidfd_open_(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_send_signal_(int pidfd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static int reload_failed(const char *m, unsigned changes) {
        /* One line each: a config with several problems. */
        for (;;) {
                size_t n = strcspn(m, "\n");

                log_error("reload failed: %.*s", (int) n, m);
                if (!m[n])
                        break;
                m += n + 1;
        }
        if (changes)
                log_error("nsmgrd applied %u %s before that, keeps the new config and tries the rest again", changes,
                          plural(changes, "change", "changes"));
        else
                log_error("nothing was changed; nsmgrd keeps running with the config it had");
        return EXIT_FAILURE;
}

/* On the bus, Reload answers once it is done, with the daemon's sentence. */
static int reload_over_bus(sd_bus *bus, unsigned timeout_sec) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        unsigned changes = 0;
        int r;

        r = bus_call_reload(bus, (uint64_t) timeout_sec * 1000000u, &changes, &err);
        if (r < 0) {
                _cleanup_(daemon_status_donep) DaemonStatus s = {};

                /* Not asked at all (refused, gone, stuck): one sentence. */
                if (r == -EACCES || r == -EPERM || r == -ETIMEDOUT || r == -ESRCH)
                        return fail(&err);
                if (daemon_status_read(&s) >= 0 && s.reload.result < 0)
                        changes = s.reload.changes;
                return reload_failed(nm_error_message(&err), changes);
        }
        printf("reloaded: %u %s\n", changes, plural(changes, "change", "changes"));
        return 0;
}

/* Done when a reload began after we asked and has finished. */
static bool reload_done(const DaemonStatus *s, uint64_t asked) {
        return s->reload.begun >= asked && s->reload.finished >= s->reload.begun && s->reload.time;
}

int verb_reload(const Verb *verb, int argc, char **argv) {
        _cleanup_(daemon_status_donep) DaemonStatus s = {};
        _cleanup_(daemon_link_done) DaemonLink link = {};
        _cleanup_close_ int pidfd = -EBADF, ino = -EBADF;
        struct reload_args a = { .timeout_sec = 120 };
        uint64_t asked, deadline, starttime;
        int optind, r;

        r = parse_options(verb, argc, argv, on_reload_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("reload: unexpected argument '%s'", argv[optind]);

        r = daemon_status_read(&s);
        if (r < 0 && r != -ENOENT) {
                log_error("cannot read " NSMGRD_STATUS_FILE ": %s", r == -EBADMSG ? "it is damaged" : strerror(-r));
                return EXIT_FAILURE;
        }
        if (r == -ENOENT || !daemon_status_alive(&s)) {
                log_error("cannot reload: nsmgrd is not running; start it with 'systemctl start nsmgrd'");
                return EXIT_NOT_RUNNING;
        }
        (void) daemon_link_open(&link);
        if (link.bus)
                return reload_over_bus(link.bus, a.timeout_sec);

        /* A pidfd names this very process; checked again after opening it,
         * so that a PID reused in between is not signalled. */
        pidfd = pidfd_open_(s.pid);
        if (pidfd < 0 || proc_starttime(s.pid, &starttime) < 0 || starttime != s.pid_starttime) {
                log_error("cannot reload: nsmgrd (pid %d) has just exited", (int) s.pid);
                return EXIT_NOT_RUNNING;
        }

        /* Watch for the record being replaced before asking, so that no
         * update can slip between reading it and waiting. */
        ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ino < 0 || inotify_add_watch(ino, NSMGR_RUN_DIR, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
                log_error("cannot watch " NSMGR_RUN_DIR " for nsmgrd's answer: %m");
                return EXIT_FAILURE;
        }
        asked = now_monotonic_usec();
        deadline = asked + (uint64_t) a.timeout_sec * 1000000u;
        if (pidfd_send_signal_(pidfd, SIGHUP) < 0) {
                if (errno == ESRCH) {
                        log_error("cannot reload: nsmgrd (pid %d) has just exited", (int) s.pid);
                        return EXIT_NOT_RUNNING;
                }
                log_error("cannot send SIGHUP to nsmgrd (pid %d): %m", (int) s.pid);
                return EXIT_FAILURE;
        }

        for (;;) {
                struct pollfd p[2] = { { .fd = ino, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
                _Alignas(struct inotify_event) char buf[4096];
                uint64_t now;

                daemon_status_done(&s);
                if (daemon_status_read(&s) >= 0 && reload_done(&s, asked))
                        break;
                now = now_monotonic_usec();
                if (now >= deadline) {
                        log_error("nsmgrd (pid %d) did not finish reloading within %us; see 'journalctl -u nsmgrd'",
                                  (int) s.pid, a.timeout_sec);
                        return EXIT_FAILURE;
                }
                r = poll(p, 2, (int) ((deadline - now + 999) / 1000));
                if (r < 0 && errno != EINTR) {
                        log_error("cannot wait for nsmgrd: %m");
                        return EXIT_FAILURE;
                }
                if (p[1].revents & POLLIN) {
                        log_error("nsmgrd (pid %d) exited while reloading; see 'journalctl -u nsmgrd'", (int) s.pid);
                        return EXIT_FAILURE;
                }
                while (read(ino, buf, sizeof(buf)) > 0)
                        ;
        }

        if (s.reload.result < 0)
                return reload_failed(s.reload.error ? s.reload.error : strerror(-s.reload.result), s.reload.changes);
        printf("reloaded: %u %s\n", s.reload.changes, plural(s.reload.changes, "change", "changes"));
        return 0;
}

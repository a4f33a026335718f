/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgrd: parse the arguments, run the daemon (daemon.h), turn the result
 * into an exit status. Logging lives here, at the edge. */
#include <getopt.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sysexits.h>
/* The file and line of log_line() would be the same in every entry. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "daemon.h"
#include "macro.h"

static const char *program_name = "nsmgrd";
static int max_level = LOG_INFO;
/* stderr is systemd's stream to the journal, and the journal's own socket
 * is there: lines go to the journal with their fields. A stream to the
 * journal without the socket (a container) gets them with a <N> prefix. */
static bool under_journal;
static bool journal_prefix;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* Under systemd a line is a journal entry of its own, with the fields to
 * filter on (MESSAGE_ID=, NSMGR_NAMESPACE=, NSMGR_INTERFACE=: daemon.h).
 * If the journal's socket cannot be reached, the stream still reads "<N>"
 * in front of a line as its priority (sd-daemon(3)); on a terminal, a word
 * says it instead. */
static void log_line(int prio, const LogFields *f, const char *msg, void *userdata) {
        if (prio > max_level)
                return;
        if (under_journal) {
                _cleanup_free_ char *m = NULL, *p = NULL, *id = NULL, *ns = NULL, *ifn = NULL;
                struct iovec iov[6];
                size_t n = 0;

                if (asprintf(&m, "MESSAGE=%s", msg) >= 0 && asprintf(&p, "PRIORITY=%d", prio) >= 0) {
                        iov[n++] = (struct iovec) { m, strlen(m) };
                        iov[n++] = (struct iovec) { p, strlen(p) };
                        iov[n++] = (struct iovec) { (char *) "SYSLOG_IDENTIFIER=nsmgrd", strlen("SYSLOG_IDENTIFIER=nsmgrd") };
                        if (f && f->message_id && asprintf(&id, "MESSAGE_ID=%s", f->message_id) >= 0)
                                iov[n++] = (struct iovec) { id, strlen(id) };
                        if (f && f->netns && asprintf(&ns, "NSMGR_NAMESPACE=%s", f->netns) >= 0)
                                iov[n++] = (struct iovec) { ns, strlen(ns) };
                        if (f && f->ifname && asprintf(&ifn, "NSMGR_INTERFACE=%s", f->ifname) >= 0)
                                iov[n++] = (struct iovec) { ifn, strlen(ifn) };
                        if (sd_journal_sendv(iov, (int) n) >= 0)
                                return;
                }
        }
        if (journal_prefix) {
                fprintf(stderr, "<%d>%s\n", prio, msg);
                return;
        }
        fprintf(stderr, "%s: %s%s\n", program_name, prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "",
                msg);
}

_printf_(2, 3) static void log_at(int prio, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg)
                log_line(prio, NULL, msg, NULL);
}

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connects to
 * stderr (systemd.exec(5)); only when stderr is that very stream is it the
 * journal (a redirection in between makes it something else). */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

static void help(void) {
        printf("Usage: %s [OPTIONS]\n\n"
               "Keeps named network namespaces (/run/netns/NAME) as the config declares them:\n"
               "applies the config at start, then repairs drift, reloads on SIGHUP, and on\n"
               "SIGTERM stops without tearing anything down. Runs in the foreground; made\n"
               "for systemd (Type=notify, WatchdogSec=, ExecReload=nsmgrctl reload).\n\n"
               "Options:\n"
               "  -c, --config FILE     read FILE only (default: %s and %s/*.conf)\n"
               "      --debounce MSEC   wait this long after a change before repairing (default: %u)\n"
               "      --sweep SEC       look at everything this often, for drift no event told of;\n"
               "                        0: never (default: %u)\n"
               "      --log-level LEVEL emerg, alert, crit, err, warning, notice, info (default), debug\n"
               "  -h, --help            show this help\n"
               "      --version         show the version\n\n"
               "Exit status: 0 stopped by SIGTERM or SIGINT, 1 could not start, 2 usage error,\n"
               "78 the config is broken (systemd does not restart it for that).\n"
               "See nsmgrd(8), nsmgrctl(8).\n",
               program_name, "/etc/nsmgr/nsmgr.conf", "/etc/nsmgr/conf.d", DAEMON_DEBOUNCE_USEC / 1000,
               (unsigned) (DAEMON_SWEEP_USEC / 1000000));
}

static int usage_error(const char *fmt, ...) _printf_(1, 2);
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s --help' for more information.\n", program_name);
        return 2;
}

static int parse_level(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i]))
                        return (int) i;
        return -1;
}

enum { OPT_DEBOUNCE = 0x100, OPT_SWEEP, OPT_LOG_LEVEL, OPT_VERSION };

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "config",    required_argument, NULL, 'c' },
                { "debounce",  required_argument, NULL, OPT_DEBOUNCE },
                { "sweep",     required_argument, NULL, OPT_SWEEP },
                { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
                { "help",      no_argument,       NULL, 'h' },
                { "version",   no_argument,       NULL, OPT_VERSION },
                {}
        };
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        DaemonOptions o = { .log = log_line };
        bool bad_config = false;
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        o.config = optarg;
                        break;
                case OPT_DEBOUNCE: {
                        char *end;
                        unsigned long ms;

                        errno = 0;
                        ms = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || ms > 60000)
                                return usage_error("--debounce: '%s' is not a number of milliseconds from 0 to 60000",
                                                   optarg);
                        /* 0 would mean "the default" to the library. */
                        o.debounce_usec = ms ? ms * 1000 : 1;
                        break;
                }
                case OPT_SWEEP: {
                        char *end;
                        unsigned long sec;

                        errno = 0;
                        sec = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || sec > 7 * 24 * 3600)
                                return usage_error("--sweep: '%s' is not a number of seconds from 0 to 604800", optarg);
                        o.sweep_usec = sec ? (uint64_t) sec * 1000000 : DAEMON_SWEEP_OFF;
                        break;
                }
                case OPT_LOG_LEVEL:
                        max_level = parse_level(optarg);
                        if (max_level < 0)
                                return usage_error("--log-level: unknown level '%s' (one of emerg, alert, crit, err, warning, notice, info, debug)",
                                                   optarg);
                        break;
                case 'h':
                        help();
                        return 0;
                case OPT_VERSION:
                        puts("nsmgrd " NSMGR_VERSION);
                        return 0;
                case ':':
                        return usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        return usage_error("unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);

        /* sd_journal_send() drops what it cannot deliver without a word
         * when the journal's socket is missing: then the stream it is. */
        journal_prefix = stderr_is_journal();
        under_journal = journal_prefix && access("/run/systemd/journal/socket", W_OK) >= 0;
        log_at(LOG_INFO, "nsmgrd " NSMGR_VERSION " starting");
        if (geteuid() != 0)
                log_at(LOG_WARNING, "not running as root: making and pinning namespaces will fail");

        r = daemon_run(&o, &bad_config, &err);
        if (r < 0) {
                _cleanup_free_ char *copy = strdup(nm_error_message(&err));
                char *save = NULL;

                for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
                        log_at(LOG_ERR, "%s", line);
                if (bad_config) {
                        log_at(LOG_ERR, "cannot start: the config is broken; fix it and start nsmgrd again");
                        return EX_CONFIG;
                }
                log_at(LOG_ERR, "cannot start; nothing was torn down");
                return EXIT_FAILURE;
        }
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "ctl.h"

const char *program_name = "nsmgrctl";

static void vlog(const char *prefix, const char *fmt, va_list ap) {
        fprintf(stderr, "%s: %s", program_name, prefix);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void log_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog("", fmt, ap);
        va_end(ap);
}

void log_warning(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog("warning: ", fmt, ap);
        va_end(ap);
}

int fail(const NmError *err) {
        const char *m = nm_error_message(err);

        /* A config with several problems says each on a line of its own. */
        for (;;) {
                const char *nl = strchr(m, '\n');

                if (!nl) {
                        log_error("%s", m);
                        break;
                }
                log_error("%.*s", (int) (nl - m), m);
                m = nl + 1;
        }
        return EXIT_FAILURE;
}

int usage_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog("", fmt, ap);
        va_end(ap);
        fprintf(stderr, "Try '%s --help' for more information.\n", program_name);
        return EXIT_USAGE;
}

int parse_options(int argc, char **argv, const char *verb, const struct option *opts, const char *shortopts,
                  opt_fn_t fn, void *userdata, int *ret_optind) {
        _cleanup_free_ char *spec = NULL;
        int c;

        /* A leading ':' makes getopt tell a missing argument (':') from an
         * unknown option ('?'); a leading '+' (kept first) stops at the
         * first positional argument. */
        if (asprintf(&spec, "%s:%s", shortopts[0] == '+' ? "+" : "",
                     shortopts[0] == '+' ? shortopts + 1 : shortopts) < 0)
                return EXIT_FAILURE;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, spec, opts, NULL)) >= 0) {
                const char *word = argv[optind - 1];
                int r;

                if (c == ':') {
                        if (optopt && !strneq(word, "--", 2))
                                return usage_error("%s: option '-%c' needs an argument", verb, optopt);
                        return usage_error("%s: option '%s' needs an argument", verb, word);
                }
                if (c == '?') {
                        if (optopt && strneq(word, "--", 2) && strchr(word, '='))
                                return usage_error("%s: option '%.*s' takes no argument", verb,
                                                   (int) strcspn(word, "="), word);
                        if (optopt)
                                return usage_error("%s: unknown option '-%c'", verb, optopt);
                        return usage_error("%s: unknown option '%.*s'", verb, (int) strcspn(word, "="), word);
                }
                r = fn(c, optarg, userdata);
                if (r != 0)
                        return r;
        }
        *ret_optind = optind;
        return 0;
}

void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
}

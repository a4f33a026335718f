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

int parse_options(const Verb *verb, int argc, char **argv, opt_fn_t fn, void *userdata, int *ret_optind) {
        _cleanup_free_ struct option *opts = NULL;
        _cleanup_free_ char *spec = NULL;
        size_t n = 0, k = 0, s = 0;
        int c;

        for (const VerbOption *o = verb->options; o->name; o++)
                n++;
        opts = calloc(n + 2, sizeof(struct option));
        /* "+": stop at the first positional argument; ":": tell a missing
         * argument (':') from an unknown option ('?'); 3 bytes per option. */
        spec = malloc(3 + 3 * (n + 1) + 1);
        if (!opts || !spec) {
                log_error("out of memory");
                return EXIT_FAILURE;
        }
        if (verb->options_first)
                spec[s++] = '+';
        spec[s++] = ':';
        for (const VerbOption *o = verb->options; o->name; o++) {
                opts[k++] = (struct option) { o->name, o->arg ? required_argument : no_argument, NULL, o->val };
                if (o->short_name) {
                        spec[s++] = o->short_name;
                        if (o->arg)
                                spec[s++] = ':';
                }
        }
        opts[k] = (struct option) { "help", no_argument, NULL, OPT_HELP };
        spec[s++] = 'h';
        spec[s] = 0;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, spec, opts, NULL)) >= 0) {
                const char *word = argv[optind - 1];
                int r;

                if (c == ':') {
                        if (optopt && !strneq(word, "--", 2))
                                return usage_error("%s: option '-%c' needs an argument", verb->name, optopt);
                        return usage_error("%s: option '%s' needs an argument", verb->name, word);
                }
                if (c == '?') {
                        if (optopt && strneq(word, "--", 2) && strchr(word, '='))
                                return usage_error("%s: option '%.*s' takes no argument", verb->name,
                                                   (int) strcspn(word, "="), word);
                        if (optopt)
                                return usage_error("%s: unknown option '-%c'", verb->name, optopt);
                        return usage_error("%s: unknown option '%.*s'", verb->name, (int) strcspn(word, "="),
                                           word);
                }
                if (c == 'h' || c == OPT_HELP) {
                        verb_help(verb);
                        return EXIT_SUCCESS;
                }
                /* The short form means what the long one does. */
                for (const VerbOption *o = verb->options; o->name; o++)
                        if (o->short_name && c == o->short_name)
                                c = o->val;
                r = fn ? fn(c, optarg, userdata) : EXIT_USAGE;
                if (r != 0)
                        return r;
        }
        *ret_optind = optind;
        return ARGS_PARSED;
}

void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
}

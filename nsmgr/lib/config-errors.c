/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The problems of a config, collected while reading and checking it and
 * reported at once: sorted by file (in the order read) and line, each said
 * once. */
#include <stdarg.h>

#include "config-internal.h"
#include "strv.h"

/* More than this many lines help nobody: the first ones show the pattern. */
#define ERRORS_SHOWN 50

void config_error_addv(ConfigErrors *e, const char *file, int line, const char *fmt, va_list ap) {
        char *msg = NULL;

        if (vasprintf(&msg, fmt, ap) < 0 || GREEDY_REALLOC(e->v, e->cap, e->n + 1) < 0) {
                if (msg)
                        free(msg);
                e->oom = true;
                return;
        }
        e->v[e->n] = (ConfigError) { .file = file, .line = line, .order = e->n, .msg = msg };
        e->n++;
}

void config_error_add(ConfigErrors *e, const char *file, int line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        config_error_addv(e, file, line, fmt, ap);
        va_end(ap);
}

void config_errors_done(ConfigErrors *e) {
        for (size_t i = 0; i < e->n; i++)
                free(e->v[i].msg);
        free(e->v);
        *e = (ConfigErrors) {};
}

static int place_cmp(const ConfigError *x, const ConfigError *y) {
        if (x->file_index != y->file_index)
                return x->file_index < y->file_index ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return 0;
}

static int order_cmp(const ConfigError *x, const ConfigError *y) {
        return (x->order > y->order) - (x->order < y->order);
}

/* In the order of the files and lines; on one line, as found. */
static int error_cmp(const void *a, const void *b) {
        return place_cmp(a, b) ?: order_cmp(a, b);
}

/* The same, with the same text next to each other, to find repeats. */
static int error_text_cmp(const void *a, const void *b) {
        const ConfigError *x = a, *y = b;

        return place_cmp(x, y) ?: strcmp(x->msg, y->msg) ?: order_cmp(x, y);
}

int config_errors_report(ConfigErrors *e, char *const *files, NmError *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0, shown = 0, more = 0;
        FILE *f;

        if (e->oom)
                return nm_error(err, -ENOMEM, "out of memory while reading the config");
        if (e->n == 0)
                return 0;

        for (size_t i = 0; i < e->n; i++) {
                size_t k = 0;

                while (files && files[k] && !(e->v[i].file && streq(files[k], e->v[i].file)))
                        k++;
                e->v[i].file_index = k;
        }
        /* Sorting, twice, keeps this O(N log N) when thousands of
         * problems sit on one line. */
        qsort(e->v, e->n, sizeof(ConfigError), error_text_cmp);
        for (size_t i = 1; i < e->n; i++)
                e->v[i].repeated = place_cmp(&e->v[i], &e->v[i - 1]) == 0 && streq(e->v[i].msg, e->v[i - 1].msg);
        qsort(e->v, e->n, sizeof(ConfigError), error_cmp);

        f = open_memstream(&text, &len);
        if (!f)
                return nm_error(err, -ENOMEM, "out of memory while reading the config");
        for (size_t i = 0; i < e->n; i++) {
                const ConfigError *x = &e->v[i];

                if (x->repeated)
                        continue;
                if (shown == ERRORS_SHOWN) {
                        more++;
                        continue;
                }
                if (shown > 0)
                        fputc('\n', f);
                if (x->file && x->line > 0)
                        fprintf(f, "%s:%d: %s", x->file, x->line, x->msg);
                else if (x->file)
                        fprintf(f, "%s: %s", x->file, x->msg);
                else
                        fputs(x->msg, f);
                shown++;
        }
        if (more > 0)
                fprintf(f, "\n... and %zu more problem%s; the first %d are shown", more, more == 1 ? "" : "s",
                        ERRORS_SHOWN);
        if (fclose(f) != 0 || !text)
                return nm_error(err, -ENOMEM, "out of memory while reading the config");
        return nm_error(err, -EINVAL, "%s", text);
}

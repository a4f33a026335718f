/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Output for people: colour when it helps, tables aligned as a terminal
 * shows them. */
#include <wchar.h>

#include "ctl.h"
#include "strv.h"

bool colors_enabled(void) {
        static int cached = -1;

        /* As systemd decides (terminal-util.c): a terminal that is not
         * "dumb" on standard output; and https://no-color.org: NO_COLOR set
         * to anything but "" means none. */
        if (cached < 0) {
                const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

                cached = isatty(STDOUT_FILENO) && !(no && *no) && !(term && streq(term, "dumb"));
        }
        return cached;
}

const char *ansi_highlight(void) {
        return colors_enabled() ? "\x1B[0;1;39m" : "";
}

const char *ansi_red(void) {
        return colors_enabled() ? "\x1B[0;1;31m" : "";
}

const char *ansi_green(void) {
        return colors_enabled() ? "\x1B[0;1;32m" : "";
}

const char *ansi_normal(void) {
        return colors_enabled() ? "\x1B[0m" : "";
}

size_t display_width(const char *s) {
        _cleanup_free_ wchar_t *w = NULL;
        size_t n, len = strlen(s);
        int cols;

        n = mbstowcs(NULL, s, 0);
        if (n == (size_t) -1)
                return len;
        w = calloc(n + 1, sizeof(wchar_t));
        if (!w || mbstowcs(w, s, n + 1) == (size_t) -1)
                return len;
        cols = wcswidth(w, n);
        /* A character the locale calls unprintable: count it as one. */
        if (cols < 0) {
                cols = 0;
                for (size_t i = 0; i < n; i++) {
                        int c = wcwidth(w[i]);
                        cols += c < 0 ? 1 : c;
                }
        }
        return (size_t) cols;
}

typedef struct Row {
        char **cells;
        bool red;
} Row;

struct Table {
        size_t n_columns;
        char **header;
        bool *right;
        Row *rows;
        size_t n_rows, cap;
};

Table *table_new(size_t n_columns, const char *const *header) {
        Table *t = calloc(1, sizeof(Table));

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->right = calloc(n_columns, sizeof(bool));
        if (!t->right)
                return table_free(t);
        for (size_t i = 0; i < n_columns; i++)
                if (strv_extend(&t->header, header[i]) < 0)
                        return table_free(t);
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        strv_free(t->header);
        free(t->right);
        for (size_t i = 0; i < t->n_rows; i++)
                strv_free(t->rows[i].cells);
        free(t->rows);
        free(t);
        return NULL;
}

void table_align_right(Table *t, size_t i) {
        if (i < t->n_columns)
                t->right[i] = true;
}

int table_add_row(Table *t, size_t n, const char *const *cells, bool red) {
        _cleanup_strv_free_ char **l = NULL;

        if (n == 0 || n > t->n_columns)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (strv_extend(&l, cells[i] ? cells[i] : "-") < 0)
                        return -ENOMEM;
        if (greedy_realloc((void **) &t->rows, &t->cap, t->n_rows + 1, sizeof(Row)) < 0)
                return -ENOMEM;
        t->rows[t->n_rows++] = (Row) { TAKE_PTR(l), red };
        return 0;
}

/* The cells of a row that set column widths: all of a full row, all but
 * the last of a short one. */
static size_t sized_cells(const Table *t, char *const *cells) {
        size_t n = strv_length(cells);

        return n < t->n_columns ? n - 1 : n;
}

static void print_row(const Table *t, const size_t *width, char *const *cells, const char *on, const char *off) {
        size_t n = strv_length(cells), sized = sized_cells(t, cells);

        fputs(on, stdout);
        for (size_t i = 0; i < n; i++) {
                bool last = i + 1 == n;
                size_t pad = i < sized && width[i] > display_width(cells[i]) ? width[i] - display_width(cells[i]) : 0;

                if (i > 0)
                        fputs("  ", stdout);
                if (t->right[i] && i < sized)
                        printf("%*s", (int) pad, "");
                fputs(cells[i], stdout);
                /* No trailing blanks after the last cell. */
                if (!t->right[i] && !last)
                        printf("%*s", (int) pad, "");
        }
        fputs(off, stdout);
        putchar('\n');
}

void table_print(const Table *t, bool legend) {
        _cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));

        if (!width)
                return;
        /* The header counts even when it is left out: the rows are the
         * same either way. */
        for (size_t i = 0; i < t->n_columns; i++)
                width[i] = display_width(t->header[i]);
        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t i = 0; i < sized_cells(t, t->rows[r].cells); i++) {
                        size_t w = display_width(t->rows[r].cells[i]);
                        if (w > width[i])
                                width[i] = w;
                }

        if (legend && t->n_rows > 0)
                print_row(t, width, t->header, ansi_highlight(), ansi_normal());
        for (size_t r = 0; r < t->n_rows; r++)
                print_row(t, width, t->rows[r].cells, t->rows[r].red ? ansi_red() : "",
                          t->rows[r].red ? ansi_normal() : "");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>

#include "strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **s = l; *s; s++)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

int strv_push_at(char ***l, size_t n, char *value) {
        char **nl = *l;

        if (!value)
                return -ENOMEM;
        /* Room doubles: a list of thousands is built in linear time. */
        if (!nl || (n + 2) * sizeof(char *) > malloc_usable_size(nl)) {
                size_t cap = 4;

                while (cap < n + 2)
                        cap *= 2;
                nl = realloc(*l, cap * sizeof(char *));
                if (!nl) {
                        free(value);
                        return -ENOMEM;
                }
        }
        nl[n] = value;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_push(char ***l, char *value) {
        return strv_push_at(l, strv_length(*l), value);
}

int strv_extend(char ***l, const char *value) {
        return strv_push(l, strdup(value));
}

int strv_extendv(char ***l, const char *fmt, va_list ap) {
        char *s;

        if (vasprintf(&s, fmt, ap) < 0)
                return -ENOMEM;
        return strv_push(l, s);
}

int strv_extendf(char ***l, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_extendv(l, fmt, ap);
        va_end(ap);
        return r;
}

bool strv_contains(char *const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

char **strv_copy(char *const *l) {
        char **c = calloc(strv_length(l) + 1, sizeof(char *));
        size_t i = 0;

        if (!c)
                return NULL;
        STRV_FOREACH(s, l) {
                c[i] = strdup(*s);
                if (!c[i])
                        return strv_free(c);
                i++;
        }
        return c;
}

bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

int greedy_realloc(void **p, size_t *cap, size_t need, size_t size) {
        size_t ncap;
        void *q;

        if (need <= *cap)
                return 0;
        ncap = *cap ? *cap : 8;
        while (ncap < need)
                ncap *= 2;
        q = realloc(*p, ncap * size);
        if (!q)
                return -ENOMEM;
        memset((char *) q + *cap * size, 0, (ncap - *cap) * size);
        *p = q;
        *cap = ncap;
        return 0;
}

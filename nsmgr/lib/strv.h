/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

/* NULL-terminated string vectors. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
int strv_push(char ***l, char *value);          /* takes ownership */
/* The same for a caller that knows the length n: amortized O(1), for
 * lists of thousands. */
int strv_push_at(char ***l, size_t n, char *value);
int strv_extend(char ***l, const char *value);  /* copies */
int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
int strv_extendv(char ***l, const char *fmt, va_list ap) _printf_(2, 0);
bool strv_contains(char *const *l, const char *s);
char **strv_copy(char *const *l);
bool strv_equal(char *const *a, char *const *b);

static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)

/* Grows an array to hold at least need elements (doubling). */
int greedy_realloc(void **p, size_t *cap, size_t need, size_t size);
#define GREEDY_REALLOC(p, cap, need) greedy_realloc((void **) &(p), &(cap), (need), sizeof(*(p)))

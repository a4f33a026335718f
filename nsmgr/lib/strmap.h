/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A small hash map from strings (copied) to size_t, for lookups that
 * would otherwise make work over N objects cost N^2. */
typedef struct StrMap {
        struct StrMapSlot {
                char *key;
                size_t value;
        } *slots;
        size_t n, cap;
} StrMap;

int strmap_put(StrMap *m, const char *key, size_t value);
bool strmap_get(const StrMap *m, const char *key, size_t *ret);
void strmap_remove(StrMap *m, const char *key);
void strmap_done(StrMap *m);

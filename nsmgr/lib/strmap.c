/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>

#include "macro.h"
#include "strmap.h"

/* Open addressing with linear probing; removal re-inserts the rest of the
 * cluster, so lookups never need tombstones. */

static uint64_t hash(const char *s) {
        uint64_t h = 1469598103934665603ull;

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ull;
        return h;
}

static size_t find(const StrMap *m, const char *key) {
        size_t i = (size_t) hash(key) & (m->cap - 1);

        while (m->slots[i].key && !streq(m->slots[i].key, key))
                i = (i + 1) & (m->cap - 1);
        return i;
}

static int grow(StrMap *m) {
        StrMap bigger = { .cap = m->cap ? m->cap * 2 : 64 };

        bigger.slots = calloc(bigger.cap, sizeof(struct StrMapSlot));
        if (!bigger.slots)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
                if (m->slots[i].key) {
                        size_t j = find(&bigger, m->slots[i].key);
                        bigger.slots[j] = m->slots[i];
                        bigger.n++;
                }
        free(m->slots);
        *m = bigger;
        return 0;
}

int strmap_put(StrMap *m, const char *key, size_t value) {
        size_t i;

        if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
                return -ENOMEM;
        i = find(m, key);
        if (!m->slots[i].key) {
                m->slots[i].key = strdup(key);
                if (!m->slots[i].key)
                        return -ENOMEM;
                m->n++;
        }
        m->slots[i].value = value;
        return 0;
}

bool strmap_get(const StrMap *m, const char *key, size_t *ret) {
        size_t i;

        if (m->cap == 0)
                return false;
        i = find(m, key);
        if (!m->slots[i].key)
                return false;
        if (ret)
                *ret = m->slots[i].value;
        return true;
}

void strmap_remove(StrMap *m, const char *key) {
        size_t i;

        if (m->cap == 0)
                return;
        i = find(m, key);
        if (!m->slots[i].key)
                return;
        free(m->slots[i].key);
        m->slots[i].key = NULL;
        m->n--;
        for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
                struct StrMapSlot s = m->slots[j];
                size_t k;

                m->slots[j].key = NULL;
                k = find(m, s.key);
                m->slots[k] = s;
        }
}

void strmap_done(StrMap *m) {
        for (size_t i = 0; i < m->cap; i++)
                free(m->slots[i].key);
        free(m->slots);
        *m = (StrMap) {};
}

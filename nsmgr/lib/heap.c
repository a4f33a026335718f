/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* glibc's largest mmap threshold on 64 bits (DEFAULT_MMAP_THRESHOLD_MAX):
 * a block above it would be mapped apart, not carved from the heap. */
#define HEAP_PREFAULT_MAX ((size_t) 32 << 20)

void heap_prefault(size_t bytes) {
        uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE), a, b;
        void *p;

        if (bytes < 64 * page)
                return;   /* a few faults: not worth changing how malloc works */
        if (bytes > HEAP_PREFAULT_MAX)
                bytes = HEAP_PREFAULT_MAX;
        /* The block must come from the heap (not a mapping of its own that
         * free() unmaps), and stay there once freed (not be trimmed). */
        if (mallopt(M_MMAP_THRESHOLD, (int) HEAP_PREFAULT_MAX) != 1 ||
            mallopt(M_TRIM_THRESHOLD, (int) (2 * HEAP_PREFAULT_MAX)) != 1)
                return;
        p = malloc(bytes);
        if (!p)
                return;
        a = ((uintptr_t) p + page - 1) & ~(page - 1);
        b = ((uintptr_t) p + bytes) & ~(page - 1);
        if (b > a)
                (void) madvise((void *) a, b - a, MADV_POPULATE_WRITE);
        /* Back into the heap's top, from which the next allocations come. */
        free(p);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "procscan.h"

static int entry_cmp(const void *a, const void *b) {
        const struct ProcScanEntry *x = a, *y = b;

        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int proc_scan(ProcScan *ret) {
        _cleanup_closedir_ DIR *d = NULL;
        struct ProcScanEntry *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        d = opendir("/proc");
        if (!d)
                return negative_errno();

        while ((de = readdir(d))) {
                char path[64], link[64];
                unsigned long long ino;
                ssize_t len;
                char *end;
                long pid;

                pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0 || end - de->d_name > 20)
                        continue;
                memcpy(stpcpy(path, de->d_name), "/ns/net", sizeof("/ns/net"));
                /* Processes come and go, and some are not ours to see. The
                 * link's text, "net:[INODE]", says what stat() would, for
                 * less: the kernel needs no inode for it (ns_get_name()
                 * rather than ns_get_path()), and every process pays. */
                len = readlinkat(dirfd(d), path, link, sizeof(link) - 1);
                if (len < 0)
                        continue;
                link[len] = 0;
                if (!strneq(link, "net:[", 5))
                        continue;
                ino = strtoull(link + 5, &end, 10);
                if (*end != ']')
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 256;
                        struct ProcScanEntry *nv = realloc(v, ncap * sizeof(*v));
                        if (!nv) {
                                free(v);
                                return -ENOMEM;
                        }
                        v = nv;
                        cap = ncap;
                }
                v[n++] = (struct ProcScanEntry) { .ino = (ino_t) ino, .pid = (pid_t) pid };
        }

        if (n > 1)
                qsort(v, n, sizeof(*v), entry_cmp);
        ret->v = v;
        ret->n = n;
        return 0;
}

void proc_scan_done(ProcScan *s) {
        s->v = mfree(s->v);
        s->n = 0;
}

size_t proc_scan_find(const ProcScan *s, ino_t ino, size_t *ret_first) {
        size_t lo = 0, hi = s->n, count = 0;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->v[mid].ino < ino)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        while (lo + count < s->n && s->v[lo + count].ino == ino)
                count++;
        if (ret_first)
                *ret_first = lo;
        return count;
}

char *proc_comm(pid_t pid) {
        char path[64];
        char *comm = NULL;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        if (read_one_line(path, &comm) < 0)
                return strdup("?");
        return comm;
}

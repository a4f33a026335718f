/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "procscan.h"
#include "strv.h"

static int entry_cmp(const void *a, const void *b) {
        const struct ProcScanEntry *x = a, *y = b;

        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int pid_cmp(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return (x > y) - (x < y);
}

/* The namespace's inode from a /proc/PID/ns/net link, relative to dfd: the
 * link's text, "net:[INODE]", says what stat() would, for less (the kernel
 * needs no inode for it: ns_get_name() rather than ns_get_path()). 0 if it
 * cannot be read: processes come and go, and some are not ours to see. */
static ino_t netns_of(int dfd, const char *pid) {
        char path[64], link[64], *end;
        unsigned long long ino;
        ssize_t len;

        if (strlen(pid) > 40)
                return 0;
        memcpy(stpcpy(path, pid), "/ns/net", sizeof("/ns/net"));
        len = readlinkat(dfd, path, link, sizeof(link) - 1);
        if (len < 0)
                return 0;
        link[len] = 0;
        if (!strneq(link, "net:[", 5))
                return 0;
        ino = strtoull(link + 5, &end, 10);
        return *end == ']' ? (ino_t) ino : 0;
}

/* One pass over /proc: every process (only ino's, unless 0), but none of
 * skip (sorted). */
static int scan(ino_t only, const pid_t *skip, size_t n_skip, ProcScan *ret) {
        _cleanup_closedir_ DIR *d = NULL;
        struct ProcScanEntry *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        d = opendir("/proc");
        if (!d)
                return negative_errno();

        while ((de = readdir(d))) {
                char *end;
                long pid;
                ino_t ino;

                pid = strtol(de->d_name, &end, 10);
                if (*end || pid <= 0)
                        continue;
                if (n_skip > 0 && bsearch(&(pid_t) { (pid_t) pid }, skip, n_skip, sizeof(pid_t), pid_cmp))
                        continue;
                ino = netns_of(dirfd(d), de->d_name);
                if (ino == 0 || (only != 0 && ino != only))
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
                v[n++] = (struct ProcScanEntry) { .ino = ino, .pid = (pid_t) pid };
        }

        if (n > 1)
                qsort(v, n, sizeof(*v), entry_cmp);
        ret->v = v;
        ret->n = n;
        return 0;
}

int proc_scan(ProcScan *ret) {
        return scan(0, NULL, 0, ret);
}

/* Kernel threads: the children of kthreadd, PID 2 of the initial PID
 * namespace, read from its children file (proc(5); CONFIG_PROC_CHILDREN).
 * Sorted; none when PID 2 is not kthreadd (another PID namespace) or the
 * file is missing. A kernel thread that starts meanwhile is only looked at. */
static size_t kernel_threads(pid_t **ret) {
        _cleanup_free_ char *stat = NULL, *children = NULL;
        pid_t *v = NULL;
        size_t n = 0, cap = 0;

        *ret = NULL;
        if (read_one_line("/proc/2/stat", &stat) < 0 || !strneq(stat, "2 (kthreadd) ", 13) ||
            !strneq(stat + 14, " 0 ", 3) ||
            read_full_file("/proc/2/task/2/children", &children, NULL) < 0)
                return 0;
        for (char *p = children, *end; *p; p = end) {
                long pid = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (pid <= 0 || GREEDY_REALLOC(v, cap, n + 1) < 0)
                        continue;
                v[n++] = (pid_t) pid;
        }
        if (n > 1)
                qsort(v, n, sizeof(pid_t), pid_cmp);
        *ret = v;
        return n;
}

int proc_scan_netns(ino_t ino, ProcScan *ret) {
        _cleanup_free_ pid_t *kthreads = NULL;
        size_t n_kthreads = 0;

        /* Kernel threads live in the initial network namespace and never
         * leave it: for any other, there is no need to look at them, which
         * on a small machine is half of /proc and on a big one most of it. */
        if (netns_of(AT_FDCWD, "/proc/2") != ino)
                n_kthreads = kernel_threads(&kthreads);
        return scan(ino, kthreads, n_kthreads, ret);
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

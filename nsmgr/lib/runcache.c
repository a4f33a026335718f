/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "observe.h"
#include "paths.h"
#include "runcache.h"
#include "strv.h"

/* Longer than a tick of the clock file times come from (the kernel's
 * coarse clock: a jiffy, at most 10 ms). */
#define RACY_NSEC (50 * 1000 * 1000LL)

static long long ts_nsec(const struct timespec *t) {
        return (long long) t->tv_sec * 1000000000LL + t->tv_nsec;
}

void file_stamp(const char *path, FileStamp *ret) {
        struct stat st;

        *ret = (FileStamp) { .valid = true };
        clock_gettime(CLOCK_REALTIME, &ret->taken);
        if (stat(path, &st) < 0) {
                if (errno == ENOENT)
                        ret->absent = true;
                else
                        ret->valid = false;
                return;
        }
        ret->dev = st.st_dev;
        ret->ino = st.st_ino;
        ret->size = st.st_size;
        ret->mtime = st.st_mtim;
}

bool file_stamp_holds(const char *path, const FileStamp *s) {
        FileStamp now;

        if (!s->valid)
                return false;
        /* Changed in the very tick it was stamped in: a later change in that
         * tick would leave the same mtime behind. */
        if (!s->absent && ts_nsec(&s->mtime) > ts_nsec(&s->taken) - RACY_NSEC)
                return false;
        file_stamp(path, &now);
        if (!now.valid || now.absent != s->absent)
                return false;
        return s->absent || (now.dev == s->dev && now.ino == s->ino && now.size == s->size &&
                             ts_nsec(&now.mtime) == ts_nsec(&s->mtime));
}

static void cached_leases_done(CachedLeases *l) {
        free(l->network);
        ipam_close(&l->ipam);
}

void run_cache_forget(RunCache *c) {
        state_done(&c->state);
        c->state_stamp = (FileStamp) {};
        for (size_t i = 0; i < c->n_leases; i++)
                cached_leases_done(&c->leases[i]);
        c->leases = mfree(c->leases);
        c->n_leases = 0;
        c->host_ahead = host_read_ahead_free(c->host_ahead);
}

void run_cache_done(RunCache *c) {
        run_cache_forget(c);
}

bool run_cache_take_state(RunCache *c, State *ret, FileStamp *ret_stamp) {
        if (!c->state_stamp.valid || !file_stamp_holds(NSMGR_STATE_FILE, &c->state_stamp)) {
                state_done(&c->state);
                c->state_stamp = (FileStamp) {};
                c->misses++;
                return false;
        }
        *ret = c->state;
        *ret_stamp = c->state_stamp;
        c->state = (State) {};
        c->state_stamp = (FileStamp) {};
        c->hits++;
        return true;
}

void run_cache_keep_state(RunCache *c, State *s, const FileStamp *stamp) {
        state_done(&c->state);
        c->state_stamp = (FileStamp) {};
        /* A damaged file that was moved aside, or a record not saved as it
         * is: read again next time. */
        if (!stamp->valid || s->dirty || s->lost)
                return;
        c->state = *s;
        *s = (State) {};
        c->state_stamp = *stamp;
}

static bool same_network(const CachedLeases *l, const Network *nw) {
        return streq(l->network, nw->name) && cidr_equal(&l->subnet, &nw->subnet) &&
               cidr_equal(&l->subnet6, &nw->subnet6) && cidr_equal(&l->gateway, &nw->gateway) &&
               cidr_equal(&l->gateway6, &nw->gateway6);
}

static CachedLeases *find_leases(RunCache *c, const char *network) {
        for (size_t i = 0; i < c->n_leases; i++)
                if (streq(c->leases[i].network, network))
                        return &c->leases[i];
        return NULL;
}

static void drop_leases(RunCache *c, CachedLeases *l) {
        size_t i = (size_t) (l - c->leases);

        cached_leases_done(l);
        c->leases[i] = c->leases[--c->n_leases];
}

const Ipam *run_cache_leases(RunCache *c, const Network *nw) {
        CachedLeases *l = find_leases(c, nw->name);

        if (!l) {
                c->misses++;
                return NULL;
        }
        if (!same_network(l, nw) || !file_stamp_holds(l->ipam.dir, &l->stamp)) {
                drop_leases(c, l);
                c->misses++;
                return NULL;
        }
        c->hits++;
        return &l->ipam;
}

void run_cache_keep_leases(RunCache *c, const Network *nw, Ipam *ipam, const FileStamp *stamp) {
        CachedLeases *l = find_leases(c, nw->name), *v;

        if (l)
                drop_leases(c, l);
        if (!stamp->valid)
                return;
        v = realloc(c->leases, (c->n_leases + 1) * sizeof(CachedLeases));
        if (!v)
                return;
        c->leases = v;
        l = &v[c->n_leases];
        *l = (CachedLeases) { .network = strdup(nw->name), .subnet = nw->subnet, .subnet6 = nw->subnet6,
                              .gateway = nw->gateway, .gateway6 = nw->gateway6, .stamp = *stamp };
        if (!l->network)
                return;
        /* Let the lock go: the cache is read under reconcile_lock() alone,
         * which every writer of leases holds. */
        l->ipam = *ipam;
        l->ipam.lockfd = safe_close(l->ipam.lockfd);
        *ipam = (Ipam) { .lockfd = -EBADF };
        c->n_leases++;
}

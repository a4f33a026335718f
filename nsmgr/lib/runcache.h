/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "config.h"
#include "ipam.h"
#include "state.h"

/* What a long-running caller (nsmgrd) keeps from one run to the next, so
 * that a scoped repair does not read the whole state file and every lease
 * file again when nothing changed: at ten thousand namespaces those reads
 * alone cost more than the repair.
 *
 * Correctness first. Every writer of these files replaces them (rename,
 * link, unlink: the state file is written atomically, a lease folder changes
 * with every lease taken or given back) and holds reconcile_lock(), as the
 * user of the cache does. An entry is used only while the file (or folder)
 * still has the identity it had when read -- device, inode, size, mtime --
 * and only if that mtime lay safely before the read began: a change made
 * in the same tick of the file system's clock as the read would not move
 * the mtime (git's "racy clean" problem), so such an entry is read again.
 * Full runs never use it; they read everything and fill it anew. */

typedef struct FileStamp {
        bool valid;
        bool absent;             /* the file did not exist */
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        struct timespec taken;   /* CLOCK_REALTIME when stamped */
} FileStamp;

typedef struct CachedLeases {
        char *network;
        Cidr subnet, subnet6, gateway, gateway6;
        Ipam ipam;               /* the leases as read; unlocked, never written */
        FileStamp stamp;         /* of the network's lease folder */
} CachedLeases;

typedef struct RunCache {
        State state;
        FileStamp state_stamp;   /* state valid when this is */
        CachedLeases *leases;
        size_t n_leases;
        unsigned hits, misses;   /* for the debug log and the tests */
        struct HostReadAhead *host_ahead;   /* the host read for the next full run (observe.h), taken by it */
} RunCache;

void run_cache_done(RunCache *c);
void run_cache_forget(RunCache *c);

/* The stamp of a path now (stat); taken before reading it. */
void file_stamp(const char *path, FileStamp *ret);
/* Whether the path still has the stamp, and the stamp was taken late
 * enough after the file last changed to be trusted. */
bool file_stamp_holds(const char *path, const FileStamp *s);

/* The state as cached, moved into *ret with its stamp (the caller saves
 * it and gives it back with run_cache_keep_state()); false if it must be
 * read. */
bool run_cache_take_state(RunCache *c, State *ret, FileStamp *ret_stamp);
/* The state after a run: cached if it is what the file holds now (read
 * or saved by this run, stamped by `stamp`); otherwise dropped. */
void run_cache_keep_state(RunCache *c, State *s, const FileStamp *stamp);

/* The leases of a network as cached, or NULL if they must be read. */
const Ipam *run_cache_leases(RunCache *c, const Network *nw);
/* Keeps the leases of a network read under its lock (the lock is let go;
 * the caller's Ipam is taken over), stamped before they were read. */
void run_cache_keep_leases(RunCache *c, const Network *nw, Ipam *ipam, const FileStamp *stamp);

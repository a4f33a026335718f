/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "ipaddr.h"

/* The leases of every network as one run sees them, taken before the
 * desired model is built (desired.h): the addresses of the attachments the
 * config declares (leased now if new: "lease taken, then link made"), those
 * of run-time attachments (nsmgrctl attach, the OCI hook, CNI), and the
 * leases to give back. A lease is given back only by the execute stage,
 * after the plan removed what used the address ("link gone, then lease
 * released"): no address is ever handed out while an interface still has it.
 *
 * Every caller holds reconcile_lock(): CLI, daemon and plugins take and
 * release leases under that one lock; each network's folder lock
 * (ipam.h) guards the files themselves. */

typedef struct LeasedAttachment {
        const Network *network;  /* the config's */
        char *netns;
        char *ifname;
        Cidr addr4, addr6;       /* with the subnet's prefix; family 0: none */
        bool runtime;            /* made at run time, not declared */
        char *path;              /* a namespace known by its path (CNI_NETNS); NULL: /run/netns/NAME */
        uint64_t path_inode;     /* ... its inode when leased (0: unknown) */
        char *ports;             /* published ports the lease records ("8080:80/tcp,..."), or NULL */
        Source src;              /* of the declaration (or the network) */
} LeasedAttachment;

typedef struct LeaseRelease {
        char *network;
        char *netns;
        char *ifname;
        Cidr addr;
        const char *why;         /* "no longer declared", ... */
} LeaseRelease;

typedef struct LeaseTable {
        LeasedAttachment *v;
        size_t n;
        LeaseRelease *release;
        size_t n_release;
        struct LeaseMade {
                char *network;
                Cidr addr;
        } *made;                 /* written by this run: given back if it is refused */
        size_t n_made;
        char **notes;            /* "leased 198.18.20.2 to web:eth0 on network 'lab'" */
        char **warnings;
        bool dry_run;
        bool ipam_changed;       /* the network being synced was written to, or changed in memory */
} LeaseTable;

typedef enum LeaseSyncFlags {
        LEASE_SYNC_DRY_RUN = 1 << 0,       /* compute, write nothing */
        LEASE_SYNC_SCOPED_MODEL = 1 << 1,  /* `only` limits the attachments too */
} LeaseSyncFlags;

/* Reads every network's leases and leases what declared attachments lack.
 * `only` (a scoped run; NULL: everything) limits what is given back to the
 * leases of these namespaces; with LEASE_SYNC_SCOPED_MODEL also the
 * attachments returned (and leased), for a model of these namespaces
 * alone. */
struct RunCache;
/* A cache (runcache.h; NULL: none) spares a scoped run the reading of
 * leases nothing changed since it was filled. */
int leases_sync(const Config *cfg, const StrMap *only, LeaseSyncFlags flags, struct RunCache *cache, LeaseTable *ret,
                NmError *err);
void lease_table_done(LeaseTable *t);
/* Gives back the leases this run wrote: it was refused. */
void leases_rollback(const LeaseTable *t);
/* Gives one lease back (the execute stage), and the network's folder with
 * its last lease. */
int lease_release(const LeaseRelease *r, NmError *err);

/* The attachments of a namespace, for building the model. */
const LeasedAttachment *lease_table_find(const LeaseTable *t, const char *netns, const char *network);

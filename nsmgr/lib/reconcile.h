/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "config.h"
#include "error.h"

typedef struct HostReadAhead HostReadAhead;   /* observe.h */

/* Makes the system what the config declares: observe what exists, plan the
 * difference, check that every step can be taken (kernel features, names
 * taken by others), then take the steps and record what nsmgr made. What
 * the previous apply made and the config no longer declares is torn down;
 * what nsmgr did not make is never touched. `nsmgrctl apply` and nsmgrd
 * share this one code path. */

typedef enum ReconcileFlags {
        RECONCILE_DRY_RUN = 1 << 0,   /* plan and report, change nothing */
        RECONCILE_LOCKED  = 1 << 1,   /* the caller holds reconcile_lock() */
} ReconcileFlags;

/* One step of a plan, as structured data (apply --dry-run --json, the D-Bus
 * API's Apply): what is done to which object where. Strings are owned. */
typedef struct PlanStep {
        char *action;                 /* "create", "delete", "set", "add", "remove", "write", "up", "down",
                                       * "lease", "release", "rewrite" */
        char *kind;                   /* "namespace", "bridge", "veth", "macvlan", "vxlan", "vrf", "link",
                                       * "address", "route", "sysctl", "file", "nat", "lease" */
        char *netns;                  /* NULL: the host */
        char *ifname;                 /* NULL: no interface */
        char *detail;                 /* the rest: "198.18.0.2/24", "net.ipv4.ip_forward=1", "mtu 1400" */
        char *text;                   /* the same as one line of prose, as apply prints it */
} PlanStep;

/* A namespace's nsid in the host, as a run saw it. */
typedef struct NetnsId {
        char *name;
        ino_t ino;
        int nsid;
} NetnsId;

typedef struct ReconcileReport {
        PlanStep *steps;              /* every step taken (or planned), in order */
        size_t n_steps, cap_steps;
        char **changes;               /* one line per step taken (or planned): steps[].text */
        char **warnings;              /* "..., kept" */
        NetnsId *ids;                 /* the namespaces it looked at whose nsid in the host it saw (nsmgrd's watch) */
        size_t n_ids;
        unsigned n_netns;             /* declared namespaces */
        unsigned n_networks;
} ReconcileReport;

void reconcile_report_done(ReconcileReport *r);

/* The config is extended with what its networks expand to (network.h)
 * for the duration of the call, and restored before it returns. */
int reconcile(const Config *cfg, ReconcileFlags flags, ReconcileReport *report, NmError *err);

/* reconcile() on the host as a thread read it ahead (observe.h), started
 * after the caller took reconcile_lock(), which it still holds
 * (RECONCILE_LOCKED). Takes ahead, and frees it. */
int reconcile_read_ahead(const Config *cfg, HostReadAhead *ahead, ReconcileFlags flags, ReconcileReport *report,
                         NmError *err);

/* What a scoped run looks at and may change: some namespaces (and those
 * their veths join, and the host objects they need: their bridges, the host
 * ends of their veths), and only when asked, NAT. Everything else -- other
 * namespaces, host links nobody in the scope needs, namespaces to tear
 * down that are not named -- is neither read nor touched; its cost does
 * not grow with the number of namespaces the config declares. nsmgrd
 * repairs drift this way. */
typedef struct ReconcileScope {
        char *const *netns;           /* namespaces by name (declared, or wired for run-time attachments) */
        char *const *bridges;         /* host bridges to check besides those the namespaces use */
        bool nat;                     /* plan NAT too, from the whole model */
} ReconcileScope;

/* scope NULL: everything, as reconcile(). A cache (runcache.h; NULL:
 * none) spares scoped runs the reading of what did not change; full runs
 * fill it. */
struct RunCache;
int reconcile_scoped(const Config *cfg, const ReconcileScope *scope, struct RunCache *cache, ReconcileFlags flags,
                     ReconcileReport *report, NmError *err);

/* The same, for one namespace only (and the bridges and NAT rules it
 * needs): what `nsmgrctl attach/detach` run after changing a lease. Nothing
 * else is made or torn down. */
int reconcile_netns(const Config *cfg, const char *netns, ReconcileFlags flags, ReconcileReport *report,
                    NmError *err);

/* Serializes appliers (nsmgrctl apply, attach, nsmgrd): an flock on
 * /run/nsmgr/lock. Returns the fd to close. */
int reconcile_lock(NmError *err);

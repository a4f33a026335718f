/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"

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

typedef struct ReconcileReport {
        PlanStep *steps;              /* every step taken (or planned), in order */
        size_t n_steps;
        char **changes;               /* one line per step taken (or planned): steps[].text */
        char **warnings;              /* "..., kept" */
        unsigned n_netns;             /* declared namespaces */
        unsigned n_networks;
} ReconcileReport;

void reconcile_report_done(ReconcileReport *r);

/* The config is extended with what its networks expand to (network.h)
 * for the duration of the call, and restored before it returns. */
int reconcile(const Config *cfg, ReconcileFlags flags, ReconcileReport *report, NmError *err);

/* The same, for one namespace only (and the bridges and NAT rules it
 * needs): what `nsmgrctl attach/detach` run after changing a lease. Nothing
 * else is made or torn down. */
int reconcile_netns(const Config *cfg, const char *netns, ReconcileFlags flags, ReconcileReport *report,
                    NmError *err);

/* Serializes appliers (nsmgrctl apply, attach, nsmgrd): an flock on
 * /run/nsmgr/lock. Returns the fd to close. */
int reconcile_lock(NmError *err);

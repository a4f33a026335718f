/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "network.h"
#include "reconcile.h"

/* The verbs that change the system, one code path for both ways of asking:
 * nsmgrctl without a daemon calls them itself, and nsmgrd calls them for
 * its D-Bus methods (bus-manager.c), so the two cannot disagree.
 *
 * `managed` is the config a running nsmgrd keeps in force (NULL when none
 * runs): what it declares is refused with NSMGR_ERRNO_DECLARED and the fix,
 * since nsmgrd would only put it back. */

typedef enum OpsFlags {
        OPS_EXIST_OK   = 1 << 0,    /* create: an existing namespace is fine */
        OPS_ALLOW_HOST = 1 << 1,    /* pin: the machine's own namespace too */
        OPS_FORCE      = 1 << 2,    /* delete: even with processes inside */
        OPS_MISSING_OK = 1 << 3,    /* delete: a missing one is fine */
} OpsFlags;

typedef struct OpsResult {
        char *path;                 /* /run/netns/NAME */
        ino_t inode;
        bool changed;               /* create: made now; delete: removed now */
        char **warnings;            /* "..., ignoring": for the caller to say */
} OpsResult;

void ops_result_done(OpsResult *r);

/* Makes NAME (loopback up) and records that nsmgr made it (origin: one of
 * owner.h's OWNER_*). */
int ops_create(const char *name, OpsFlags flags, const char *origin, OpsResult *ret, NmError *err);

/* Pins the network namespace of the process behind pidfd: the pidfd names
 * that very process, so a PID reused meanwhile cannot make us pin a
 * stranger's namespace, and one that has exited is refused. */
int ops_pin_pidfd(const char *name, int pidfd, OpsFlags flags, const char *origin, OpsResult *ret, NmError *err);
/* Pins a namespace handle the caller opened (ops_open_handle()). */
int ops_pin_handle(const char *name, int nsfd, OpsFlags flags, const char *origin, OpsResult *ret, NmError *err);
/* Opens a file that must be a network namespace handle (/proc/PID/ns/net,
 * a pin), refusing anything else without side effects (a FIFO, a device):
 * the side that has the path opens it, with its own permissions. */
int ops_open_handle(const char *name, const char *path, int *ret_fd, NmError *err);
/* A pidfd of pid (pidfd_open(2)). */
int ops_open_pidfd(const char *name, pid_t pid, int *ret_fd, NmError *err);

/* Unpins NAME, refused while processes are inside (unless OPS_FORCE) and
 * when `managed` declares it. A broken entry (an empty placeholder) goes
 * too. ret->changed is false when it was missing and OPS_MISSING_OK. */
int ops_delete(const char *name, OpsFlags flags, const Config *managed, OpsResult *ret, NmError *err);

/* A run-time attachment: the lease, then the namespace wired as the config
 * and every lease say; nothing half-made stays when wiring fails. cfg
 * declares the network. */
typedef struct OpsAttachment {
        char *ifname;
        Cidr address, address6;     /* family 0: none */
} OpsAttachment;
void ops_attachment_done(OpsAttachment *a);
int ops_attach(const Config *cfg, const AttachRequest *req, OpsAttachment *ret, ReconcileReport *report,
               NmError *err);
/* Removes it and releases the lease; refused (NSMGR_ERRNO_DECLARED) for an
 * attachment the config declares. */
int ops_detach(const Config *cfg, const char *netns, const char *network, ReconcileReport *report, NmError *err);

/* reconcile() behind the checks a user expects before anything changes: a
 * network whose subnet overlaps an address the host already has (outside
 * nsmgr's own objects) is refused, as podman refuses it (overlap.h); the
 * host interface that has it goes to *ret_ifname (may be NULL). With
 * ahead (NULL: none), the run takes the host as read ahead:
 * reconcile_read_ahead(), which wants RECONCILE_LOCKED. */
int ops_apply(const Config *cfg, HostReadAhead *ahead, ReconcileFlags flags, ReconcileReport *report,
              char **ret_ifname, NmError *err);

/* `nsmgrctl apply -c FILE` while nsmgrd keeps another config in force: the
 * daemon would undo it. Refused with a sentence that names the daemon's
 * config (or, as `how` says, the warning for --force or --dry-run); files
 * are those of the config asked for and those nsmgrd uses (the same set,
 * compared as files, is no conflict: 0). */
bool ops_same_config(char *const *files, char *const *daemon_files);
typedef enum OpsConflict {
        OPS_CONFLICT_REFUSE,        /* the refusal */
        OPS_CONFLICT_FORCED,        /* --force: the warning */
        OPS_CONFLICT_PLAN,          /* --dry-run: the warning */
} OpsConflict;
int ops_refuse_other_config(char *const *files, char *const *daemon_files, OpsConflict how, NmError *err);

/* The namespace NAME (inode ino) was pinned again by nsmgrd after its pin
 * went away. The pin being nsmgr's again, so are its records: an apply of
 * another config may have torn it down (forgetting it) before nsmgrd put
 * it back, and without them `list` would show it as not managed for good
 * and a later config without it would leak it. The caller holds
 * reconcile_lock(). */
int ops_pin_restored(const char *name, ino_t ino);

/* Steps as records (the D-Bus API's Apply and DriftRepaired). */
int plan_step_add(PlanStep **v, size_t *n, const char *action, const char *kind, const char *netns,
                  const char *ifname, const char *detail, const char *text);
void plan_steps_free(PlanStep *v, size_t n);
/* Appends a report's steps: its PlanSteps where the engine fills them, else
 * one record per line of prose with only the text. */
int plan_steps_from_report(const ReconcileReport *r, PlanStep **v, size_t *n);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "daemon.h"
#include "error.h"
#include "reconcile.h"
#include "status.h"

/* nsmgrd on the system bus: the object /org/nsmgr1 with the interface
 * org.nsmgr1.Manager (nsmgr/daemon/org.nsmgr1.Manager.xml), its methods
 * checked with polkit (bus-polkit.h) and done through the same library
 * calls as nsmgrctl's (ops.h), and its signals. The bus is optional: without
 * one (no dbus-daemon, a sandbox) nsmgrd works as before and tries again
 * now and then; a bus that goes away is reconnected to. */

typedef struct BusManager BusManager;

/* What the bus asks of the daemon. */
typedef struct BusManagerOps {
        /* The config nsmgrd keeps in force. */
        const Config *(*config)(void *userdata);
        const DaemonStatus *(*status)(void *userdata);
        /* Re-reads the config. A dry run plans it and changes nothing;
         * otherwise it is applied and kept in force, as a reload. */
        int (*apply)(void *userdata, bool dry_run, ReconcileReport *report, NmError *err);
        /* A run-time attachment came or went: watch anew. (Namespaces
         * created, pinned or deleted here are not the config's, which
         * nsmgrd watches: they need nothing.) */
        void (*changed)(void *userdata);
        void (*log)(void *userdata, int priority, const LogFields *fields, const char *msg);
} BusManagerOps;

/* Connects, publishes the object and takes the name before returning (so a
 * client that sees nsmgrd ready finds it on the bus). Fails only for lack
 * of memory: a bus that is not there is logged and tried again later. */
int bus_manager_new(sd_event *e, const BusManagerOps *ops, void *userdata, BusManager **ret);
BusManager *bus_manager_free(BusManager *bm);

/* Signals, for what the daemon did on its own. Namespaces added and
 * removed are seen under /run/netns by the manager itself (netnsmon.h). */
void bus_manager_emit_drift_repaired(BusManager *bm, const PlanStep *steps, size_t n_steps);
void bus_manager_emit_reloaded(BusManager *bm, int result, unsigned changes, const char *error);
/* The status changed: properties that differ are announced. */
void bus_manager_status_changed(BusManager *bm);

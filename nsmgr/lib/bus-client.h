/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "config.h"
#include "error.h"
#include "network.h"
#include "ops.h"
#include "reconcile.h"

/* How a client (nsmgrctl) reaches a running nsmgrd: through its D-Bus API
 * when it is on the bus, else (no bus, or not yet on it) only by knowing,
 * from its status record, that it runs and which config it keeps. */

typedef struct DaemonLink {
        bool alive;             /* an nsmgrd runs (its status record says so, and its process is there) */
        sd_bus *bus;            /* and answers on the system bus as org.nsmgr1: ask it */
        pid_t pid;
        char **files;           /* the config files it keeps in force */
} DaemonLink;

/* Never fails for want of a daemon or a bus: those make a link without
 * them. Only -ENOMEM. Nothing is asked of the bus when no nsmgrd runs. */
int daemon_link_open(DaemonLink *ret);
void daemon_link_done(DaemonLink *l);

/* The config nsmgrd keeps, read from its files, for refusing what it
 * declares when it cannot be asked (no bus). */
int daemon_link_load_config(const DaemonLink *l, Config **ret, NmError *err);

/* The methods, with the library's types; a refusal or failure is the
 * daemon's sentence in err, with the errno of its error name (bus-def.h). */
int bus_call_create(sd_bus *bus, const char *name, OpsFlags flags, OpsResult *ret, NmError *err);
/* fd: a pidfd (by_pidfd) or a namespace handle. */
int bus_call_pin(sd_bus *bus, const char *name, int fd, bool by_pidfd, OpsFlags flags, OpsResult *ret, NmError *err);
int bus_call_delete(sd_bus *bus, const char *name, OpsFlags flags, NmError *err);
int bus_call_attach(sd_bus *bus, const AttachRequest *req, OpsAttachment *ret, NmError *err);
int bus_call_detach(sd_bus *bus, const char *netns, const char *network, NmError *err);
int bus_call_apply(sd_bus *bus, bool dry_run, uint64_t timeout_usec, ReconcileReport *ret, NmError *err);
int bus_call_reload(sd_bus *bus, uint64_t timeout_usec, unsigned *ret_changes, NmError *err);

/* Reads an a(ssssss) of steps (Apply's reply, DriftRepaired) into records. */
int bus_read_steps(sd_bus_message *m, PlanStep **ret, size_t *ret_n);

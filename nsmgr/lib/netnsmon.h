/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "error.h"
#include "macro.h"

/* Pins appearing and going under /run/netns, whoever makes them (nsmgr,
 * `ip netns`, a runtime), as `ip netns monitor` sees them: inotify on the
 * folder, plus the mount table for a pin whose file exists before its
 * namespace is mounted on it. Each costs O(1) per event. Reading needs no
 * privilege; a missing /run/netns is waited for. nsmgrd turns what this
 * sees into its NamespaceAdded/NamespaceRemoved signals, and `nsmgrctl
 * monitor` prints it when no nsmgrd runs. */

typedef enum NetnsMonEvent {
        NETNS_MON_ADDED,        /* a live pin: a namespace is mounted on /run/netns/NAME */
        NETNS_MON_REMOVED,      /* it went (unpinned, or another namespace took the name) */
} NetnsMonEvent;

typedef void (*netnsmon_fn)(NetnsMonEvent ev, const char *name, ino_t ino, void *userdata);

typedef struct NetnsMon NetnsMon;

/* The pins there now are taken as known: only changes are reported. */
int netnsmon_new(sd_event *e, netnsmon_fn fn, void *userdata, NetnsMon **ret, NmError *err);
/* Reports what has happened up to now, before the caller says something
 * that follows from it (nsmgrd: before DriftRepaired). */
void netnsmon_flush(NetnsMon *m);
NetnsMon *netnsmon_free(NetnsMon *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetnsMon *, netnsmon_free);

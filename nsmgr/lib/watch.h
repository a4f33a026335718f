/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "error.h"

/* What nsmgrd watches to notice drift, as event sources of an sd-event
 * loop, each costing O(1) per event:
 *   - rtnetlink notifications (links, IPv4/IPv6 addresses and routes) of
 *     the host and of every managed namespace, on one socket in the host
 *     (NETLINK_LISTEN_ALL_NSID: a namespace's notifications carry its nsid
 *     in the host, which every watched namespace is given);
 *   - the mount table (/proc/self/mountinfo polls EPOLLPRI on any change):
 *     a pin may have been unmounted;
 *   - nftables changes in the host (NFNLGRP_NFTABLES).
 * A handle of each watched namespace is held, so a namespace whose pin
 * somebody removes stays alive and can be pinned again as it was. */

typedef enum WatchSource {
        WATCH_NETLINK,      /* a link, address or route changed in a scope */
        WATCH_MOUNTS,       /* the mount table changed: a pin may be gone */
        WATCH_NFTABLES,     /* the host's nftables ruleset changed */
} WatchSource;

typedef struct Watch Watch;

/* One batch of notifications that can matter. Own changes are reported
 * too: the caller's next reconcile finds nothing to do and makes no more. */
typedef struct WatchEvent {
        WatchSource src;
        const char *scope;          /* WATCH_NETLINK: the namespace; NULL: the host */
        const char *what;           /* the most telling notification ("link eth0 deleted"), or NULL */
        /* The host's notifications: which of the host links given to
         * watch_set_host_links() they touched, by name (a link renamed
         * away counts as deleted under its old name; an address or route
         * as its link's). */
        char *const *links;
        char *const *deleted;       /* of those, the ones deleted */
        bool ports;                 /* a link not listed joined or left a listed bridge (named in links) */
        bool everything;            /* what was touched cannot be told: lost notifications, no link */
} WatchEvent;

typedef void (*watch_fn_t)(const WatchEvent *ev, void *userdata);

/* Watches the host (rtnetlink, mounts, nftables). A part that cannot be
 * watched (nftables without the nf_tables module) is described in
 * *ret_warnings and left out; the rest is required. */
int watch_new(sd_event *e, watch_fn_t fn, void *userdata, Watch **ret, char ***ret_warnings, NmError *err);
Watch *watch_free(Watch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Watch *, watch_free);
#define _cleanup_watch_ _cleanup_(watch_freep)

/* Keeps one watch per name (the namespaces pinned at /run/netns/NAME):
 * opens one for a name that has none or whose pin now holds another
 * namespace, drops those of names no longer listed, and keeps that of a
 * name whose pin is gone (watch_check_pins() restores the pin from it).
 * A new watch places notifications once its nsid is known
 * (watch_learn_nsids()).
 * Names whose pin does not exist and never had a watch are skipped. A name
 * with a '/' is a path (a run-time attachment by CNI_NETNS): its "pin" is
 * that path.
 * Namespaces in `wired` are watched too but nsmgr did not make them (run-
 * time attachments to a network): their pins are never restored, and a
 * watch whose pin is gone is dropped once watch_check_pins() has told of
 * it (PIN_GONE), so the namespace can go.
 * Returns the number of sockets opened (their names in *ret_opened, if
 * given); a namespace that cannot be watched is described in
 * *ret_warnings. */
int watch_sync(Watch *w, char *const *names, char *const *wired, char ***ret_opened, char ***ret_warnings,
               NmError *err);

/* The nsids of namespaces in the host, as a reconcile saw them (by name
 * and inode, taken only for the very namespace watched); those of watches
 * still without one are asked from the kernel, and given one if they have
 * none. */
typedef struct WatchNsid {
        const char *name;
        ino_t ino;
        int nsid;
} WatchNsid;
int watch_learn_nsids(Watch *w, const WatchNsid *v, size_t n, char ***ret_warnings);

/* The host's links that matter: those the config puts there (bridges,
 * veth peers, macvlan parents), by name. Host notifications about other
 * links -- a container runtime's veths, DHCP on the uplink -- are then
 * ignored (a link by its name, or as a port of one of these bridges; an
 * address or route by its link's index, resolved now: call again after
 * each reconcile). NULL takes them all. */
int watch_set_host_links(Watch *w, char *const *names);

size_t watch_count(const Watch *w);
/* The inode of the namespace watched under name, 0 if none. */
ino_t watch_inode(const Watch *w, const char *name);

typedef enum PinEventKind {
        PIN_RESTORED,       /* pinned the watched namespace again */
        PIN_REPLACED,       /* another namespace is pinned under the name now */
        PIN_FAILED,         /* the pin is gone and could not be restored */
        PIN_GONE,           /* the pin of a namespace nsmgr only wires is gone */
} PinEventKind;

typedef struct PinEvent {
        PinEventKind kind;
        char *name;
        ino_t ino;          /* the watched namespace */
        ino_t now_ino;      /* PIN_REPLACED: the one pinned now */
        char *error;        /* PIN_FAILED: why */
} PinEvent;

/* Checks the pin of every watched namespace (one stat each): a pin that is
 * gone or left as an empty placeholder is made again from the watched
 * namespace itself, the same namespace with its links and processes. */
int watch_check_pins(Watch *w, PinEvent **ret, size_t *ret_n);
void pin_events_free(PinEvent *v, size_t n);

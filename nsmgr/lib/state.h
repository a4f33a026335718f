/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "strmap.h"

/* What nsmgr keeps between runs in /run/nsmgr/state.json (pins, links and
 * routes do not survive a reboot, so neither does the record): which
 * namespaces it wires, and its NAT record. Everything nsmgr makes carries
 * its own mark in the kernel (marks.h) and namespaces have owner records
 * (owner.h), so this file is not what ownership hangs on: it says where to
 * look (a namespace the config dropped, the route families put there).
 *
 * Loaded once and saved once per run, atomically (rename). The file is
 * checked, never trusted: one of the wrong shape, a version this build does
 * not know, or garbage is moved aside (kept for the user, and named in
 * `lost_reason`), and the run rebuilds what it needs from the marks. */

typedef struct StateNetns {
        char *name;
        ino_t ino;
        uint64_t cookie;         /* SO_NETNS_COOKIE; 0: unknown */
        bool routes4, routes6;   /* nsmgr put routes of that family there */
} StateNetns;

typedef struct State {
        StateNetns *netns;
        size_t n_netns, cap_netns;
        StrMap index;            /* name -> index in netns */
        json_object *nat;        /* nat.c's record; NULL: none */
        int version;             /* of the file read; 0: there was none */
        bool dirty;
        bool lost;               /* the file could not be used (moved aside) */
        char *lost_reason;       /* "...: moved to /run/nsmgr/state.json.damaged-..." */
} State;

#define STATE_VERSION 2
#define STATE_FILE_MAX (64u * 1024 * 1024)

/* Reads the file (a missing one is an empty state). Damage is not an
 * error: see `lost`; the damaged file is moved aside unless readonly (a dry
 * run changes nothing). Fails only on I/O errors and ENOMEM. */
int state_load(State *ret, bool readonly);
/* Parses a file's text (the fuzz target, unit tests): -EBADMSG with *ret_why
 * on damage. */
int state_parse(const char *text, size_t len, State *ret, char **ret_why);
int state_save(State *s);
void state_done(State *s);

const StateNetns *state_netns(const State *s, const char *name);
/* Records (or updates) a namespace nsmgr wires. A record of another
 * namespace under the name (another inode or cookie) is replaced. */
int state_netns_set(State *s, const char *name, ino_t ino, uint64_t cookie);
void state_netns_remove(State *s, const char *name);
/* Notes that nsmgr put routes of a family in a namespace (AF_INET/AF_INET6). */
void state_netns_routes(State *s, const char *name, int family);

/* The NAT record: nat.c's to shape. Takes the reference. */
void state_set_nat(State *s, json_object *record);

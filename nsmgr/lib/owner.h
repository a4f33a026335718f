/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Which pinned namespaces nsmgr made, and how: recorded, never guessed from
 * names. A record holds the namespace's inode and cookie (SO_NETNS_COOKIE,
 * which the kernel never reuses, unlike inode numbers), so an entry that was
 * deleted and re-made by another tool under the same name is not taken for
 * ours. Records live under /run/nsmgr/netns/ as symbolic links
 * NAME -> "INODE:COOKIE:ORIGIN" (one readlink per entry when listing;
 * replaced atomically by rename; "INODE:ORIGIN" of nsmgr 0.1 is read too).
 * A namespace nsmgr makes is recorded before it is pinned: there is no
 * instant at which nsmgr's pin exists without its record. */

#define OWNER_CREATE "create"   /* nsmgrctl create */
#define OWNER_PIN    "pin"      /* nsmgrctl pin */
#define OWNER_HOOK   "hook"     /* nsmgrctl oci-hook: a container's namespace, pinned as it started */
#define OWNER_CONFIG "config"   /* declared in the config, made by apply */
#define OWNER_RUNTIME "runtime" /* nsmgr-runtime: made for a container that asked for a network */

/* Makes /run/nsmgr/netns (once per process, before threads record). */
int owner_prepare(void);
int owner_record(const char *name, ino_t ino, uint64_t cookie, const char *origin);
/* 1 and the origin if NAME is ours: the inode matches, and the cookie too
 * when both the record and the caller know it (0: unknown). 0 if not. */
int owner_lookup(const char *name, ino_t ino, uint64_t cookie, char **ret_origin);
int owner_forget(const char *name);
/* The record of NAME, whichever namespace it is of: 1, or 0 if none. */
int owner_read(const char *name, ino_t *ret_ino, uint64_t *ret_cookie, char **ret_origin);

/* All records at once, for listing many entries. */
typedef struct OwnerRecord {
        char *name;
        ino_t ino;
        uint64_t cookie;
        char *origin;
} OwnerRecord;
int owner_load_all(OwnerRecord **ret, size_t *ret_n);
/* owner_load_all(), but only the records of the names want() takes: the
 * folder is listed and only those are read, a readlink each. */
typedef bool (*owner_want_fn_t)(const char *name, void *userdata);
int owner_load_matching(owner_want_fn_t want, void *userdata, OwnerRecord **ret, size_t *ret_n);
const OwnerRecord *owner_find(const OwnerRecord *v, size_t n, const char *name, ino_t ino);
void owner_records_free(OwnerRecord *v, size_t n);

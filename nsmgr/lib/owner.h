/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Which pinned namespaces nsmgr made, and how: recorded, never guessed from
 * names. A record holds the namespace inode, so an entry that was deleted
 * and re-made by another tool under the same name is not taken for ours.
 * Records live under /run/nsmgr/netns/ as symbolic links NAME -> "INODE:ORIGIN"
 * (one readlink per entry when listing; replaced atomically by rename). */

#define OWNER_CREATE "create"   /* nsmgrctl create */
#define OWNER_PIN    "pin"      /* nsmgrctl pin */
#define OWNER_HOOK   "hook"     /* nsmgrctl oci-hook: a container's namespace, pinned as it started */
#define OWNER_CONFIG "config"   /* declared in the config, made by apply */
#define OWNER_RUNTIME "runtime" /* nsmgr-runtime: made for a container that asked for a network */

int owner_record(const char *name, ino_t ino, const char *origin);
/* 1 and the origin if NAME at inode ino is ours, 0 if not. */
int owner_lookup(const char *name, ino_t ino, char **ret_origin);
int owner_forget(const char *name);

/* All records at once, for listing many entries. */
typedef struct OwnerRecord {
        char *name;
        ino_t ino;
        char *origin;
} OwnerRecord;
int owner_load_all(OwnerRecord **ret, size_t *ret_n);
const OwnerRecord *owner_find(const OwnerRecord *v, size_t n, const char *name, ino_t ino);
void owner_records_free(OwnerRecord *v, size_t n);

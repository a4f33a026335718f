/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <sys/stat.h>

#include "error.h"

/* OCI runtime configs: making a container (runc, crun, any runtime that
 * reads a bundle's config.json) join a pinned namespace, the way docker
 * does for --net=container:A, but with a path that never dies. */

/* What a container needs to join a pinned namespace. */
typedef struct OciJoin {
        const char *netns_path;         /* the "network" entry's path: /run/netns/NAME */
        const char *resolv_conf;        /* bound read-only at /etc/resolv.conf; NULL: none */
        const char *hosts;              /* bound read-only at /etc/hosts; NULL: none */
} OciJoin;

/* {"type": "network", "path": PATH}, the entry of linux.namespaces. */
json_object *oci_netns_entry(const char *netns_path);

/* Patches a parsed config.json so that the container joins j->netns_path:
 *   - linux.namespaces gets {"type": "network", "path": ...}: the first
 *     "network" entry gets the path (with or without one before), further
 *     "network" entries are dropped; one is appended when there is none;
 *     "linux" and "linux.namespaces" are made when absent (or null);
 *   - mounts gets a read-only bind of j->resolv_conf at /etc/resolv.conf
 *     and of j->hosts at /etc/hosts. It takes the place of the first mount
 *     already on that destination (compared lexically: "/etc//hosts/" is
 *     "/etc/hosts"), whoever made it, and any further ones are dropped: two
 *     mounts on one destination hide each other. Appended when there is
 *     none, after every other mount, so nothing mounted on /etc hides it.
 * Everything else stays as it was, keys in their order. Patching twice gives
 * the same config. No I/O. On error (a field of the wrong type, named in
 * the message) the config may be half-patched: patch a copy, or drop it. */
int oci_config_join(json_object *config, const OciJoin *j, NmError *err);

/* A bundle's config.json, read to be patched and written back. */
typedef struct OciBundle {
        char *path;             /* BUNDLE/config.json, for messages */
        char *target;           /* the file it resolves to (through a symbolic link), which is rewritten */
        char *text;             /* as read */
        json_object *config;    /* parsed from text; patch it, then oci_bundle_save() */
        struct stat st;         /* of target: mode and owner are kept */
} OciBundle;

/* Reads and parses BUNDLE/config.json: a regular file (a symbolic link is
 * followed) holding a JSON object, read strictly (jsonfile.h). */
int oci_bundle_load(const char *bundle, OciBundle *ret, NmError *err);
/* Patches b->config so that the container joins the pinned namespace NAME,
 * with NAME's resolv.conf and hosts (etcfiles.h; generated copies are
 * refreshed). Does not check that NAME is a live handle. */
int oci_bundle_join_netns(OciBundle *b, const char *name, NmError *err);
/* Writes b->config back atomically, in the same folder, keeping the file's
 * mode, owner and indentation style. Returns 1 when the file changed, 0
 * when it already was so (then it is not rewritten). */
int oci_bundle_save(const OciBundle *b, NmError *err);
void oci_bundle_done(OciBundle *b);

/* nsmgrctl oci NAME --bundle DIR: checks that NAME is a live handle, then
 * load, join, save as above. Returns 1 when the file changed, 0 when it
 * already was so. On error config.json is left as it was. */
int oci_bundle_join(const char *bundle, const char *name, NmError *err);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

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

/* nsmgrctl oci NAME --bundle DIR: checks that NAME is a live handle, locates
 * NAME's resolv.conf and hosts (see etcfiles.h), patches DIR/config.json
 * (through a symbolic link, if it is one) and replaces it atomically, in
 * the same folder, keeping its mode, owner and indentation style. Returns
 * 1 when the file changed, 0 when it already was so (then it is not
 * rewritten). On error config.json is left as it was. */
int oci_bundle_join(const char *bundle, const char *name, NmError *err);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

/* Network namespaces known by a path rather than a name: what a CNI
 * runtime hands over as CNI_NETNS (containerd pins its pods at
 * /var/run/netns/cni-UUID, podman at /run/netns/netns-UUID), or a
 * process's /proc/PID/ns/net. */

/* True if what the user gave is a path (it has a '/'), not a name. */
static inline bool netns_arg_is_path(const char *s) {
        return s && strchr(s, '/');
}

/* Opens the namespace at path, checked to be a network namespace handle
 * (nsfs, CLONE_NEWNET); ret_inode gets its inode. -ENOENT when nothing is
 * there, -EMEDIUMTYPE when it is not a network namespace. */
int netns_open_path(const char *path, int *ret_fd, uint64_t *ret_inode, NmError *err);

/* The name nsmgr gives the namespace at path (in leases, in its state, in
 * messages): NAME for /run/netns/NAME and /var/run/netns/NAME, where
 * `ip netns` and `nsmgrctl` know it by that name; otherwise the path with
 * its '/' turned into ':', e.g. "proc:4242:ns:net". Depends on the text
 * only, so ADD and DEL agree on it whatever exists by then. */
int netns_name_of_path(const char *path, char **ret, NmError *err);

/* True if the namespace at path is still the one of that inode. */
bool netns_path_is(const char *path, uint64_t inode);

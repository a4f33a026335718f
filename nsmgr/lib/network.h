/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"

/* Run-time attachments, for `nsmgrctl attach/detach` and the OCI hook. The
 * lease is what makes the attachment part of the desired state: the next
 * reconcile (run by the caller) wires it, and keeps wiring it after drift or
 * a daemon restart, until detach releases it. */
typedef struct AttachRequest {
        const char *netns;
        const char *network;
        const char *ifname;       /* NULL: the lowest free ethN */
        Cidr address;             /* family 0: from IPAM */
        const char *path;         /* a namespace known by path (netns is then netns_name_of_path()) */
        uint64_t inode;           /* its inode when the caller opened it, 0: any */
} AttachRequest;

int network_attach(const Config *cfg, const AttachRequest *req, char **ret_ifname, Cidr *ret_addr,
                   Cidr *ret_addr6, NmError *err);
/* Marks the leases of the attachment as being given back (a detach that
 * is interrupted is finished by the next run); the caller's reconcile then
 * removes the veth and releases them, in that order. */
int network_detach(const Config *cfg, const char *netns, const char *network, NmError *err);

/* Every lease of every network folder, for show and list (no lock). */
typedef struct LeaseInfo {
        char *network;
        char *netns;
        char *ifname;
        char *origin;
        Cidr addr;
} LeaseInfo;
int leases_read_all(LeaseInfo **ret, size_t *ret_n);
void leases_free(LeaseInfo *v, size_t n);

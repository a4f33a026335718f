/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "error.h"
#include "ipaddr.h"

/* Which leases a CNI attachment holds, found in one system call: the
 * lease files are named by address, and finding the one of
 * (CNI network, CNI_CONTAINERID, CNI_IFNAME) among them would mean reading
 * them all -- on every ADD and DEL, a cost that grows with the number of
 * pods. The index is a symbolic link per attachment,
 * /var/lib/nsmgr/cni/CNI-NETWORK/CONTAINER:IFNAME -> "NETWORK ADDR4 ADDR6"
 * ('-' for a family without address): written before the leases are
 * claimed, removed after they are released, so it names every lease the
 * attachment may hold; a lease it names that is not there (released by
 * an apply or by hand) is simply not held. The leases stay the record of
 * what is leased to whom. */

#define CNI_INDEX_DIR "/var/lib/nsmgr/cni"

typedef struct CniIndexEntry {
        char network[128];
        Cidr addr4, addr6;      /* family 0: none */
} CniIndexEntry;

/* 0 and the entry, or -ENOENT. */
int cni_index_read(const char *cni_network, const char *container, const char *ifname, CniIndexEntry *ret);
/* Replaces the entry atomically (a new link renamed over the old). */
int cni_index_write(const char *cni_network, const char *container, const char *ifname, const CniIndexEntry *e,
                    NmError *err);
/* Removes it; no entry is fine. */
int cni_index_remove(const char *cni_network, const char *container, const char *ifname);

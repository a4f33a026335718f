/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"

/* Networks are sugar over the plain model: a network is a host bridge with
 * the gateway addresses, and each attachment of a namespace to it (declared
 * in the config, or made at run time by `nsmgrctl attach` and recorded as a
 * lease) is a veth on that bridge with an address from IPAM and, for the
 * first network of a namespace, a default route via the gateway — unless
 * the namespace already has one. networks_expand() adds all that to the
 * config for one reconcile, leasing addresses on the way, and
 * networks_unexpand() takes it out again. */

typedef struct Expansion {
        size_t n_bridges, n_netns, n_host_sysctls;
        size_t *n_ifaces, *n_routes;    /* per original namespace */
        char **notes;                   /* "reclaimed lease ...", for the report */
        char **leased;                  /* "lab: 198.18.20.2 for web:eth0", made by this run */
        struct NewLease {
                char *network;
                Cidr addr;
        } *new_leases;                  /* to give back if the apply does not happen */
        size_t n_new_leases;
} Expansion;

typedef enum ExpandFlags {
        EXPAND_DRY_RUN = 1 << 0,        /* compute the addresses, write no lease */
} ExpandFlags;

int networks_expand(Config *cfg, ExpandFlags flags, Expansion *ret, NmError *err);
void networks_unexpand(Config *cfg, Expansion *exp);
/* Gives back the leases this expansion made: the apply was refused. */
void networks_rollback(const Config *cfg, Expansion *exp);

/* The address (with prefix) a namespace has on a network, from its lease,
 * as expanded; family AF_INET or AF_INET6. NULL if none. */
const Cidr *network_address_of(const Config *cfg, const char *netns, const char *network, int family);

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
/* Releases the leases of netns on network. An attachment by path loses its
 * link first (the engine cannot reach its namespace once the lease is gone). */
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

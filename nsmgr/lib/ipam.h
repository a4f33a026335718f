/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "ipaddr.h"
#include "strmap.h"

/* Address leases of one network, kept as one file per leased address under
 * /var/lib/nsmgr/ipam/NETWORK/ (surviving restarts and reboots). A lease
 * file is created with O_EXCL (link() of a complete, fsync'ed temporary
 * file), so two allocators can never hand out one address, even without
 * the lock; the lock (flock on the directory) makes the scan for the lowest
 * free address and the claim one step across concurrent nsmgrctl processes
 * and nsmgrd. The network, broadcast and gateway addresses are never
 * handed out. Nothing is rewritten when nothing changes. */

typedef struct Lease {
        Cidr addr;               /* the address, with the subnet's prefix length */
        char *netns;             /* NULL: a damaged file, whose address stays out of use */
        char *ifname;
        char *origin;            /* "config" (declared) or "attach" (nsmgrctl attach, the OCI hook) */
        /* Attachments of a namespace known by its path (the CNI plugin,
         * `nsmgrctl attach PATH`): more "key=value" lines in the lease file,
         * which readers that do not know them skip. */
        char *path;              /* "path=": the namespace's path (CNI_NETNS) */
        uint64_t inode;          /* "inode=": its inode then, 0 if unknown: a path that now leads elsewhere is not it */
        char *container;         /* "container=": CNI_CONTAINERID */
        char *cni_network;       /* "cni_network=": the name of the CNI network configuration */
        char *ports;             /* "ports=": published ports, "8080:80/tcp,5353:53/udp" */
        bool releasing;          /* being given back: its link goes first ("state=releasing") */
        bool retired;            /* no longer its owner's (a moved address), given back at the end of the run */
} Lease;

/* The extra lines of a lease (see Lease); NULL fields are not written. */
typedef struct LeaseExtra {
        const char *path;
        uint64_t inode;
        const char *container;
        const char *cni_network;
        const char *ports;
} LeaseExtra;

typedef struct Ipam {
        char *network;
        char *dir;
        Cidr subnet, subnet6;
        Cidr gateway, gateway6;
        int lockfd;
        Lease *leases;
        size_t n_leases;
        StrMap by_addr, by_owner;  /* lookups stay O(1) with thousands of leases */
        Cidr cursor, cursor6;      /* no free address below these */
        char **warnings;           /* damaged lease files, said once per open */
        bool dry_run;
} Ipam;

#define LEASE_CONFIG "config"
#define LEASE_ATTACH "attach"
#define LEASE_CNI "cni"              /* the nsmgr CNI plugin: nsmgr wires it */
#define LEASE_CNI_IPAM "cni-ipam"    /* the nsmgr CNI plugin as IPAM: another plugin wires it */

/* Opens the lease folder of a network (made with its first lease), locks it
 * and reads the leases. A subnet of family 0 reads no lease of that family;
 * one with prefix length 0 reads them all (a network no longer declared).
 * A lease file that cannot be read keeps its address out of use and is
 * described in ipam->warnings. dry_run: write nothing. */
int ipam_open(const char *network, const Cidr *subnet, const Cidr *gateway, const Cidr *subnet6,
              const Cidr *gateway6, bool dry_run, Ipam *ret, NmError *err);
void ipam_close(Ipam *ipam);

/* The same without reading the leases (nothing in ipam->leases): for one
 * that works on a few addresses it knows and picks a free one from the
 * folder's names, at a cost that does not grow with the number of leases
 * (the CNI plugin). */
int ipam_open_lite(const char *network, Ipam *ret, NmError *err);
/* Claims one address (O_EXCL, like ipam_lease()) that the caller, holding
 * the lock, found free; -EEXIST if it is taken. */
int ipam_claim(Ipam *ipam, const Cidr *addr, const char *netns, const char *ifname, const char *origin,
               const LeaseExtra *extra, NmError *err);
/* Reads the lease of one address; -ENOENT if there is none. */
int ipam_read_lease(const Ipam *ipam, const Cidr *addr, Lease *ret);
void ipam_lease_done(Lease *l);

/* The lease of an owner in one family (AF_INET or AF_INET6), or NULL. */
const Lease *ipam_find(const Ipam *ipam, int family, const char *netns, const char *ifname);
const Lease *ipam_find_addr(const Ipam *ipam, const Cidr *addr);

/* Leases an address for (netns, ifname): the requested one if given (an
 * error if taken by another owner, or not a host address of the subnet),
 * else the lowest free one. An existing lease of the owner is returned as
 * is. dry_run computes without writing. Returns 1 if a lease was made, 0
 * if the owner had it already. */
int ipam_lease(Ipam *ipam, int family, const char *netns, const char *ifname, const Cidr *requested,
               const char *origin, bool dry_run, Cidr *ret, NmError *err);
/* The same, with the extra lines of the lease. */
int ipam_lease_extra(Ipam *ipam, int family, const char *netns, const char *ifname, const Cidr *requested,
                     const char *origin, const LeaseExtra *extra, bool dry_run, Cidr *ret, NmError *err);

/* Gives a lease back (the file goes, and the folder with the last one). */
int ipam_release(Ipam *ipam, const Cidr *addr, NmError *err);
/* Takes a lease from its owner in memory, keeping the address out of use
 * until it is released (an attachment moved to another address). */
void ipam_retire(Ipam *ipam, const Cidr *addr);
/* Rewrites a lease as being given back (atomically, keeping its other
 * fields): whatever happens next, the next run removes its link and then
 * releases it. */
int ipam_mark_releasing(Ipam *ipam, const Cidr *addr, NmError *err);
/* Forgets a lease in memory only (a dry run's "would release"). */
void ipam_forget(Ipam *ipam, const Cidr *addr);

/* The default gateway of a subnet: its first host address. */
Cidr ipam_first_host(const Cidr *subnet);
/* True if addr is a host address of subnet (not the network address, not
 * the IPv4 broadcast address). */
bool ipam_is_host_addr(const Cidr *subnet, const Cidr *addr);

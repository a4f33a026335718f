/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "leases.h"

/* The first stage of the engine: what the system should be, as a new value
 * computed from the config and the leases. Networks are sugar over the
 * plain model: a network is a host bridge with the gateway addresses (and
 * the forwarding sysctls), and each attachment of a namespace to it --
 * declared in the config, or made at run time and recorded as a lease -- is
 * a veth on that bridge with its leased addresses and, for the first
 * network of a namespace, a default route via the gateway unless the
 * namespace has one. A run-time attachment of a namespace the config does
 * not declare adds a "transient" namespace: wired, never made.
 *
 * The model is Config-shaped, so every later stage reads one kind of value.
 * It borrows every string and array of the config it does not change (the
 * config must outlive it, and is never modified); what it adds it owns.
 * Building it does no I/O and cannot fail half-way: on ENOMEM nothing is
 * returned. */

typedef struct Desired {
        Config model;
        void **owned;            /* allocations the model holds beyond the config's */
        size_t n_owned, cap_owned;
} Desired;

int desired_build(const Config *cfg, const LeaseTable *leases, Desired **ret);
Desired *desired_free(Desired *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Desired *, desired_free);
#define _cleanup_desired_ _cleanup_(desired_freep)

/* The address (with prefix) a namespace has on a network, as expanded;
 * family AF_INET or AF_INET6. NULL if none. */
const Cidr *desired_address_of(const Config *model, const char *netns, const char *network, int family);

/* Host interface names the model puts in the host: bridges, the host ends
 * of veths, the parents of macvlans (for nsmgrd's watch filter). */
char **desired_host_links(const Config *model);

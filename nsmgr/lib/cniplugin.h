/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "cni.h"
#include "error.h"

/* The nsmgr CNI plugin: one request (cni.h) carried out on nsmgr's
 * networks and leases.
 *
 * Plugin mode ("type": "nsmgr"): ADD leases an address of the network
 * for the attachment (CNI_CONTAINERID, CNI_IFNAME) -- the lease records
 * the container, the interface, the namespace's path and inode, the CNI
 * network's name and the published ports -- and then wires it: directly
 * (podwire.h, a few netlink requests whatever the number of pods) when the
 * network's bridge exists, else through the engine, which makes the
 * network first; published ports go through the engine's NAT. The lease is
 * what makes it part of nsmgr's desired state: nsmgrd repairs it like any
 * run-time attachment. ADD run again for the same attachment returns what
 * is there. DEL deletes the link first and then releases the lease; it
 * needs no namespace and succeeds when there is nothing left. CHECK
 * compares the lease, the links, addresses and routes with prevResult.
 * GC releases the CNI network's leases of attachments no longer listed.
 * STATUS says whether an ADD could succeed.
 *
 * IPAM mode ("ipam": {"type": "nsmgr"}): only the leases; another plugin
 * (bridge, macvlan, ipvlan) makes the interface. */

struct Config;

/* The engine (reconcile_netns()), for what the direct path leaves to it:
 * making a network that does not exist on this machine yet, and the NAT
 * rules of published ports. Called with nsmgr's lock held. */
typedef int (*cni_engine_fn)(const struct Config *cfg, const char *netns, char ***warnings, NmError *err);
/* reconcile_netns(), in cniengine.c: only what links it pulls in the
 * engine, NAT and libnftables. */
int cni_engine_reconcile(const struct Config *cfg, const char *netns, char ***warnings, NmError *err);

/* Returned when a request needs the engine and none was given: nothing
 * was changed, and the request is to be run again where the engine is
 * (`nsmgrctl cni`). The CNI plugin binary is built without the engine,
 * since loading libnftables and its libraries costs more than the rest of
 * a request; it hands on the few requests that need it. */
#define CNI_HANDOFF (-EXDEV)

/* Carries out req. *ret_out is what to print on stdout (NULL: nothing).
 * On failure err has the code and the sentences; *warnings gets what went
 * wrong without making the request fail (for stderr). engine may be NULL
 * (see CNI_HANDOFF). */
int cni_plugin_run(const CniRequest *req, cni_engine_fn engine, json_object **ret_out, char ***warnings,
                   CniError *err);

/* The lock every applier of nsmgr's state takes (reconcile_lock(): the
 * same file), without linking the engine. Returns the fd to close. */
int cni_state_lock(NmError *err);

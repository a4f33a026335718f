/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "leases.h"
#include "linkkind.h"
#include "observed.h"
#include "reconcile.h"
#include "route.h"
#include "state.h"

/* The third stage: a pure function of the desired model, what was observed
 * and what was recorded, returning the steps that make the one the other.
 * It reads nothing else (no kernel, no files), so it is unit-tested with
 * hand-made inputs. On ENOMEM it fails as a whole: a partial plan is never
 * returned, let alone executed.
 *
 * Steps run phase by phase across every scope, so that whatever a step
 * needs (a namespace, a bridge, the peer of a veth, an address for a
 * gateway) was made by an earlier phase; within a phase, in planning order. */

typedef enum Phase {
        PHASE_HOST_SYSCTL,
        PHASE_BRIDGE,
        PHASE_NETNS_CREATE,
        PHASE_NETNS_SYSCTL,
        PHASE_LINK_DELETE,
        PHASE_LINK_CREATE,
        PHASE_LINK_CREATE_STACKED,   /* on a parent made just before */
        PHASE_LINK_SET,
        PHASE_ADDR_DEL,
        PHASE_ADDR_ADD,
        PHASE_LINK_UP,
        PHASE_ROUTE_DEL,
        PHASE_ROUTE_ADD,
        PHASE_NAT,
        PHASE_DNS,
        PHASE_TEARDOWN_NETNS,
        PHASE_TEARDOWN_LINK,
        PHASE_LEASE_RELEASE,         /* after whatever used the address is gone */
} Phase;

typedef enum ActionType {
        ACT_SYSCTL,
        ACT_NETNS_CREATE,
        ACT_NETNS_DELETE,
        ACT_BRIDGE_CREATE,
        ACT_LINK_CREATE,
        ACT_LINK_DELETE,
        ACT_LINK_SET,
        ACT_ADDR_ADD,
        ACT_ADDR_DEL,
        ACT_ROUTE_ADD,
        ACT_ROUTE_DEL,
        ACT_DNS_WRITE,
        ACT_DNS_REMOVE,
        ACT_NAT,
        ACT_LEASE_RELEASE,
        _ACT_MAX,
} ActionType;

/* What an ACT_LINK_SET changes. */
typedef enum LinkSetKind {
        SET_MTU,
        SET_UP,
        SET_DOWN,
        SET_IPV6_OFF,        /* no IPv6 link-local address */
        SET_VRF,             /* enslave to a VRF */
        SET_NOVRF,           /* release from a VRF nsmgr made */
        SET_BRIDGE,          /* make a port of a bridge */
        SET_MAC,
        SET_MARK,            /* mark as nsmgr's (the second end of a pair a killed run left unmarked) */
} LinkSetKind;

typedef struct Action {
        ActionType type;
        Phase phase;
        size_t order;
        ObsScope *scope;
        union {
                struct { const Sysctl *sysctl; } sysctl;
                struct {
                        const Bridge *bridge;
                        bool ipv6_off;           /* no IPv6 link-local address */
                } bridge;
                struct {
                        const Iface *iface;
                        ObsScope *peer;          /* veth: the scope of the other end */
                        bool ipv6_off, peer_ipv6_off;
                } create;
                struct {
                        const char *ifname;
                        int ifindex;
                        const char *kind;
                        const char *why;
                } del;
                struct {
                        LinkSetKind what;
                        const char *ifname;
                        const char *master;      /* SET_VRF, SET_BRIDGE; SET_NOVRF: the VRF it leaves */
                        uint32_t mtu;
                        uint8_t mac[6];
                } set;
                struct {
                        const char *ifname;
                        int ifindex;             /* 0: made by this run, looked up */
                        Cidr addr;
                } addr;
                struct { RouteSpec rs; } route;
                struct {
                        DnsFile file;
                        char *content;           /* owned */
                } dns;
                struct { const LeaseRelease *lease; } lease;
                struct { const char *text; } nat;
        };
} Action;

typedef struct Plan {
        Action *v;
        size_t n, cap;
        char **conflicts;        /* why it cannot be done: "file:line: ..." */
        char **warnings;         /* "..., kept" */
        unsigned kinds;          /* link kinds it creates (bit IfaceKind; LINK_KIND_BRIDGE_BIT) */
        char **forget;           /* state records of namespaces no longer wired, dropped once it is done */
        char **strings;          /* names the steps point at that the plan derived */
        bool dry_run;            /* for the wording of lease steps */
} Plan;

typedef struct PlanInput {
        const Config *model;     /* desired.h */
        Observed *observed;
        const State *state;
        const LeaseTable *leases;
        const char *only;        /* a scoped run: this namespace alone (and what it needs) */
        const uint8_t *machine_key;  /* 16 bytes for bridges' MAC addresses (linkkind.h); NULL: leave them */
        bool dry_run;
} PlanInput;

int plan_build(const PlanInput *in, Plan *ret);
void plan_done(Plan *p);
/* Sorts the steps into execution order (phase, then planning order). */
void plan_sort(Plan *p);
/* Appends a step of another planner (NAT). */
int plan_add_nat(Plan *p, ObsScope *host, const char *text);

/* The step as a record (type, object, where, detail) and as one line. */
int action_to_step(const Action *a, bool dry_run, PlanStep *ret);
void plan_step_done(PlanStep *s);

void route_spec_from_decl(const Route *r, RouteSpec *ret);

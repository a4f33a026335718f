/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of nat.c that need neither root nor a kernel nor libnftables,
 * for the unit tests: what a config asks for, what a listing holds, and the
 * commands that turn one into the other. */

#include <json-c/json.h>
#include <stdint.h>

#include "config.h"
#include "nat.h"
#include "strmap.h"

#define NAT_FAMILY "inet"
#define NAT_TABLE "nsmgr"

enum { NAT_PREROUTING, NAT_OUTPUT, NAT_POSTROUTING, NAT_FORWARD, _NAT_BASE_MAX };

/* A fingerprint as text: 16 hex digits and a NUL. */
#define NAT_FP_LEN 17

typedef enum NatChainKind {
        NAT_CHAIN_NW,          /* a network's masquerading: nw-* */
        NAT_CHAIN_FW,          /* its forwarding: fw-* */
        NAT_CHAIN_PUB,         /* a namespace's published ports: pub-* */
} NatChainKind;

typedef struct NatChain {
        char *name;            /* "nw-lab-3fa2c1" */
        char *what;            /* "network lab (masquerading, hairpin)" */
        NatChainKind kind;
        const Network *network;          /* NW, FW */
        const Netns *netns;              /* PUB */
        char fingerprint[NAT_FP_LEN];    /* of its rules in normal form */
} NatChain;

typedef struct NatJump {
        char *target;
        bool local;            /* only to the host's own addresses (published ports) */
} NatJump;

typedef struct NatDesired {
        const Config *cfg;     /* what it was made of; must outlive it */
        NatChain *chains;
        size_t n_chains, cap_chains;
        NatJump *jumps[_NAT_BASE_MAX];
        size_t n_jumps[_NAT_BASE_MAX], cap_jumps[_NAT_BASE_MAX];
        json_object *ports;    /* namespace -> ["8080:80/tcp -> 198.18.20.2", ...] */
        StrMap chain_index;    /* name -> index in chains */
        StrMap jump_index[_NAT_BASE_MAX];  /* target -> index in jumps[] */
} NatDesired;

/* What the config asks for; a pure function of it. */
int nat_desired(const Config *cfg, NatDesired *ret);
void nat_desired_done(NatDesired *d);
/* A chain's rules (an array of rules, each an array of statements), or a
 * jump, as JSON for libnftables: a new reference, NULL on no memory. */
json_object *nat_chain_rules(const NatDesired *d, const NatChain *c);
json_object *nat_jump_rule(const NatJump *j);

typedef struct NatSeenRule {
        uint64_t handle;
        char *jump;            /* the target if it is a jump, else NULL */
} NatSeenRule;

typedef struct NatSeenChain {
        char *name;
        NatSeenRule *rules;
        size_t n_rules, cap_rules;
        uint64_t hash;         /* of the rules in normal form, so far */
} NatSeenChain;

typedef struct NatSeen {
        bool table;            /* inet nsmgr exists */
        NatSeenChain *chains;
        size_t n_chains, cap_chains;
        StrMap chain_index;    /* name -> index in chains */
} NatSeen;

/* Reads the JSON listing of the table ({"nftables": [...]}, as
 * `nft -j -a list table inet nsmgr` prints it); NULL: no table. */
int nat_seen_parse(json_object *listing, NatSeen *ret);
void nat_seen_done(NatSeen *s);
/* A chain's fingerprint as listed (c NULL: a chain with no rules). */
void nat_seen_fingerprint(const NatSeenChain *c, char ret[static NAT_FP_LEN]);

/* The plan from what is wanted, what is there and what the state recorded
 * (state.json's "nat", or NULL): pure, fails as a whole on ENOMEM. */
int nat_plan_compute(const NatDesired *d, const NatSeen *seen, json_object *recorded, NatPlan *ret);

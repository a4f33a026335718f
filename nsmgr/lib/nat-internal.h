/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of nat.c that need neither root nor a kernel nor libnftables,
 * for the unit tests: what a config asks for, what a listing holds, and the
 * commands that turn one into the other. */

#include <json-c/json.h>
#include <stdint.h>

#include "config.h"
#include "nat.h"

#define NAT_FAMILY "inet"
#define NAT_TABLE "nsmgr"

enum { NAT_PREROUTING, NAT_OUTPUT, NAT_POSTROUTING, NAT_FORWARD, _NAT_BASE_MAX };

/* One chain nsmgr owns: nw-* (a network's masquerading), fw-* (its
 * forwarding), pub-* (a namespace's published ports). */
typedef struct NatChain {
        char *name;            /* "nw-lab-3fa2c1" */
        char *what;            /* "network lab (masquerading, hairpin)" */
        json_object *rules;    /* array of rules, each an array of statements */
        char *fingerprint;     /* the rules in normal form, one line each */
} NatChain;

typedef struct NatJump {
        char *target;
        json_object *expr;     /* the jump rule's statements */
} NatJump;

typedef struct NatDesired {
        NatChain *chains;
        size_t n_chains;
        NatJump *jumps[_NAT_BASE_MAX];
        size_t n_jumps[_NAT_BASE_MAX];
        json_object *ports;    /* namespace -> ["8080:80/tcp -> 198.18.20.2", ...] */
} NatDesired;

/* What the config asks for; a pure function of it. */
int nat_desired(const Config *cfg, NatDesired *ret);
void nat_desired_done(NatDesired *d);

typedef struct NatSeenRule {
        uint64_t handle;
        char *fingerprint;     /* normal form of its statements */
        char *jump;            /* the target if it is a jump, else NULL */
} NatSeenRule;

typedef struct NatSeenChain {
        char *name;
        NatSeenRule *rules;
        size_t n_rules;
} NatSeenChain;

typedef struct NatSeen {
        bool table;            /* inet nsmgr exists */
        NatSeenChain *chains;
        size_t n_chains;
} NatSeen;

/* Reads the JSON listing of the table ({"nftables": [...]}, as
 * `nft -j -a list table inet nsmgr` prints it); NULL: no table. */
int nat_seen_parse(json_object *listing, NatSeen *ret);
void nat_seen_done(NatSeen *s);
/* A chain's rules as listed, in normal form, one line each ("" if none). */
char *nat_seen_fingerprint(const NatSeenChain *c);

/* The plan from what is wanted, what is there and what the state recorded
 * (state.json's "nat", or NULL): pure, fails as a whole on ENOMEM. */
int nat_plan_compute(const NatDesired *d, const NatSeen *seen, json_object *recorded, NatPlan *ret);

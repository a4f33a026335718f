/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"
#include "state.h"

/* Masquerading, forwarding and published ports, through libnftables (loaded
 * on first use, dlopen-nftables.h) in its JSON schema, in a table of
 * nsmgr's own: `inet nsmgr`. No other table is ever read, flushed or
 * written (when ours cannot be listed, the names of the inet tables tell a
 * missing table from a failure). In it, four base chains (prerouting, output,
 * postrouting: nat; forward: filter) hold only jumps to chains that each
 * belong to one network (nw-*, fw-*) or to one namespace's published ports
 * (pub-*), so removing a network removes exactly its chains and jumps.
 * What nsmgr wants in each chain is compared with what the kernel lists,
 * both in a normal form (nftj_rule_fingerprint()), and recorded in the
 * state with what the kernel listed after the write: a chain changed by
 * hand is noticed and written again, and a re-apply with nothing to do
 * writes nothing at all. */

typedef struct NatPlan {
        json_object *commands;  /* {"nftables": [...]}, run as one transaction; NULL: nothing to do */
        char **changes;         /* what they do, one line each */
        bool remove_table;
        bool forget_record;     /* nothing declared, no table, but a record: forget it */
        json_object *record;    /* what to record once done (chains' rules, ports) */
} NatPlan;

int nat_plan(const Config *cfg, const State *state, NatPlan *ret, NmError *err);
/* Runs the plan and records what the kernel holds afterwards. */
int nat_apply(const NatPlan *plan, State *state, NmError *err);
void nat_plan_done(NatPlan *plan);
/* Drops the NAT record and the ports file (forget_record). */
void nat_forget(State *state);

/* Published ports as recorded in /run/nsmgr/ports.json, for show and list
 * (a small file of its own: listing reads it, not the whole state). */
json_object *nat_ports_load(void);
/* One namespace's ("8080:80/tcp -> 198.18.20.10"). */
char **nat_ports_of(json_object *ports, const char *netns);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"
#include "observed.h"
#include "state.h"

/* The second stage: reads what the kernel holds into an Observed (see
 * observed.h) for the host, every desired namespace that exists, and every
 * namespace an earlier run wired that is no longer desired. A few threads
 * (one per CPU) look into the namespaces, each joining them in turn; the
 * caller never moves. */

typedef struct ObserveInput {
        const Config *model;         /* the desired model */
        const State *state;
        const char *only;            /* a scoped run: this namespace (and the host) */
        bool rebuild;                /* the state was lost: look for nsmgr's routes in every family */
} ObserveInput;

int observe(const ObserveInput *in, Observed *ret, NmError *err);

/* Opens a netlink socket (and its nsfd) in a scope that has none yet: one a
 * run made bare, and now wires after all. */
int observe_open_socket(ObsScope *s, NmError *err);

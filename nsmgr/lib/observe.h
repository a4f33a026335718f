/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "error.h"
#include "macro.h"
#include "observed.h"
#include "state.h"

/* The second stage: reads what the kernel holds into an Observed (see
 * observed.h) for the host, every desired namespace that exists, and every
 * namespace an earlier run wired that is no longer desired. A few threads
 * (one per CPU) look into the namespaces, each joining them in turn; the
 * caller never moves.
 *
 * No namespace handle outlives its visit (with ten thousand namespaces, and
 * nsmgrd's watch socket in each, they would not fit under the limit of
 * open files): a scope records the inode and cookie of what it saw, and a
 * step to be taken in it opens it again by name, checked to be the same
 * namespace (observe_open_socket). */

/* The host's links and addresses, read by a thread of their own ahead of
 * a full observe() that takes them: nsmgrd's start reads the host while it
 * reads its config and makes its watches. Whoever starts one holds the
 * appliers' lock (reconcile_lock()) from then until that observe. */
typedef struct HostReadAhead HostReadAhead;
int host_read_ahead(HostReadAhead **ret);
HostReadAhead *host_read_ahead_free(HostReadAhead *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(HostReadAhead *, host_read_ahead_free);

typedef struct ObserveInput {
        const Config *model;         /* the desired model */
        const State *state;
        const StrMap *only;          /* a scoped run: these namespaces (and the host); NULL: all */
        char *const *host_links;     /* a scoped run: the host links to read, by name (no dump of them all) */
        bool rebuild;                /* the state was lost: look for nsmgr's routes in every family */
        HostReadAhead *host_ahead;   /* a full run: the host as read ahead, taken from it; NULL: read now */
} ObserveInput;

int observe(const ObserveInput *in, Observed *ret, NmError *err);

/* Opens a netlink socket in a scope that has none: a namespace observed
 * earlier in the run (by name, checked to be that same namespace: -ESTALE
 * if another one took its name meanwhile), or one a run made bare and now
 * wires after all. */
int observe_open_socket(ObsScope *s, NmError *err);
/* An fd of the scope's namespace, from its socket (which must be open);
 * the caller closes it. */
int obs_scope_nsfd(const ObsScope *s);

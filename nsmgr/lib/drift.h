/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "strmap.h"
#include "watch.h"

/* What nsmgrd repairs after a batch of events: only what they touched. A
 * namespace whose watch fired is repaired alone (with the host objects it
 * needs); a host link is traced to what it belongs to -- the host end of a
 * veth to its namespace, a bridge that changed to itself and one that was
 * deleted to every namespace on it, a macvlan's parent to the namespaces
 * on it; NAT is planned only after an nftables event. What cannot be
 * placed (lost notifications, a host link nobody declares) asks for a full
 * reconcile, as do start, reload and the periodic sweep. */

/* Host link name -> what it belongs to, from the desired model. */
typedef struct DriftIndex {
        StrMap links;            /* name -> index in objs */
        struct DriftHostObj {
                char *name;
                bool bridge;
                char **netns;    /* the namespaces it belongs to (a bridge: those on it) */
                size_t n_netns;
        } *objs;
        size_t n_objs;
} DriftIndex;

int drift_index_build(const Config *model, DriftIndex *ret);
void drift_index_done(DriftIndex *x);

typedef struct Drift {
        StrMap netns;            /* namespaces to repair */
        StrMap bridges;          /* bridges to check */
        bool nat;                /* nftables changed */
        bool pins;               /* the mount table changed: check the pins */
        bool full;               /* repair everything */
        bool resync;             /* the set of namespaces to watch may have changed */
} Drift;

void drift_done(Drift *d);
/* Whether anything asks for a reconcile (pins alone ask for a check). */
bool drift_any(const Drift *d);

/* Takes in one watch event. */
void drift_add_event(Drift *d, const DriftIndex *x, const WatchEvent *ev);
int drift_add_netns(Drift *d, const char *name);

/* The namespaces and bridges to repair, as lists (sorted, for a stable
 * log); the caller frees them. */
int drift_lists(const Drift *d, char ***ret_netns, char ***ret_bridges);

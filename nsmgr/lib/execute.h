/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "nat.h"
#include "plan.h"
#include "reconcile.h"
#include "state.h"

/* The fourth stage: takes the steps of a sorted plan in order, and records
 * in the state what is not marked in the kernel itself (which namespaces
 * nsmgr wires, the route families it put there). Stops at the first step
 * that fails, with err naming it; what was done until then stays done (and
 * marked), and the next run takes it from there. Each step taken is
 * appended to the report. */

typedef struct ExecInput {
        Plan *plan;
        Observed *observed;
        State *state;
        const NatPlan *nat;
        const uint8_t *machine_key;  /* bridges' MAC addresses; NULL: the kernel's */
        ReconcileReport *report;
} ExecInput;

int execute(const ExecInput *in, NmError *err);

/* Appends a step to a report (also used for the steps of a dry run). */
int report_add_step(ReconcileReport *report, const Action *a, bool dry_run);

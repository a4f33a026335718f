/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cniplugin.h"
#include "reconcile.h"
#include "strv.h"

int cni_engine_reconcile(const Config *cfg, const char *netns, char ***warnings, NmError *err) {
        ReconcileReport report = {};
        int r;

        r = reconcile_netns(cfg, netns, RECONCILE_LOCKED, &report, err);
        if (warnings)
                STRV_FOREACH(w, report.warnings)
                        (void) strv_extend(warnings, *w);
        reconcile_report_done(&report);
        return r;
}

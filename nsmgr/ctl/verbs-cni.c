/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cni-main.h"
#include "ctl.h"

/* `nsmgrctl cni`: the CNI plugin with nsmgr's engine, for the requests the
 * plugin binary hands on (published ports, a network not made yet). The
 * environment and stdin are the CNI protocol's, not arguments. */
int verb_cni(int argc, char **argv) {
        if (argc > 1)
                return usage_error("cni: takes no arguments; it reads CNI_COMMAND and the rest from the environment and the network configuration from stdin");
        return cni_main(cni_engine_reconcile);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgr: the CNI plugin (installed as /usr/lib/cni/nsmgr and
 * /opt/cni/bin/nsmgr). A runtime runs it with CNI_COMMAND and friends in
 * the environment and the network configuration on stdin; it answers on
 * stdout, a result or an error object, as CNI spec 1.1.0 says. Built
 * without nsmgr's engine, to start fast: the few requests that need it are
 * handed on to `nsmgrctl cni`. See nsmgr-cni(8). */
#include <stdio.h>
#include <stdlib.h>

#include "cni-main.h"

int main(int argc, char **argv) {
        if (argc > 1 && (streq(argv[1], "--version") || streq(argv[1], "--help"))) {
                printf("nsmgr CNI plugin %s (CNI spec %s; speaks 0.4.0, 1.0.0, 1.1.0); run by a container runtime, see nsmgr-cni(8)\n",
                       NSMGR_VERSION, CNI_VERSION_LATEST);
                return EXIT_SUCCESS;
        }
        return cni_main(NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgr-runtime-network [--config FILE] -- ID NAME NETWORK
 *
 * nsmgr-runtime's helper for a container that asks for NSMGR_NETWORK: makes
 * the pinned namespace NAME if it does not exist, and attaches it to the
 * nsmgr network NETWORK, the OCI hook's way (oci_attach_network). A separate
 * program, so that nsmgr-runtime, run for every verb of every container,
 * does not load the network code's libraries. Says what went wrong in one
 * sentence on stderr, which nsmgr-runtime hands to the user; exit status 1
 * then, and nothing it made is left. */
#include "netns.h"
#include "ocihook.h"
#include "owner.h"

int main(int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        const char *config = NULL, *id, *name, *network;
        bool created;
        int i = 1, r;

        if (i + 1 < argc && streq(argv[i], "--config")) {
                config = argv[i + 1];
                i += 2;
        }
        if (i < argc && streq(argv[i], "--"))
                i++;
        if (argc - i != 3) {
                fprintf(stderr, "usage: %s [--config FILE] -- ID NAME NETWORK (run by nsmgr-runtime)\n", argv[0]);
                return 2;
        }
        id = argv[i];
        name = argv[i + 1];
        network = argv[i + 2];

        /* Recorded as nsmgr's before it is pinned (owner.h). */
        r = netns_create(name, NETNS_EXIST_OK, OWNER_RUNTIME, NULL, &err);
        if (r < 0) {
                nm_error_prefix(&err, r, "container '%s': cannot make namespace '%s'", id, name);
                fprintf(stderr, "%s\n", nm_error_message(&err));
                return EXIT_FAILURE;
        }
        created = r > 0;

        r = oci_attach_network(config, id, name, network, &err);
        if (r < 0) {
                /* Half-wired is worse than not started: a namespace made
                 * for this container goes again. */
                if (created) {
                        _cleanup_error_ NmError undo = NM_ERROR_INIT;

                        if (netns_unpin(name, &undo) >= 0)
                                (void) owner_forget(name);
                }
                fprintf(stderr, "%s\n", nm_error_message(&err));
                return EXIT_FAILURE;
        }
        return 0;
}

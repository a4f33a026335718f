/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state file's reader: whatever /run/nsmgr/state.json holds, it is
 * refused or read, never trusted into a crash. */
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(state_done) State s = {};
        char *why = NULL;

        if (state_parse((const char *) data, size, &s, &why) >= 0) {
                /* What was read can be asked about and changed. */
                for (size_t i = 0; i < s.n_netns; i++) {
                        (void) state_netns(&s, s.netns[i].name);
                        state_netns_routes(&s, s.netns[i].name, 10);
                }
                if (s.n_netns > 0)
                        state_netns_remove(&s, s.netns[0].name);
        }
        free(why);
        return 0;
}

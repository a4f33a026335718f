/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reader of the kernel's link messages (linkmsg.c): whatever an
 * RTM_NEWLINK holds -- attributes cut short, nests that lie about their
 * length, strings without their NUL -- it is refused or read into an
 * ObsLink whose strings are terminated, never a crash. */
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct nlmsghdr *h;
        ObsLink o;

        /* The message as a socket's reader hands it over: its length is
         * what was received, its type what the reader dispatches on. */
        if (size < sizeof(*h) || size > UINT32_MAX)
                return 0;
        h = malloc(size);
        if (!h)
                return 0;
        memcpy(h, data, size);
        h->nlmsg_len = (uint32_t) size;
        h->nlmsg_type = RTM_NEWLINK;
        if (obs_link_from_msg(h, &o) >= 0 && (strnlen(o.name, sizeof(o.name)) == sizeof(o.name) ||
                                              strnlen(o.kind, sizeof(o.kind)) == sizeof(o.kind)))
                abort();
        free(h);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>

#include "link.h"

int link_set_up_index(NlSock *nl, int ifindex) {
        _cleanup_link_ struct rtnl_link *orig = NULL, *change = NULL;

        orig = rtnl_link_alloc();
        change = rtnl_link_alloc();
        if (!orig || !change)
                return -ENOMEM;
        rtnl_link_set_ifindex(orig, ifindex);
        rtnl_link_set_flags(change, IFF_UP);
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_link_change(nl->sk, orig, change, 0));
}

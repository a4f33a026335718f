/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/if_link.h>
#include <net/if.h>

#include "link.h"

#include <netlink/route/link/inet6.h>

#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif

int link_change(NlSock *nl, int ifindex, const LinkChange *c) {
        _cleanup_link_ struct rtnl_link *orig = NULL, *change = NULL;
        int r;

        orig = rtnl_link_alloc();
        change = rtnl_link_alloc();
        if (!orig || !change)
                return -ENOMEM;
        rtnl_link_set_ifindex(orig, ifindex);
        if (c->master >= 0)
                rtnl_link_set_master(change, c->master);
        if (c->mtu)
                rtnl_link_set_mtu(change, c->mtu);
        if (c->up > 0)
                rtnl_link_set_flags(change, IFF_UP);
        else if (c->up == 0)
                rtnl_link_unset_flags(change, IFF_UP);
        if (c->group)
                rtnl_link_set_group(change, c->group);
        if (c->mac) {
                _cleanup_nladdr_ struct nl_addr *a = nl_addr_build(AF_LLC, c->mac, 6);

                if (!a)
                        return -ENOMEM;
                rtnl_link_set_addr(change, a);
        }
        if (c->ipv6_off) {
                r = rtnl_link_inet6_set_addr_gen_mode(change, IN6_ADDR_GEN_MODE_NONE);
                if (r < 0)
                        return -ENOMEM;
        }
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_link_change(nl->sk, orig, change, 0));
}

int link_delete(NlSock *nl, int ifindex) {
        _cleanup_link_ struct rtnl_link *link = NULL;

        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_ifindex(link, ifindex);
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_link_delete(nl->sk, link));
}

int link_ifindex_peer(NlSock *nl, const char *name, int *ret, int *ret_link) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r;

        nls_reset_error(nl);
        r = rtnl_link_get_kernel(nl->sk, 0, name, &link);
        if (r < 0)
                return nls_errno(nl, r);
        *ret = rtnl_link_get_ifindex(link);
        if (ret_link)
                *ret_link = rtnl_link_get_link(link);
        return 0;
}

int link_ifindex(NlSock *nl, const char *name, int *ret) {
        return link_ifindex_peer(nl, name, ret, NULL);
}

int link_set_up_index(NlSock *nl, int ifindex) {
        LinkChange c = LINK_CHANGE_NONE;

        c.up = 1;
        return link_change(nl, ifindex, &c);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/rtnetlink.h>

#include "marks.h"
#include "route.h"

static int build(const RouteSpec *rs, int oif, struct rtnl_route **ret) {
        _cleanup_route_ struct rtnl_route *rt = NULL;
        _cleanup_nladdr_ struct nl_addr *dst = NULL, *gw = NULL;
        struct rtnl_nexthop *nh;

        rt = rtnl_route_alloc();
        dst = cidr_to_nl(&rs->dst);
        if (!rt || !dst)
                return -ENOMEM;
        if (rs->via.family) {
                gw = cidr_to_nl(&rs->via);
                if (!gw)
                        return -ENOMEM;
        }
        rtnl_route_set_family(rt, (uint8_t) rs->dst.family);
        rtnl_route_set_dst(rt, dst);
        rtnl_route_set_table(rt, rs->table);
        rtnl_route_set_priority(rt, rs->metric);
        rtnl_route_set_protocol(rt, NSMGR_RTPROT);
        rtnl_route_set_type(rt, RTN_UNICAST);
        rtnl_route_set_scope(rt, rs->via.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
        if (gw || oif > 0) {
                nh = rtnl_route_nh_alloc();
                if (!nh)
                        return -ENOMEM;
                if (gw)
                        rtnl_route_nh_set_gateway(nh, gw);
                if (oif > 0)
                        rtnl_route_nh_set_ifindex(nh, oif);
                rtnl_route_add_nexthop(rt, nh);
        }
        *ret = TAKE_PTR(rt);
        return 0;
}

int route_add(NlSock *nl, const RouteSpec *rs, int oif) {
        _cleanup_route_ struct rtnl_route *rt = NULL;
        int r;

        r = build(rs, oif, &rt);
        if (r < 0)
                return r;
        nls_reset_error(nl);
        /* REPLACE: the planner made sure nothing but nsmgr's own route sits
         * at this place (a route the kernel may or may not have flushed
         * with an address is made again either way). */
        return nls_errno(nl, rtnl_route_add(nl->sk, rt, NLM_F_CREATE | NLM_F_REPLACE));
}

int route_del(NlSock *nl, const RouteSpec *rs, int oif) {
        _cleanup_route_ struct rtnl_route *rt = NULL;
        int r;

        r = build(rs, oif, &rt);
        if (r < 0)
                return r;
        /* Only nsmgr's own: the kernel matches the protocol too. */
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_route_delete(nl->sk, rt, 0));
}

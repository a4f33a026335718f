/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/if_addr.h>
#include <netlink/msg.h>

#include "address.h"
#include "marks.h"

static int build(int ifindex, const Cidr *a, struct rtnl_addr **ret) {
        _cleanup_addr_ struct rtnl_addr *addr = NULL;
        _cleanup_nladdr_ struct nl_addr *local = NULL;

        addr = rtnl_addr_alloc();
        local = cidr_to_nl(a);
        if (!addr || !local)
                return -ENOMEM;
        rtnl_addr_set_ifindex(addr, ifindex);
        rtnl_addr_set_local(addr, local);
        rtnl_addr_set_prefixlen(addr, a->prefixlen);
        if (a->family == AF_INET6)
                rtnl_addr_set_flags(addr, IFA_F_NODAD);
        *ret = TAKE_PTR(addr);
        return 0;
}

int address_add(NlSock *nl, int ifindex, const Cidr *a) {
        _cleanup_addr_ struct rtnl_addr *addr = NULL;
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        int r;

        r = build(ifindex, a, &addr);
        if (r < 0)
                return r;
        r = rtnl_addr_build_add_request(addr, NLM_F_CREATE | NLM_F_REPLACE, &msg);
        if (r < 0)
                return -ENOMEM;
        /* libnl 3.7 does not know IFA_PROTO (Linux 6.1); older kernels
         * ignore it. */
        if (nla_put_u8(msg, IFA_PROTO, NSMGR_RTPROT) < 0)
                return -ENOMEM;
        nls_reset_error(nl);
        r = nl_send_auto(nl->sk, msg);
        if (r >= 0 && !nl->no_ack)
                r = nl_wait_for_ack(nl->sk);
        return nls_errno(nl, r);
}

int address_del(NlSock *nl, int ifindex, const Cidr *a) {
        _cleanup_addr_ struct rtnl_addr *addr = NULL;
        int r;

        r = build(ifindex, a, &addr);
        if (r < 0)
                return r;
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_addr_delete(nl->sk, addr, 0));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/if_addr.h>
#include <sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "config.h"
#include "link.h"
#include "linkkind.h"
#include "podwire.h"

/* The kernel gives IPv6 routes without a metric 1024 (IP6_RT_PRIO_USER),
 * and so does the engine. */
#define IPV6_DEFAULT_METRIC 1024

static void format_mac(struct rtnl_link *l, char buf[18]) {
        struct nl_addr *a = l ? rtnl_link_get_addr(l) : NULL;

        buf[0] = 0;
        if (a && nl_addr_get_len(a) == 6) {
                const uint8_t *m = nl_addr_get_binary_addr(a);
                snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        }
}

static bool is_veth(struct rtnl_link *l) {
        const char *t = rtnl_link_get_type(l);

        return t && streq(t, "veth");
}

static int get_link(NlSock *nl, const char *name, int ifindex, struct rtnl_link **ret) {
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_link_get_kernel(nl->sk, ifindex, name, ret));
}

/* The default route of a family in the namespace, if any: is it ours? */
static int default_route(NlSock *nl, int family, int ifindex, const Cidr *gw, bool *ret_exists, bool *ret_ours) {
        _cleanup_cache_ struct nl_cache *routes = NULL;
        int r;

        *ret_exists = *ret_ours = false;
        nls_reset_error(nl);
        r = rtnl_route_alloc_cache(nl->sk, family, 0, &routes);
        if (r < 0)
                return nls_errno(nl, r);
        for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *rt = (struct rtnl_route *) o;
                struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
                struct nl_addr *dst = rtnl_route_get_dst(rt);
                Cidr c;

                if (rtnl_route_get_table(rt) != RT_TABLE_MAIN || rtnl_route_get_type(rt) != RTN_UNICAST ||
                    !dst || nl_addr_get_prefixlen(dst) != 0)
                        continue;
                *ret_exists = true;
                if (nh && rtnl_route_nh_get_ifindex(nh) == ifindex && rtnl_route_nh_get_gateway(nh) &&
                    cidr_from_nl(rtnl_route_nh_get_gateway(nh), &c) >= 0 && cidr_addr_equal(&c, gw))
                        *ret_ours = true;
        }
        return 0;
}

static int add_default_route(NlSock *nl, int ifindex, const Cidr *gw) {
        _cleanup_route_ struct rtnl_route *rt = NULL;
        _cleanup_nladdr_ struct nl_addr *dst = NULL, *via = NULL;
        struct rtnl_nexthop *nh;
        Cidr any = { .family = gw->family, .prefixlen = 0 };

        rt = rtnl_route_alloc();
        dst = cidr_to_nl(&any);
        via = cidr_to_nl(gw);
        nh = rtnl_route_nh_alloc();
        if (!rt || !dst || !via || !nh) {
                rtnl_route_nh_free(nh);
                return -ENOMEM;
        }
        /* As the engine makes a network's default route (build_route). */
        rtnl_route_set_family(rt, (uint8_t) gw->family);
        rtnl_route_set_dst(rt, dst);
        rtnl_route_set_table(rt, RT_TABLE_MAIN);
        rtnl_route_set_priority(rt, gw->family == AF_INET6 ? IPV6_DEFAULT_METRIC : 0);
        rtnl_route_set_protocol(rt, RTPROT_STATIC);
        rtnl_route_set_type(rt, RTN_UNICAST);
        rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
        rtnl_route_nh_set_gateway(nh, via);
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_add_nexthop(rt, nh);
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_route_add(nl->sk, rt, NLM_F_CREATE | NLM_F_EXCL));
}

static int add_address(NlSock *nl, int ifindex, const Cidr *a) {
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
        nls_reset_error(nl);
        return nls_errno(nl, rtnl_addr_add(nl->sk, addr, NLM_F_CREATE | NLM_F_REPLACE));
}

/* A socket bound to the namespace (see PodWire.single_threaded). */
static int socket_in(const PodWire *w, NlSock **ret) {
        _cleanup_close_ int self = -EBADF;
        int r, k;

        if (!w->single_threaded)
                return nls_open_in(w->nsfd, ret);
        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return negative_errno();
        if (setns(w->nsfd, CLONE_NEWNET) < 0)
                return negative_errno();
        r = nls_open(ret);
        /* Back at once: a netlink socket stays in the namespace it was made
         * in, whatever the thread does afterwards. */
        if (setns(self, CLONE_NEWNET) < 0) {
                k = negative_errno();
                if (r >= 0)
                        nls_close(*ret);
                return k;
        }
        return r;
}

static int kernel_fail(NlSock *nl, int r, NmError *err, const char *fmt, const char *what) {
        const char *msg = nls_last_message(nl);
        char head[256];

        snprintf(head, sizeof(head), fmt, what);
        return nm_error(err, r, "%s: %s%s%s%s", head, strerror(-r), msg ? " (the kernel says: " : "", msg ? msg : "",
                        msg ? ")" : "");
}

/* Default routes: made unless the namespace has one already (a network's
 * default route is "soft" in the engine too: it gives way). */
static int wire_route(NlSock *nl, int ifindex, const Cidr *gw, bool *ret_ours, NmError *err) {
        bool exists, ours;
        int r;

        *ret_ours = false;
        if (!gw->family)
                return 0;
        r = add_default_route(nl, ifindex, gw);
        if (r >= 0) {
                *ret_ours = true;
                return 0;
        }
        if (r != -EEXIST)
                return kernel_fail(nl, r, err, "cannot add the default route via %s", gw->family == AF_INET6 ? "the IPv6 gateway" : "the gateway");
        r = default_route(nl, gw->family, ifindex, gw, &exists, &ours);
        if (r < 0)
                return kernel_fail(nl, r, err, "cannot read the routes of %s", "the namespace");
        *ret_ours = ours;
        return 0;
}

int pod_wire(NlSock *host, const PodWire *w, PodLinks *ret, NmError *err) {
        _cleanup_link_ struct rtnl_link *br = NULL, *hostend = NULL, *inner = NULL;
        _cleanup_nl_ NlSock *nl = NULL;
        PodLinks links = {};
        bool made = false;
        int r, bridge_ifindex;

        if (w->bridge_ifindex > 0)
                bridge_ifindex = w->bridge_ifindex;
        else {
                r = get_link(host, w->bridge, 0, &br);
                if (r == -ENODEV || r == -ENOENT)
                        return -ENODEV;
                if (r < 0)
                        return kernel_fail(host, r, err, "cannot look up bridge %s", w->bridge);
                bridge_ifindex = rtnl_link_get_ifindex(br);
        }

        r = socket_in(w, &nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket in the namespace: %s", strerror(-r));

        /* The pair is made straight away: a new attachment is the usual
         * case. Only when a name is taken (an ADD run again, or a clash)
         * are the two ends looked up to tell which. */
        {
                _cleanup_error_ NmError ce = NM_ERROR_INIT;
                const LinkKindOps *ops = link_kind_ops(IFACE_VETH);
                Iface d = { .kind = IFACE_VETH, .name = (char *) w->ifname, .peer_name = (char *) w->host_ifname };
                LinkEnv env = { .host = host, .nl = nl, .nsfd = w->nsfd, .peer_nsfd = -1, .bridge_ifindex = bridge_ifindex };

                r = ops->create(&env, &d, &ce);
                if (r >= 0)
                        made = true;
                else if (r != -EEXIST)
                        return nm_error(err, r, "%s", nm_error_message(&ce));
                else {
                        r = get_link(nl, w->ifname, 0, &inner);
                        if (r < 0 && r != -ENODEV && r != -ENOENT)
                                return kernel_fail(nl, r, err, "cannot look up %s in the namespace", w->ifname);
                        r = get_link(host, w->host_ifname, 0, &hostend);
                        if (r < 0 && r != -ENODEV && r != -ENOENT)
                                return kernel_fail(host, r, err, "cannot look up %s in the host", w->host_ifname);
                        if (!inner && !hostend)
                                /* Taken a moment ago, gone now: the kernel's word stands. */
                                return nm_error(err, -EEXIST, "%s", nm_error_message(&ce));
                }
        }
        if (!made) {
                /* Ours from before (ADD again): the pair, end to end. */
                if (!inner || !hostend || !is_veth(inner) || !is_veth(hostend) ||
                    rtnl_link_get_link(inner) != rtnl_link_get_ifindex(hostend)) {
                        if (inner)
                                return nm_error(err, -EEXIST,
                                                "interface %s already exists in the container's namespace (a %s nsmgr did not make for this attachment); CNI_IFNAME must name a new interface",
                                                w->ifname, rtnl_link_get_type(inner) ? rtnl_link_get_type(inner) : "device");
                        return nm_error(err, -EEXIST,
                                        "the host end of the veth, %s, is taken by another interface in the host; remove it",
                                        w->host_ifname);
                }
        } else {
                r = get_link(host, w->host_ifname, 0, &hostend);
                if (r >= 0)
                        r = get_link(nl, w->ifname, 0, &inner);
                if (r < 0) {
                        kernel_fail(host, r, err, "cannot find the veth %s just made", w->host_ifname);
                        goto fail;
                }
        }
        links.host_ifindex = rtnl_link_get_ifindex(hostend);
        links.ifindex = rtnl_link_get_ifindex(inner);
        links.mtu = rtnl_link_get_mtu(inner);

        /* The host end: a port of the bridge, up, without IPv6 link-local
         * (the engine's plan_up for a bridged peer). */
        {
                LinkChange c = LINK_CHANGE_NONE;

                if (rtnl_link_get_master(hostend) != bridge_ifindex)
                        c.master = bridge_ifindex;
                if (!(rtnl_link_get_flags(hostend) & IFF_UP) || made) {
                        c.up = 1;
                        c.ipv6_off = made;
                }
                if (c.master >= 0 || c.up >= 0) {
                        r = link_change(host, links.host_ifindex, &c);
                        if (r < 0) {
                                kernel_fail(host, r, err, "cannot bring up %s on its bridge", w->host_ifname);
                                goto fail;
                        }
                }
        }

        /* Inside: addresses, then up (routes via a gateway need the link up). */
        if (w->addr4.family && (r = add_address(nl, links.ifindex, &w->addr4)) < 0) {
                kernel_fail(nl, r, err, "cannot add the address to %s", w->ifname);
                goto fail;
        }
        if (w->addr6.family && (r = add_address(nl, links.ifindex, &w->addr6)) < 0) {
                kernel_fail(nl, r, err, "cannot add the IPv6 address to %s", w->ifname);
                goto fail;
        }
        if (!(rtnl_link_get_flags(inner) & IFF_UP) || made) {
                LinkChange c = LINK_CHANGE_NONE;

                c.up = 1;
                c.ipv6_off = made && !w->addr6.family;
                r = link_change(nl, links.ifindex, &c);
                if (r < 0) {
                        kernel_fail(nl, r, err, "cannot bring up %s", w->ifname);
                        goto fail;
                }
        }
        /* Loopback is ifindex 1 in every namespace. */
        r = link_set_up_index(nl, 1);
        if (r < 0) {
                kernel_fail(nl, r, err, "cannot bring up %s", "lo");
                goto fail;
        }
        r = wire_route(nl, links.ifindex, &w->gw4, &links.route4, err);
        if (r >= 0)
                r = wire_route(nl, links.ifindex, &w->gw6, &links.route6, err);
        if (r < 0)
                goto fail;

        /* The MAC addresses, as the kernel gave them when it made the
         * pair: neither joining the bridge nor going up changes a veth
         * end's, so the links read above have them. */
        format_mac(hostend, links.host_mac);
        format_mac(inner, links.mac);
        *ret = links;
        return made ? 1 : 0;

fail:
        if (made)
                (void) pod_unwire(host, w->host_ifname, NULL);
        return r < 0 ? r : -EIO;
}

int pod_unwire(NlSock *host, const char *host_ifname, NmError *err) {
        _cleanup_link_ struct rtnl_link *l = NULL;
        int r;

        r = get_link(host, host_ifname, 0, &l);
        if (r == -ENODEV || r == -ENOENT)
                return 0;
        if (r < 0)
                return kernel_fail(host, r, err, "cannot look up %s in the host", host_ifname);
        if (!is_veth(l))
                /* The name is ours by derivation; a link of another kind
                 * under it is not: leave it. */
                return 0;
        r = link_delete(host, rtnl_link_get_ifindex(l));
        if (r == -ENODEV || r == -ENOENT)
                return 0;
        if (r < 0)
                return kernel_fail(host, r, err, "cannot delete the veth %s", host_ifname);
        return 1;
}

static bool has_address(struct nl_cache *addrs, int ifindex, const Cidr *want) {
        for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *) o;
                Cidr c;

                if (rtnl_addr_get_ifindex(a) != ifindex || cidr_from_nl(rtnl_addr_get_local(a), &c) < 0)
                        continue;
                c.prefixlen = (uint8_t) rtnl_addr_get_prefixlen(a);
                if (cidr_equal(&c, want))
                        return true;
        }
        return false;
}

int pod_inspect(NlSock *host, const PodWire *w, PodState *ret, NmError *err) {
        _cleanup_link_ struct rtnl_link *br = NULL, *hostend = NULL, *inner = NULL;
        _cleanup_cache_ struct nl_cache *addrs = NULL;
        _cleanup_nl_ NlSock *nl = NULL;
        PodState s = {};
        bool exists;
        int r;

        (void) get_link(host, w->bridge, 0, &br);
        r = get_link(host, w->host_ifname, 0, &hostend);
        if (r >= 0 && is_veth(hostend)) {
                s.host_end = true;
                s.on_bridge = br && rtnl_link_get_master(hostend) == rtnl_link_get_ifindex(br);
                s.host_up = rtnl_link_get_flags(hostend) & IFF_UP;
                s.links.host_ifindex = rtnl_link_get_ifindex(hostend);
                format_mac(hostend, s.links.host_mac);
        }
        r = socket_in(w, &nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket in the namespace: %s", strerror(-r));
        r = get_link(nl, w->ifname, 0, &inner);
        if (r >= 0) {
                s.inner = true;
                s.paired = is_veth(inner) && s.host_end && rtnl_link_get_link(inner) == s.links.host_ifindex;
                s.inner_up = rtnl_link_get_flags(inner) & IFF_UP;
                s.links.ifindex = rtnl_link_get_ifindex(inner);
                s.links.mtu = rtnl_link_get_mtu(inner);
                format_mac(inner, s.links.mac);

                nls_reset_error(nl);
                r = rtnl_addr_alloc_cache(nl->sk, &addrs);
                if (r < 0)
                        return kernel_fail(nl, nls_errno(nl, r), err, "cannot read the addresses of %s", w->ifname);
                s.addr4 = !w->addr4.family || has_address(addrs, s.links.ifindex, &w->addr4);
                s.addr6 = !w->addr6.family || has_address(addrs, s.links.ifindex, &w->addr6);
                s.route4 = !w->gw4.family;
                s.route6 = !w->gw6.family;
                if (w->gw4.family && default_route(nl, AF_INET, s.links.ifindex, &w->gw4, &exists, &s.route4) < 0)
                        s.route4 = false;
                if (w->gw6.family && default_route(nl, AF_INET6, s.links.ifindex, &w->gw6, &exists, &s.route6) < 0)
                        s.route6 = false;
        }
        *ret = s;
        return 0;
}

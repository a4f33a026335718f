/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>

#include "show.h"

#include <linux/if_arp.h>
#include <linux/rtnetlink.h>

char *nladdr_to_string(struct nl_addr *a, bool with_prefix, bool default_word) {
        char buf[INET6_ADDRSTRLEN + 8];
        int family;
        char *s;

        if (!a)
                return NULL;
        family = nl_addr_get_family(a);
        if (nl_addr_get_len(a) == 0 || (default_word && nl_addr_get_prefixlen(a) == 0 && nl_addr_iszero(a)))
                return strdup(default_word ? "default" : "");
        if (family != AF_INET && family != AF_INET6) {
                nl_addr2str(a, buf, sizeof(buf));
                return strdup(buf);
        }
        if (!inet_ntop(family, nl_addr_get_binary_addr(a), buf, sizeof(buf)))
                return NULL;
        if (!with_prefix)
                return strdup(buf);
        if (asprintf(&s, "%s/%u", buf, nl_addr_get_prefixlen(a)) < 0)
                return NULL;
        return s;
}

static const char *operstate_name(uint8_t st) {
        static const char *const names[] = {
                "unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up",
        };
        return st < ELEMENTSOF(names) ? names[st] : "unknown";
}

struct walk {
        json_object *arr;
        struct nl_cache *links;
        int ifindex;
        int r;
};

static void add_str(json_object *o, const char *key, const char *value) {
        json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

static void address_cb(struct nl_object *obj, void *arg) {
        struct rtnl_addr *a = (struct rtnl_addr *) obj;
        struct walk *w = arg;
        _cleanup_free_ char *s = NULL;
        json_object *o;

        if (rtnl_addr_get_ifindex(a) != w->ifindex)
                return;
        s = nladdr_to_string(rtnl_addr_get_local(a), false, false);
        if (!s) {
                w->r = -ENOMEM;
                return;
        }
        o = json_object_new_object();
        add_str(o, "family", rtnl_addr_get_family(a) == AF_INET6 ? "inet6" : "inet");
        add_str(o, "address", s);
        json_object_object_add(o, "prefixlen", json_object_new_int(rtnl_addr_get_prefixlen(a)));
        json_object_array_add(w->arr, o);
}

static const char *link_name(struct nl_cache *links, int ifindex, char *buf, size_t len) {
        if (ifindex <= 0)
                return NULL;
        if (!rtnl_link_i2name(links, ifindex, buf, len))
                snprintf(buf, len, "if%d", ifindex);
        return buf;
}

static void route_cb(struct nl_object *obj, void *arg) {
        struct rtnl_route *rt = (struct rtnl_route *) obj;
        struct walk *w = arg;
        _cleanup_free_ char *dst = NULL, *gw = NULL;
        struct rtnl_nexthop *nh;
        char devbuf[IFNAMSIZ + 8], protobuf[32];
        uint32_t table = rtnl_route_get_table(rt);
        json_object *o;

        if (table == RT_TABLE_LOCAL || rtnl_route_get_type(rt) == RTN_MULTICAST)
                return;
        dst = nladdr_to_string(rtnl_route_get_dst(rt), true, true);
        nh = rtnl_route_nexthop_n(rt, 0);
        if (nh && rtnl_route_nh_get_gateway(nh))
                gw = nladdr_to_string(rtnl_route_nh_get_gateway(nh), false, false);

        o = json_object_new_object();
        add_str(o, "family", rtnl_route_get_family(rt) == AF_INET6 ? "inet6" : "inet");
        add_str(o, "destination", dst);
        add_str(o, "gateway", gw);
        add_str(o, "device", nh ? link_name(w->links, rtnl_route_nh_get_ifindex(nh), devbuf, sizeof(devbuf)) : NULL);
        json_object_object_add(o, "metric", json_object_new_int64(rtnl_route_get_priority(rt)));
        json_object_object_add(o, "table", json_object_new_int64(table));
        add_str(o, "protocol", rtnl_route_proto2str(rtnl_route_get_protocol(rt), protobuf, sizeof(protobuf)));
        json_object_array_add(w->arr, o);
}

int show_netns(NlSock *nl, json_object **ret, NmError *err) {
        _cleanup_cache_ struct nl_cache *links = NULL, *addrs = NULL, *routes = NULL;
        json_object *root, *ifs, *rts;
        int r;

        nls_reset_error(nl);
        r = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &links);
        if (r < 0)
                return nm_error(err, nls_errno(nl, r), "cannot list interfaces: %s", nl_geterror(r));
        r = rtnl_addr_alloc_cache(nl->sk, &addrs);
        if (r < 0)
                return nm_error(err, nls_errno(nl, r), "cannot list addresses: %s", nl_geterror(r));
        r = rtnl_route_alloc_cache(nl->sk, AF_UNSPEC, 0, &routes);
        if (r < 0)
                return nm_error(err, nls_errno(nl, r), "cannot list routes: %s", nl_geterror(r));

        root = json_object_new_object();
        ifs = json_object_new_array();
        rts = json_object_new_array();
        json_object_object_add(root, "interfaces", ifs);
        json_object_object_add(root, "routes", rts);

        for (struct nl_object *obj = nl_cache_get_first(links); obj; obj = nl_cache_get_next(obj)) {
                struct rtnl_link *l = (struct rtnl_link *) obj;
                struct walk w = { .links = links, .ifindex = rtnl_link_get_ifindex(l) };
                char macbuf[64], masterbuf[IFNAMSIZ + 8];
                struct nl_addr *mac = rtnl_link_get_addr(l);
                json_object *o = json_object_new_object();

                add_str(o, "name", rtnl_link_get_name(l));
                json_object_object_add(o, "ifindex", json_object_new_int(w.ifindex));
                add_str(o, "kind", rtnl_link_get_type(l) ? rtnl_link_get_type(l)
                                   : rtnl_link_get_arptype(l) == ARPHRD_LOOPBACK ? "loopback" : "device");
                json_object_object_add(o, "up", json_object_new_boolean(!!(rtnl_link_get_flags(l) & IFF_UP)));
                add_str(o, "operstate", operstate_name(rtnl_link_get_operstate(l)));
                json_object_object_add(o, "mtu", json_object_new_int64(rtnl_link_get_mtu(l)));
                add_str(o, "mac", mac && nl_addr_get_len(mac) ? nl_addr2str(mac, macbuf, sizeof(macbuf)) : NULL);
                add_str(o, "master", link_name(links, rtnl_link_get_master(l), masterbuf, sizeof(masterbuf)));

                w.arr = json_object_new_array();
                nl_cache_foreach(addrs, address_cb, &w);
                json_object_object_add(o, "addresses", w.arr);
                json_object_array_add(ifs, o);
                if (w.r < 0) {
                        json_object_put(root);
                        return w.r;
                }
        }

        {
                struct walk w = { .arr = rts, .links = links };
                nl_cache_foreach(routes, route_cb, &w);
        }

        *ret = root;
        return 0;
}

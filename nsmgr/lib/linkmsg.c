/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <stdio.h>
#include <string.h>

#include "ipaddr.h"
#include "linkmsg.h"
#include "macro.h"

static struct nla_policy link_policy[IFLA_MAX + 1] = {
        [IFLA_IFNAME] = { .type = NLA_STRING },
        [IFLA_MTU] = { .type = NLA_U32 },
        [IFLA_MASTER] = { .type = NLA_U32 },
        [IFLA_LINK] = { .type = NLA_U32 },
        [IFLA_LINK_NETNSID] = { .type = NLA_S32 },
        [IFLA_GROUP] = { .type = NLA_U32 },
        [IFLA_LINKINFO] = { .type = NLA_NESTED },
        [IFLA_AF_SPEC] = { .type = NLA_NESTED },
};

static struct nla_policy info_policy[IFLA_INFO_MAX + 1] = {
        [IFLA_INFO_KIND] = { .type = NLA_STRING },
        [IFLA_INFO_DATA] = { .type = NLA_NESTED },
};

static struct nla_policy vxlan_policy[IFLA_VXLAN_MAX + 1] = {
        [IFLA_VXLAN_ID] = { .type = NLA_U32 },
        [IFLA_VXLAN_PORT] = { .type = NLA_U16 },
        [IFLA_VXLAN_GROUP] = { .minlen = sizeof(struct in_addr) },
        [IFLA_VXLAN_GROUP6] = { .minlen = sizeof(struct in6_addr) },
        [IFLA_VXLAN_LOCAL] = { .minlen = sizeof(struct in_addr) },
        [IFLA_VXLAN_LOCAL6] = { .minlen = sizeof(struct in6_addr) },
};

static struct nla_policy vrf_policy[IFLA_VRF_MAX + 1] = {
        [IFLA_VRF_TABLE] = { .type = NLA_U32 },
};

static struct nla_policy macvlan_policy[IFLA_MACVLAN_MAX + 1] = {
        [IFLA_MACVLAN_MODE] = { .type = NLA_U32 },
};

static struct nla_policy inet6_policy[IFLA_INET6_MAX + 1] = {
        [IFLA_INET6_ADDR_GEN_MODE] = { .type = NLA_U8 },
};

/* An address attribute of a VXLAN: family's bytes, as a host address. */
static void vxlan_addr(struct nlattr *a4, struct nlattr *a6, Cidr *ret) {
        struct nlattr *a = a4 ? a4 : a6;
        int family = a4 ? AF_INET : AF_INET6;

        if (!a)
                return;
        *ret = (Cidr) { .family = (uint8_t) family, .prefixlen = (uint8_t) (cidr_addr_bytes(family) * 8) };
        memcpy(ret->addr, nla_data(a), (size_t) cidr_addr_bytes(family));
}

static void parse_kind_data(ObsLink *o, struct nlattr *data) {
        if (!data)
                return;
        if (streq(o->kind, "vxlan")) {
                struct nlattr *tb[IFLA_VXLAN_MAX + 1];

                if (nla_parse_nested(tb, IFLA_VXLAN_MAX, data, vxlan_policy) < 0)
                        return;
                if (tb[IFLA_VXLAN_ID])
                        o->vxlan_id = nla_get_u32(tb[IFLA_VXLAN_ID]);
                if (tb[IFLA_VXLAN_PORT])
                        o->vxlan_port = ntohs(nla_get_u16(tb[IFLA_VXLAN_PORT]));
                vxlan_addr(tb[IFLA_VXLAN_GROUP], tb[IFLA_VXLAN_GROUP6], &o->vxlan_group);
                vxlan_addr(tb[IFLA_VXLAN_LOCAL], tb[IFLA_VXLAN_LOCAL6], &o->vxlan_local);
        } else if (streq(o->kind, "vrf")) {
                struct nlattr *tb[IFLA_VRF_MAX + 1];

                if (nla_parse_nested(tb, IFLA_VRF_MAX, data, vrf_policy) >= 0 && tb[IFLA_VRF_TABLE])
                        o->vrf_table = nla_get_u32(tb[IFLA_VRF_TABLE]);
        } else if (streq(o->kind, "macvlan")) {
                struct nlattr *tb[IFLA_MACVLAN_MAX + 1];

                /* As libnl says it: 0 when the kernel gave no mode. */
                o->macvlan_mode = 0;
                if (nla_parse_nested(tb, IFLA_MACVLAN_MAX, data, macvlan_policy) >= 0 && tb[IFLA_MACVLAN_MODE])
                        o->macvlan_mode = (int) nla_get_u32(tb[IFLA_MACVLAN_MODE]);
        }
}

/* IFLA_AF_SPEC holds one nest per address family, typed by the family. */
static void parse_af_spec(ObsLink *o, struct nlattr *spec) {
        struct nlattr *af;
        int rem;

        nla_for_each_nested(af, spec, rem) {
                struct nlattr *tb[IFLA_INET6_MAX + 1];

                if (nla_type(af) != AF_INET6 || nla_parse_nested(tb, IFLA_INET6_MAX, af, inet6_policy) < 0)
                        continue;
                if (tb[IFLA_INET6_ADDR_GEN_MODE])
                        o->addr_gen_mode = nla_get_u8(tb[IFLA_INET6_ADDR_GEN_MODE]);
        }
}

int obs_link_from_msg(const struct nlmsghdr *h, ObsLink *ret) {
        struct nlattr *tb[IFLA_MAX + 1];
        const struct ifinfomsg *ifi;
        ObsLink o;

        if (h->nlmsg_type != RTM_NEWLINK || nlmsg_parse((struct nlmsghdr *) h, sizeof(*ifi), tb, IFLA_MAX, link_policy) < 0 ||
            !tb[IFLA_IFNAME])
                return -EINVAL;
        ifi = nlmsg_data(h);
        o = (ObsLink) { .ifindex = ifi->ifi_index, .flags = ifi->ifi_flags, .link_netnsid = -1, .macvlan_mode = -1,
                        .addr_gen_mode = -1 };
        /* The kernel's names fit IFNAMSIZ with their NUL; one that would not
         * is cut as libnl cuts it. */
        snprintf(o.name, sizeof(o.name), "%s", nla_get_string(tb[IFLA_IFNAME]));
        if (tb[IFLA_MTU])
                o.mtu = nla_get_u32(tb[IFLA_MTU]);
        if (tb[IFLA_MASTER])
                o.master = (int) nla_get_u32(tb[IFLA_MASTER]);
        if (tb[IFLA_LINK])
                o.link = (int) nla_get_u32(tb[IFLA_LINK]);
        if (tb[IFLA_LINK_NETNSID])
                o.link_netnsid = nla_get_s32(tb[IFLA_LINK_NETNSID]);
        if (tb[IFLA_GROUP])
                o.group = nla_get_u32(tb[IFLA_GROUP]);
        if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6) {
                memcpy(o.mac, nla_data(tb[IFLA_ADDRESS]), 6);
                o.has_mac = true;
        }
        if (tb[IFLA_AF_SPEC])
                parse_af_spec(&o, tb[IFLA_AF_SPEC]);
        if (tb[IFLA_LINKINFO]) {
                struct nlattr *info[IFLA_INFO_MAX + 1];

                if (nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], info_policy) >= 0 && info[IFLA_INFO_KIND]) {
                        snprintf(o.kind, sizeof(o.kind), "%s", nla_get_string(info[IFLA_INFO_KIND]));
                        parse_kind_data(&o, info[IFLA_INFO_DATA]);
                }
        }
        *ret = o;
        return 0;
}

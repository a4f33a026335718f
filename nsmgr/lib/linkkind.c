/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "linkkind.h"

#include <fcntl.h>
#include <linux/if_link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vrf.h>
#include <netlink/route/link/vxlan.h>

#include "nsthread.h"

#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif

static int add_link(NlSock *nl, struct rtnl_link *link, const char *what, NmError *err) {
        int r;

        nls_reset_error(nl);
        r = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0) {
                r = nls_errno(nl, r);
                return nm_error(err, r, "cannot create %s: %s%s%s", what, strerror(-r),
                                nls_last_message(nl) ? " (the kernel says: " : "",
                                nls_last_message(nl) ? nls_last_message(nl) : "");
        }
        return 0;
}

static int veth_create(const LinkEnv *env, const Iface *d, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL, *peer = NULL;
        char what[128];

        link = rtnl_link_veth_alloc();
        if (!link)
                return -ENOMEM;
        peer = rtnl_link_veth_get_peer(link);

        /* The request goes out through the host socket. Its main device is
         * the end that lives in the namespace (IFLA_NET_NS_FD); the peer is
         * made in the host, or in the peer namespace, with its own fd. When
         * the peer is a bridge port it is the main device instead, because
         * only the main device takes IFLA_MASTER at creation. */
        if (env->bridge_ifindex > 0) {
                rtnl_link_set_name(link, d->peer_name);
                rtnl_link_set_master(link, env->bridge_ifindex);
                rtnl_link_set_name(peer, d->name);
                rtnl_link_set_ns_fd(peer, env->nsfd);
        } else {
                rtnl_link_set_name(link, d->name);
                rtnl_link_set_ns_fd(link, env->nsfd);
                rtnl_link_set_name(peer, d->peer_name);
                if (env->peer_nsfd >= 0)
                        rtnl_link_set_ns_fd(peer, env->peer_nsfd);
        }
        if (d->mtu) {
                rtnl_link_set_mtu(link, d->mtu);
                rtnl_link_set_mtu(peer, d->mtu);
        }
        snprintf(what, sizeof(what), "veth %s (peer %s)", d->name, d->peer_name);
        return add_link(env->host, link, what, err);
}

static bool veth_matches(struct rtnl_link *link, const Iface *d) {
        return true;
}

static int macvlan_create(const LinkEnv *env, const Iface *d, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        char what[128];
        int mode;

        link = rtnl_link_macvlan_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, d->name);
        rtnl_link_set_link(link, env->parent_ifindex);
        rtnl_link_set_ns_fd(link, env->nsfd);
        mode = rtnl_link_macvlan_str2mode(d->macvlan_mode ? d->macvlan_mode : "bridge");
        if (mode >= 0)
                rtnl_link_macvlan_set_mode(link, (uint32_t) mode);
        if (d->mtu)
                rtnl_link_set_mtu(link, d->mtu);
        snprintf(what, sizeof(what), "macvlan %s on %s", d->name, d->parent);
        return add_link(env->host, link, what, err);
}

static bool macvlan_matches(struct rtnl_link *link, const Iface *d) {
        int want = rtnl_link_macvlan_str2mode(d->macvlan_mode ? d->macvlan_mode : "bridge");

        return want < 0 || rtnl_link_macvlan_get_mode(link) == (uint32_t) want;
}

static int vxlan_create(const LinkEnv *env, const Iface *d, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        _cleanup_nladdr_ struct nl_addr *local = NULL, *remote = NULL;
        char what[64];

        link = rtnl_link_vxlan_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, d->name);
        rtnl_link_vxlan_set_id(link, d->vni);
        rtnl_link_vxlan_set_port(link, d->port);
        if (d->remote.family || d->group.family) {
                remote = cidr_to_nl(d->remote.family ? &d->remote : &d->group);
                if (!remote)
                        return -ENOMEM;
                rtnl_link_vxlan_set_group(link, remote);
        }
        if (d->local.family) {
                local = cidr_to_nl(&d->local);
                if (!local)
                        return -ENOMEM;
                rtnl_link_vxlan_set_local(link, local);
        }
        if (env->parent_ifindex > 0)
                rtnl_link_vxlan_set_link(link, (uint32_t) env->parent_ifindex);
        if (d->mtu)
                rtnl_link_set_mtu(link, d->mtu);
        snprintf(what, sizeof(what), "vxlan %s (vni %u)", d->name, d->vni);
        return add_link(env->nl, link, what, err);
}

static bool vxlan_matches(struct rtnl_link *link, const Iface *d) {
        struct nl_addr *a = NULL;
        uint32_t id = 0, port = 0;
        Cidr c;
        bool ok;

        if (rtnl_link_vxlan_get_id(link, &id) < 0 || id != d->vni)
                return false;
        if (rtnl_link_vxlan_get_port(link, &port) >= 0 && port != d->port)
                return false;
        if (d->remote.family || d->group.family) {
                const Cidr *want = d->remote.family ? &d->remote : &d->group;

                if (rtnl_link_vxlan_get_group(link, &a) < 0)
                        return false;
                ok = cidr_from_nl(a, &c) >= 0 && cidr_addr_equal(&c, want);
                nl_addr_put(a);
                if (!ok)
                        return false;
        }
        if (d->local.family) {
                a = NULL;
                if (rtnl_link_vxlan_get_local(link, &a) < 0)
                        return false;
                ok = cidr_from_nl(a, &c) >= 0 && cidr_addr_equal(&c, &d->local);
                nl_addr_put(a);
                if (!ok)
                        return false;
        }
        return true;
}

static int vrf_create(const LinkEnv *env, const Iface *d, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        char what[64];

        link = rtnl_link_vrf_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, d->name);
        rtnl_link_vrf_set_tableid(link, d->table);
        if (d->mtu)
                rtnl_link_set_mtu(link, d->mtu);
        snprintf(what, sizeof(what), "VRF %s (table %u)", d->name, d->table);
        return add_link(env->nl, link, what, err);
}

static bool vrf_matches(struct rtnl_link *link, const Iface *d) {
        uint32_t table = 0;

        return rtnl_link_vrf_get_tableid(link, &table) >= 0 && table == d->table;
}

static const LinkKindOps kinds[_IFACE_KIND_MAX] = {
        [IFACE_VETH] = { IFACE_VETH, "veth", "veth support (CONFIG_VETH)", veth_create, veth_matches },
        [IFACE_MACVLAN] = { IFACE_MACVLAN, "macvlan", "macvlan support (CONFIG_MACVLAN)", macvlan_create,
                            macvlan_matches },
        [IFACE_VXLAN] = { IFACE_VXLAN, "vxlan", "VXLAN support (CONFIG_VXLAN)", vxlan_create, vxlan_matches },
        [IFACE_VRF] = { IFACE_VRF, "vrf", "VRF support (CONFIG_NET_VRF)", vrf_create, vrf_matches },
};

const LinkKindOps *link_kind_ops(IfaceKind k) {
        return k < _IFACE_KIND_MAX ? &kinds[k] : NULL;
}

/* libnl 3.7 knows no bridge options (IFLA_INFO_DATA of kind "bridge"), so
 * the request libnl builds for the link gets them in an IFLA_LINKINFO of
 * our own. */
int bridge_create(NlSock *host, const char *name, uint32_t mtu, bool netfilter, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        struct nl_msg *msg = NULL;
        struct nlattr *info, *data;
        char what[64];
        int r;

        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        if (mtu)
                rtnl_link_set_mtu(link, mtu);
        r = rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, &msg);
        if (r < 0)
                return -ENOMEM;
        /* Whether bridged IPv4, IPv6 and ARP pass through iptables, ip6tables
         * and arptables (br_netfilter) even where the host's
         * net.bridge.bridge-nf-call-* sysctls are 0. The kernel ORs the two:
         * with a sysctl at 1 this bridge's traffic passes them anyway. */
        info = nla_nest_start(msg, IFLA_LINKINFO);
        if (!info || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0 ||
            !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
            nla_put_u8(msg, IFLA_BR_NF_CALL_IPTABLES, netfilter) < 0 ||
            nla_put_u8(msg, IFLA_BR_NF_CALL_IP6TABLES, netfilter) < 0 ||
            nla_put_u8(msg, IFLA_BR_NF_CALL_ARPTABLES, netfilter) < 0 || nla_nest_end(msg, data) < 0 ||
            nla_nest_end(msg, info) < 0) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        snprintf(what, sizeof(what), "bridge %s", name);
        nls_reset_error(host);
        r = nl_send_sync(host->sk, msg); /* frees msg */
        if (r < 0) {
                r = nls_errno(host, r);
                return nm_error(err, r, "cannot create %s: %s%s%s", what, strerror(-r),
                                nls_last_message(host) ? " (the kernel says: " : "",
                                nls_last_message(host) ? nls_last_message(host) : "");
        }
        return 0;
}

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

int link_ifindex(NlSock *nl, const char *name, int *ret) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        int r;

        nls_reset_error(nl);
        r = rtnl_link_get_kernel(nl->sk, 0, name, &link);
        if (r < 0)
                return nls_errno(nl, r);
        *ret = rtnl_link_get_ifindex(link);
        return 0;
}

struct probe {
        unsigned kinds;
        int missing;          /* a kind index, _IFACE_KIND_MAX for the bridge */
        NmError *err;
};

static int probe_in_scratch(void *userdata) {
        struct probe *p = userdata;
        _cleanup_nl_ NlSock *nl = NULL;
        LinkEnv env = { .peer_nsfd = -1 };
        int r, veth_index = 0, probe_index = 0;
        Iface probe_veth = { .name = (char *) "probe0", .peer_name = (char *) "probe1", .kind = IFACE_VETH };

        r = nls_open(&nl);
        if (r < 0)
                return r;
        env.host = env.nl = nl;

        /* Everything made here dies with this thread's namespace. A veth
         * comes first: macvlan and vxlan need a parent to stand on. */
        if (p->kinds & ((1u << IFACE_VETH) | (1u << IFACE_MACVLAN))) {
                env.nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
                if (env.nsfd < 0)
                        return negative_errno();
                r = veth_create(&env, &probe_veth, NULL);
                close(env.nsfd);
                if (r == -EOPNOTSUPP) {
                        p->missing = IFACE_VETH;
                        return r;
                }
                if (r < 0)
                        return r;
                (void) link_ifindex(nl, "probe1", &veth_index);
        }
        if (p->kinds & LINK_KIND_BRIDGE_BIT) {
                r = bridge_create(nl, "probebr0", 0, false, NULL);
                if (r == -EOPNOTSUPP) {
                        p->missing = _IFACE_KIND_MAX;
                        return r;
                }
        }
        for (IfaceKind k = IFACE_MACVLAN; k < _IFACE_KIND_MAX; k++) {
                _cleanup_link_ struct rtnl_link *link = NULL;
                const char *kind = kinds[k].kernel_kind;

                if (!(p->kinds & (1u << k)))
                        continue;
                link = rtnl_link_alloc();
                if (!link)
                        return -ENOMEM;
                if (rtnl_link_set_type(link, kind) < 0)
                        return -ENOMEM;
                rtnl_link_set_name(link, "probe2");
                if (k == IFACE_MACVLAN)
                        rtnl_link_set_link(link, veth_index);
                if (k == IFACE_VXLAN)
                        rtnl_link_vxlan_set_id(link, 1);
                if (k == IFACE_VRF)
                        rtnl_link_vrf_set_tableid(link, 1);
                nls_reset_error(nl);
                r = nls_errno(nl, rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL));
                if (r == -EOPNOTSUPP) {
                        p->missing = (int) k;
                        return r;
                }
                if (r >= 0 && link_ifindex(nl, "probe2", &probe_index) >= 0)
                        (void) link_delete(nl, probe_index);
        }
        return 0;
}

int link_kinds_probe(unsigned kinds_wanted, NmError *err) {
        struct probe p = { .kinds = kinds_wanted, .missing = -1, .err = err };
        int r;

        if (!kinds_wanted)
                return 0;
        r = ns_run_in_new(probe_in_scratch, &p);
        if (r == -EOPNOTSUPP && p.missing >= 0) {
                if (p.missing == _IFACE_KIND_MAX)
                        return nm_error(err, r, "this kernel has no bridge support (CONFIG_BRIDGE)");
                return nm_error(err, r, "this kernel has no %s", kinds[p.missing].feature);
        }
        if (r < 0)
                return nm_error(err, r, "cannot find out which link kinds the kernel supports: %s", strerror(-r));
        return 0;
}

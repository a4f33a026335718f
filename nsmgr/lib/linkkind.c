/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "linkkind.h"

#include <fcntl.h>
#include <linux/if_link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vrf.h>
#include <netlink/route/link/vxlan.h>

#include "fileio.h"
#include "link.h"
#include "marks.h"
#include "nsthread.h"
#include "siphash.h"

static int add_link(NlSock *nl, struct rtnl_link *link, const char *what, NmError *err) {
        int r;

        nls_reset_error(nl);
        r = rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL);
        if (r < 0) {
                r = nls_errno(nl, r);
                return nm_error(err, r, "cannot create %s: %s%s%s%s", what, strerror(-r),
                                nls_last_message(nl) ? " (the kernel says: " : "",
                                nls_last_message(nl) ? nls_last_message(nl) : "", nls_last_message(nl) ? ")" : "");
        }
        return 0;
}

static int set_mac(struct rtnl_link *link, const uint8_t *mac) {
        _cleanup_nladdr_ struct nl_addr *a = NULL;

        if (!mac)
                return 0;
        a = nl_addr_build(AF_LLC, mac, 6);
        if (!a)
                return -ENOMEM;
        rtnl_link_set_addr(link, a);
        return 0;
}

/* --- veth ------------------------------------------------------------------ */

static int veth_create(const LinkEnv *env, const Iface *d, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL, *peer = NULL;
        char what[128];

        link = rtnl_link_veth_alloc();
        if (!link)
                return -ENOMEM;
        peer = rtnl_link_veth_get_peer(link);   /* a reference of its own */

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
                if (set_mac(link, env->peer_mac) < 0 || set_mac(peer, env->mac) < 0)
                        return -ENOMEM;
        } else {
                rtnl_link_set_name(link, d->name);
                rtnl_link_set_ns_fd(link, env->nsfd);
                rtnl_link_set_name(peer, d->peer_name);
                if (env->peer_nsfd >= 0)
                        rtnl_link_set_ns_fd(peer, env->peer_nsfd);
                if (set_mac(link, env->mac) < 0 || set_mac(peer, env->peer_mac) < 0)
                        return -ENOMEM;
        }
        rtnl_link_set_group(link, NSMGR_LINK_GROUP);
        if (d->mtu) {
                rtnl_link_set_mtu(link, d->mtu);
                rtnl_link_set_mtu(peer, d->mtu);
        }
        snprintf(what, sizeof(what), "veth %s (peer %s)", d->name, d->peer_name);
        /* libnl 3.7 sends no IFLA_GROUP for a veth's peer: the caller marks
         * that end with a second request (link_mark_peer()). Until then
         * nsmgr knows it as the peer of a marked end (observe.c). */
        return add_link(env->host, link, what, err);
}

static bool veth_matches(const ObsLink *link, const Iface *d) {
        /* The pair itself is checked by the planner: it spans two scopes. */
        return true;
}

static char *veth_describe(const Iface *d, const char *peer_scope) {
        char *s;

        if (asprintf(&s, ", peer %s %s %s", d->peer_name, d->bridge ? "on bridge" : "in",
                     d->bridge ? d->bridge : peer_scope) < 0)
                return NULL;
        return s;
}

/* --- macvlan ----------------------------------------------------------------- */

static int macvlan_mode_of(const Iface *d) {
        return rtnl_link_macvlan_str2mode(d->macvlan_mode ? d->macvlan_mode : "bridge");
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
        rtnl_link_set_group(link, NSMGR_LINK_GROUP);
        if (set_mac(link, env->mac) < 0)
                return -ENOMEM;
        mode = macvlan_mode_of(d);
        if (mode >= 0)
                rtnl_link_macvlan_set_mode(link, (uint32_t) mode);
        if (d->mtu)
                rtnl_link_set_mtu(link, d->mtu);
        snprintf(what, sizeof(what), "macvlan %s on %s", d->name, d->parent);
        return add_link(env->host, link, what, err);
}

static bool macvlan_matches(const ObsLink *link, const Iface *d) {
        int want = macvlan_mode_of(d);

        return want < 0 || link->macvlan_mode < 0 || link->macvlan_mode == want;
}

static char *macvlan_describe(const Iface *d, const char *peer_scope) {
        char *s;

        if (asprintf(&s, " on host interface %s", d->parent) < 0)
                return NULL;
        return s;
}

/* --- vxlan ------------------------------------------------------------------- */

static int vxlan_create(const LinkEnv *env, const Iface *d, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        _cleanup_nladdr_ struct nl_addr *local = NULL, *remote = NULL;
        char what[64];

        link = rtnl_link_vxlan_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, d->name);
        rtnl_link_set_group(link, NSMGR_LINK_GROUP);
        if (set_mac(link, env->mac) < 0)
                return -ENOMEM;
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

static bool vxlan_matches(const ObsLink *link, const Iface *d) {
        const Cidr *want = d->remote.family ? &d->remote : d->group.family ? &d->group : NULL;

        if (link->vxlan_id != d->vni)
                return false;
        if (link->vxlan_port && link->vxlan_port != d->port)
                return false;
        if (want && (!link->vxlan_group.family || !cidr_addr_equal(&link->vxlan_group, want)))
                return false;
        if (d->local.family && (!link->vxlan_local.family || !cidr_addr_equal(&link->vxlan_local, &d->local)))
                return false;
        return true;
}

static char *vxlan_describe(const Iface *d, const char *peer_scope) {
        char *s;

        if (asprintf(&s, ", vni %u", d->vni) < 0)
                return NULL;
        return s;
}

/* --- vrf --------------------------------------------------------------------- */

static int vrf_create(const LinkEnv *env, const Iface *d, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        char what[64];

        link = rtnl_link_vrf_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, d->name);
        rtnl_link_set_group(link, NSMGR_LINK_GROUP);
        rtnl_link_vrf_set_tableid(link, d->table);
        if (d->mtu)
                rtnl_link_set_mtu(link, d->mtu);
        snprintf(what, sizeof(what), "VRF %s (table %u)", d->name, d->table);
        return add_link(env->nl, link, what, err);
}

static bool vrf_matches(const ObsLink *link, const Iface *d) {
        return link->vrf_table == d->table;
}

static char *vrf_describe(const Iface *d, const char *peer_scope) {
        char *s;

        if (asprintf(&s, ", table %u", d->table) < 0)
                return NULL;
        return s;
}

static const LinkKindOps kinds[_IFACE_KIND_MAX] = {
        [IFACE_VETH] = {
                .kind = IFACE_VETH, .kernel_kind = "veth", .feature = "veth support (CONFIG_VETH)",
                .create_type = LINK_CREATE_INDEPENDENT, .has_peer = true,
                .create = veth_create, .matches = veth_matches, .describe = veth_describe,
        },
        [IFACE_MACVLAN] = {
                .kind = IFACE_MACVLAN, .kernel_kind = "macvlan", .feature = "macvlan support (CONFIG_MACVLAN)",
                .create_type = LINK_CREATE_STACKED, .parent_in_host = true,
                .create = macvlan_create, .matches = macvlan_matches, .describe = macvlan_describe,
        },
        [IFACE_VXLAN] = {
                .kind = IFACE_VXLAN, .kernel_kind = "vxlan", .feature = "VXLAN support (CONFIG_VXLAN)",
                .create_type = LINK_CREATE_STACKED,
                .create = vxlan_create, .matches = vxlan_matches, .describe = vxlan_describe,
        },
        [IFACE_VRF] = {
                .kind = IFACE_VRF, .kernel_kind = "vrf", .feature = "VRF support (CONFIG_NET_VRF)",
                .create_type = LINK_CREATE_MASTER,
                .create = vrf_create, .matches = vrf_matches, .describe = vrf_describe,
        },
};

const LinkKindOps *link_kind_ops(IfaceKind k) {
        return k < _IFACE_KIND_MAX ? &kinds[k] : NULL;
}

const char *link_parent(const Iface *d) {
        return link_kind_ops(d->kind)->create_type == LINK_CREATE_STACKED ? d->parent : NULL;
}

/* --- bridges ----------------------------------------------------------------- */

int machine_key_read(uint8_t ret[16]) {
        _cleanup_free_ char *line = NULL;
        uint8_t key[16] = {};
        size_t k = 0;
        int r;

        r = read_one_line("/etc/machine-id", &line);
        if (r < 0 || strlen(line) < 32) {
                line = mfree(line);
                r = read_one_line("/proc/sys/kernel/random/boot_id", &line);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; line[i] && k < 32; i++) {
                char c = line[i];
                int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

                if (v < 0)
                        continue;   /* the dashes of a boot ID */
                key[k / 2] = (uint8_t) (k % 2 == 0 ? v << 4 : key[k / 2] | v);
                k++;
        }
        if (k < 32)
                return -EBADMSG;
        memcpy(ret, key, sizeof(key));
        return 0;
}

void link_mac_derive(const uint8_t key[16], const char *netns, const char *ifname, uint8_t ret[6]) {
        _cleanup_free_ char *msg = NULL;
        uint64_t h;
        int n;

        n = asprintf(&msg, "nsmgr link %s/%s", netns ? netns : "", ifname);
        h = siphash24(n >= 0 ? msg : ifname, n >= 0 ? (size_t) n : strlen(ifname), key);
        for (int i = 0; i < 6; i++)
                ret[i] = (uint8_t) (h >> (8 * i));
        ret[0] &= 0xfe;   /* unicast */
        ret[0] |= 0x02;   /* locally administered */
}

/* libnl 3.7 knows no bridge options (IFLA_INFO_DATA of kind "bridge"), so
 * the request libnl builds for the link gets them in an IFLA_LINKINFO of
 * our own. */
int bridge_create(NlSock *host, const char *name, uint32_t mtu, const uint8_t mac[6], bool netfilter, NmError *err) {
        _cleanup_link_ struct rtnl_link *link = NULL;
        struct nl_msg *msg = NULL;
        struct nlattr *info, *data;
        char what[64];
        int r;

        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        rtnl_link_set_group(link, NSMGR_LINK_GROUP);
        if (mtu)
                rtnl_link_set_mtu(link, mtu);
        if (set_mac(link, mac) < 0)
                return -ENOMEM;
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
                return nm_error(err, r, "cannot create %s: %s%s%s%s", what, strerror(-r),
                                nls_last_message(host) ? " (the kernel says: " : "",
                                nls_last_message(host) ? nls_last_message(host) : "", nls_last_message(host) ? ")" : "");
        }
        return 0;
}

/* --- probing ------------------------------------------------------------------ */

struct probe {
        unsigned kinds;
        int missing;          /* a kind index, _IFACE_KIND_MAX for the bridge */
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
                r = bridge_create(nl, "probebr0", 0, NULL, false, NULL);
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

int link_kinds_probe(unsigned kinds_wanted, int *ret_missing, NmError *err) {
        struct probe p = { .kinds = kinds_wanted, .missing = -1 };
        int r;

        if (!kinds_wanted)
                return 0;
        r = ns_run_in_new(probe_in_scratch, &p);
        if (r == -EOPNOTSUPP && p.missing >= 0) {
                if (ret_missing)
                        *ret_missing = p.missing;
                if (p.missing == _IFACE_KIND_MAX)
                        return nm_error(err, r, "this kernel has no bridge support (CONFIG_BRIDGE)");
                return nm_error(err, r, "this kernel has no %s", kinds[p.missing].feature);
        }
        if (r < 0)
                return nm_error(err, r, "cannot find out which link kinds the kernel supports: %s", strerror(-r));
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for wiring namespaces on a bridge: a minimal libnl program that
 * leaves the same result as `nsmgrctl apply` of bench's wire config, with
 * nothing but the requests that result needs.
 *
 *   floor-wire N [--ipv6] [--move] [--per-bridge K]
 *
 * Makes bridge br0 (198.18.0.1/16, up), then per namespace nsI: a pinned
 * namespace (placeholder, unshare, bind mount), loopback up, a veth whose
 * host end vhI is created on br0 and whose inner end eth0 is created
 * directly in the namespace (IFLA_NET_NS_FD on the peer), both ends up,
 * 198.18.x.y/16 on eth0, default route via 198.18.0.1.
 *
 * IPv4-only wiring turns off IPv6 link-local generation (addr_gen_mode
 * none) on the bridge and both veth ends in the request that brings them
 * up, as nsmgr does; --ipv6 leaves IPv6 on (the kernel default), for
 * context. --move creates both veth ends in the host and then moves the
 * inner one into the namespace (the common recipe), for context.
 *
 * --per-bridge K puts at most K namespaces on a bridge (a Linux bridge
 * takes at most 1024 ports): bridges brB, each with a /20 of its own,
 * 198.18.0.0/20, 198.18.16.0/20, ... (gateway .1, namespaces from .2), as
 * bench.py's scale configs declare them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif
#ifndef VETH_INFO_PEER
#define VETH_INFO_PEER 1
#endif

#define DIR "/run/netns"

static bool ipv6_on, move_peer;

static void die(const char *what, int err) {
        fprintf(stderr, "floor-wire: %s: %s\n", what, err ? nl_geterror(err) : strerror(errno));
        exit(1);
}

static struct nl_sock *sock_open(void) {
        struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk)
                die("nl_socket_alloc", 0);
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                die("nl_connect", r);
        return sk;
}

static void talk(struct nl_sock *sk, struct nl_msg *m, const char *what) {
        int r = nl_send_auto(sk, m);

        if (r >= 0)
                r = nl_wait_for_ack(sk);
        nlmsg_free(m);
        if (r < 0)
                die(what, r);
}

static struct nl_msg *link_msg(int type, int flags, int ifindex, const char *name, bool up) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
        struct nl_msg *m = nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_ACK | flags);

        if (up) {
                ifi.ifi_flags = IFF_UP;
                ifi.ifi_change = IFF_UP;
        }
        if (!m || nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
                die("nlmsg_alloc", 0);
        if (name)
                nla_put_string(m, IFLA_IFNAME, name);
        return m;
}

/* In the request that brings a link up: no IPv6 link-local address. */
static void put_ipv6_off(struct nl_msg *m) {
        struct nlattr *af, *in6;

        if (ipv6_on)
                return;
        af = nla_nest_start(m, IFLA_AF_SPEC);
        in6 = nla_nest_start(m, AF_INET6);
        nla_put_u8(m, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
        nla_nest_end(m, in6);
        nla_nest_end(m, af);
}

static void set_up(struct nl_sock *sk, int ifindex, const char *name, bool v6off, const char *what) {
        struct nl_msg *m = link_msg(RTM_NEWLINK, 0, ifindex, ifindex ? NULL : name, true);

        if (v6off)
                put_ipv6_off(m);
        talk(sk, m, what);
}

static int ifindex_of(struct nl_sock *sk, const char *name) {
        struct nl_msg *m = link_msg(RTM_GETLINK, 0, 0, name, false), *reply;
        struct sockaddr_nl peer;
        unsigned char *buf = NULL;
        int n, ifindex;

        nlmsg_hdr(m)->nlmsg_flags &= ~NLM_F_ACK;
        if (nl_send_auto(sk, m) < 0)
                die("RTM_GETLINK", 0);
        nlmsg_free(m);
        n = nl_recv(sk, &peer, &buf, NULL);
        if (n <= 0)
                die("RTM_GETLINK reply", n);
        if (((struct nlmsghdr *) buf)->nlmsg_type != RTM_NEWLINK)
                die(name, -NLE_OBJ_NOTFOUND);
        reply = NULL;
        ifindex = ((struct ifinfomsg *) NLMSG_DATA(buf))->ifi_index;
        free(buf);
        (void) reply;
        return ifindex;
}

static void addr_add(struct nl_sock *sk, int ifindex, uint32_t addr, int plen) {
        struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char) plen, .ifa_index = (unsigned) ifindex };
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);

        if (!m || nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0)
                die("nlmsg_alloc", 0);
        nla_put_u32(m, IFA_LOCAL, addr);
        nla_put_u32(m, IFA_ADDRESS, addr);
        talk(sk, m, "RTM_NEWADDR");
}

static void route_default(struct nl_sock *sk, uint32_t gw) {
        struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_STATIC,
                             .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);

        if (!m || nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0)
                die("nlmsg_alloc", 0);
        nla_put_u32(m, RTA_GATEWAY, gw);
        talk(sk, m, "RTM_NEWROUTE");
}

static void dir_prepare(void) {
        if (mkdir(DIR, 0755) < 0 && errno != EEXIST)
                die("mkdir " DIR, 0);
        if (mount("", DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
                return;
        if (mount(DIR, DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
            mount("", DIR, "none", MS_PRIVATE | MS_REC, NULL) < 0 ||
            mount("", DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
                die("make " DIR " a shared mount", 0);
}

static uint32_t ip4(unsigned host) {
        return htonl((198u << 24) | (18u << 16) | host);
}

/* --per-bridge: bridge b's /20, and host h in it. */
static uint32_t ip4_on(unsigned b, unsigned h) {
        return htonl((198u << 24) | ((18u + (b >> 4)) << 16) | ((((b & 15u) << 4) | (h >> 8)) << 8) | (h & 255u));
}

static int make_bridge(struct nl_sock *host, const char *name, uint32_t addr, int plen) {
        struct nl_msg *m = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, name, false);
        struct nlattr *li = nla_nest_start(m, IFLA_LINKINFO);
        int br;

        nla_put_string(m, IFLA_INFO_KIND, "bridge");
        nla_nest_end(m, li);
        talk(host, m, "create bridge");
        br = ifindex_of(host, name);
        /* libnl asked for an ACK after the reply too: the host socket lives
         * on, so it is read here, not taken for the next request's. */
        if (nl_wait_for_ack(host) < 0)
                die("RTM_GETLINK ack", 0);
        /* A bridge without ports has carrier: addr_gen_mode must be set
         * before it comes up, in a request of its own (the kernel applies
         * IFLA_AF_SPEC after the flags). */
        if (!ipv6_on) {
                m = link_msg(RTM_NEWLINK, 0, br, NULL, false);
                put_ipv6_off(m);
                talk(host, m, "bridge IPv6 off");
        }
        addr_add(host, br, addr, plen);
        set_up(host, br, NULL, false, "bridge up");
        return br;
}

int main(int argc, char **argv) {
        struct nl_sock *host;
        int n, per_bridge = 0, br = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: floor-wire N [--ipv6] [--move] [--per-bridge K]\n");
                return 2;
        }
        n = atoi(argv[1]);
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], "--ipv6") == 0)
                        ipv6_on = true;
                else if (strcmp(argv[i], "--move") == 0)
                        move_peer = true;
                else if (strcmp(argv[i], "--per-bridge") == 0 && i + 1 < argc)
                        per_bridge = atoi(argv[++i]);
        }
        dir_prepare();
        host = sock_open();

        if (!per_bridge)
                br = make_bridge(host, "br0", ip4(1), 16);

        for (int i = 0; i < n; i++) {
                char path[64], vh[IFNAMSIZ];
                struct nl_sock *ns;
                struct nl_msg *m;
                struct nlattr *li, *data, *peer;
                struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC };
                int fd, nsfd, eth0;

                if (per_bridge && i % per_bridge == 0) {
                        char name[IFNAMSIZ];
                        unsigned b = (unsigned) (i / per_bridge);

                        snprintf(name, sizeof(name), "br%u", b);
                        br = make_bridge(host, name, ip4_on(b, 1), 20);
                }

                snprintf(path, sizeof(path), DIR "/ns%d", i);
                snprintf(vh, sizeof(vh), "vh%d", i);
                fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
                if (fd < 0)
                        die(path, 0);
                close(fd);
                if (unshare(CLONE_NEWNET) < 0)
                        die("unshare", 0);
                if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
                        die(path, 0);
                nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                if (nsfd < 0)
                        die("open ns", 0);
                ns = sock_open();
                set_up(ns, 1, NULL, false, "lo up");

                /* One request from the host: vhI on br0, its peer eth0 made
                 * in the namespace (or in the host, with --move). */
                m = link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, vh, false);
                nla_put_u32(m, IFLA_MASTER, (uint32_t) br);
                li = nla_nest_start(m, IFLA_LINKINFO);
                nla_put_string(m, IFLA_INFO_KIND, "veth");
                data = nla_nest_start(m, IFLA_INFO_DATA);
                peer = nla_nest_start(m, VETH_INFO_PEER);
                nlmsg_append(m, &pifi, sizeof(pifi), NLMSG_ALIGNTO);
                nla_put_string(m, IFLA_IFNAME, "eth0");
                if (!move_peer)
                        nla_put_u32(m, IFLA_NET_NS_FD, (uint32_t) nsfd);
                nla_nest_end(m, peer);
                nla_nest_end(m, data);
                nla_nest_end(m, li);
                talk(host, m, "create veth");
                if (move_peer) {
                        m = link_msg(RTM_NEWLINK, 0, 0, "eth0", false);
                        nla_put_u32(m, IFLA_NET_NS_FD, (uint32_t) nsfd);
                        talk(host, m, "move veth");
                }
                set_up(host, 0, vh, true, "host end up");

                eth0 = ifindex_of(ns, "eth0");
                set_up(ns, eth0, NULL, true, "eth0 up");
                if (per_bridge) {
                        unsigned b = (unsigned) (i / per_bridge), h = (unsigned) (i % per_bridge) + 2;

                        addr_add(ns, eth0, ip4_on(b, h), 20);
                        route_default(ns, ip4_on(b, 1));
                } else {
                        addr_add(ns, eth0, ip4((unsigned) i + 2), 16);
                        route_default(ns, ip4(1));
                }

                nl_socket_free(ns);
                close(nsfd);
        }
        nl_socket_free(host);
        return 0;
}

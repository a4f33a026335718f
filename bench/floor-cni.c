/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for a CNI bridge plugin: per invocation, only the kernel work
 * a bridge plugin must do for one pod, run as a runtime runs a plugin.
 *
 *   CNI_COMMAND=ADD|DEL CNI_NETNS=PATH CNI_IFNAME=eth0 CNI_CONTAINERID=cI floor-cni
 *
 * ADD: a veth whose host end fcI is created on br0 and whose inner end
 * CNI_IFNAME is created directly in CNI_NETNS (IFLA_NET_NS_FD on the peer),
 * the host end up, then in the namespace: the inner end up, loopback up
 * (what the reference chain's loopback plugin and nsmgr's plugin do too),
 * 198.18.x.y/16 from the pod's index (the digits of CNI_CONTAINERID) and a
 * default route via 198.18.0.1. IPv6 link-local generation is off on both
 * ends, as nsmgr's plugin does it.
 * DEL: deletes CNI_IFNAME in CNI_NETNS (the kernel takes the host end with
 * it); an interface already gone is success, as CNI asks.
 *
 * No configuration is read, no IPAM state is kept, nothing is printed:
 * what is left is process start-up and the kernel's own work. br0 must
 * exist (bench.py makes it, outside the timed region). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif
#ifndef VETH_INFO_PEER
#define VETH_INFO_PEER 1
#endif

static void die(const char *what, int err) {
        fprintf(stderr, "floor-cni: %s: %s\n", what, err ? nl_geterror(err) : strerror(errno));
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

/* Sends m and waits for its ACK; returns the kernel's answer (0 or
 * -NLE_*). */
static int talk_r(struct nl_sock *sk, struct nl_msg *m) {
        int r = nl_send_auto(sk, m);

        if (r >= 0)
                r = nl_wait_for_ack(sk);
        nlmsg_free(m);
        return r < 0 ? r : 0;
}

static void talk(struct nl_sock *sk, struct nl_msg *m, const char *what) {
        int r = talk_r(sk, m);

        if (r < 0)
                die(what, r);
}

static struct nl_msg *link_msg(int type, int flags, int ifindex, const char *name, bool up) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
        struct nl_msg *m = nlmsg_alloc_simple(type, NLM_F_REQUEST | flags);

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
static void set_up(struct nl_sock *sk, int ifindex, const char *name, bool v6off, const char *what) {
        struct nl_msg *m = link_msg(RTM_NEWLINK, NLM_F_ACK, ifindex, ifindex ? NULL : name, true);

        if (v6off) {
                struct nlattr *af = nla_nest_start(m, IFLA_AF_SPEC), *in6 = nla_nest_start(m, AF_INET6);

                nla_put_u8(m, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
                nla_nest_end(m, in6);
                nla_nest_end(m, af);
        }
        talk(sk, m, what);
}

/* One RTM_GETLINK by name, no ACK asked: its reply is the only message. */
static int ifindex_of(struct nl_sock *sk, const char *name) {
        struct nl_msg *m = link_msg(RTM_GETLINK, 0, 0, name, false);
        struct sockaddr_nl peer;
        unsigned char *buf = NULL;
        struct nlmsghdr *h;
        int n, ifindex;

        if (nl_send_auto(sk, m) < 0)
                die("RTM_GETLINK", 0);
        nlmsg_free(m);
        n = nl_recv(sk, &peer, &buf, NULL);
        if (n <= 0)
                die("RTM_GETLINK reply", n);
        h = (struct nlmsghdr *) buf;
        if (h->nlmsg_type != RTM_NEWLINK) {
                errno = h->nlmsg_type == NLMSG_ERROR ? -((struct nlmsgerr *) NLMSG_DATA(h))->error : ENODEV;
                die(name, 0);
        }
        ifindex = ((struct ifinfomsg *) NLMSG_DATA(h))->ifi_index;
        free(buf);
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

static const char *need(const char *name) {
        const char *v = getenv(name);

        if (!v || !*v) {
                fprintf(stderr, "floor-cni: %s is not set\n", name);
                exit(2);
        }
        return v;
}

/* The pod's index: the digits in the container ID (c17 -> 17); without
 * any, an address near the end of the /16, which no indexed pod of the bench
 * gets. */
static unsigned pod_index(const char *id) {
        const char *d = id + strcspn(id, "0123456789");

        return *d ? (unsigned) strtoul(d, NULL, 10) : 65000u;
}

static uint32_t ip4(unsigned host) {
        return htonl((198u << 24) | (18u << 16) | (host & 0xffffu));
}

static void add(const char *netns, const char *ifname, const char *id) {
        struct nl_sock *host, *ns;
        struct nl_msg *m;
        struct nlattr *li, *data, *peer;
        struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC };
        char vh[IFNAMSIZ];
        int nsfd, br, eth;

        snprintf(vh, sizeof(vh), "fc%s", id);
        nsfd = open(netns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                die(netns, 0);
        host = sock_open();
        br = ifindex_of(host, "br0");

        /* One request from the host: vh on br0, its peer made in the
         * namespace. */
        m = link_msg(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 0, vh, false);
        nla_put_u32(m, IFLA_MASTER, (uint32_t) br);
        li = nla_nest_start(m, IFLA_LINKINFO);
        nla_put_string(m, IFLA_INFO_KIND, "veth");
        data = nla_nest_start(m, IFLA_INFO_DATA);
        peer = nla_nest_start(m, VETH_INFO_PEER);
        nlmsg_append(m, &pifi, sizeof(pifi), NLMSG_ALIGNTO);
        nla_put_string(m, IFLA_IFNAME, ifname);
        nla_put_u32(m, IFLA_NET_NS_FD, (uint32_t) nsfd);
        nla_nest_end(m, peer);
        nla_nest_end(m, data);
        nla_nest_end(m, li);
        talk(host, m, "create veth");
        set_up(host, 0, vh, true, "host end up");

        /* The rest in the namespace: this process has nothing else to do
         * in the host. */
        if (setns(nsfd, CLONE_NEWNET) < 0)
                die("setns", 0);
        ns = sock_open();
        eth = ifindex_of(ns, ifname);
        set_up(ns, eth, NULL, true, "inner end up");
        set_up(ns, 1, NULL, false, "lo up");
        addr_add(ns, eth, ip4(pod_index(id) + 2), 16);
        route_default(ns, ip4(1));
        nl_socket_free(ns);
        nl_socket_free(host);
        close(nsfd);
}

static void del(const char *netns, const char *ifname) {
        struct nl_sock *ns;
        int nsfd, r;

        nsfd = open(netns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) {
                if (errno == ENOENT)
                        return;    /* the namespace is gone, and the veth with it */
                die(netns, 0);
        }
        if (setns(nsfd, CLONE_NEWNET) < 0)
                die("setns", 0);
        ns = sock_open();
        r = talk_r(ns, link_msg(RTM_DELLINK, NLM_F_ACK, 0, ifname, false));
        if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
                die("delete veth", r);
        nl_socket_free(ns);
        close(nsfd);
}

int main(void) {
        const char *cmd = need("CNI_COMMAND");

        if (strcmp(cmd, "ADD") == 0)
                add(need("CNI_NETNS"), need("CNI_IFNAME"), need("CNI_CONTAINERID"));
        else if (strcmp(cmd, "DEL") == 0) {
                const char *netns = getenv("CNI_NETNS");

                /* CNI: DEL without a namespace has nothing to do here. */
                if (netns && *netns)
                        del(netns, need("CNI_IFNAME"));
        } else {
                fprintf(stderr, "floor-cni: CNI_COMMAND %s is not handled\n", cmd);
                return 2;
        }
        return 0;
}

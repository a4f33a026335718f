/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Event-to-repair latency of nsmgrd, as a user sees it: the time from a
 * drift made by hand to the moment the kernel announces its repair.
 *
 *   repair-latency KIND NETNS COUNT [--host-end IF] [--dev IF] [--addr A/P] [--settle MS]
 *
 * KIND is what is taken away, COUNT times:
 *   veth     the host end IF of NETNS's veth (--host-end) is deleted: both
 *            ends go; repaired when NETNS has its default route again (the
 *            last step of the repair: veth, address, up, route)
 *   address  --addr is deleted from --dev in NETNS; repaired when it is back
 *   route    NETNS's IPv4 default route is deleted; repaired when it is back
 * A socket in NETNS subscribed to links, addresses and routes times two
 * things: from the notification of the drift (what nsmgrd hears) to that of
 * its repair ("ms"), and from the request that made the drift to the repair
 * ("ms_request": deleting a veth alone takes the kernel tens of ms with
 * thousands of namespaces). The request is sent from a thread of its own,
 * for the kernel does all its work inside sendmsg(). Between drifts it
 * waits until NETNS has been quiet for --settle ms (default 100), so that
 * each drift meets an idle nsmgrd, and then a random 0-20 ms more.
 *
 * Prints one JSON object: {"kind": ..., "ms": [...], "ms_request": [...],
 * "failed": N}. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum { VETH, ADDRESS, ROUTE } Kind;

typedef struct Wait {
        Kind kind;
        struct nl_addr *addr;   /* ADDRESS: the one to see again */
        double event;           /* when the drift was heard; 0: not yet */
        bool done;
        bool any;               /* a message came at all (for settling) */
} Wait;

typedef struct Drift {
        Kind kind;
        struct nl_sock *host, *ns;
        const char *host_end;
        struct nl_addr *addr;
        int ifindex;
        int r;
} Drift;

static void die(const char *what, int err) {
        fprintf(stderr, "repair-latency: %s: %s\n", what, err ? nl_geterror(err) : strerror(errno));
        exit(1);
}

static double now_ms(void) {
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec * 1e3 + (double) t.tv_nsec / 1e6;
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

static void on_obj(struct nl_object *o, void *arg) {
        Wait *w = arg;
        const char *type = nl_object_get_type(o);

        if (w->kind == ADDRESS && strcmp(type, "route/addr") == 0) {
                struct nl_addr *a = rtnl_addr_get_local((struct rtnl_addr *) o);

                if (a && w->addr && nl_addr_cmp_prefix(a, w->addr) == 0 &&
                    nl_addr_get_prefixlen(a) == nl_addr_get_prefixlen(w->addr))
                        w->done = true;
        } else if (w->kind != ADDRESS && strcmp(type, "route/route") == 0) {
                struct rtnl_route *rt = (struct rtnl_route *) o;
                struct nl_addr *dst = rtnl_route_get_dst(rt);

                if (rtnl_route_get_table(rt) == RT_TABLE_MAIN && rtnl_route_get_family(rt) == AF_INET &&
                    (!dst || nl_addr_get_prefixlen(dst) == 0))
                        w->done = true;
        }
}

static int on_msg(struct nl_msg *msg, void *arg) {
        Wait *w = arg;
        int type = nlmsg_hdr(msg)->nlmsg_type;

        w->any = true;
        if (!w->event && (type == RTM_DELLINK || type == RTM_DELADDR || type == RTM_DELROUTE))
                w->event = now_ms();
        /* Only what is made again says the repair is done. */
        if (type == RTM_NEWADDR || type == RTM_NEWROUTE)
                (void) nl_msg_parse(msg, on_obj, w);
        return NL_OK;
}

/* Reads notifications until the repair is seen or the deadline passes;
 * false on timeout. */
static bool wait_for(struct nl_sock *mon, Wait *w, double deadline) {
        while (!w->done) {
                struct pollfd p = { .fd = nl_socket_get_fd(mon), .events = POLLIN };
                double left = deadline - now_ms();

                if (left <= 0)
                        return false;
                if (poll(&p, 1, (int) left + 1) > 0)
                        (void) nl_recvmsgs_default(mon);
        }
        return true;
}

/* Until nothing has been heard for settle_ms. */
static void settle(struct nl_sock *mon, Wait *w, int settle_ms) {
        for (;;) {
                struct pollfd p = { .fd = nl_socket_get_fd(mon), .events = POLLIN };

                if (poll(&p, 1, settle_ms) <= 0)
                        return;
                w->any = false;
                (void) nl_recvmsgs_default(mon);
        }
}

static void *make_drift(void *arg) {
        Drift *d = arg;

        if (d->kind == VETH) {
                struct rtnl_link *l = rtnl_link_alloc();

                rtnl_link_set_name(l, d->host_end);
                d->r = rtnl_link_delete(d->host, l);
                rtnl_link_put(l);
        } else if (d->kind == ADDRESS) {
                struct rtnl_addr *a = rtnl_addr_alloc();

                rtnl_addr_set_ifindex(a, d->ifindex);
                rtnl_addr_set_local(a, d->addr);
                d->r = rtnl_addr_delete(d->ns, a, 0);
                rtnl_addr_put(a);
        } else {
                struct rtnl_route *rt = rtnl_route_alloc();
                struct nl_addr *any = NULL;

                (void) nl_addr_parse("0.0.0.0/0", AF_INET, &any);
                rtnl_route_set_family(rt, AF_INET);
                rtnl_route_set_table(rt, RT_TABLE_MAIN);
                rtnl_route_set_dst(rt, any);
                /* Whoever made it, in any scope: as `ip route del default` asks. */
                rtnl_route_set_protocol(rt, RTPROT_UNSPEC);
                rtnl_route_set_scope(rt, RT_SCOPE_NOWHERE);
                d->r = rtnl_route_delete(d->ns, rt, 0);
                nl_addr_put(any);
                rtnl_route_put(rt);
        }
        return NULL;
}

int main(int argc, char **argv) {
        const char *host_end = NULL, *dev = "eth0", *addr_s = NULL, *netns;
        struct nl_sock *host, *ns, *mon;
        struct nl_addr *addr = NULL;
        char path[256];
        int count, settle_ms = 100, failed = 0, nsfd, ifindex = 0, r;
        double *ms, *ms_req;
        size_t n = 0;
        Kind kind;

        if (argc < 4) {
                fprintf(stderr, "usage: repair-latency veth|address|route NETNS COUNT [--host-end IF] [--dev IF] [--addr A/P] [--settle MS]\n");
                return 2;
        }
        kind = strcmp(argv[1], "veth") == 0 ? VETH : strcmp(argv[1], "address") == 0 ? ADDRESS : ROUTE;
        netns = argv[2];
        count = atoi(argv[3]);
        for (int i = 4; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--host-end") == 0)
                        host_end = argv[i + 1];
                else if (strcmp(argv[i], "--dev") == 0)
                        dev = argv[i + 1];
                else if (strcmp(argv[i], "--addr") == 0)
                        addr_s = argv[i + 1];
                else if (strcmp(argv[i], "--settle") == 0)
                        settle_ms = atoi(argv[i + 1]);
        }
        if ((kind == VETH && !host_end) || (kind == ADDRESS && !addr_s) || count <= 0) {
                fprintf(stderr, "repair-latency: missing --host-end or --addr for %s\n", argv[1]);
                return 2;
        }
        if (addr_s && (r = nl_addr_parse(addr_s, AF_INET, &addr)) < 0)
                die(addr_s, r);

        /* The host's socket first, then into the namespace for the rest. */
        host = sock_open();
        snprintf(path, sizeof(path), "/run/netns/%s", netns);
        nsfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
                die(path, 0);
        close(nsfd);
        ns = sock_open();
        mon = sock_open();
        nl_socket_disable_seq_check(mon);
        if ((r = nl_socket_add_memberships(mon, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, 0)) < 0)
                die("subscribe", r);
        nl_socket_set_nonblocking(mon);
        (void) nl_socket_set_buffer_size(mon, 1 << 20, 0);

        ms = calloc((size_t) count, sizeof(double));
        ms_req = calloc((size_t) count, sizeof(double));
        if (!ms || !ms_req)
                die("calloc", 0);
        srand((unsigned) getpid());
        for (int k = 0; k < count; k++) {
                Wait w = { .kind = kind, .addr = addr };
                double t0, t1;
                pthread_t t;
                Drift d;
                bool ok;

                nl_socket_modify_cb(mon, NL_CB_VALID, NL_CB_CUSTOM, on_msg, &w);
                settle(mon, &w, settle_ms);
                /* Not in step with anything of nsmgrd's. */
                usleep((useconds_t) (rand() % 20000));
                w.done = false;
                w.event = 0;
                if (kind == ADDRESS) {
                        ifindex = (int) if_nametoindex(dev);
                        if (ifindex <= 0)
                                die(dev, 0);
                }
                d = (Drift) { .kind = kind, .host = host, .ns = ns, .host_end = host_end, .addr = addr,
                              .ifindex = ifindex };
                t0 = now_ms();
                if (pthread_create(&t, NULL, make_drift, &d) != 0)
                        die("pthread_create", 0);
                ok = wait_for(mon, &w, t0 + 10000);
                t1 = now_ms();
                pthread_join(t, NULL);
                if (d.r < 0)
                        die("making the drift", d.r);
                if (!ok || !w.event) {
                        failed++;
                        continue;
                }
                ms_req[n] = t1 - t0;
                ms[n++] = t1 - w.event;
        }
        printf("{\"kind\": \"%s\", \"failed\": %d, \"ms\": [", argv[1], failed);
        for (size_t i = 0; i < n; i++)
                printf("%s%.3f", i ? ", " : "", ms[i]);
        printf("], \"ms_request\": [");
        for (size_t i = 0; i < n; i++)
                printf("%s%.3f", i ? ", " : "", ms_req[i]);
        printf("]}\n");
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for a re-apply with nothing to change: a minimal libnl program
 * that reads back what a re-apply of bench's scale config must look at, and
 * nothing else.
 *
 *   floor-reread N [--threads T]
 *
 * Dumps the host's links, then, for each of ns0 .. nsN-1 under /run/netns,
 * from one of T threads (default: as many as CPUs, as nsmgr visits them):
 * opens the pin, enters it, opens a netlink socket there, and dumps its links
 * (without statistics), its addresses and its IPv4 routes. Prints the number
 * of links, addresses and routes it saw, so that a caller can check it read
 * them all. No config, no state file, no comparison: what is left of a
 * re-apply when everything nsmgr adds to the reading itself is taken away. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIR "/run/netns"

static unsigned n_netns;
static atomic_uint next, counts[3];

static void die(const char *what, int err) {
        fprintf(stderr, "floor-reread: %s: %s\n", what, err ? nl_geterror(err) : strerror(errno));
        exit(1);
}

static int count(struct nl_msg *msg, void *arg) {
        atomic_uint *c = arg;
        (void) msg;
        atomic_fetch_add(c, 1);
        return NL_OK;
}

static void dump(struct nl_sock *sk, int type, void *hdr, size_t len, atomic_uint *c) {
        struct nl_msg *msg = nlmsg_alloc_simple(type, NLM_F_DUMP);
        int r;

        if (!msg || nlmsg_append(msg, hdr, len, NLMSG_ALIGNTO) < 0)
                die("nlmsg_alloc", -NLE_NOMEM);
        if (type == RTM_GETLINK && nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
                die("nla_put", -NLE_NOMEM);
        r = nl_send_auto(sk, msg);
        nlmsg_free(msg);
        if (r < 0)
                die("nl_send_auto", r);
        nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, count, c);
        r = nl_recvmsgs_default(sk);
        if (r < 0)
                die("nl_recvmsgs", r);
}

static void read_here(void) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
        struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };
        struct rtmsg rtm = { .rtm_family = AF_INET };
        struct nl_sock *sk = nl_socket_alloc();
        int r;

        if (!sk)
                die("nl_socket_alloc", -NLE_NOMEM);
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                die("nl_connect", r);
        dump(sk, RTM_GETLINK, &ifi, sizeof(ifi), &counts[0]);
        dump(sk, RTM_GETADDR, &ifa, sizeof(ifa), &counts[1]);
        dump(sk, RTM_GETROUTE, &rtm, sizeof(rtm), &counts[2]);
        nl_socket_free(sk);
}

static void *worker(void *arg) {
        (void) arg;
        for (;;) {
                unsigned i = atomic_fetch_add(&next, 1);
                char path[64];
                int fd;

                if (i >= n_netns)
                        return NULL;
                snprintf(path, sizeof(path), DIR "/ns%u", i);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        die(path, 0);
                if (setns(fd, CLONE_NEWNET) < 0)
                        die("setns", 0);
                close(fd);
                read_here();
        }
}

int main(int argc, char **argv) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
        long threads = sysconf(_SC_NPROCESSORS_ONLN);
        struct nl_sock *sk;
        pthread_t *t;
        atomic_uint host = 0;
        int r;

        if (argc == 4 && strcmp(argv[2], "--threads") == 0)
                threads = atol(argv[3]);
        else if (argc != 2) {
                fprintf(stderr, "usage: floor-reread N [--threads T]\n");
                return 2;
        }
        n_netns = (unsigned) atol(argv[1]);
        if (threads < 1)
                threads = 1;

        sk = nl_socket_alloc();
        if (!sk)
                die("nl_socket_alloc", -NLE_NOMEM);
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                die("nl_connect", r);
        dump(sk, RTM_GETLINK, &ifi, sizeof(ifi), &host);
        nl_socket_free(sk);

        t = calloc((size_t) threads, sizeof(*t));
        if (!t)
                die("calloc", 0);
        for (long k = 0; k < threads; k++)
                if ((errno = pthread_create(&t[k], NULL, worker, NULL)))
                        die("pthread_create", 0);
        for (long k = 0; k < threads; k++)
                pthread_join(t[k], NULL);
        free(t);
        printf("%u host links, %u links, %u addresses, %u routes\n", (unsigned) host, (unsigned) counts[0],
               (unsigned) counts[1], (unsigned) counts[2]);
        return 0;
}

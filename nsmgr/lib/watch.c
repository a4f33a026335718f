/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/net_namespace.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "netns.h"
#include "netnspath.h"
#include "nl.h"
#include "nsthread.h"
#include "paths.h"
#include "strv.h"
#include "watch.h"

typedef struct HostIndex {
        int ifindex;
        const char *name;       /* in names */
} HostIndex;

typedef struct HostFilter {
        bool set;
        char **names;           /* sorted */
        HostIndex *ifindexes;   /* sorted by ifindex */
        size_t n_ifindexes;
} HostFilter;

typedef struct NsWatch {
        char *name;
        int nsfd;               /* holds the namespace: a pin removed is made again from it */
        dev_t dev;              /* the namespace's identity (nsfs) */
        ino_t ino;
        int nsid;               /* its nsid in the host; -1: not known yet */
        bool restore_pin;       /* nsmgr made it: a pin removed is made again */
        bool kept;              /* watch_sync(): still wanted */
} NsWatch;

struct Watch {
        sd_event *event;
        watch_fn_t fn;
        void *userdata;
        /* One socket for the notifications of the host and of every
         * namespace with an nsid here (NETLINK_LISTEN_ALL_NSID, Linux 4.2):
         * the kernel walks every socket subscribed to rtnetlink groups,
         * machine-wide, each time one joins, leaves or is sent to, so a
         * socket per namespace made watching ten thousand of them cost
         * minutes to set up and every notification anywhere O(N). */
        struct nl_sock *sk;
        sd_event_source *src;
        NlSock *query;          /* RTM_GETNSID, RTM_NEWNSID */
        uint8_t *buf;
        HostFilter filter;
        int mounts_fd;
        sd_event_source *mounts_src;
        struct nl_sock *nft_sk;
        sd_event_source *nft_src;
        NsWatch **v;            /* sorted by name */
        size_t n;
        NsWatch **by_nsid;      /* those with an nsid, sorted by it */
        size_t n_by_nsid;
};

/* Notifications are one message per datagram and a few hundred bytes (a
 * link with all its attributes stays under 4 KiB). A longer one is cut,
 * which libnl reports (NLE_MSG_TRUNC); it is then taken as notable without
 * looking further, so the size of this buffer never decides what we miss.
 * A fixed size also spares libnl a peek before each read. */
#define RECV_BUF 16384

/* A non-blocking socket of protocol that receives the groups listed (up to
 * a 0), in the calling thread's network namespace. */
static int listen_socket(int protocol, struct nl_sock **ret, ...) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        va_list ap;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        /* Notifications carry no sequence number of ours. */
        nl_socket_disable_seq_check(sk);
        r = nl_connect(sk, protocol);
        /* libnl sets the receive queue to 32 KiB; notifications come in
         * bursts (a link going up brings its addresses and routes), so ask
         * for what a plain socket gets (the kernel caps it at rmem_max). */
        if (r >= 0)
                r = nl_socket_set_buffer_size(sk, 256 * 1024, 0);
        va_start(ap, ret);
        for (int group = va_arg(ap, int); group > 0 && r >= 0; group = va_arg(ap, int))
                r = nl_socket_add_membership(sk, group);
        va_end(ap);
        if (r >= 0)
                r = nl_socket_set_nonblocking(sk);
        if (r >= 0)
                r = nl_socket_set_msg_buf_size(sk, RECV_BUF);
        if (r < 0)
                return nls_errno(NULL, r);
        *ret = TAKE_PTR(sk);
        return 0;
}

static int rtnl_listen_socket(struct nl_sock **ret) {
        return listen_socket(NETLINK_ROUTE, ret, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                             RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0);
}

static int nft_listen_socket(struct nl_sock **ret) {
        return listen_socket(NETLINK_NETFILTER, ret, NFNLGRP_NFTABLES, 0);
}

static void format_addr(int family, const struct nlattr *a, char *buf, size_t len) {
        int want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;

        if (!a || !want || nla_len(a) < want || !inet_ntop(family, nla_data(a), buf, (socklen_t) len))
                snprintf(buf, len, "?");
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int index_cmp(const void *a, const void *b) {
        int x = ((const HostIndex *) a)->ifindex, y = ((const HostIndex *) b)->ifindex;

        return (x > y) - (x < y);
}

static bool filter_has_name(const HostFilter *f, const char *name) {
        size_t n;

        if (!f || !f->set)
                return true;
        n = strv_length(f->names);
        return name && n && bsearch(&name, f->names, n, sizeof(char *), str_cmp);
}

static const HostIndex *filter_index(const HostFilter *f, int ifindex) {
        HostIndex key = { .ifindex = ifindex };

        if (!f || !f->n_ifindexes)
                return NULL;
        return bsearch(&key, f->ifindexes, f->n_ifindexes, sizeof(HostIndex), index_cmp);
}

static bool filter_has_index(const HostFilter *f, int ifindex) {
        if (!f || !f->set)
                return true;
        return filter_index(f, ifindex);
}

/* libnl checks these lengths, and that strings end in NUL, as it parses. */
static struct nla_policy link_policy[IFLA_MAX + 1] = {
        [IFLA_IFNAME] = { .type = NLA_STRING },
        [IFLA_MASTER] = { .type = NLA_U32 },
};

static struct nla_policy addr_policy[IFA_MAX + 1] = {
        [IFA_LABEL] = { .type = NLA_STRING },
};

static struct nla_policy route_policy[RTA_MAX + 1] = {
        [RTA_TABLE] = { .type = NLA_U32 },
        [RTA_OIF] = { .type = NLA_U32 },
};

/* Which host links the notifications of one drain touched, by name, for
 * a repair of what they belong to alone. */
typedef struct Touched {
        char **links;
        size_t n_links;
        char **deleted;          /* of them, those deleted */
        size_t n_deleted;
        bool ports;              /* a link that is not ours joined or left one of our bridges */
        bool everything;         /* cannot be told (lost notifications, no link to go by) */
} Touched;

static void touched_done(Touched *t) {
        strv_free(t->links);
        strv_free(t->deleted);
        *t = (Touched) {};
}

static void touch(Touched *t, const char *name, bool deleted) {
        if (!t)
                return;
        if (!name) {
                t->everything = true;
                return;
        }
        if (!strv_contains(t->links, name) && strv_push_at(&t->links, t->n_links, strdup(name)) >= 0)
                t->n_links++;
        else if (!strv_contains(t->links, name))
                t->everything = true;
        if (deleted && !strv_contains(t->deleted, name) && strv_push_at(&t->deleted, t->n_deleted, strdup(name)) >= 0)
                t->n_deleted++;
}

static const char *index_name(const HostFilter *f, int ifindex) {
        const HostIndex *i = filter_index(f, ifindex);

        return i ? i->name : NULL;
}

/* These return 1 if the notification can mean drift (and describe it in
 * what, and note the host link it touched in t), 0 if not, and a negative
 * libnl error if it does not parse. */

static int link_notable(struct nlmsghdr *h, const HostFilter *f, Touched *t, char *what, size_t len) {
        const struct ifinfomsg *ifi = nlmsg_data(h);
        struct nlattr *tb[IFLA_MAX + 1];
        const char *name;
        int master, r;
        bool by_name, by_index;

        r = nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, link_policy);
        if (r < 0)
                return r;
        name = tb[IFLA_IFNAME] ? nla_get_string(tb[IFLA_IFNAME]) : NULL;
        master = tb[IFLA_MASTER] ? (int) nla_get_u32(tb[IFLA_MASTER]) : 0;
        /* By name: a link made again under its name has a new index. A port
         * of one of our bridges counts too: `nsmgrctl attach` adds one, and
         * the next reconcile then watches it. */
        by_name = filter_has_name(f, name);
        by_index = !by_name && filter_has_index(f, ifi->ifi_index);
        if (!by_name && !by_index && !(master > 0 && filter_has_index(f, master)))
                return 0;
        snprintf(what, len, "link %s %s", name ?: "?", h->nlmsg_type == RTM_DELLINK ? "deleted" : "changed");
        if (f && f->set) {
                if (by_name)
                        touch(t, name, h->nlmsg_type == RTM_DELLINK);
                else if (by_index)
                        /* Renamed: what it was is what is missing now. */
                        touch(t, index_name(f, ifi->ifi_index), true);
                else {
                        touch(t, index_name(f, master), false);
                        if (t)
                                t->ports = true;
                }
        }
        return 1;
}

static int addr_notable(struct nlmsghdr *h, const HostFilter *f, Touched *t, char *what, size_t len) {
        const struct ifaddrmsg *ifa = nlmsg_data(h);
        struct nlattr *tb[IFA_MAX + 1];
        char addr[INET6_ADDRSTRLEN];
        int r;

        r = nlmsg_parse(h, sizeof(*ifa), tb, IFA_MAX, addr_policy);
        if (r < 0)
                return r;
        if (!filter_has_index(f, (int) ifa->ifa_index))
                return 0;
        format_addr(ifa->ifa_family, tb[IFA_LOCAL] ?: tb[IFA_ADDRESS], addr, sizeof(addr));
        /* IPv6 addresses carry no label; the link lives in the socket's
         * namespace, not ours, so its index must do. */
        if (tb[IFA_LABEL])
                snprintf(what, len, "address %s/%u removed from %s", addr, ifa->ifa_prefixlen,
                         nla_get_string(tb[IFA_LABEL]));
        else
                snprintf(what, len, "address %s/%u removed from link %u", addr, ifa->ifa_prefixlen, ifa->ifa_index);
        if (f && f->set)
                touch(t, index_name(f, (int) ifa->ifa_index), false);
        return 1;
}

static int route_notable(struct nlmsghdr *h, const HostFilter *f, Touched *t, char *what, size_t len) {
        const struct rtmsg *rt = nlmsg_data(h);
        const char *verb = h->nlmsg_type == RTM_DELROUTE ? "deleted" : "added or replaced";
        struct nlattr *tb[RTA_MAX + 1];
        char addr[INET6_ADDRSTRLEN];
        uint32_t table;
        int oif, r;

        r = nlmsg_parse(h, sizeof(*rt), tb, RTA_MAX, route_policy);
        if (r < 0)
                return r;
        if (rt->rtm_protocol == RTPROT_KERNEL || rt->rtm_protocol == RTPROT_RA || (rt->rtm_flags & RTM_F_CLONED))
                return 0;
        table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rt->rtm_table;
        if (table == RT_TABLE_LOCAL)
                return 0;
        /* Without an output link (multipath, blackhole) it may be ours. */
        oif = tb[RTA_OIF] ? (int) nla_get_u32(tb[RTA_OIF]) : 0;
        if (oif && !filter_has_index(f, oif))
                return 0;
        if (tb[RTA_DST] || rt->rtm_dst_len) {
                format_addr(rt->rtm_family, tb[RTA_DST], addr, sizeof(addr));
                snprintf(what, len, "route %s/%u %s", addr, rt->rtm_dst_len, verb);
        } else
                snprintf(what, len, "default route (%s) %s", rt->rtm_family == AF_INET6 ? "IPv6" : "IPv4", verb);
        if (f && f->set)
                touch(t, oif ? index_name(f, oif) : NULL, false);
        return 1;
}

/* Whether one rtnetlink notification can mean drift, and what it says.
 * Address additions and the kernel's own routes (local table, prefix
 * routes, router advertisements, the route cache) never take away what
 * the config declares, and they come in bursts when links go up. In the
 * host, only the links the config puts there count (f). One that does not
 * parse may have been anything. */
static bool rtnl_notable(struct nlmsghdr *h, const HostFilter *f, Touched *t, char *what, size_t len) {
        int r;

        switch (h->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK:
                r = link_notable(h, f, t, what, len);
                break;
        case RTM_DELADDR:
                r = addr_notable(h, f, t, what, len);
                break;
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
                r = route_notable(h, f, t, what, len);
                break;
        default:
                return false;
        }
        if (r < 0) {
                snprintf(what, len, "a notification that does not parse");
                if (t)
                        t->everything = true;
        }
        return r != 0;
}

/* Something taken away says more than something changed (a veth going
 * away first reports itself down, then deleted). */
static int note_rank(const char *what) {
        return strstr(what, " deleted") || strstr(what, " removed") || strstr(what, " lost") ? 2 : 1;
}

/* What one batch of notifications has seen so far. */
typedef struct Drain {
        bool notable;
        char what[192];         /* the most telling notable one */
} Drain;

static void drain_note(Drain *d, const char *what) {
        if (!d->notable || note_rank(what) > note_rank(d->what))
                snprintf(d->what, sizeof(d->what), "%s", what);
        d->notable = true;
}

static int on_nft_message(struct nl_msg *msg, void *arg) {
        drain_note(arg, "nftables ruleset changed");
        return NL_OK;
}

static int nsid_cmp(const void *a, const void *b) {
        int x = (*(NsWatch *const *) a)->nsid, y = (*(NsWatch *const *) b)->nsid;

        return (x > y) - (x < y);
}

static NsWatch *find_nsid(const Watch *w, int nsid) {
        NsWatch key = { .nsid = nsid }, *k = &key, **r;

        if (!w->n_by_nsid)
                return NULL;
        r = bsearch(&k, w->by_nsid, w->n_by_nsid, sizeof(NsWatch *), nsid_cmp);
        return r ? *r : NULL;
}

/* The nsid the kernel put on a notification from another namespace; -1:
 * the host's own. */
static int cmsg_nsid(struct msghdr *mh) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
                if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID &&
                    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
                        int nsid;

                        memcpy(&nsid, CMSG_DATA(c), sizeof(nsid));
                        return nsid;
                }
        return -1;
}

/* One datagram: the messages of one notification, from one namespace.
 * Read with recvmsg() for the nsid libnl does not pass on; the messages
 * are parsed with libnl. */
static void on_datagram(Watch *w, int nsid, const uint8_t *data, size_t len, bool truncated) {
        const NsWatch *nw = nsid >= 0 ? find_nsid(w, nsid) : NULL;
        const HostFilter *f = nsid >= 0 ? NULL : &w->filter;
        Touched t = {};
        Drain d = {};
        int left = (int) len;
        char one[160];

        /* A namespace that is not ours (a container's, say, with a veth to
         * the host), or one whose nsid is not known yet: a watch made next
         * looks at it once anyway. */
        if (nsid >= 0 && !nw)
                return;
        for (struct nlmsghdr *h = (struct nlmsghdr *) data; nlmsg_ok(h, left); h = nlmsg_next(h, &left))
                if (rtnl_notable(h, f, nw ? NULL : &t, one, sizeof(one)))
                        drain_note(&d, one);
        if (truncated) {
                drain_note(&d, "a long notification");
                t.everything = true;
        }
        if (d.notable)
                w->fn(&(WatchEvent) { .src = WATCH_NETLINK, .scope = nw ? nw->name : NULL, .what = d.what,
                                      .links = t.links, .deleted = t.deleted, .ports = t.ports,
                                      .everything = !nw && (t.everything || !w->filter.set) },
                      w->userdata);
        touched_done(&t);
}

static int on_rtnl(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;

        /* A bounded batch: under a storm the loop still gets to the other
         * sources (and the watchdog); what is left wakes us again. */
        for (unsigned batch = 0; batch < 256; batch++) {
                union {
                        struct cmsghdr align;
                        uint8_t buf[CMSG_SPACE(sizeof(int))];
                } control;
                struct sockaddr_nl from;
                struct iovec iov = { .iov_base = w->buf, .iov_len = RECV_BUF };
                struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
                                     .msg_control = &control, .msg_controllen = sizeof(control) };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS)
                                /* The queue overflowed and notifications were
                                 * lost: anything may have changed, anywhere. */
                                w->fn(&(WatchEvent) { .src = WATCH_NETLINK, .everything = true,
                                                      .what = "notifications were lost (receive queue overflow)" },
                                      w->userdata);
                        break;   /* EAGAIN: all read */
                }
                if (from.nl_pid != 0)
                        continue;   /* not from the kernel */
                on_datagram(w, cmsg_nsid(&mh), w->buf, (size_t) n, mh.msg_flags & MSG_TRUNC);
        }
        return 0;
}

static int on_nft(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;
        Drain d = {};

        nl_socket_modify_cb(w->nft_sk, NL_CB_VALID, NL_CB_CUSTOM, on_nft_message, &d);
        for (unsigned batch = 0; batch < 256; batch++) {
                int r = nl_recvmsgs_default(w->nft_sk);

                if (r == -NLE_NOMEM || r == -NLE_MSG_TRUNC)
                        drain_note(&d, "nftables ruleset changed");
                else if (r < 0)
                        break;  /* NLE_AGAIN: all read */
        }
        if (d.notable)
                w->fn(&(WatchEvent) { .src = WATCH_NFTABLES, .what = d.what }, w->userdata);
        return 0;
}

static int on_mounts(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;

        /* Reading is not needed: polling mountinfo reports a change once
         * (the kernel compares the namespace's event counter with the one
         * it saw at the last poll; proc_namespace.c, mounts_poll()). */
        w->fn(&(WatchEvent) { .src = WATCH_MOUNTS }, w->userdata);
        return 0;
}

static void ns_watch_free(NsWatch *nw) {
        if (!nw)
                return;
        safe_close(nw->nsfd);
        free(nw->name);
        free(nw);
}

static NsWatch *ns_watch_new(const char *name, int nsfd, dev_t dev, ino_t ino) {
        NsWatch *nw = calloc(1, sizeof(NsWatch));

        if (!nw)
                return NULL;
        *nw = (NsWatch) { .name = strdup(name), .nsfd = nsfd, .dev = dev, .ino = ino, .nsid = -1 };
        if (!nw->name)
                return mfree(nw);
        return nw;
}

_printf_(2, 3) static void warn(char ***warnings, const char *fmt, ...) {
        va_list ap;

        if (!warnings)
                return;
        va_start(ap, fmt);
        (void) strv_extendv(warnings, fmt, ap);
        va_end(ap);
}

int watch_new(sd_event *e, watch_fn_t fn, void *userdata, Watch **ret, char ***ret_warnings, NmError *err) {
        _cleanup_watch_ Watch *w = NULL;
        int one = 1, r;

        w = calloc(1, sizeof(Watch));
        if (!w)
                return -ENOMEM;
        *w = (Watch) { .event = sd_event_ref(e), .fn = fn, .userdata = userdata, .mounts_fd = -EBADF };
        w->buf = malloc(RECV_BUF);
        if (!w->buf)
                return -ENOMEM;

        r = rtnl_listen_socket(&w->sk);
        if (r < 0)
                return nm_error(err, r, "cannot listen to rtnetlink notifications: %s", strerror(-r));
        if (setsockopt(nl_socket_get_fd(w->sk), SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one, sizeof(one)) < 0)
                return nm_error(err, negative_errno(), "cannot listen to the notifications of other namespaces (NETLINK_LISTEN_ALL_NSID, Linux 4.2): %m");
        /* Room for bursts from thousands of namespaces (an overflow costs a
         * full reconcile); as root, beyond net.core.rmem_max. */
        (void) setsockopt(nl_socket_get_fd(w->sk), SOL_SOCKET, SO_RCVBUFFORCE, &(int) { 8 << 20 }, sizeof(int));
        r = sd_event_add_io(e, &w->src, nl_socket_get_fd(w->sk), EPOLLIN, on_rtnl, w);
        if (r < 0)
                return nm_error(err, r, "cannot watch rtnetlink notifications: %s", strerror(-r));
        r = nls_open(&w->query);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket: %s", strerror(-r));

        w->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (w->mounts_fd < 0)
                return nm_error(err, negative_errno(), "cannot open /proc/self/mountinfo to watch the pins: %m");
        r = sd_event_add_io(e, &w->mounts_src, w->mounts_fd, EPOLLPRI, on_mounts, w);
        if (r < 0)
                return nm_error(err, r, "cannot watch /proc/self/mountinfo: %s", strerror(-r));

        r = nft_listen_socket(&w->nft_sk);
        if (r < 0)
                warn(ret_warnings, "cannot listen to nftables changes (%s): NAT rules removed by hand are restored only when something else changes, ignoring",
                     strerror(-r));
        else {
                r = sd_event_add_io(e, &w->nft_src, nl_socket_get_fd(w->nft_sk), EPOLLIN, on_nft, w);
                if (r < 0)
                        return nm_error(err, r, "cannot watch nftables changes: %s", strerror(-r));
        }

        *ret = TAKE_PTR(w);
        return 0;
}

static void filter_done(HostFilter *f) {
        strv_free(f->names);
        free(f->ifindexes);
        *f = (HostFilter) {};
}

int watch_set_host_links(Watch *w, char *const *names) {
        HostFilter f = { .set = names != NULL };
        size_t n = strv_length(names);

        if (f.set) {
                f.names = strv_copy(names);
                f.ifindexes = calloc(n + 1, sizeof(HostIndex));
                if ((n && !f.names) || !f.ifindexes) {
                        filter_done(&f);
                        return -ENOMEM;
                }
                if (n > 1)
                        qsort(f.names, n, sizeof(char *), str_cmp);
                /* The host is this thread's namespace: names resolve here,
                 * through one socket (if_nametoindex() makes one per name,
                 * and a dump would cost the kernel an nsid lookup per veth). */
                _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                STRV_FOREACH(name, f.names) {
                        struct ifreq ifr = {};

                        if (fd < 0 || strlen(*name) >= sizeof(ifr.ifr_name))
                                continue;
                        strcpy(ifr.ifr_name, *name);
                        if (ioctl(fd, SIOCGIFINDEX, &ifr) >= 0 && ifr.ifr_ifindex > 0)
                                f.ifindexes[f.n_ifindexes++] = (HostIndex) { .ifindex = ifr.ifr_ifindex, .name = *name };
                }
                if (f.n_ifindexes > 1)
                        qsort(f.ifindexes, f.n_ifindexes, sizeof(HostIndex), index_cmp);
        }
        filter_done(&w->filter);
        w->filter = f;
        return 0;
}

Watch *watch_free(Watch *w) {
        if (!w)
                return NULL;
        filter_done(&w->filter);
        for (size_t i = 0; i < w->n; i++)
                ns_watch_free(w->v[i]);
        free(w->v);
        free(w->by_nsid);
        sd_event_source_disable_unref(w->src);
        nl_socket_free(w->sk);
        nls_close(w->query);
        free(w->buf);
        sd_event_source_disable_unref(w->mounts_src);
        safe_close(w->mounts_fd);
        sd_event_source_disable_unref(w->nft_src);
        nl_socket_free(w->nft_sk);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

size_t watch_count(const Watch *w) {
        return w ? w->n : 0;
}

static int nswatch_cmp(const void *a, const void *b) {
        return strcmp((*(NsWatch *const *) a)->name, (*(NsWatch *const *) b)->name);
}

static NsWatch *find(const Watch *w, const char *name) {
        NsWatch key = { .name = (char *) name }, *k = &key, **r;

        if (!w->n)
                return NULL;
        r = bsearch(&k, w->v, w->n, sizeof(NsWatch *), nswatch_cmp);
        return r ? *r : NULL;
}

ino_t watch_inode(const Watch *w, const char *name) {
        NsWatch *nw = w ? find(w, name) : NULL;

        return nw ? nw->ino : 0;
}

static void index_nsids(Watch *w) {
        size_t n = 0;

        free(w->by_nsid);
        w->n_by_nsid = 0;
        w->by_nsid = calloc(w->n + 1, sizeof(NsWatch *));
        if (!w->by_nsid)
                return;   /* then no namespace's notification is placed: the sweep sees to them */
        for (size_t i = 0; i < w->n; i++)
                if (w->v[i]->nsid >= 0)
                        w->by_nsid[n++] = w->v[i];
        if (n > 1)
                qsort(w->by_nsid, n, sizeof(NsWatch *), nsid_cmp);
        w->n_by_nsid = n;
}

/* A watched namespace: pinned under /run/netns by name, or (a run-time
 * attachment by CNI_NETNS) known by its path. */
static int target_open(const char *name, int *ret_fd) {
        if (netns_arg_is_path(name))
                return netns_open_path(name, ret_fd, NULL, NULL);
        return netns_open(name, ret_fd, NULL);
}

static char *target_path(const char *name) {
        return netns_arg_is_path(name) ? strdup(name) : netns_path(name);
}

/* A watched name (a pin, or a CNI_NETNS path) whose watch must be
 * (re)made: opened by a thread that enters it (open_pending()). */
typedef struct Pending {
        const char *name;
        NsWatch *old;            /* its watch so far, if any */
        bool restore;
        int fd;                  /* the handle held: /proc/thread-self/ns/net of a thread inside; negative: none */
        int hold_error;          /* entered, but that handle could not be opened */
} Pending;

static int pending_open(size_t i, void *userdata, int *ret_fd) {
        Pending *p = &((Pending *) userdata)[i];

        /* Not pinned (any more), or not a namespace: nothing to enter
         * (*ret_fd stays negative). */
        (void) target_open(p->name, ret_fd);
        return 0;
}

static int pending_hold(size_t i, void *userdata) {
        Pending *p = &((Pending *) userdata)[i];

        p->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (p->fd < 0)
                p->hold_error = negative_errno();
        return 0;   /* the others are still opened */
}

/* Each pin is opened by the worker that enters its namespace, and closed
 * as soon as it is inside: what the watch keeps is the worker's own handle
 * of the namespace (a handle opened from a pin keeps that mount busy for as
 * long as it is open). The pin is held only for that moment -- never while
 * other pins are opened -- so a plain umount(8) of it does not fail with
 * EBUSY because nsmgrd happened to be looking. */
static void open_pending(Pending *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                v[i].fd = -EBADF;
        if (n)
                (void) ns_run_open_parallel(n, pending_open, pending_hold, v, 0, NULL);
}

/* What a watched name leads to now: a stat of its pin (or path), which
 * crosses the mount to the namespace's nsfs inode. */
static int target_stat(const char *name, struct stat *ret) {
        _cleanup_free_ char *path = target_path(name);

        if (!path)
                return -ENOMEM;
        return stat(path, ret) < 0 ? negative_errno() : 0;
}

/* Whether a watch's pin still holds the namespace it has. */
static bool pin_holds(const NsWatch *nw) {
        struct stat st;

        return target_stat(nw->name, &st) >= 0 && st.st_dev == nw->dev && st.st_ino == nw->ino;
}

/* No pin under its name any more, as watch_check_pins() tells PIN_GONE
 * (another namespace pinned under it is PIN_REPLACED, and a new watch). */
static bool pin_gone(const NsWatch *nw) {
        struct stat st;
        int r = target_stat(nw->name, &st);

        if (r == -ENOMEM)
                return false;
        return r < 0 || st.st_dev != nw->dev;
}

int watch_sync(Watch *w, char *const *names, char *const *wired, char ***ret_opened, char ***ret_warnings,
               NmError *err) {
        _cleanup_free_ NsWatch **keep = NULL;
        _cleanup_free_ Pending *pending = NULL;
        _cleanup_strv_free_ char **all = NULL;
        size_t n_names, n_declared = strv_length(names), n_keep = 0, opened = 0, n_pending = 0;
        int r = 0;

        all = strv_copy(names);
        n_names = n_declared;
        STRV_FOREACH(x, wired)
                if (!strv_contains(names, *x) && strv_push_at(&all, n_names++, strdup(*x)) < 0)
                        return -ENOMEM;
        if (!all && (names || wired))
                return -ENOMEM;
        names = all;

        keep = calloc(n_names + w->n + 1, sizeof(NsWatch *));
        pending = calloc(n_names + 1, sizeof(Pending));
        if (!keep || !pending)
                return -ENOMEM;
        for (size_t i = 0; i < w->n; i++)
                w->v[i]->kept = false;

        /* A watch that still holds is told by a stat; the rest are opened
         * from inside (open_pending()). */
        STRV_FOREACH(name, names) {
                bool restore = (size_t) (name - names) < n_declared;
                NsWatch *old = find(w, *name);

                if (old)
                        old->restore_pin = restore;
                if (old && pin_holds(old)) {
                        old->kept = true;
                        keep[n_keep++] = old;
                } else
                        pending[n_pending++] = (Pending) { .name = *name, .old = old, .restore = restore };
        }

        open_pending(pending, n_pending);
        for (size_t i = 0; i < n_pending; i++) {
                Pending *p = &pending[i];
                NsWatch *nw;
                struct stat st;

                if (p->hold_error < 0) {
                        /* Held by its pin's handle then: that pin cannot be
                         * unmounted while it is watched. */
                        warn(ret_warnings, "cannot hold namespace '%s' apart from its pin: %s; ignoring", p->name,
                             strerror(-p->hold_error));
                        (void) target_open(p->name, &p->fd);
                }
                if (p->fd < 0 || fstat(p->fd, &st) < 0) {
                        /* Not pinned (yet, or any more): a watch we have
                         * stays, for its pin to be restored -- if nsmgr
                         * made the namespace. */
                        p->fd = safe_close(p->fd);
                        if (p->old && p->restore) {
                                p->old->kept = true;
                                keep[n_keep++] = p->old;
                        }
                        continue;
                }
                if (p->old && p->old->dev == st.st_dev && p->old->ino == st.st_ino) {
                        p->old->kept = true;
                        keep[n_keep++] = p->old;
                        p->fd = safe_close(p->fd);
                        continue;
                }
                nw = r < 0 ? NULL : ns_watch_new(p->name, p->fd, st.st_dev, st.st_ino);
                if (!nw) {
                        p->fd = safe_close(p->fd);
                        r = -ENOMEM;
                        continue;
                }
                nw->restore_pin = p->restore;
                nw->kept = true;
                keep[n_keep++] = nw;
                if (ret_opened)
                        (void) strv_push_at(ret_opened, opened, strdup(nw->name));
                opened++;
        }
        /* Drop what is not kept: names no longer listed, and watches of
         * namespaces that another one replaced under their name. On
         * ENOMEM, what was there stays. A namespace nsmgr only wires whose
         * pin went away is kept until watch_check_pins() has told of it:
         * deleted during a repair, its lease is gone too by the time the
         * repair syncs the watches. */
        for (size_t i = 0; i < w->n; i++)
                if (!w->v[i]->kept) {
                        if (r < 0 || (!w->v[i]->restore_pin && pin_gone(w->v[i])))
                                keep[n_keep++] = w->v[i];
                        else
                                ns_watch_free(w->v[i]);
                }
        free(w->v);
        w->v = TAKE_PTR(keep);
        w->n = n_keep;
        if (w->n > 1)
                qsort(w->v, w->n, sizeof(NsWatch *), nswatch_cmp);
        index_nsids(w);
        if (r < 0)
                return nm_error(err, r, "cannot update the drift watches: %s", strerror(-r));
        return (int) opened;
}

/* Gives a namespace an nsid in the host (RTM_NEWNSID; `ip netns set NAME
 * auto`): only then do its notifications reach us. */
static int new_nsid(NlSock *nl, int nsfd) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
        int r;

        msg = nlmsg_alloc_simple(RTM_NEWNSID, NLM_F_REQUEST | NLM_F_ACK);
        if (!msg || nlmsg_append(msg, &g, sizeof(g), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, NETNSA_FD, (uint32_t) nsfd) < 0 || nla_put_s32(msg, NETNSA_NSID, -1) < 0)
                return -ENOMEM;
        nls_reset_error(nl);
        r = nl_send_auto(nl->sk, msg);
        if (r >= 0)
                r = nl_wait_for_ack(nl->sk);
        r = r < 0 ? nls_errno(nl, r) : 0;
        return r == -EEXIST ? 0 : r;
}

int watch_learn_nsids(Watch *w, const WatchNsid *v, size_t n, char ***ret_warnings) {
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                NsWatch *nw = find(w, v[i].name);

                if (nw && nw->ino == v[i].ino && v[i].nsid >= 0)
                        nw->nsid = v[i].nsid;
        }
        /* The rest asked one by one: a lookup among every nsid the host
         * has, each (so the engine's view is used where there is one). */
        for (size_t i = 0; i < w->n; i++) {
                NsWatch *nw = w->v[i];
                int nsid = -1;

                if (nw->nsid >= 0)
                        continue;
                r = nls_get_nsid(w->query, nw->nsfd, &nsid);
                if (r >= 0 && nsid < 0) {
                        r = new_nsid(w->query, nw->nsfd);
                        if (r >= 0)
                                r = nls_get_nsid(w->query, nw->nsfd, &nsid);
                }
                if (r < 0 || nsid < 0) {
                        warn(ret_warnings, "cannot give namespace '%s' an nsid in the host: %s; drift in it is repaired only by the periodic sweep",
                             nw->name, strerror(r < 0 ? -r : ENOENT));
                        continue;
                }
                nw->nsid = nsid;
        }
        index_nsids(w);
        return 0;
}

void pin_events_free(PinEvent *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].error);
        }
        free(v);
}

static int pin_again(NsWatch *nw, char **ret_error) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        int r;

        r = netns_pin_fd(nw->name, nw->nsfd, false, NULL, &e);
        if (r < 0) {
                *ret_error = strdup(nm_error_message(&e));
                return r;
        }
        return 0;
}

int watch_check_pins(Watch *w, PinEvent **ret, size_t *ret_n) {
        PinEvent *v = NULL;
        size_t n = 0, cap = 0;
        bool gone = false;

        for (size_t i = 0; i < w->n; i++) {
                NsWatch *nw = w->v[i];
                _cleanup_free_ char *path = target_path(nw->name);
                PinEvent ev = { .ino = nw->ino };
                struct stat st;

                if (!path) {
                        pin_events_free(v, n);
                        return -ENOMEM;
                }
                if (stat(path, &st) >= 0 && st.st_dev == nw->dev) {
                        if (st.st_ino == nw->ino)
                                continue;
                        /* Another namespace (nsfs has one st_dev for all). */
                        ev.kind = PIN_REPLACED;
                        ev.now_ino = st.st_ino;
                } else if (!nw->restore_pin)
                        ev.kind = PIN_GONE;
                else if (pin_again(nw, &ev.error) >= 0)
                        ev.kind = PIN_RESTORED;
                else
                        ev.kind = PIN_FAILED;

                ev.name = strdup(nw->name);
                if (!ev.name || GREEDY_REALLOC(v, cap, n + 1) < 0) {
                        free(ev.name);
                        free(ev.error);
                        pin_events_free(v, n);
                        return -ENOMEM;
                }
                v[n++] = ev;
                /* Told once: not nsmgr's to keep, its watch ends here. */
                if (ev.kind == PIN_GONE) {
                        ns_watch_free(nw);
                        memmove(w->v + i, w->v + i + 1, (w->n - i - 1) * sizeof(NsWatch *));
                        w->n--;
                        i--;
                        gone = true;
                }
        }
        if (gone)
                index_nsids(w);
        *ret = v;
        *ret_n = n;
        return (int) n;
}

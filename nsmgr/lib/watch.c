/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "netns.h"
#include "nsthread.h"
#include "paths.h"
#include "strv.h"
#include "watch.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

typedef struct HostFilter {
        bool set;
        char **names;           /* sorted */
        int *ifindexes;         /* sorted */
        size_t n_ifindexes;
} HostFilter;

typedef struct NsWatch {
        char *name;
        int fd;                 /* rtnetlink socket bound in the namespace */
        dev_t dev;              /* the namespace's identity (nsfs) */
        ino_t ino;
        sd_event_source *src;
        Watch *watch;
        const HostFilter *filter;  /* the host's only */
        bool restore_pin;          /* nsmgr made it: a pin removed is made again */
} NsWatch;

struct Watch {
        sd_event *event;
        watch_fn_t fn;
        void *userdata;
        NsWatch host;
        HostFilter filter;
        int mounts_fd;
        sd_event_source *mounts_src;
        int nft_fd;
        sd_event_source *nft_src;
        NsWatch **v;            /* sorted by name */
        size_t n;
};

#define RTNL_GROUPS (RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE)

/* Notifications are one message per datagram and a few hundred bytes (a
 * link with all its attributes stays under 4 KiB). A longer one is cut,
 * which MSG_TRUNC tells us; it is then taken as notable without looking
 * further, so the size of this buffer never decides what we miss. */
#define RECV_BUF 8192

static int rtnl_listen_socket(void) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTNL_GROUPS };
        int fd;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        return fd;
}

static const char *attr_str(const struct rtattr *rta) {
        size_t len = RTA_PAYLOAD(rta);
        const char *s = RTA_DATA(rta);

        return len > 0 && memchr(s, 0, len) ? s : NULL;
}

static void format_addr(int family, const struct rtattr *rta, char *buf, size_t len) {
        size_t want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;

        if (!want || RTA_PAYLOAD(rta) < want || !inet_ntop(family, RTA_DATA(rta), buf, (socklen_t) len))
                snprintf(buf, len, "?");
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int int_cmp(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;

        return (x > y) - (x < y);
}

static bool filter_has_name(const HostFilter *f, const char *name) {
        size_t n;

        if (!f || !f->set)
                return true;
        n = strv_length(f->names);
        return name && n && bsearch(&name, f->names, n, sizeof(char *), str_cmp);
}

static bool filter_has_index(const HostFilter *f, int ifindex) {
        if (!f || !f->set)
                return true;
        return f->n_ifindexes && bsearch(&ifindex, f->ifindexes, f->n_ifindexes, sizeof(int), int_cmp);
}

/* Whether one rtnetlink notification can mean drift, and what it says.
 * Address additions and the kernel's own routes (local table, prefix
 * routes, router advertisements, the route cache) never take away what
 * the config declares, and they come in bursts when links go up. In the
 * host, only the links the config puts there count (f). */
static bool rtnl_notable(const struct nlmsghdr *h, const HostFilter *f, char *what, size_t len) {
        char addr[INET6_ADDRSTRLEN];

        switch (h->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK: {
                const struct ifinfomsg *ifi = NLMSG_DATA(h);
                int rlen = (int) h->nlmsg_len - (int) NLMSG_LENGTH(sizeof(*ifi));
                const char *name = NULL;
                int master = 0;

                if (rlen < 0)
                        return true;
                for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, rlen); a = RTA_NEXT(a, rlen)) {
                        if (a->rta_type == IFLA_IFNAME)
                                name = attr_str(a);
                        else if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= sizeof(int))
                                memcpy(&master, RTA_DATA(a), sizeof(master));
                }
                /* By name: a link made again under its name has a new index.
                 * A port of one of our bridges counts too: `nsmgrctl attach`
                 * adds one, and the next reconcile then watches it. */
                if (!filter_has_name(f, name) && !filter_has_index(f, ifi->ifi_index) &&
                    !(master > 0 && filter_has_index(f, master)))
                        return false;
                if (h->nlmsg_type == RTM_DELLINK)
                        snprintf(what, len, "link %s deleted", name ? name : "?");
                else
                        snprintf(what, len, "link %s changed", name ? name : "?");
                return true;
        }
        case RTM_DELADDR: {
                const struct ifaddrmsg *ifa = NLMSG_DATA(h);
                int rlen = (int) h->nlmsg_len - (int) NLMSG_LENGTH(sizeof(*ifa));
                const char *label = NULL;

                if (rlen < 0)
                        return true;
                if (!filter_has_index(f, (int) ifa->ifa_index))
                        return false;
                snprintf(addr, sizeof(addr), "?");
                for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, rlen); a = RTA_NEXT(a, rlen)) {
                        if (a->rta_type == IFA_LOCAL || (a->rta_type == IFA_ADDRESS && streq(addr, "?")))
                                format_addr(ifa->ifa_family, a, addr, sizeof(addr));
                        else if (a->rta_type == IFA_LABEL)
                                label = attr_str(a);
                }
                /* IPv6 addresses carry no label; the link lives in the
                 * socket's namespace, not ours, so its index must do. */
                if (label)
                        snprintf(what, len, "address %s/%u removed from %s", addr, ifa->ifa_prefixlen, label);
                else
                        snprintf(what, len, "address %s/%u removed from link %u", addr, ifa->ifa_prefixlen,
                                 ifa->ifa_index);
                return true;
        }
        case RTM_NEWROUTE:
        case RTM_DELROUTE: {
                const struct rtmsg *rt = NLMSG_DATA(h);
                int rlen = (int) h->nlmsg_len - (int) NLMSG_LENGTH(sizeof(*rt));
                uint32_t table = rt->rtm_table;
                int oif = 0;

                if (rlen < 0)
                        return true;
                if (rt->rtm_protocol == RTPROT_KERNEL || rt->rtm_protocol == RTPROT_RA ||
                    (rt->rtm_flags & RTM_F_CLONED))
                        return false;
                snprintf(addr, sizeof(addr), "default");
                for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, rlen); a = RTA_NEXT(a, rlen)) {
                        if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= sizeof(uint32_t))
                                memcpy(&table, RTA_DATA(a), sizeof(table));
                        else if (a->rta_type == RTA_DST)
                                format_addr(rt->rtm_family, a, addr, sizeof(addr));
                        else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int))
                                memcpy(&oif, RTA_DATA(a), sizeof(oif));
                }
                if (table == RT_TABLE_LOCAL)
                        return false;
                /* Without an output link (multipath, blackhole) it may be ours. */
                if (oif && !filter_has_index(f, oif))
                        return false;
                if (rt->rtm_dst_len || !streq(addr, "default"))
                        snprintf(what, len, "route %s/%u %s", addr, rt->rtm_dst_len,
                                 h->nlmsg_type == RTM_DELROUTE ? "deleted" : "added or replaced");
                else
                        snprintf(what, len, "default route (%s) %s", rt->rtm_family == AF_INET6 ? "IPv6" : "IPv4",
                                 h->nlmsg_type == RTM_DELROUTE ? "deleted" : "added or replaced");
                return true;
        }
        default:
                return false;
        }
}

/* Something taken away says more than something changed (a veth going
 * away first reports itself down, then deleted). */
static int note_rank(const char *what) {
        return strstr(what, " deleted") || strstr(what, " removed") || strstr(what, " lost") ? 2 : 1;
}

/* Reads everything queued on a notification socket. Returns true if any of
 * it can mean drift; *what gets the description of the most telling. */
static bool drain(int fd, bool rtnl, const HostFilter *f, char *what, size_t len) {
        _Alignas(struct nlmsghdr) uint8_t buf[RECV_BUF];
        bool notable = false;

        /* A bounded batch: under a storm the loop still gets to the other
         * sources (and the watchdog); what is left wakes us again. */
        for (unsigned batch = 0; batch < 256; batch++) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
                size_t got;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                /* The queue overflowed: notifications were
                                 * lost, so anything may have changed. */
                                if (!notable)
                                        snprintf(what, len, "notifications were lost (receive queue overflow)");
                                notable = true;
                                continue;
                        }
                        break;  /* EAGAIN: all read */
                }
                if (!rtnl || (size_t) n > sizeof(buf)) {
                        if (!notable)
                                snprintf(what, len, rtnl ? "a long notification" : "nftables ruleset changed");
                        notable = true;
                        continue;
                }
                got = (size_t) n;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, got); h = NLMSG_NEXT(h, got)) {
                        char one[160];

                        if (rtnl_notable(h, f, one, sizeof(one))) {
                                if (!notable || note_rank(one) > note_rank(what))
                                        snprintf(what, len, "%s", one);
                                notable = true;
                        }
                }
        }
        return notable;
}

static int on_rtnl(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NsWatch *nw = userdata;
        char what[192] = "";

        if (drain(fd, true, nw->filter, what, sizeof(what)))
                nw->watch->fn(WATCH_NETLINK, nw->name, what[0] ? what : NULL, nw->watch->userdata);
        return 0;
}

static int on_nft(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;
        char what[192] = "";

        if (drain(fd, false, NULL, what, sizeof(what)))
                w->fn(WATCH_NFTABLES, NULL, what[0] ? what : NULL, w->userdata);
        return 0;
}

static int on_mounts(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;

        /* Reading is not needed: polling mountinfo reports a change once
         * (the kernel compares the namespace's event counter with the one
         * it saw at the last poll; proc_namespace.c, mounts_poll()). */
        w->fn(WATCH_MOUNTS, NULL, NULL, w->userdata);
        return 0;
}

static void ns_watch_free(NsWatch *nw) {
        if (!nw)
                return;
        sd_event_source_disable_unref(nw->src);
        safe_close(nw->fd);
        free(nw->name);
        free(nw);
}

static NsWatch *ns_watch_new(Watch *w, const char *name, dev_t dev, ino_t ino) {
        NsWatch *nw = calloc(1, sizeof(NsWatch));

        if (!nw)
                return NULL;
        *nw = (NsWatch) { .name = strdup(name), .fd = -EBADF, .dev = dev, .ino = ino, .watch = w };
        if (!nw->name)
                return mfree(nw);
        return nw;
}

static int nft_listen_socket(void) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        unsigned group = NFNLGRP_NFTABLES;
        int fd;

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        if (fd < 0)
                return negative_errno();
        /* Bound first: an unbound socket joins the group without error
         * but is never delivered to. NFNLGRP_NFTABLES (7) fits the bind
         * mask too, but the option is how nft monitor does it. */
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        return fd;
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
        struct stat st;
        int r;

        w = calloc(1, sizeof(Watch));
        if (!w)
                return -ENOMEM;
        *w = (Watch) { .event = sd_event_ref(e), .fn = fn, .userdata = userdata, .mounts_fd = -EBADF,
                       .nft_fd = -EBADF, .host = { .fd = -EBADF } };
        w->host.watch = w;
        w->host.filter = &w->filter;

        w->host.fd = rtnl_listen_socket();
        if (w->host.fd < 0)
                return nm_error(err, w->host.fd, "cannot listen to rtnetlink notifications: %s", strerror(-w->host.fd));
        if (stat("/proc/self/ns/net", &st) >= 0) {
                w->host.dev = st.st_dev;
                w->host.ino = st.st_ino;
        }
        r = sd_event_add_io(e, &w->host.src, w->host.fd, EPOLLIN, on_rtnl, &w->host);
        if (r < 0)
                return nm_error(err, r, "cannot watch rtnetlink notifications: %s", strerror(-r));

        w->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (w->mounts_fd < 0)
                return nm_error(err, negative_errno(), "cannot open /proc/self/mountinfo to watch the pins: %m");
        r = sd_event_add_io(e, &w->mounts_src, w->mounts_fd, EPOLLPRI, on_mounts, w);
        if (r < 0)
                return nm_error(err, r, "cannot watch /proc/self/mountinfo: %s", strerror(-r));

        w->nft_fd = nft_listen_socket();
        if (w->nft_fd < 0)
                warn(ret_warnings, "cannot listen to nftables changes (%s): NAT rules removed by hand are restored only when something else changes, ignoring",
                     strerror(-w->nft_fd));
        else {
                r = sd_event_add_io(e, &w->nft_src, w->nft_fd, EPOLLIN, on_nft, w);
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
                f.ifindexes = calloc(n + 1, sizeof(int));
                if ((n && !f.names) || !f.ifindexes) {
                        filter_done(&f);
                        return -ENOMEM;
                }
                if (n > 1)
                        qsort(f.names, n, sizeof(char *), str_cmp);
                /* The host is this thread's namespace: names resolve here. */
                STRV_FOREACH(name, names) {
                        unsigned idx = if_nametoindex(*name);

                        if (idx > 0)
                                f.ifindexes[f.n_ifindexes++] = (int) idx;
                }
                if (f.n_ifindexes > 1)
                        qsort(f.ifindexes, f.n_ifindexes, sizeof(int), int_cmp);
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
        sd_event_source_disable_unref(w->host.src);
        safe_close(w->host.fd);
        sd_event_source_disable_unref(w->mounts_src);
        safe_close(w->mounts_fd);
        sd_event_source_disable_unref(w->nft_src);
        safe_close(w->nft_fd);
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

struct open_args {
        int *fds;
};

static int open_in_thread(size_t i, void *userdata) {
        struct open_args *a = userdata;

        a->fds[i] = rtnl_listen_socket();
        return a->fds[i] < 0 ? a->fds[i] : 0;
}

/* Opens a socket in each namespace; a namespace that fails gets -errno in
 * its slot and the others are still done. */
static void open_sockets(const int *nsfds, size_t n, int *ret_fds) {
        struct open_args a = { .fds = ret_fds };
        size_t start = 0;

        for (size_t i = 0; i < n; i++)
                ret_fds[i] = -EBADF;
        while (start < n) {
                size_t failed = 0;
                int r;

                a.fds = ret_fds + start;
                r = ns_run_batch(nsfds + start, n - start, open_in_thread, &a, &failed);
                if (r >= 0)
                        break;
                ret_fds[start + failed] = r;
                start += failed + 1;
        }
}

int watch_sync(Watch *w, char *const *names, char *const *wired, char ***ret_warnings, NmError *err) {
        _cleanup_free_ NsWatch **keep = NULL;
        _cleanup_free_ NsWatch **fresh = NULL;
        _cleanup_free_ int *nsfds = NULL, *socks = NULL;
        _cleanup_strv_free_ char **all = NULL;
        size_t n_names, n_declared = strv_length(names), n_keep = 0, n_fresh = 0, opened = 0;
        int r = 0;

        all = strv_copy(names);
        STRV_FOREACH(x, wired)
                if (!strv_contains(names, *x) && strv_extend(&all, *x) < 0)
                        return -ENOMEM;
        if (!all && (names || wired))
                return -ENOMEM;
        names = all;
        n_names = strv_length(names);

        keep = calloc(n_names + 1, sizeof(NsWatch *));
        fresh = calloc(n_names + 1, sizeof(NsWatch *));
        nsfds = calloc(n_names + 1, sizeof(int));
        socks = calloc(n_names + 1, sizeof(int));
        if (!keep || !fresh || !nsfds || !socks)
                return -ENOMEM;

        /* What to keep, and what to open: one open + fstat per name. */
        STRV_FOREACH(name, names) {
                bool restore = (size_t) (name - names) < n_declared;
                NsWatch *old = find(w, *name);
                struct stat st;
                int fd;

                if (old)
                        old->restore_pin = restore;
                if (netns_open(*name, &fd, NULL) < 0) {
                        /* Not pinned (yet, or any more): a watch we have
                         * stays, for its pin to be restored -- if nsmgr
                         * made the namespace. */
                        if (old && restore)
                                keep[n_keep++] = old;
                        continue;
                }
                if (fstat(fd, &st) < 0) {
                        safe_close(fd);
                        continue;
                }
                if (old && old->dev == st.st_dev && old->ino == st.st_ino) {
                        keep[n_keep++] = old;
                        safe_close(fd);
                        continue;
                }
                fresh[n_fresh] = ns_watch_new(w, *name, st.st_dev, st.st_ino);
                if (!fresh[n_fresh]) {
                        safe_close(fd);
                        r = -ENOMEM;
                        break;
                }
                fresh[n_fresh]->restore_pin = restore;
                nsfds[n_fresh++] = fd;
        }

        if (r >= 0)
                open_sockets(nsfds, n_fresh, socks);
        for (size_t i = 0; i < n_fresh; i++) {
                NsWatch *nw = fresh[i];

                safe_close(nsfds[i]);
                if (r < 0 || socks[i] < 0) {
                        if (r >= 0)
                                warn(ret_warnings, "cannot watch namespace '%s' for drift: %s; changes in it are repaired only with the next change elsewhere",
                                     nw->name, strerror(-socks[i]));
                        ns_watch_free(nw);
                        fresh[i] = NULL;
                        continue;
                }
                nw->fd = socks[i];
                if (sd_event_add_io(w->event, &nw->src, nw->fd, EPOLLIN, on_rtnl, nw) < 0) {
                        warn(ret_warnings, "cannot watch namespace '%s' for drift: too many event sources", nw->name);
                        ns_watch_free(nw);
                        fresh[i] = NULL;
                        continue;
                }
                keep[n_keep++] = nw;
                fresh[i] = NULL;
                opened++;
        }
        if (r < 0) {
                for (size_t i = 0; i < n_fresh; i++)
                        ns_watch_free(fresh[i]);
                return nm_error(err, r, "cannot update the drift watches: %s", strerror(-r));
        }

        /* Drop what is not kept: names no longer listed, and watches of
         * namespaces that another one replaced under their name. */
        for (size_t i = 0; i < w->n; i++) {
                bool kept = false;

                for (size_t k = 0; k < n_keep && !kept; k++)
                        kept = keep[k] == w->v[i];
                if (!kept)
                        ns_watch_free(w->v[i]);
        }
        free(w->v);
        w->v = TAKE_PTR(keep);
        w->n = n_keep;
        if (w->n > 1)
                qsort(w->v, w->n, sizeof(NsWatch *), nswatch_cmp);
        return (int) opened;
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
        _cleanup_close_ int nsfd = -EBADF;
        int r;

        /* The namespace the socket lives in (SIOCGSKNS, Linux 4.9). */
        nsfd = ioctl(nw->fd, SIOCGSKNS);
        if (nsfd < 0) {
                r = negative_errno();
                if (asprintf(ret_error, "cannot get the namespace of its watch socket: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        r = netns_pin_fd(nw->name, nsfd, false, &e);
        if (r < 0) {
                *ret_error = strdup(nm_error_message(&e));
                return r;
        }
        return 0;
}

int watch_check_pins(Watch *w, PinEvent **ret, size_t *ret_n) {
        PinEvent *v = NULL;
        size_t n = 0, cap = 0;

        for (size_t i = 0; i < w->n; i++) {
                NsWatch *nw = w->v[i];
                _cleanup_free_ char *path = netns_path(nw->name);
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
        }
        *ret = v;
        *ret_n = n;
        return (int) n;
}

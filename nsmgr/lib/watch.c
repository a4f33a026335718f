/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/sockios.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "netns.h"
#include "netnspath.h"
#include "nl.h"
#include "nsthread.h"
#include "paths.h"
#include "strv.h"
#include "watch.h"

typedef struct HostFilter {
        bool set;
        char **names;           /* sorted */
        int *ifindexes;         /* sorted */
        size_t n_ifindexes;
} HostFilter;

typedef struct NsWatch {
        char *name;
        struct nl_sock *sk;     /* rtnetlink socket bound in the namespace */
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
        struct nl_sock *nft_sk;
        sd_event_source *nft_src;
        NsWatch **v;            /* sorted by name */
        size_t n;
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

/* These return 1 if the notification can mean drift (and describe it in
 * what), 0 if not, and a negative libnl error if it does not parse. */

static int link_notable(struct nlmsghdr *h, const HostFilter *f, char *what, size_t len) {
        const struct ifinfomsg *ifi = nlmsg_data(h);
        struct nlattr *tb[IFLA_MAX + 1];
        const char *name;
        int master, r;

        r = nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, link_policy);
        if (r < 0)
                return r;
        name = tb[IFLA_IFNAME] ? nla_get_string(tb[IFLA_IFNAME]) : NULL;
        master = tb[IFLA_MASTER] ? (int) nla_get_u32(tb[IFLA_MASTER]) : 0;
        /* By name: a link made again under its name has a new index. A port
         * of one of our bridges counts too: `nsmgrctl attach` adds one, and
         * the next reconcile then watches it. */
        if (!filter_has_name(f, name) && !filter_has_index(f, ifi->ifi_index) &&
            !(master > 0 && filter_has_index(f, master)))
                return 0;
        snprintf(what, len, "link %s %s", name ?: "?", h->nlmsg_type == RTM_DELLINK ? "deleted" : "changed");
        return 1;
}

static int addr_notable(struct nlmsghdr *h, const HostFilter *f, char *what, size_t len) {
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
        return 1;
}

static int route_notable(struct nlmsghdr *h, const HostFilter *f, char *what, size_t len) {
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
        return 1;
}

/* Whether one rtnetlink notification can mean drift, and what it says.
 * Address additions and the kernel's own routes (local table, prefix
 * routes, router advertisements, the route cache) never take away what
 * the config declares, and they come in bursts when links go up. In the
 * host, only the links the config puts there count (f). One that does not
 * parse may have been anything. */
static bool rtnl_notable(struct nlmsghdr *h, const HostFilter *f, char *what, size_t len) {
        int r;

        switch (h->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK:
                r = link_notable(h, f, what, len);
                break;
        case RTM_DELADDR:
                r = addr_notable(h, f, what, len);
                break;
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
                r = route_notable(h, f, what, len);
                break;
        default:
                return false;
        }
        if (r < 0)
                snprintf(what, len, "a notification that does not parse");
        return r != 0;
}

/* Something taken away says more than something changed (a veth going
 * away first reports itself down, then deleted). */
static int note_rank(const char *what) {
        return strstr(what, " deleted") || strstr(what, " removed") || strstr(what, " lost") ? 2 : 1;
}

/* What one drain() has seen so far. */
typedef struct Drain {
        const HostFilter *filter;
        bool rtnl;              /* false: nftables, where any message counts */
        bool notable;
        char what[192];         /* the most telling notable one */
} Drain;

static void drain_note(Drain *d, const char *what) {
        if (!d->notable || note_rank(what) > note_rank(d->what))
                snprintf(d->what, sizeof(d->what), "%s", what);
        d->notable = true;
}

static int on_message(struct nl_msg *msg, void *arg) {
        Drain *d = arg;
        char one[160];

        if (!d->rtnl)
                drain_note(d, "nftables ruleset changed");
        else if (rtnl_notable(nlmsg_hdr(msg), d->filter, one, sizeof(one)))
                drain_note(d, one);
        return NL_OK;
}

/* Reads everything queued on a notification socket. Returns true if any of
 * it can mean drift; d->what then describes the most telling. */
static bool drain(struct nl_sock *sk, Drain *d) {
        nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_message, d);

        /* A bounded batch: under a storm the loop still gets to the other
         * sources (and the watchdog); what is left wakes us again. */
        for (unsigned batch = 0; batch < 256; batch++) {
                int r = nl_recvmsgs_default(sk);

                if (r == -NLE_NOMEM)
                        /* ENOBUFS: the queue overflowed and notifications
                         * were lost, so anything may have changed. */
                        drain_note(d, "notifications were lost (receive queue overflow)");
                else if (r == -NLE_MSG_TRUNC)
                        drain_note(d, d->rtnl ? "a long notification" : "nftables ruleset changed");
                else if (r < 0)
                        break;  /* NLE_AGAIN: all read */
        }
        return d->notable;
}

static int on_rtnl(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NsWatch *nw = userdata;
        Drain d = { .filter = nw->filter, .rtnl = true };

        if (drain(nw->sk, &d))
                nw->watch->fn(WATCH_NETLINK, nw->name, d.what, nw->watch->userdata);
        return 0;
}

static int on_nft(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;
        Drain d = {};

        if (drain(w->nft_sk, &d))
                w->fn(WATCH_NFTABLES, NULL, d.what, w->userdata);
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
        nl_socket_free(nw->sk);
        free(nw->name);
        free(nw);
}

static NsWatch *ns_watch_new(Watch *w, const char *name, dev_t dev, ino_t ino) {
        NsWatch *nw = calloc(1, sizeof(NsWatch));

        if (!nw)
                return NULL;
        *nw = (NsWatch) { .name = strdup(name), .dev = dev, .ino = ino, .watch = w };
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
        struct stat st;
        int r;

        w = calloc(1, sizeof(Watch));
        if (!w)
                return -ENOMEM;
        *w = (Watch) { .event = sd_event_ref(e), .fn = fn, .userdata = userdata, .mounts_fd = -EBADF };
        w->host.watch = w;
        w->host.filter = &w->filter;

        r = rtnl_listen_socket(&w->host.sk);
        if (r < 0)
                return nm_error(err, r, "cannot listen to rtnetlink notifications: %s", strerror(-r));
        if (stat("/proc/self/ns/net", &st) >= 0) {
                w->host.dev = st.st_dev;
                w->host.ino = st.st_ino;
        }
        r = sd_event_add_io(e, &w->host.src, nl_socket_get_fd(w->host.sk), EPOLLIN, on_rtnl, &w->host);
        if (r < 0)
                return nm_error(err, r, "cannot watch rtnetlink notifications: %s", strerror(-r));

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
        nl_socket_free(w->host.sk);
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

static int open_in_thread(size_t i, void *userdata) {
        struct nl_sock **socks = userdata;

        return rtnl_listen_socket(&socks[i]);
}

/* Opens a socket in each namespace; a namespace that fails gets NULL in
 * ret_socks and -errno in ret_errors, and the others are still done. */
static void open_sockets(const int *nsfds, size_t n, struct nl_sock **ret_socks, int *ret_errors) {
        size_t start = 0;

        while (start < n) {
                size_t failed = 0;
                int r;

                r = ns_run_batch(nsfds + start, n - start, open_in_thread, ret_socks + start, &failed);
                if (r >= 0)
                        break;
                ret_errors[start + failed] = r;
                start += failed + 1;
        }
}

/* A watched namespace: pinned under /run/netns by name, or (a run-time
 * attachment by CNI_NETNS) known by its path. */
static int target_open(const char *name, int *ret_fd) {
        if (netns_arg_is_path(name))
                return netns_open_path(name, ret_fd, NULL, NULL);
        return netns_open(name, ret_fd, NULL);
}

/* No pin under its name any more, as watch_check_pins() tells PIN_GONE
 * (another namespace pinned under it is PIN_REPLACED, and a new watch). */
static bool pin_gone(const NsWatch *nw) {
        _cleanup_free_ char *path = netns_arg_is_path(nw->name) ? strdup(nw->name) : netns_path(nw->name);
        struct stat st;

        if (!path)
                return false;
        return stat(path, &st) < 0 || st.st_dev != nw->dev;
}

int watch_sync(Watch *w, char *const *names, char *const *wired, char ***ret_warnings, NmError *err) {
        _cleanup_free_ NsWatch **keep = NULL;
        _cleanup_free_ NsWatch **fresh = NULL;
        _cleanup_free_ struct nl_sock **socks = NULL;
        _cleanup_free_ int *nsfds = NULL, *errors = NULL;
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

        /* Room for every name, and for every watch we have (see below). */
        keep = calloc(n_names + w->n + 1, sizeof(NsWatch *));
        fresh = calloc(n_names + 1, sizeof(NsWatch *));
        nsfds = calloc(n_names + 1, sizeof(int));
        socks = calloc(n_names + 1, sizeof(struct nl_sock *));
        errors = calloc(n_names + 1, sizeof(int));
        if (!keep || !fresh || !nsfds || !socks || !errors)
                return -ENOMEM;

        /* What to keep, and what to open: one open + fstat per name. */
        STRV_FOREACH(name, names) {
                bool restore = (size_t) (name - names) < n_declared;
                NsWatch *old = find(w, *name);
                struct stat st;
                int fd;

                if (old)
                        old->restore_pin = restore;
                if (target_open(*name, &fd) < 0) {
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
                open_sockets(nsfds, n_fresh, socks, errors);
        for (size_t i = 0; i < n_fresh; i++) {
                NsWatch *nw = fresh[i];

                safe_close(nsfds[i]);
                if (r < 0 || !socks[i]) {
                        if (r >= 0)
                                warn(ret_warnings, "cannot watch namespace '%s' for drift: %s; changes in it are repaired only with the next change elsewhere",
                                     nw->name, strerror(-errors[i]));
                        ns_watch_free(nw);
                        fresh[i] = NULL;
                        continue;
                }
                nw->sk = TAKE_PTR(socks[i]);
                if (sd_event_add_io(w->event, &nw->src, nl_socket_get_fd(nw->sk), EPOLLIN, on_rtnl, nw) < 0) {
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
         * namespaces that another one replaced under their name. A
         * namespace nsmgr only wires whose pin went away is kept until
         * watch_check_pins() has told of it: deleted during a repair, its
         * lease is gone too by the time the repair syncs the watches. */
        for (size_t i = 0; i < w->n; i++) {
                bool kept = false;

                for (size_t k = 0; k < n_keep && !kept; k++)
                        kept = keep[k] == w->v[i];
                if (kept)
                        continue;
                if (!w->v[i]->restore_pin && pin_gone(w->v[i])) {
                        keep[n_keep++] = w->v[i];
                        continue;
                }
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
        nsfd = ioctl(nl_socket_get_fd(nw->sk), SIOCGSKNS);
        if (nsfd < 0) {
                r = negative_errno();
                if (asprintf(ret_error, "cannot get the namespace of its watch socket: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        r = netns_pin_fd(nw->name, nsfd, false, NULL, &e);
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
                _cleanup_free_ char *path = netns_arg_is_path(nw->name) ? strdup(nw->name) : netns_path(nw->name);
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
                }
        }
        *ret = v;
        *ret_n = n;
        return (int) n;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_addr.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/sockios.h>

#include "nl.h"

#include <netlink/msg.h>

#include "fileio.h"
#include "linkmsg.h"
#include "marks.h"
#include "netns.h"
#include "netnspath.h"
#include "nsthread.h"
#include "observe.h"
#include "owner.h"
#include "paths.h"
#include "procscan.h"
#include "strv.h"
#include "sysctl.h"

/* --- dumps ---------------------------------------------------------------------- */

/* Dumps parsed by libnl message by message (nl_msg_parse), straight into
 * the scope's arrays: no cache, whose hashing and comparison of every
 * object cost more than the parsing with thousands of namespaces. */
struct obj_dump {
        ObsScope *s;
        size_t cap;
        bool oom;
        void (*add)(struct nl_object *o, struct obj_dump *d);
};

static void add_route(struct nl_object *o, struct obj_dump *d) {
        struct rtnl_route *rt = (struct rtnl_route *) o;
        struct rtnl_nexthop *nh = rtnl_route_nexthop_n(rt, 0);
        ObsRoute x = { .table = rtnl_route_get_table(rt), .metric = rtnl_route_get_priority(rt),
                       .type = rtnl_route_get_type(rt), .protocol = rtnl_route_get_protocol(rt) };

        if (cidr_from_nl(rtnl_route_get_dst(rt), &x.dst) < 0)
                return;
        x.dst.prefixlen = (uint8_t) nl_addr_get_prefixlen(rtnl_route_get_dst(rt));
        if (nh) {
                x.oif = rtnl_route_nh_get_ifindex(nh);
                if (rtnl_route_nh_get_gateway(nh))
                        (void) cidr_from_nl(rtnl_route_nh_get_gateway(nh), &x.gw);
        }
        if (GREEDY_REALLOC(d->s->routes, d->cap, d->s->n_routes + 1) < 0) {
                d->oom = true;
                return;
        }
        d->s->routes[d->s->n_routes++] = x;
}

static void on_object(struct nl_object *o, void *arg) {
        struct obj_dump *d = arg;

        if (!d->oom)
                d->add(o, d);
}

static int on_parse(struct nl_msg *msg, void *arg) {
        int r = nl_msg_parse(msg, on_object, arg);

        /* A message libnl cannot make an object of is not ours to judge. */
        return r == -NLE_NOMEM ? NL_STOP : NL_OK;
}

/* Sends req and takes its answer (a dump, or one object and the ACK's
 * error), each message to on_valid(arg). */
static int send_and_receive(NlSock *nl, struct nl_msg *req, nl_recvmsg_msg_cb_t on_valid, void *arg) {
        struct nl_cb *cb, *orig;
        int r;

        r = nl_send_auto(nl->sk, req);
        if (r < 0)
                return r;
        orig = nl_socket_get_cb(nl->sk);
        cb = nl_cb_clone(orig);
        nl_cb_put(orig);
        if (!cb)
                return -NLE_NOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, arg);
        r = nl_recvmsgs(nl->sk, cb);
        nl_cb_put(cb);
        return r;
}

static int dump_objects(NlSock *nl, struct nl_msg *req, struct obj_dump *d) {
        int r = send_and_receive(nl, req, on_parse, d);

        if (d->oom)
                return -NLE_NOMEM;
        return r < 0 ? r : 0;
}

/* An array of a scope (its links, its addresses) as a dump fills it. */
struct scope_dump {
        ObsScope *s;
        size_t cap;
        bool oom;
};

static int on_link(struct nl_msg *msg, void *arg) {
        struct scope_dump *d = arg;
        ObsLink o;

        if (obs_link_from_msg(nlmsg_hdr(msg), &o) < 0)
                return NL_SKIP;
        if (GREEDY_REALLOC(d->s->links, d->cap, d->s->n_links + 1) < 0) {
                d->oom = true;
                return NL_STOP;
        }
        d->s->links[d->s->n_links++] = o;
        return NL_OK;
}

static int recv_links(NlSock *nl, struct nl_msg *req, struct scope_dump *d) {
        int r = send_and_receive(nl, req, on_link, d);

        if (d->oom)
                return -NLE_NOMEM;
        return r < 0 ? r : 0;
}

/* The links of a scope, without their statistics (libnl's own dump asks
 * for every counter of every link, and the kernel fills kilobytes of IPv6
 * ones per link), none of which is looked at; parsed by linkmsg.c. */
static int dump_links(NlSock *nl, ObsScope *s) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct ifinfomsg hdr = { .ifi_family = AF_UNSPEC };
        struct scope_dump d = { .s = s };

        msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
        if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
                return -NLE_NOMEM;
        return recv_links(nl, msg, &d);
}

/* One link of a scope by name, appended to its links; none by that name is
 * not an error. */
static int get_link(NlSock *nl, ObsScope *s, size_t *cap, const char *name) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct ifinfomsg hdr = { .ifi_family = AF_UNSPEC };
        struct scope_dump d = { .s = s, .cap = *cap };
        int r;

        msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_REQUEST);
        if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0 ||
            nla_put_string(msg, IFLA_IFNAME, name) < 0 || nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
                return -NLE_NOMEM;
        r = recv_links(nl, msg, &d);
        *cap = d.cap;
        if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
                return 0;   /* the error was the answer: no ACK follows */
        /* The link came first; the ACK the request asked for follows. */
        if (r >= 0 && !nl->no_ack)
                r = nl_wait_for_ack(nl->sk);
        return r;
}

/* Addresses are parsed here rather than by libnl's cache, which drops
 * IFA_PROTO: nsmgr's mark on the addresses it adds. */
static int on_addr(struct nl_msg *msg, void *arg) {
        static struct nla_policy policy[IFA_MAX + 1] = {
                [IFA_PROTO] = { .type = NLA_U8 },
        };
        struct scope_dump *d = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct nlattr *tb[IFA_MAX + 1], *a;
        struct ifaddrmsg *ifa;
        ObsAddr o;

        if (h->nlmsg_type != RTM_NEWADDR || nlmsg_parse(h, sizeof(*ifa), tb, IFA_MAX, policy) < 0)
                return NL_SKIP;
        ifa = nlmsg_data(h);
        a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!a || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) ||
            nla_len(a) != cidr_addr_bytes(ifa->ifa_family))
                return NL_SKIP;
        o = (ObsAddr) { .ifindex = (int) ifa->ifa_index,
                        .addr = { .family = ifa->ifa_family, .prefixlen = ifa->ifa_prefixlen },
                        .proto = tb[IFA_PROTO] ? nla_get_u8(tb[IFA_PROTO]) : 0 };
        memcpy(o.addr.addr, nla_data(a), (size_t) nla_len(a));
        if (GREEDY_REALLOC(d->s->addrs, d->cap, d->s->n_addrs + 1) < 0) {
                d->oom = true;
                return NL_STOP;
        }
        d->s->addrs[d->s->n_addrs++] = o;
        return NL_OK;
}

static int dump_addrs(NlSock *nl, ObsScope *s) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct ifaddrmsg hdr = { .ifa_family = AF_UNSPEC };
        struct scope_dump d = { .s = s };
        int r;

        msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
        if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0)
                return -NLE_NOMEM;
        r = send_and_receive(nl, msg, on_addr, &d);
        if (d.oom)
                return -NLE_NOMEM;
        return r < 0 ? r : 0;
}

/* The addresses of the links a scope holds, one filtered dump each
 * (NETLINK_GET_STRICT_CHK, Linux 4.20): the kernel visits only that link. */
static int dump_addrs_of(NlSock *nl, ObsScope *s) {
        struct scope_dump d = { .s = s };
        int one = 1, r = 0;

        if (setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)) < 0)
                return dump_addrs(nl, s);
        for (size_t i = 0; r >= 0 && i < s->n_links; i++) {
                _cleanup_nlmsg_ struct nl_msg *msg = NULL;
                struct ifaddrmsg hdr = { .ifa_family = AF_UNSPEC, .ifa_index = (unsigned) s->links[i].ifindex };

                msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_DUMP);
                if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0)
                        return -NLE_NOMEM;
                r = send_and_receive(nl, msg, on_addr, &d);
                if (d.oom)
                        return -NLE_NOMEM;
        }
        return r < 0 ? r : 0;
}

static int dump_routes_family(NlSock *nl, ObsScope *s, int family) {
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct rtmsg hdr = { .rtm_family = (unsigned char) family };
        struct obj_dump d = { .s = s, .cap = s->n_routes, .add = add_route };

        msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
        if (!msg || nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0)
                return -NLE_NOMEM;
        return dump_objects(nl, msg, &d);
}

/* IPv4 and IPv6 routes apart: a dump of every family at once takes the
 * kernel's global lock and the observing threads queue behind each other.
 * A family nothing is declared or recorded for is not dumped at all. */
static int dump_scope_once(ObsScope *s, bool routes4, bool routes6) {
        int r;

        nls_reset_error(s->nl);
        r = dump_links(s->nl, s);
        if (r >= 0)
                r = dump_addrs(s->nl, s);
        if (r >= 0 && routes4) {
                r = dump_routes_family(s->nl, s, AF_INET);
                s->routes4 = r >= 0;
        }
        if (r >= 0 && routes6) {
                r = dump_routes_family(s->nl, s, AF_INET6);
                s->routes6 = r >= 0;
        }
        if (r < 0)
                return r;
        return obs_scope_sort(s) < 0 ? -NLE_NOMEM : 0;
}

/* A dump the kernel interrupted because links changed meanwhile
 * (NLM_F_DUMP_INTR: what it holds may be torn) is taken again. */
static int dump_scope(ObsScope *s, bool routes4, bool routes6) {
        int r;

        for (unsigned attempt = 0;; attempt++) {
                r = dump_scope_once(s, routes4, routes6);
                if (r != -NLE_DUMP_INTR || attempt >= 10)
                        return r;
                s->links = mfree(s->links);
                s->by_index = mfree(s->by_index);
                s->addrs = mfree(s->addrs);
                s->routes = mfree(s->routes);
                s->n_links = s->n_addrs = s->n_routes = 0;
                s->routes4 = s->routes6 = false;
        }
}

/* --- one namespace, from a thread inside it ----------------------------------------- */

typedef struct Visit {
        ObsScope *s;
        const StateNetns *rec;   /* gone: the record it must still match; NULL: any */
        bool gone;               /* recorded or made by an earlier run, no longer desired */
        bool routes4, routes6;
        bool dns;                /* it has a folder under /etc/netns */
} Visit;

struct observe_args {
        Visit *v;
        const Config *model;
        int host_fd;
        dev_t nsfs_dev;          /* the device of nsfs, which every namespace handle is on */
        pthread_mutex_t lock;    /* err: several threads observe */
        NmError *err;
};

static int read_sysctls(ObsScope *s, NmError *err) {
        const Netns *d = s->decl;

        if (!d || d->n_sysctls == 0)
                return 0;
        s->sysctls = calloc(d->n_sysctls + 1, sizeof(char *));
        if (!s->sysctls)
                return -ENOMEM;
        s->n_sysctls = d->n_sysctls;
        for (size_t k = 0; k < d->n_sysctls; k++) {
                int r = sysctl_read(d->sysctls[k].key, &s->sysctls[k]);

                if (r == -ENOENT)
                        continue;   /* the planner says it */
                if (r < 0)
                        return nm_error(err, r, "namespace '%s': cannot read sysctl '%s': %s", s->name,
                                        d->sysctls[k].key, strerror(-r));
        }
        return 0;
}

/* Whether a process is gone: no such process, or a zombie, which writes
 * nothing more (killed, it waits for its parent or a subreaper to reap it). */
static bool process_gone(pid_t pid) {
        _cleanup_free_ char *path = NULL, *stat = NULL;
        const char *state;
        int r;

        if (asprintf(&path, "/proc/%d/stat", (int) pid) < 0)
                return false;
        r = read_one_line(path, &stat);
        if (r < 0)
                return r == -ENOENT || r == -ESRCH;
        /* "PID (COMM) STATE ...": COMM may hold anything, the last ')' ends it. */
        state = strrchr(stat, ')');
        return state && state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X');
}

/* The temporary file of a DNS file's atomic write (fileio.c: "NAME.tmp.PID")
 * whose writer is gone: killed between writing it and renaming it. The
 * OCI hook writes these files outside the engine's lock, so one whose
 * writer still runs is left alone. */
static bool dns_leftover(const char *entry) {
        for (DnsFile f = 0; f < _DNS_FILE_MAX; f++) {
                const char *name = dns_file_name(f), *p;
                char *end;
                long pid;

                if (!strneq(entry, name, strlen(name)) || !strneq(entry + strlen(name), ".tmp.", 5))
                        continue;
                p = entry + strlen(name) + 5;
                errno = 0;
                pid = strtol(p, &end, 10);
                if (end == p || *end || errno || pid <= 0 || pid > INT_MAX)
                        return false;
                return process_gone((pid_t) pid);
        }
        return false;
}

static int read_dns_leftovers(ObsScope *s) {
        _cleanup_free_ char *path = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (asprintf(&path, NETNS_ETC_DIR "/%s", s->name) < 0)
                return -ENOMEM;
        d = opendir(path);
        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (dns_leftover(de->d_name)) {
                        char *name = strdup(de->d_name);

                        if (!name || strv_push(&s->dns_leftovers, name) < 0)
                                return -ENOMEM;
                }
        return 0;
}

static int read_dns(ObsScope *s) {
        for (DnsFile f = 0; f < _DNS_FILE_MAX; f++) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (asprintf(&path, NETNS_ETC_DIR "/%s/%s", s->name, dns_file_name(f)) < 0)
                        return -ENOMEM;
                r = read_full_file(path, &s->dns[f], NULL);
                if (r < 0 && r != -ENOENT)
                        s->dns[f] = NULL;   /* unreadable: taken as absent, and written if wanted */
                if (r == -ENOMEM)
                        return r;
        }
        return read_dns_leftovers(s);
}

/* The nsid each namespace a veth of this one reaches has here: the inner
 * end's IFLA_LINK_NETNSID must be it. A lookup among this namespace's few
 * ids (the host's own would walk one id per namespace). */
static void peer_nsids(ObsScope *s) {
        for (size_t j = 0; s->decl && j < s->decl->n_ifaces; j++) {
                const Iface *it = &s->decl->ifaces[j];
                _cleanup_close_ int fd = -EBADF;
                int nsid = -1;

                if (it->kind != IFACE_VETH || !it->peer_netns || strmap_get(&s->peer_nsid, it->peer_netns, NULL))
                        continue;
                if (netns_open(it->peer_netns, &fd, NULL) < 0 || nls_get_nsid(s->nl, fd, &nsid) < 0 || nsid < 0)
                        continue;
                (void) strmap_put(&s->peer_nsid, it->peer_netns, (size_t) nsid);
        }
}

static int visit(Visit *v, int host_fd, NmError *err) {
        ObsScope *s = v->s;
        int r;

        /* Only dumps and queries go through it, and it is closed after the
         * visit: no extended acks to ask for. */
        r = nls_open_plain(&s->nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket in namespace '%s': %s", s->name, strerror(-r));
        s->cookie = netns_cookie_of_socket(nl_socket_get_fd(s->nl->sk));
        r = read_sysctls(s, err);
        if (r < 0)
                return r;
        /* The dumps from this thread too: the kernel answers them in parallel. */
        r = dump_scope(s, v->routes4, v->routes6);
        if (r < 0)
                return nm_error(err, nls_errno(s->nl, r), "cannot read the interfaces of %s: %s", s->name,
                                nl_geterror(r));
        /* The host's nsid as this namespace sees it (after the dump, which
         * assigns it for a veth to the host): a lookup among the few ids
         * this namespace has. The other way round, the host's lookup of a
         * namespace's id walks every id the host has, O(N) each. The
         * dumps are done: the queries that follow go without an ACK. */
        nls_set_no_ack(s->nl);
        if (host_fd >= 0)
                (void) nls_get_nsid(s->nl, host_fd, &s->host_nsid);
        peer_nsids(s);
        if (v->dns)
                return read_dns(s);
        return 0;
}

static int visit_in_thread(size_t i, void *userdata) {
        struct observe_args *a = userdata;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        int r;

        r = visit(&a->v[i], a->host_fd, &err);
        /* No handle outlives the visit: with thousands of namespaces (and
         * nsmgrd's watch sockets beside them) they would not fit under the
         * limit of open files. A step that needs one opens it again. */
        nls_close(a->v[i].s->nl);
        a->v[i].s->nl = NULL;
        if (r < 0) {
                pthread_mutex_lock(&a->lock);
                if (err.msg)
                        nm_error(a->err, r, "%s", err.msg);
                pthread_mutex_unlock(&a->lock);
        }
        return r;
}

/* --- the whole observation ------------------------------------------------------------- */

typedef struct Observer {
        const ObserveInput *in;
        Observed *o;
        NmError *err;
        Visit *visits;
        size_t n_visits, cap_visits;
        StrMap etc_dirs;         /* names with a folder under /etc/netns */
        ProcScan ps;
        bool ps_done;
        pthread_t host_thread;   /* reading the host, while the namespaces are visited */
        bool host_threaded;
        int host_r;
        NmError host_err;
} Observer;

static void observer_done(Observer *ob) {
        nm_error_clear(&ob->host_err);
        free(ob->visits);
        strmap_done(&ob->etc_dirs);
        proc_scan_done(&ob->ps);
}

static bool in_scope(const ObserveInput *in, const char *name) {
        return !in->only || strmap_get(in->only, name, NULL);
}

static int read_etc_dirs(Observer *ob) {
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        /* A scoped run looks up its few names one by one. */
        if (ob->in->only)
                return 0;
        d = opendir(NETNS_ETC_DIR);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && strmap_put(&ob->etc_dirs, de->d_name, 1) < 0)
                        return -ENOMEM;
        return 0;
}

static bool has_etc_dir(Observer *ob, const char *name) {
        _cleanup_free_ char *path = NULL;

        if (!ob->in->only)
                return strmap_get(&ob->etc_dirs, name, NULL);
        if (asprintf(&path, NETNS_ETC_DIR "/%s", name) < 0)
                return true;   /* then the files are read, and found absent */
        return access(path, F_OK) >= 0;
}

static int add_visit(Observer *ob, const Visit *v) {
        if (GREEDY_REALLOC(ob->visits, ob->cap_visits, ob->n_visits + 1) < 0)
                return -ENOMEM;
        ob->visits[ob->n_visits] = *v;
        ob->visits[ob->n_visits].dns = has_etc_dir(ob, v->s->name);
        ob->n_visits++;
        return 0;
}

/* What to read in a desired namespace: the route families declared or
 * put there before. */
static int visit_desired(Observer *ob, ObsScope *s) {
        const StateNetns *rec = state_netns(ob->in->state, s->name);
        bool r4 = ob->in->rebuild, r6 = ob->in->rebuild;

        for (size_t i = 0; i < s->decl->n_routes; i++) {
                r4 |= s->decl->routes[i].dst.family == AF_INET;
                r6 |= s->decl->routes[i].dst.family == AF_INET6;
        }
        if (rec) {
                r4 |= rec->routes4;
                r6 |= rec->routes6;
        }
        return add_visit(ob, &(Visit) { .s = s, .routes4 = r4, .routes6 = r6 });
}

/* A declared namespace by its name; a run-time attachment's by the path it
 * was attached by, when it has one (CNI_NETNS), and only while that path
 * still leads to the namespace of the lease. */
static int scope_open(const Netns *decl, int *ret_fd, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t ino = 0;
        int r;

        if (!decl->path)
                return netns_open(decl->name, ret_fd, err);
        r = netns_open_path(decl->path, &fd, &ino, err);
        if (r == -EMEDIUMTYPE)
                return -ENOENT;
        if (r < 0)
                return r;
        if (decl->path_inode && ino != decl->path_inode)
                return -ENOENT;   /* another namespace there now: not ours to wire */
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int observe_desired(Observer *ob) {
        const Config *m = ob->in->model;
        Observed *o = ob->o;

        o->scopes = calloc(m->n_netns + 1, sizeof(ObsScope));
        if (!o->scopes)
                return -ENOMEM;
        /* Every scope is valid (no fd 0) before any can fail. */
        for (size_t i = 0; i < m->n_netns; i++)
                o->scopes[i] = (ObsScope) { .decl = &m->netns[i], .host_nsid = -1, .nsid_in_host = -1 };
        o->n_scopes = m->n_netns;

        for (size_t i = 0; i < m->n_netns; i++) {
                ObsScope *s = &o->scopes[i];
                int r;

                s->name = strdup(s->decl->name);
                if (!s->name)
                        return -ENOMEM;
                if (!in_scope(ob->in, s->name)) {
                        s->skip = true;
                        continue;
                }
                /* Whether it exists is known once the visits open it. */
                r = visit_desired(ob, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int scan_processes(Observer *ob) {
        if (ob->ps_done)
                return 0;
        ob->ps_done = true;
        return proc_scan(&ob->ps);
}

static bool gone_candidate(Observer *ob, const char *name) {
        return !config_find_netns(ob->in->model, name) && in_scope(ob->in, name);
}

static int add_gone(Observer *ob, const char *name, const StateNetns *rec) {
        ObsScope *g = &ob->o->gone[ob->o->n_gone];

        *g = (ObsScope) { .host_nsid = -1, .nsid_in_host = -1, .name = strdup(name) };
        if (!g->name)
                return -ENOMEM;
        ob->o->n_gone++;
        return add_visit(ob, &(Visit) { .s = g, .rec = rec, .gone = true, .routes4 = true, .routes6 = true });
}

static bool owner_wanted(const char *name, void *userdata) {
        Observer *ob = userdata;

        return gone_candidate(ob, name) && !state_netns(ob->in->state, name);
}

/* The owner records of a scoped run's names, one readlink each. */
static int owner_load_names(const StrMap *names, OwnerRecord **ret, size_t *ret_n) {
        OwnerRecord *v = calloc(names->n + 1, sizeof(OwnerRecord));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < names->cap; i++) {
                OwnerRecord *o = &v[n];
                int r;

                if (!names->slots[i].key)
                        continue;
                r = owner_read(names->slots[i].key, &o->ino, &o->cookie, &o->origin);
                if (r == 0)
                        continue;
                if (r > 0)
                        o->name = strdup(names->slots[i].key);
                if (r < 0 || !o->name) {
                        free(o->origin);
                        owner_records_free(v, n);
                        return r < 0 ? r : -ENOMEM;
                }
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Namespaces an earlier run wired that the model no longer has, and those
 * apply made (by their owner records). A scoped run looks only at its own
 * names: one record each, not every record there is. */
static int observe_gone(Observer *ob) {
        const State *st = ob->in->state;
        OwnerRecord *owners = NULL;
        size_t n_owners = 0, cap;
        int r;

        /* Owner records are written before the pin: a namespace apply
         * made is found even when the run that made it was killed before
         * it recorded anything else. Only those of namespaces the config
         * no longer has, and the state does not list, are of use here:
         * the others are not read (a readlink each, and a re-apply of a
         * thousand namespaces finds none). */
        if (!ob->in->only)
                r = owner_load_matching(owner_wanted, ob, &owners, &n_owners);
        else
                r = owner_load_names(ob->in->only, &owners, &n_owners);
        if (r < 0)
                return nm_error(ob->err, r, "cannot read nsmgr's owner records: %s", strerror(-r));
        cap = (ob->in->only ? ob->in->only->n : st->n_netns) + n_owners;
        ob->o->gone = calloc(cap + 1, sizeof(ObsScope));
        if (!ob->o->gone) {
                owner_records_free(owners, n_owners);
                return -ENOMEM;
        }
        if (!ob->in->only) {
                for (size_t i = 0; i < st->n_netns; i++) {
                        if (!gone_candidate(ob, st->netns[i].name))
                                continue;
                        r = add_gone(ob, st->netns[i].name, &st->netns[i]);
                        if (r < 0)
                                goto out;
                }
        } else {
                const StrMap *only = ob->in->only;

                for (size_t i = 0; i < only->cap; i++) {
                        const StateNetns *rec;

                        if (!only->slots[i].key || !gone_candidate(ob, only->slots[i].key))
                                continue;
                        rec = state_netns(st, only->slots[i].key);
                        if (!rec)
                                continue;
                        r = add_gone(ob, rec->name, rec);
                        if (r < 0)
                                goto out;
                }
        }
        for (size_t i = 0; i < n_owners; i++) {
                if (!streq(owners[i].origin, OWNER_CONFIG) || state_netns(st, owners[i].name) ||
                    !gone_candidate(ob, owners[i].name))
                        continue;
                r = add_gone(ob, owners[i].name, NULL);
                if (r < 0)
                        goto out;
        }
        r = 0;
out:
        owner_records_free(owners, n_owners);
        return r;
}

/* A pinned namespace for a visit, and its inode: netns_open() checked in
 * three calls rather than five (nsfs is one file system: its device tells
 * a handle from an empty placeholder). -ENOENT, -ENXIO (a placeholder), or
 * netns_open()'s own answer for anything else. */
static int open_pinned(const char *name, dev_t nsfs_dev, int *ret_fd, ino_t *ret_ino, NmError *err) {
        _cleanup_free_ char *path = netns_path(name);
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != nsfs_dev || ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
                int r;

                fd = safe_close(fd);
                r = netns_open(name, &fd, err);
                if (r < 0)
                        return r;
                if (fstat(fd, &st) < 0)
                        return negative_errno();
        }
        *ret_ino = st.st_ino;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Opens visit i's namespace, in the worker that visits it (nsthread.h: the
 * pin is held only while the worker enters). What exists is visited; what
 * does not is made (desired) or forgotten (gone), and *ret_fd stays
 * negative: nothing to visit. */
static int open_visit(size_t i, void *userdata, int *ret_fd) {
        struct observe_args *a = userdata;
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        Visit *v = &a->v[i];
        ObsScope *s = v->s;
        int fd = -EBADF, r;

        if (!v->gone && s->decl && s->decl->path) {
                /* A run-time attachment's, by the path it has. */
                r = scope_open(s->decl, &fd, &e);
                if (r >= 0)
                        (void) netns_fd_inode(fd, &s->ino);
        } else
                r = open_pinned(s->name, a->nsfs_dev, &fd, &s->ino, &e);
        if (r == -ENOMEM)
                return r;
        if (v->gone) {
                if (r < 0 || (v->rec && s->ino != v->rec->ino))
                        /* Gone, or another namespace by that name now. */
                        safe_close(fd);
                else {
                        s->exists = true;
                        *ret_fd = fd;
                }
                return 0;
        }
        if (r == -ENOENT || r == -ENXIO) {
                /* A namespace that is only there for run-time
                 * attachments is never made by nsmgr. */
                if (s->decl->transient)
                        s->skip = true;
                else
                        s->create = true;
                return 0;
        }
        if (r < 0) {
                pthread_mutex_lock(&a->lock);
                nm_error(a->err, r, "%s", nm_error_message(&e));
                pthread_mutex_unlock(&a->lock);
                return r;
        }
        s->exists = true;
        *ret_fd = fd;
        return 0;
}

/* A few threads (one per CPU) visit the namespaces: each opens the next
 * one's handle, enters it, closes the handle, and makes its visit -- a
 * socket bound inside, the sysctls that can only be read from inside, and
 * the dumps of its links, addresses and routes. So at most one handle a
 * thread is open at a time, and a pin for no longer than it takes to
 * enter: `umount /run/netns/NAME` is never refused as busy because nsmgr
 * happens to be looking. */
static int visit_all(Observer *ob) {
        _cleanup_close_ int host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        struct observe_args oa = { .lock = PTHREAD_MUTEX_INITIALIZER, .err = ob->err, .host_fd = host_fd,
                                   .model = ob->in->model, .v = ob->visits };
        struct stat st;
        int r;

        oa.nsfs_dev = host_fd >= 0 && fstat(host_fd, &st) >= 0 ? st.st_dev : (dev_t) -1;
        r = ns_run_open_parallel(ob->n_visits, open_visit, visit_in_thread, &oa, 0, NULL);
        if (r < 0)
                nm_error(ob->err, r, "cannot look into the namespaces: %s", strerror(-r));
        return r;
}

/* After the visits: which gone namespaces are still the ones recorded
 * (their cookie), which of them apply made, and who is inside. */
static int settle_gone(Observer *ob) {
        for (size_t i = 0; i < ob->o->n_gone; i++) {
                ObsScope *g = &ob->o->gone[i];
                const StateNetns *rec = state_netns(ob->in->state, g->name);
                _cleanup_free_ char *origin = NULL;
                int r;

                if (!g->exists)
                        continue;
                if (rec && rec->cookie && g->cookie && rec->cookie != g->cookie) {
                        g->exists = false;
                        continue;
                }
                if (owner_lookup(g->name, g->ino, g->cookie, &origin) <= 0 || !streq(origin, OWNER_CONFIG))
                        continue;
                g->created_by_config = true;
                r = scan_processes(ob);
                if (r < 0)
                        return nm_error(ob->err, r, "cannot scan /proc: %s", strerror(-r));
                g->n_procs = proc_scan_find(&ob->ps, g->ino, NULL);
        }
        return 0;
}

/* The two ends of a veth between the host and a namespace are nsmgr's when
 * either is marked: a run killed between making a pair and marking its
 * second end (linkkind.c) left one end unmarked. */
static void pair_marks(Observed *o) {
        for (size_t k = 0; k < o->n_scopes + o->n_gone; k++) {
                ObsScope *s = k < o->n_scopes ? &o->scopes[k] : &o->gone[k - o->n_scopes];

                if (s->host_nsid < 0)
                        continue;
                for (size_t i = 0; i < s->n_links; i++) {
                        ObsLink *in = &s->links[i], *out;

                        if (!streq(in->kind, "veth") || in->link_netnsid != s->host_nsid || in->link <= 0)
                                continue;
                        out = (ObsLink *) obs_link_by_index(&o->host, in->link);
                        if (!out || out->link != in->ifindex || !streq(out->kind, "veth"))
                                continue;
                        /* The host end says which nsid the namespace has
                         * in the host (nsmgrd's watch needs it). */
                        if (out->link_netnsid >= 0)
                                s->nsid_in_host = out->link_netnsid;
                        if (in->group == NSMGR_LINK_GROUP && out->group != NSMGR_LINK_GROUP) {
                                out->group = NSMGR_LINK_GROUP;
                                out->mark_inferred = true;
                        } else if (out->group == NSMGR_LINK_GROUP && in->group != NSMGR_LINK_GROUP) {
                                in->group = NSMGR_LINK_GROUP;
                                in->mark_inferred = true;
                        }
                }
        }
}

/* The host's links a scoped run needs, asked for by name: a dump of every
 * host link costs O(N) (and, for each veth, the kernel's O(N) lookup of
 * its peer's nsid) where a repair needs a few. */
static int read_host_links(ObsScope *h, char *const *names) {
        size_t cap = 0;

        STRV_FOREACH(name, names) {
                bool dup = false;
                int r;

                for (size_t i = 0; i < h->n_links && !dup; i++)
                        dup = streq(h->links[i].name, *name);
                if (dup)
                        continue;
                r = get_link(h->nl, h, &cap, *name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The host's links and addresses: those named (a scoped run), or all. */
static int read_host_scope(ObsScope *h, bool only, char *const *links, NmError *err) {
        int r;

        nls_reset_error(h->nl);
        if (only) {
                r = read_host_links(h, links);
                if (r >= 0)
                        r = dump_addrs_of(h->nl, h);
                if (r >= 0)
                        r = obs_scope_sort(h) < 0 ? -NLE_NOMEM : 0;
        } else
                r = dump_scope(h, false, false);
        if (r < 0)
                return nm_error(err, nls_errno(h->nl, r), "cannot read the interfaces of the host: %s",
                                nl_geterror(r));
        return 0;
}

static int read_host(Observer *ob, NmError *err) {
        return read_host_scope(&ob->o->host, ob->in->only, ob->in->host_links, err);
}

static void *read_host_in_thread(void *userdata) {
        Observer *ob = userdata;

        /* Its own error: the visiting threads write theirs meanwhile. */
        ob->host_r = read_host(ob, &ob->host_err);
        return NULL;
}

/* The host scope with its socket: the host's dump holds an end of every
 * veth, so it gets room for that. */
static int open_host(ObsScope *h, NmError *err) {
        int r;

        *h = (ObsScope) { .host_nsid = -1, .nsid_in_host = -1, .exists = true };
        r = nls_open(&h->nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket: %s", strerror(-r));
        (void) nl_socket_set_buffer_size(h->nl->sk, 1 << 20, 1 << 20);
        h->cookie = netns_cookie_of_socket(nl_socket_get_fd(h->nl->sk));
        return 0;
}

struct HostReadAhead {
        pthread_t thread;
        bool running;
        ObsScope h;
        int r;
        NmError err;
};

static void *read_ahead_main(void *userdata) {
        HostReadAhead *a = userdata;

        a->r = open_host(&a->h, &a->err);
        if (a->r >= 0)
                a->r = read_host_scope(&a->h, false, NULL, &a->err);
        return NULL;
}

int host_read_ahead(HostReadAhead **ret) {
        HostReadAhead *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->h = (ObsScope) { .host_nsid = -1, .nsid_in_host = -1 };
        r = pthread_create(&a->thread, NULL, read_ahead_main, a);
        if (r != 0) {
                free(a);
                return -r;
        }
        a->running = true;
        *ret = a;
        return 0;
}

static void read_ahead_join(HostReadAhead *a) {
        if (!a->running)
                return;
        (void) pthread_join(a->thread, NULL);
        a->running = false;
}

HostReadAhead *host_read_ahead_free(HostReadAhead *a) {
        if (!a)
                return NULL;
        read_ahead_join(a);
        obs_scope_done(&a->h);
        nm_error_clear(&a->err);
        return mfree(a);
}

/* The host as read ahead, moved into h once its thread is done. */
static int take_read_ahead(HostReadAhead *a, ObsScope *h, NmError *err) {
        read_ahead_join(a);
        if (a->r < 0)
                return nm_error(err, a->r, "%s", nm_error_message(&a->err));
        *h = a->h;
        a->h = (ObsScope) { .host_nsid = -1, .nsid_in_host = -1 };
        return 0;
}

/* The host: its socket and sysctls now; its links and addresses by
 * read_host(), which a full run lets a thread of its own do while the
 * namespaces are visited (the kernel looks up the nsid of every veth's
 * namespace as it dumps the host, O(N) each, under a lock of the host's
 * that the visits do not take) -- or took from a read ahead. */
static int observe_host(Observer *ob) {
        const Config *m = ob->in->model;
        ObsScope *h = &ob->o->host;
        bool ahead = ob->in->host_ahead && !ob->in->only;
        int r;

        r = ahead ? take_read_ahead(ob->in->host_ahead, h, ob->err) : open_host(h, ob->err);
        if (r < 0)
                return r;
        h->sysctls = calloc(m->n_host_sysctls + 1, sizeof(char *));
        if (!h->sysctls)
                return -ENOMEM;
        h->n_sysctls = m->n_host_sysctls;
        for (size_t i = 0; i < m->n_host_sysctls; i++) {
                r = sysctl_read(m->host_sysctls[i].key, &h->sysctls[i]);
                if (r < 0 && r != -ENOENT)
                        return nm_error(ob->err, r, "cannot read sysctl '%s': %s", m->host_sysctls[i].key,
                                        strerror(-r));
        }
        if (ahead)
                return 0;
        if (ob->in->only || pthread_create(&ob->host_thread, NULL, read_host_in_thread, ob) != 0)
                return read_host(ob, ob->err);
        ob->host_threaded = true;
        return 0;
}

static int join_host(Observer *ob) {
        if (!ob->host_threaded)
                return 0;
        (void) pthread_join(ob->host_thread, NULL);
        ob->host_threaded = false;
        if (ob->host_r < 0)
                nm_error(ob->err, ob->host_r, "%s", nm_error_message(&ob->host_err));
        return ob->host_r;
}

int observe(const ObserveInput *in, Observed *ret, NmError *err) {
        _cleanup_(observer_done) Observer ob = { .in = in, .err = err };
        Observed o = OBSERVED_INIT;
        int r, q;

        ob.o = &o;
        r = read_etc_dirs(&ob);
        if (r >= 0)
                r = observe_host(&ob);
        if (r >= 0)
                r = observe_desired(&ob);
        if (r >= 0)
                r = observe_gone(&ob);
        if (r >= 0)
                r = visit_all(&ob);
        /* Joined whatever happened: the thread uses what o holds. */
        q = join_host(&ob);
        if (r >= 0)
                r = q;
        if (r >= 0) {
                pair_marks(&o);
                r = settle_gone(&ob);
        }
        if (r < 0) {
                observed_done(&o);
                return r;
        }
        *ret = o;
        return 0;
}

/* The handle of a scope, opened again by name for a step to be taken in
 * it: it must be the namespace observed (or made) earlier in the run. */
int observe_open_socket(ObsScope *s, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t cookie;
        ino_t ino = 0;
        int r;

        if (s->nl || !s->name)
                return 0;
        r = s->decl && s->decl->path ? scope_open(s->decl, &fd, err) : netns_open(s->name, &fd, err);
        if (r < 0)
                return r;
        (void) netns_fd_inode(fd, &ino);
        if (s->ino && ino != s->ino)
                return nm_error(err, -ESTALE, "namespace '%s' was replaced by another one while nsmgr was at work; nothing more is done in it this time (the next run sees the new one)",
                                s->name);
        r = nls_open_in(fd, &s->nl);
        if (r < 0)
                return nm_error(err, r, "cannot open a netlink socket in namespace '%s': %s", s->name, strerror(-r));
        cookie = netns_cookie_of_socket(nl_socket_get_fd(s->nl->sk));
        if (s->cookie && cookie && cookie != s->cookie) {
                nls_close(s->nl);
                s->nl = NULL;
                return nm_error(err, -ESTALE, "namespace '%s' was replaced by another one while nsmgr was at work; nothing more is done in it this time (the next run sees the new one)",
                                s->name);
        }
        s->cookie = s->cookie ?: cookie;
        s->ino = s->ino ?: ino;
        return 0;
}

int obs_scope_nsfd(const ObsScope *s) {
        int fd;

        if (!s->nl)
                return -EBADF;
        /* The namespace the socket lives in (SIOCGSKNS, Linux 4.9). */
        fd = ioctl(nl_socket_get_fd(s->nl->sk), SIOCGSKNS);
        return fd < 0 ? negative_errno() : fd;
}

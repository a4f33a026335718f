/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <net/if.h>
#include <sys/stat.h>

#include "bus-client.h"
#include "ctl.h"
#include "etcfiles.h"
#include "name.h"
#include "nat.h"
#include "netns.h"
#include "network.h"
#include "nl.h"
#include "nsexec.h"
#include "nsthread.h"
#include "ops.h"
#include "owner.h"
#include "procscan.h"
#include "show.h"
#include "state.h"
#include "strv.h"

struct args {
        bool json;
        bool quiet;
        bool no_legend;
        bool exist_ok;
        bool missing_ok;
        bool force;
        bool allow_host;
        const char *pid;
        const char *path;
};

static int on_option(int c, const char *arg, void *userdata) {
        struct args *a = userdata;

        switch (c) {
        case OPT_JSON:       a->json = true; break;
        case OPT_EXIST_OK:   a->exist_ok = true; break;
        case OPT_MISSING_OK: a->missing_ok = true; break;
        case OPT_FORCE:      a->force = true; break;
        case OPT_ALLOW_HOST: a->allow_host = true; break;
        case OPT_QUIET:      a->quiet = true; break;
        case OPT_NO_LEGEND:  a->no_legend = true; break;
        case OPT_PID:        a->pid = arg; break;
        case OPT_PATH:       a->path = arg; break;
        default:             return EXIT_USAGE;
        }
        return 0;
}

/* Exactly one NAME after the options. */
static int one_name(int argc, char **argv, int optind, const char *verb, const char **ret) {
        if (optind >= argc)
                return usage_error("%s: missing NAME", verb);
        if (optind + 1 < argc)
                return usage_error("%s: unexpected argument '%s'", verb, argv[optind + 1]);
        *ret = argv[optind];
        return 0;
}

int verb_create(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_(daemon_link_done) DaemonLink link = {};
        _cleanup_(ops_result_done) OpsResult res = {};
        struct args a = {};
        const char *name;
        OpsFlags flags;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        r = one_name(argc, argv, optind, "create", &name);
        if (r)
                return r;
        if (netns_name_check(name, &err) < 0)
                return fail(&err);

        /* nsmgrd does it when it runs, so that it watches the namespace
         * from the start; the same library call either way. */
        flags = a.exist_ok ? OPS_EXIST_OK : 0;
        (void) daemon_link_open(&link);
        if (link.bus)
                r = bus_call_create(link.bus, name, flags, &res, &err);
        else {
                /* One namespace, made right here: no thread to wait for. */
                ns_run_inline();
                r = ops_create(name, flags, OWNER_CREATE, &res, &err);
        }
        if (r < 0)
                return fail(&err);
        STRV_FOREACH(w, res.warnings)
                log_warning("%s", *w);
        puts(res.path);
        return 0;
}

int verb_pin(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_(daemon_link_done) DaemonLink link = {};
        _cleanup_(ops_result_done) OpsResult res = {};
        _cleanup_close_ int fd = -EBADF;
        struct args a = {};
        const char *name;
        OpsFlags flags;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        r = one_name(argc, argv, optind, "pin", &name);
        if (r)
                return r;
        if (!!a.pid == !!a.path)
                return usage_error("pin: give exactly one of --pid PID and --path FILE");
        if (netns_name_check(name, &err) < 0)
                return fail(&err);

        if (a.pid) {
                char *end;
                long pid;

                errno = 0;
                pid = strtol(a.pid, &end, 10);
                if (errno || *end || end == a.pid || pid <= 0 || pid > INT32_MAX) {
                        log_error("cannot pin '%s': '%s' is not a valid PID (a positive number)", name, a.pid);
                        return EXIT_FAILURE;
                }
                /* A pidfd names the process itself, here and in nsmgrd:
                 * a PID reused meanwhile cannot make either pin a
                 * stranger's namespace. */
                r = ops_open_pidfd(name, (pid_t) pid, &fd, &err);
        } else
                /* Opened here, with the caller's own permissions. */
                r = ops_open_handle(name, a.path, &fd, &err);
        if (r < 0)
                return fail(&err);

        flags = a.allow_host ? OPS_ALLOW_HOST : 0;
        (void) daemon_link_open(&link);
        if (link.bus)
                r = bus_call_pin(link.bus, name, fd, !!a.pid, flags, &res, &err);
        else if (a.pid)
                r = ops_pin_pidfd(name, fd, flags, OWNER_PIN, &res, &err);
        else
                r = ops_pin_handle(name, fd, flags, OWNER_PIN, &res, &err);
        if (r < 0)
                return fail(&err);
        STRV_FOREACH(w, res.warnings)
                log_warning("%s", *w);
        puts(res.path);
        return 0;
}

int verb_delete(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_(daemon_link_done) DaemonLink link = {};
        _cleanup_(ops_result_done) OpsResult res = {};
        _cleanup_config_ Config *managed = NULL;
        struct args a = {};
        const char *name;
        OpsFlags flags = 0;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        r = one_name(argc, argv, optind, "delete", &name);
        if (r)
                return r;
        if (netns_name_check(name, &err) < 0)
                return fail(&err);
        if (a.force)
                flags |= OPS_FORCE;
        if (a.missing_ok)
                flags |= OPS_MISSING_OK;

        (void) daemon_link_open(&link);
        if (link.bus)
                r = bus_call_delete(link.bus, name, flags, &err);
        else {
                /* An nsmgrd that cannot be asked still keeps its config: what
                 * it declares is refused here as it would refuse it. */
                if (link.alive && daemon_link_load_config(&link, &managed, NULL) < 0)
                        log_warning("cannot read the config nsmgrd keeps; not checking whether it declares '%s'", name);
                r = ops_delete(name, flags, managed, &res, &err);
        }
        if (r < 0)
                return fail(&err);
        STRV_FOREACH(w, res.warnings)
                log_warning("%s", *w);
        return 0;
}

/* The fields list and show share. */
static json_object *entry_json(const NetnsEntry *e, const ProcScan *ps, const OwnerRecord *owners, size_t n_owners) {
        _cleanup_free_ char *path = netns_path(e->name);
        json_object *o = json_object_new_object();
        const OwnerRecord *rec = NULL;

        json_object_object_add(o, "name", json_object_new_string(e->name));
        json_object_object_add(o, "path", path ? json_object_new_string(path) : NULL);
        json_object_object_add(o, "broken", json_object_new_boolean(e->broken));
        json_object_object_add(o, "reason", e->reason ? json_object_new_string(e->reason) : NULL);
        if (e->broken) {
                json_object_object_add(o, "inode", NULL);
                json_object_object_add(o, "nsid", NULL);
                json_object_object_add(o, "processes", NULL);
        } else {
                json_object_object_add(o, "inode", json_object_new_int64((int64_t) e->inode));
                json_object_object_add(o, "nsid", e->nsid >= 0 ? json_object_new_int(e->nsid) : NULL);
                json_object_object_add(o, "processes",
                                       json_object_new_int64((int64_t) proc_scan_find(ps, e->inode, NULL)));
                rec = owner_find(owners, n_owners, e->name, e->inode);
        }
        json_object_object_add(o, "managed", json_object_new_boolean(rec != NULL));
        json_object_object_add(o, "origin", rec ? json_object_new_string(rec->origin) : NULL);
        return o;
}

/* What networks and published ports a namespace has: its leases (the IPAM
 * record) and the ports apply recorded. */
typedef struct NetInfo {
        LeaseInfo *leases;
        size_t n_leases;
        json_object *ports;
} NetInfo;

static int lease_cmp(const void *a, const void *b) {
        const LeaseInfo *x = a, *y = b;
        int r = strcmp(x->netns, y->netns);

        if (r)
                return r;
        r = strcmp(x->network, y->network);
        return r ? r : x->addr.family - y->addr.family;
}

static void netinfo_load(NetInfo *ni) {
        (void) leases_read_all(&ni->leases, &ni->n_leases);
        /* Sorted by namespace: listing N namespaces stays O(N log N). */
        if (ni->n_leases > 1)
                qsort(ni->leases, ni->n_leases, sizeof(LeaseInfo), lease_cmp);
        ni->ports = nat_ports_load();
}

static void netinfo_done(NetInfo *ni) {
        leases_free(ni->leases, ni->n_leases);
        json_object_put(ni->ports);
}

/* The first of a namespace's leases (they are sorted by namespace). */
static size_t first_lease(const NetInfo *ni, const char *name) {
        size_t lo = 0, hi = ni->n_leases;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(ni->leases[mid].netns, name) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static void add_netinfo(json_object *o, const char *name, const NetInfo *ni) {
        json_object *nets = json_object_new_array(), *ports = json_object_new_array();
        _cleanup_strv_free_ char **p = nat_ports_of(ni->ports, name);

        for (size_t i = first_lease(ni, name); i < ni->n_leases && streq(ni->leases[i].netns, name); i++) {
                const LeaseInfo *l = &ni->leases[i];
                json_object *n = NULL, *addrs;
                char buf[CIDR_STRLEN];

                /* One entry per network and interface, both families in it. */
                for (size_t j = 0; j < json_object_array_length(nets); j++) {
                        json_object *x = json_object_array_get_idx(nets, j), *nv, *iv;
                        if (json_object_object_get_ex(x, "network", &nv) && json_object_object_get_ex(x, "interface", &iv) &&
                            streq(json_object_get_string(nv), l->network) && streq(json_object_get_string(iv), l->ifname))
                                n = x;
                }
                if (!n) {
                        n = json_object_new_object();
                        json_object_object_add(n, "network", json_object_new_string(l->network));
                        json_object_object_add(n, "interface", json_object_new_string(l->ifname));
                        json_object_object_add(n, "addresses", json_object_new_array());
                        json_object_object_add(n, "origin", json_object_new_string(l->origin));
                        json_object_array_add(nets, n);
                }
                json_object_object_get_ex(n, "addresses", &addrs);
                json_object_array_add(addrs, json_object_new_string(cidr_format(&l->addr, false, buf)));
        }
        STRV_FOREACH(x, p)
                json_object_array_add(ports, json_object_new_string(*x));
        json_object_object_add(o, "networks", nets);
        json_object_object_add(o, "ports", ports);
}

/* The networks column: NETWORK:ADDRESS for each network and interface
 * (the first address of each, in the order of the leases), "-" for none. */
static char *format_networks(const char *name, const NetInfo *ni) {
        _cleanup_free_ char *out = NULL;
        size_t first = first_lease(ni, name);

        for (size_t i = first; i < ni->n_leases && streq(ni->leases[i].netns, name); i++) {
                const LeaseInfo *l = &ni->leases[i];
                char buf[CIDR_STRLEN], *s;
                bool seen = false;

                for (size_t j = first; j < i && !seen; j++)
                        seen = streq(ni->leases[j].network, l->network) && streq(ni->leases[j].ifname, l->ifname);
                if (seen)
                        continue;
                if (asprintf(&s, "%s%s%s:%s", out ? out : "", out ? "," : "", l->network,
                             cidr_format(&l->addr, false, buf)) < 0)
                        return NULL;
                free(out);
                out = s;
        }
        return out ? TAKE_PTR(out) : strdup("-");
}

/* The table, straight from the entries: building the JSON of a thousand
 * namespaces to print a table of them cost more than reading them. */
static int print_list_text(const NetnsEntry *entries, size_t n, const ProcScan *ps, const OwnerRecord *owners,
                           size_t n_owners, const NetInfo *ni, bool legend) {
        static const char *const header[] = { "NAME", "INODE", "NSID", "PROCS", "MANAGED", "NETWORKS" };
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(header), header);

        if (!t)
                return -ENOMEM;
        table_align_right(t, 1);
        table_align_right(t, 2);
        table_align_right(t, 3);
        for (size_t i = 0; i < n; i++) {
                const NetnsEntry *e = &entries[i];
                _cleanup_free_ char *reason = NULL, *inode = NULL, *nsid = NULL, *procs = NULL, *nets = NULL;
                const OwnerRecord *rec;
                int r;

                if (e->broken) {
                        if (asprintf(&reason, "broken: %s", e->reason) < 0)
                                return -ENOMEM;
                        r = table_add_row(t, 2, (const char *const[]) { e->name, reason }, true);
                } else {
                        rec = owner_find(owners, n_owners, e->name, e->inode);
                        if (asprintf(&inode, "%" PRIu64, (uint64_t) e->inode) < 0 ||
                            asprintf(&nsid, "%d", e->nsid) < 0 ||
                            asprintf(&procs, "%zu", (size_t) proc_scan_find(ps, e->inode, NULL)) < 0)
                                return -ENOMEM;
                        nets = format_networks(e->name, ni);
                        if (!nets)
                                return -ENOMEM;
                        r = table_add_row(t, 6,
                                          (const char *const[]) { e->name, inode, e->nsid >= 0 ? nsid : "-", procs,
                                                                  rec ? rec->origin : "no", nets },
                                          false);
                }
                if (r < 0)
                        return r;
        }
        table_print(t, legend);
        return 0;
}

int verb_list(const Verb *verb, int argc, char **argv) {
        _cleanup_nl_ NlSock *nl = NULL;
        OwnerRecord *owners = NULL;
        NetnsEntry *entries = NULL;
        size_t n = 0, n_owners = 0;
        ProcScan ps = {};
        NetInfo ni = {};
        struct args a = {};
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("list: unexpected argument '%s'", argv[optind]);

        /* A socket of its own, asking without ACKs: one reply per entry,
         * as `ip netns list` reads. */
        if (nls_open(&nl) >= 0)
                nls_set_no_ack(nl);
        r = netns_list_nsid(&entries, &n, nl);
        if (r < 0) {
                log_error("cannot list /run/netns: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        if (proc_scan(&ps) < 0)
                log_warning("cannot scan /proc; process counts are not shown");
        (void) owner_load_all(&owners, &n_owners);
        netinfo_load(&ni);

        if (a.json) {
                json_object *arr = json_object_new_array();

                for (size_t i = 0; i < n; i++) {
                        json_object *o = entry_json(&entries[i], &ps, owners, n_owners);
                        add_netinfo(o, entries[i].name, &ni);
                        json_object_array_add(arr, o);
                }
                print_json(arr);
                json_object_put(arr);
        } else if (a.quiet)
                for (size_t i = 0; i < n; i++)
                        puts(entries[i].name);
        else
                r = print_list_text(entries, n, &ps, owners, n_owners, &ni, !a.no_legend);

        netinfo_done(&ni);
        netns_entries_free(entries, n);
        owner_records_free(owners, n_owners);
        proc_scan_done(&ps);
        if (r < 0) {
                log_error("cannot list /run/netns: %s", strerror(-r));
                return EXIT_FAILURE;
        }
        return 0;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return NULL;
        return json_object_get_string(v);
}

static int64_t jint(json_object *o, const char *key, int64_t dflt) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return dflt;
        return json_object_get_int64(v);
}

static bool jbool(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && v && json_object_get_boolean(v);
}

static void print_show_text(json_object *o) {
        json_object *ifs = NULL, *rts = NULL, *procs = NULL;
        const char *origin = jstr(o, "origin");

        printf("namespace %s (%s)\n", jstr(o, "name"), jstr(o, "path"));
        printf("  inode %" PRId64 ", nsid %s, %s\n", jint(o, "inode", 0),
               jint(o, "nsid", -1) >= 0 ? json_object_get_string(json_object_object_get(o, "nsid")) : "none",
               origin ? origin : "not managed by nsmgr");

        json_object_object_get_ex(o, "interfaces", &ifs);
        printf("interfaces:\n");
        for (size_t i = 0; ifs && i < json_object_array_length(ifs); i++) {
                json_object *l = json_object_array_get_idx(ifs, i), *addrs = NULL;
                const char *master = jstr(l, "master"), *mac = jstr(l, "mac");

                printf("  %" PRId64 ": %s %s %s mtu %" PRId64 "%s%s%s%s\n", jint(l, "ifindex", 0), jstr(l, "name"),
                       jstr(l, "kind"), jbool(l, "up") ? "UP" : "DOWN", jint(l, "mtu", 0), master ? " master " : "",
                       master ? master : "", mac ? " " : "", mac ? mac : "");
                json_object_object_get_ex(l, "addresses", &addrs);
                for (size_t j = 0; addrs && j < json_object_array_length(addrs); j++) {
                        json_object *ad = json_object_array_get_idx(addrs, j);
                        printf("      %s %s/%" PRId64 "\n", jstr(ad, "family"), jstr(ad, "address"),
                               jint(ad, "prefixlen", 0));
                }
        }

        json_object_object_get_ex(o, "routes", &rts);
        printf("routes:\n");
        for (size_t i = 0; rts && i < json_object_array_length(rts); i++) {
                json_object *rt = json_object_array_get_idx(rts, i);
                const char *gw = jstr(rt, "gateway"), *dev = jstr(rt, "device");
                int64_t table = jint(rt, "table", 254), metric = jint(rt, "metric", 0);

                printf("  %s", jstr(rt, "destination"));
                if (gw)
                        printf(" via %s", gw);
                if (dev)
                        printf(" dev %s", dev);
                if (metric)
                        printf(" metric %" PRId64, metric);
                if (table != 254)
                        printf(" table %" PRId64, table);
                printf(" proto %s\n", jstr(rt, "protocol"));
        }

        {
                json_object *nets = NULL, *ports = NULL;

                json_object_object_get_ex(o, "networks", &nets);
                json_object_object_get_ex(o, "ports", &ports);
                if (nets && json_object_array_length(nets) > 0) {
                        printf("networks:\n");
                        for (size_t i = 0; i < json_object_array_length(nets); i++) {
                                json_object *x = json_object_array_get_idx(nets, i), *ad = NULL;

                                json_object_object_get_ex(x, "addresses", &ad);
                                printf("  %s on %s:", jstr(x, "interface"), jstr(x, "network"));
                                for (size_t j = 0; ad && j < json_object_array_length(ad); j++)
                                        printf(" %s", json_object_get_string(json_object_array_get_idx(ad, j)));
                                printf(" (%s)\n", jstr(x, "origin"));
                        }
                }
                if (ports && json_object_array_length(ports) > 0) {
                        printf("published ports:\n");
                        for (size_t i = 0; i < json_object_array_length(ports); i++)
                                printf("  %s\n", json_object_get_string(json_object_array_get_idx(ports, i)));
                }
        }
        json_object_object_get_ex(o, "processes", &procs);
        printf("processes:%s\n", procs && json_object_array_length(procs) ? "" : " none");
        for (size_t i = 0; procs && i < json_object_array_length(procs); i++) {
                json_object *p = json_object_array_get_idx(procs, i);
                printf("  %" PRId64 " %s\n", jint(p, "pid", 0), jstr(p, "command"));
        }
}

int verb_show(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_nl_ NlSock *nl = NULL, *host = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *origin = NULL;
        json_object *o = NULL, *procs, *v;
        NetnsEntry e = {};
        ProcScan ps = {};
        struct args a = {};
        const char *name;
        size_t first, count;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        r = one_name(argc, argv, optind, "show", &name);
        if (r)
                return r;

        r = netns_open(name, &fd, &err);
        if (r < 0)
                return fail(&err);
        r = nls_open_in(fd, &nl);
        if (r == -EPERM || r == -EACCES) {
                log_error("cannot look into namespace '%s': permission denied; this needs root (CAP_SYS_ADMIN), try 'sudo %s show %s'",
                          name, program_name, name);
                return EXIT_FAILURE;
        }
        if (r < 0) {
                log_error("cannot look into namespace '%s': %s", name, strerror(-r));
                return EXIT_FAILURE;
        }
        r = show_netns(nl, &o, &err);
        if (r < 0)
                return fail(&err);

        e.name = (char *) name;
        e.nsid = -1;
        (void) netns_fd_inode(fd, &e.inode);
        if (nls_open(&host) >= 0)
                (void) nls_get_nsid(host, fd, &e.nsid);
        (void) proc_scan(&ps);
        {
                OwnerRecord rec = { .name = (char *) name, .ino = e.inode };
                json_object *head;

                if (owner_lookup(name, e.inode, 0, &origin) > 0)
                        rec.origin = origin;
                head = entry_json(&e, &ps, origin ? &rec : NULL, origin ? 1 : 0);
                /* Put the head fields first, then what show adds. */
                json_object_object_foreach(o, key, val) {
                        json_object_object_add(head, key, json_object_get(val));
                }
                json_object_put(o);
                o = head;
        }

        {
                NetInfo ni = {};

                netinfo_load(&ni);
                add_netinfo(o, name, &ni);
                netinfo_done(&ni);
        }

        procs = json_object_new_array();
        count = proc_scan_find(&ps, e.inode, &first);
        for (size_t i = 0; i < count; i++) {
                _cleanup_free_ char *comm = proc_comm(ps.v[first + i].pid);
                json_object *p = json_object_new_object();

                json_object_object_add(p, "pid", json_object_new_int(ps.v[first + i].pid));
                json_object_object_add(p, "command", json_object_new_string(comm ? comm : "?"));
                json_object_array_add(procs, p);
        }
        json_object_object_del(o, "processes");
        json_object_object_add(o, "processes", procs);
        (void) v;

        if (a.json)
                print_json(o);
        else
                print_show_text(o);

        json_object_put(o);
        proc_scan_done(&ps);
        return 0;
}

int verb_path(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        struct args a = {};
        const char *name;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        r = one_name(argc, argv, optind, "path", &name);
        if (r)
                return r;
        r = netns_open(name, &fd, &err);
        if (r < 0)
                return fail(&err);

        path = netns_path(name);
        if (a.json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_object_new_string(name));
                json_object_object_add(o, "path", json_object_new_string(path));
                print_json(o);
                json_object_put(o);
        } else
                puts(path);
        return 0;
}

static void warn_cb(const char *msg) {
        log_warning("%s", msg);
}

int verb_exec(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        struct args a = {};
        const char *name;
        int optind, r;

        /* Options end at NAME (Verb.options_first), so the command's own
         * options stay its own. */
        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind >= argc)
                return usage_error("exec: missing NAME");
        name = argv[optind++];
        /* A command never starts with '-': such a word after NAME is one of
         * our options, or a misspelt one, and not a command to run. With
         * NAME as its argv[0], the rest is parsed up to '--' or the command. */
        if (optind < argc && argv[optind][0] == '-' && !streq(argv[optind], "--")) {
                int more;

                r = parse_options(verb, argc - optind + 1, argv + optind - 1, on_option, &a, &more);
                if (r != ARGS_PARSED)
                        return r;
                optind += more - 1;
                /* getopt steps over the '--' that ends the options. */
                if (streq(argv[optind - 1], "--"))
                        optind--;
        }
        if (optind < argc && streq(argv[optind], "--"))
                optind++;
        if (optind >= argc)
                return usage_error("exec: missing the command to run (nsmgrctl exec NAME -- CMD [ARG...])");

        r = nsexec_enter(name, warn_cb, &err);
        if (r < 0)
                return fail(&err);

        fflush(NULL);
        execvp(argv[optind], argv + optind);
        r = errno;
        log_error("cannot run '%s' in namespace '%s': %s", argv[optind], name, strerror(r));
        return r == ENOENT ? 127 : 126;
}

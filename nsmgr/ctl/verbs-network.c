/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "ctl.h"
#include "ipaddr.h"
#include "name.h"
#include "netns.h"
#include "netnspath.h"
#include "network.h"
#include "reconcile.h"
#include "strv.h"

enum {
        OPT_IP = 0x100,
        OPT_IFNAME,
        OPT_CONFIG,
        OPT_JSON,
};

struct net_args {
        const char *ip;
        const char *ifname;
        const char *config;
        bool json;
};

static int on_option(int c, const char *arg, void *userdata) {
        struct net_args *a = userdata;

        switch (c) {
        case OPT_IP:     a->ip = arg; break;
        case OPT_IFNAME: a->ifname = arg; break;
        case OPT_CONFIG:
        case 'c':        a->config = arg; break;
        case OPT_JSON:   a->json = true; break;
        default:         return EXIT_USAGE;
        }
        return 0;
}

static int two_names(int argc, char **argv, int optind, const char *verb, const char **ret_netns,
                     const char **ret_network) {
        if (optind + 2 > argc)
                return usage_error("%s: needs NAME and NETWORK", verb);
        if (optind + 2 < argc)
                return usage_error("%s: unexpected argument '%s'", verb, argv[optind + 2]);
        *ret_netns = argv[optind];
        *ret_network = argv[optind + 1];
        return 0;
}

/* NAME or a namespace path (/var/run/netns/cni-..., /proc/PID/ns/net): a
 * path is opened and checked to be a network namespace (nsfs) that is not
 * the host's, and named as nsmgr names it (netns_name_of_path()). */
static int resolve_netns(const char *verb, const char *arg, bool must_exist, char **ret_name, uint64_t *ret_inode,
                         NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        *ret_inode = 0;
        if (!netns_arg_is_path(arg)) {
                *ret_name = NULL;
                return 0;
        }
        if (must_exist) {
                r = netns_open_path(arg, &fd, ret_inode, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot %s %s", verb, arg);
                if (netns_fd_is_host(fd))
                        return nm_error(err, -EPERM, "cannot %s %s: it is the host's own network namespace", verb, arg);
        }
        return netns_name_of_path(arg, ret_name, err);
}

static void print_report(const ReconcileReport *report) {
        STRV_FOREACH(w, report->warnings)
                log_warning("%s", *w);
}

int verb_attach(int argc, char **argv) {
        static const struct option opts[] = {
                { "ip",     required_argument, NULL, OPT_IP },
                { "ifname", required_argument, NULL, OPT_IFNAME },
                { "config", required_argument, NULL, OPT_CONFIG },
                { "json",   no_argument,       NULL, OPT_JSON },
                {}
        };
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *ifname = NULL, *byname = NULL;
        ReconcileReport report = {};
        AttachRequest req = {};
        struct net_args a = {};
        Cidr a4 = {}, a6 = {};
        char b4[CIDR_STRLEN], b6[CIDR_STRLEN];
        int optind, r;

        r = parse_options(argc, argv, "attach", opts, "c:", on_option, &a, &optind);
        if (r)
                return r;
        r = two_names(argc, argv, optind, "attach", &req.netns, &req.network);
        if (r)
                return r;
        r = resolve_netns("attach", req.netns, true, &byname, &req.inode, &err);
        if (r < 0)
                return fail(&err);
        if (byname) {
                req.path = req.netns;
                req.netns = byname;
        }
        if (a.ip && cidr_parse(a.ip, false, &req.address) < 0) {
                log_error("cannot attach '%s': '%s' is not an IP address", req.netns, a.ip);
                return EXIT_FAILURE;
        }
        if (a.ifname) {
                if (ifname_check(a.ifname, &err) < 0)
                        return fail(&err);
                req.ifname = a.ifname;
        }

        r = config_load(a.config, &cfg, &err);
        if (r < 0)
                return fail(&err);
        lock = reconcile_lock(&err);
        if (lock < 0)
                return fail(&err);

        r = network_attach(cfg, &req, &ifname, &a4, &a6, &err);
        if (r < 0)
                return fail(&err);

        r = reconcile_netns(cfg, req.netns, RECONCILE_LOCKED, &report, &err);
        print_report(&report);
        reconcile_report_done(&report);
        if (r < 0) {
                /* Nothing half-made stays: the lease goes, and with it what
                 * was made for it. */
                _cleanup_error_ NmError undo = NM_ERROR_INIT;
                ReconcileReport rr = {};

                (void) network_detach(cfg, req.netns, req.network, &undo);
                (void) reconcile_netns(cfg, req.netns, RECONCILE_LOCKED, &rr, &undo);
                reconcile_report_done(&rr);
                return fail(&err);
        }

        if (a.json) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "name", json_object_new_string(req.netns));
                if (req.path)
                        json_object_object_add(o, "path", json_object_new_string(req.path));
                json_object_object_add(o, "network", json_object_new_string(req.network));
                json_object_object_add(o, "interface", json_object_new_string(ifname));
                json_object_object_add(o, "address", a4.family ? json_object_new_string(cidr_format(&a4, true, b4)) : NULL);
                json_object_object_add(o, "address6", a6.family ? json_object_new_string(cidr_format(&a6, true, b6)) : NULL);
                print_json(o);
                json_object_put(o);
        } else
                printf("attached %s to %s: %s%s%s%s%s\n", req.path ? req.path : req.netns, req.network, ifname,
                       a4.family ? " " : "",
                       a4.family ? cidr_format(&a4, true, b4) : "", a6.family ? " " : "",
                       a6.family ? cidr_format(&a6, true, b6) : "");
        return 0;
}

int verb_detach(int argc, char **argv) {
        static const struct option opts[] = {
                { "config", required_argument, NULL, OPT_CONFIG },
                {}
        };
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        _cleanup_close_ int lock = -EBADF;
        ReconcileReport report = {};
        struct net_args a = {};
        const char *netns, *network, *arg;
        _cleanup_free_ char *byname = NULL;
        uint64_t ino;
        int optind, r;

        r = parse_options(argc, argv, "detach", opts, "c:", on_option, &a, &optind);
        if (r)
                return r;
        r = two_names(argc, argv, optind, "detach", &netns, &network);
        if (r)
                return r;
        arg = netns;
        /* The namespace may be gone already: detaching needs its name only. */
        r = resolve_netns("detach", netns, false, &byname, &ino, &err);
        if (r < 0)
                return fail(&err);
        if (byname)
                netns = byname;

        r = config_load(a.config, &cfg, &err);
        if (r < 0)
                return fail(&err);
        lock = reconcile_lock(&err);
        if (lock < 0)
                return fail(&err);

        r = network_detach(cfg, netns, network, &err);
        if (r < 0)
                return fail(&err);
        r = reconcile_netns(cfg, netns, RECONCILE_LOCKED, &report, &err);
        print_report(&report);
        reconcile_report_done(&report);
        if (r < 0)
                return fail(&err);
        printf("detached %s from %s\n", arg, network);
        return 0;
}

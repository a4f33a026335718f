/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-client.h"
#include "config.h"
#include "ctl.h"
#include "ipaddr.h"
#include "name.h"
#include "netns.h"
#include "netnspath.h"
#include "network.h"
#include "ops.h"
#include "reconcile.h"
#include "strv.h"

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
        case OPT_CONFIG: a->config = arg; break;
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

static void print_report(const ReconcileReport *report) {
        STRV_FOREACH(w, report->warnings)
                log_warning("%s", *w);
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

/* Through nsmgrd when it runs and keeps the config asked for (-c FILE, or
 * none: the config in force), since it wires the namespace and watches it;
 * another config's networks are not its business and are done here. */
static int load_route(const char *config, DaemonLink *link, Config **ret_cfg, NmError *err) {
        _cleanup_config_ Config *cfg = NULL;
        int r;

        (void) daemon_link_open(link);
        if (!config && link->bus)
                return 0;
        if (!config && link->alive)
                r = daemon_link_load_config(link, &cfg, err);
        else
                r = config_load(config, &cfg, err);
        if (r < 0)
                return r;
        if (link->bus && !ops_same_config(cfg->files, link->files))
                link->bus = sd_bus_flush_close_unref(link->bus);
        *ret_cfg = TAKE_PTR(cfg);
        return 0;
}

int verb_attach(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        _cleanup_(daemon_link_done) DaemonLink link = {};
        _cleanup_(ops_attachment_done) OpsAttachment res = {};
        _cleanup_free_ char *byname = NULL;
        ReconcileReport report = {};
        AttachRequest req = {};
        struct net_args a = {};
        char b4[CIDR_STRLEN], b6[CIDR_STRLEN];
        const Cidr *a4 = &res.address, *a6 = &res.address6;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (a.config && !*a.config)
                return usage_error("attach: option '--config' needs a file name");
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

        r = load_route(a.config, &link, &cfg, &err);
        if (r < 0)
                return fail(&err);
        /* A namespace known by its path is attached here: nsmgrd learns of
         * it from the lease, as of every other. */
        if (link.bus && req.path) {
                link.bus = sd_bus_flush_close_unref(link.bus);
                if (!cfg && (r = daemon_link_load_config(&link, &cfg, &err)) < 0)
                        return fail(&err);
        }
        r = link.bus ? bus_call_attach(link.bus, &req, &res, &err) : ops_attach(cfg, &req, &res, &report, &err);
        print_report(&report);
        reconcile_report_done(&report);
        if (r < 0)
                return fail(&err);

        if (a.json) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "name", json_object_new_string(req.netns));
                if (req.path)
                        json_object_object_add(o, "path", json_object_new_string(req.path));
                json_object_object_add(o, "network", json_object_new_string(req.network));
                json_object_object_add(o, "interface", json_object_new_string(res.ifname));
                json_object_object_add(o, "address", a4->family ? json_object_new_string(cidr_format(a4, true, b4)) : NULL);
                json_object_object_add(o, "address6", a6->family ? json_object_new_string(cidr_format(a6, true, b6)) : NULL);
                print_json(o);
                json_object_put(o);
        } else
                printf("attached %s to %s: %s%s%s%s%s\n", req.path ? req.path : req.netns, req.network, res.ifname,
                       a4->family ? " " : "",
                       a4->family ? cidr_format(a4, true, b4) : "", a6->family ? " " : "",
                       a6->family ? cidr_format(a6, true, b6) : "");
        return 0;
}

int verb_detach(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        _cleanup_(daemon_link_done) DaemonLink link = {};
        ReconcileReport report = {};
        struct net_args a = {};
        const char *netns, *network, *arg;
        _cleanup_free_ char *byname = NULL;
        uint64_t ino;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (a.config && !*a.config)
                return usage_error("detach: option '--config' needs a file name");
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

        r = load_route(a.config, &link, &cfg, &err);
        if (r < 0)
                return fail(&err);
        r = link.bus ? bus_call_detach(link.bus, netns, network, &err) : ops_detach(cfg, netns, network, &report, &err);
        print_report(&report);
        reconcile_report_done(&report);
        if (r < 0)
                return fail(&err);
        printf("detached %s from %s\n", arg, network);
        return 0;
}

int verb_complete_networks(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        struct net_args a = {};
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        /* A config that cannot be read offers nothing; completion stays quiet. */
        if (config_load(a.config, &cfg, &err) < 0)
                return EXIT_FAILURE;
        for (size_t i = 0; i < cfg->n_networks; i++)
                puts(cfg->networks[i].name);
        return 0;
}

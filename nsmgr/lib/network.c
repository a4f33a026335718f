/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <sys/stat.h>

#include "fileio.h"
#include "ipam.h"
#include "netns.h"
#include "netnspath.h"
#include "network.h"
#include "nl.h"
#include "paths.h"
#include "strv.h"

static int open_ipam(const Network *nw, bool dry_run, Ipam *ret, NmError *err) {
        return ipam_open(nw->name, nw->subnet.family ? &nw->subnet : NULL, nw->subnet.family ? &nw->gateway : NULL,
                         nw->subnet6.family ? &nw->subnet6 : NULL, nw->subnet6.family ? &nw->gateway6 : NULL,
                         dry_run, ret, err);
}

/* The interfaces a namespace has, to pick a free ethN. */
static int observed_names(int nsfd, char ***ret) {
        _cleanup_nl_ NlSock *nl = NULL;
        _cleanup_cache_ struct nl_cache *links = NULL;
        char **names = NULL;
        int r;

        r = nls_open_in(nsfd, &nl);
        if (r < 0)
                return r;
        r = rtnl_link_alloc_cache(nl->sk, AF_UNSPEC, &links);
        if (r < 0)
                return nls_errno(nl, r);
        for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o))
                if (strv_extend(&names, rtnl_link_get_name((struct rtnl_link *) o)) < 0)
                        return -ENOMEM;
        *ret = names;
        return 0;
}

int network_attach(const Config *cfg, const AttachRequest *req, char **ret_ifname, Cidr *ret_addr,
                   Cidr *ret_addr6, NmError *err) {
        const Network *nw = config_find_network(cfg, req->network);
        _cleanup_strv_free_ char **taken = NULL;
        _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
        _cleanup_close_ int nsfd = -EBADF;
        _cleanup_free_ char *ifname = NULL;
        const Netns *decl;
        LeaseExtra x = {};
        Cidr a4 = {}, a6 = {};
        int r;

        if (!nw)
                return nm_error(err, -ENOENT, "cannot attach '%s': network '%s' is not declared in the config",
                                req->netns, req->network);
        if (req->path) {
                uint64_t ino = 0;

                r = netns_open_path(req->path, &nsfd, &ino, err);
                if (r >= 0 && req->inode && ino != req->inode)
                        r = nm_error(err, -ESTALE, "%s is another namespace now", req->path);
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot attach %s to '%s'", req->path, req->network);
                x.path = req->path;
                x.inode = ino;
        } else {
                r = netns_open(req->netns, &nsfd, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot attach '%s' to '%s'", req->netns, req->network);
        }
        if (req->address.family && ((req->address.family == AF_INET && !nw->subnet.family) ||
                                    (req->address.family == AF_INET6 && !nw->subnet6.family)))
                return nm_error(err, -EINVAL, "cannot attach '%s': network '%s' has no %s subnet for %s", req->netns,
                                nw->name, req->address.family == AF_INET ? "IPv4" : "IPv6",
                                req->ifname ? req->ifname : "the address");

        r = open_ipam(nw, false, &ipam, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ipam.n_leases; i++)
                if (ipam.leases[i].netns && !ipam.leases[i].releasing && streq(ipam.leases[i].netns, req->netns))
                        return nm_error(err, -EEXIST, "'%s' is already attached to network '%s' (interface %s)",
                                        req->netns, nw->name, ipam.leases[i].ifname);
        decl = config_find_netns(cfg, req->netns);
        for (size_t i = 0; decl && i < decl->n_attachments; i++)
                if (streq(decl->attachments[i].network, nw->name))
                        return nm_error(err, -EEXIST, "'%s' is attached to network '%s' by the config already",
                                        req->netns, nw->name);

        /* Names in use: what the namespace has, what the config declares
         * there, what other leases of it hold. */
        r = observed_names(nsfd, &taken);
        if (r < 0)
                return nm_error(err, r, "cannot look into namespace '%s': %s", req->netns, strerror(-r));
        for (size_t i = 0; decl && i < decl->n_ifaces; i++)
                (void) strv_extend(&taken, decl->ifaces[i].name);
        for (size_t i = 0; decl && i < decl->n_attachments; i++)
                if (decl->attachments[i].ifname)
                        (void) strv_extend(&taken, decl->attachments[i].ifname);
        {
                LeaseInfo *all = NULL;
                size_t n = 0;

                if (leases_read_all(&all, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                if (streq(all[i].netns, req->netns))
                                        (void) strv_extend(&taken, all[i].ifname);
                leases_free(all, n);
        }

        if (req->ifname) {
                if (strv_contains(taken, req->ifname))
                        return nm_error(err, -EEXIST, "cannot attach '%s': it has an interface named %s already; choose another with --ifname",
                                        req->netns, req->ifname);
                ifname = strdup(req->ifname);
        } else
                for (unsigned n = 0; !ifname; n++) {
                        char c[16];

                        snprintf(c, sizeof(c), "eth%u", n);
                        if (!strv_contains(taken, c))
                                ifname = strdup(c);
                }
        if (!ifname)
                return -ENOMEM;

        if (nw->subnet.family) {
                r = ipam_lease_extra(&ipam, AF_INET, req->netns, ifname,
                                     req->address.family == AF_INET ? &req->address : NULL, LEASE_ATTACH, &x, false, &a4, err);
                if (r < 0)
                        return nm_error_prefix(err, r, "cannot attach '%s'", req->netns);
        }
        if (nw->subnet6.family) {
                r = ipam_lease_extra(&ipam, AF_INET6, req->netns, ifname,
                                     req->address.family == AF_INET6 ? &req->address : NULL, LEASE_ATTACH, &x, false, &a6,
                                     err);
                if (r < 0) {
                        if (a4.family)
                                (void) ipam_release(&ipam, &a4, NULL);
                        return nm_error_prefix(err, r, "cannot attach '%s'", req->netns);
                }
        }
        *ret_ifname = TAKE_PTR(ifname);
        *ret_addr = a4;
        *ret_addr6 = a6;
        return 0;
}

int network_detach(const Config *cfg, const char *netns, const char *network, NmError *err) {
        const Network *nw = config_find_network(cfg, network);
        _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
        bool found = false;
        int r;

        if (!nw)
                return nm_error(err, -ENOENT, "cannot detach '%s': network '%s' is not declared in the config", netns,
                                network);
        r = open_ipam(nw, false, &ipam, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ipam.n_leases; i++) {
                const Lease *l = &ipam.leases[i];

                if (!l->netns || !streq(l->netns, netns))
                        continue;
                if (streq(l->origin, LEASE_CONFIG))
                        return nm_error(err, -EPERM,
                                        "cannot detach '%s' from '%s': the config attaches it; remove it from the config and apply",
                                        netns, network);
        }
        /* Marked, not released: the caller's reconcile removes the veth,
         * and then gives the address back. */
        for (size_t i = 0; i < ipam.n_leases; i++) {
                Cidr a = ipam.leases[i].addr;

                if (!ipam.leases[i].netns || !streq(ipam.leases[i].netns, netns))
                        continue;
                r = ipam_mark_releasing(&ipam, &a, err);
                if (r < 0)
                        return r;
                found = true;
        }
        if (!found)
                return nm_error(err, -ENOENT, "'%s' is not attached to network '%s'", netns, network);
        return 0;
}

void leases_free(LeaseInfo *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].network);
                free(v[i].netns);
                free(v[i].ifname);
                free(v[i].origin);
        }
        free(v);
}

int leases_read_all(LeaseInfo **ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = NULL;
        LeaseInfo *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        *ret = NULL;
        *ret_n = 0;
        d = opendir(NSMGR_STATE_DIR "/ipam");
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                _cleanup_(ipam_close) Ipam ipam = { .lockfd = -EBADF };
                Cidr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };

                if (de->d_name[0] == '.')
                        continue;
                /* Read without the lock: a listing, not an allocation. */
                ipam.network = strdup(de->d_name);
                if (!ipam.network || asprintf(&ipam.dir, NSMGR_STATE_DIR "/ipam/%s", de->d_name) < 0)
                        break;
                ipam.subnet = any4;
                ipam.subnet6 = any6;
                {
                        _cleanup_closedir_ DIR *ld = opendir(ipam.dir);
                        struct dirent *le;

                        while (ld && (le = readdir(ld))) {
                                _cleanup_free_ char *path = NULL, *text = NULL;
                                char *netns = NULL, *ifname = NULL, *origin = NULL, *save = NULL;
                                Cidr a;

                                if (le->d_name[0] == '.' || cidr_parse(le->d_name, false, &a) < 0)
                                        continue;
                                if (asprintf(&path, "%s/%s", ipam.dir, le->d_name) < 0 ||
                                    read_full_file(path, &text, NULL) < 0)
                                        continue;
                                for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                                        if (strneq(line, "netns=", 6))
                                                netns = line + 6;
                                        else if (strneq(line, "interface=", 10))
                                                ifname = line + 10;
                                        else if (strneq(line, "origin=", 7))
                                                origin = line + 7;
                                }
                                if (!netns || !ifname || GREEDY_REALLOC(v, cap, n + 1) < 0)
                                        continue;
                                v[n] = (LeaseInfo) { .network = strdup(de->d_name), .netns = strdup(netns),
                                                     .ifname = strdup(ifname),
                                                     .origin = strdup(origin ? origin : LEASE_CONFIG), .addr = a };
                                n++;
                        }
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

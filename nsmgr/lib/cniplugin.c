/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "cniindex.h"
#include "cniplugin.h"
#include "config-internal.h"
#include "config.h"
#include "etcfiles.h"
#include "fileio.h"
#include "ipam.h"
#include "name.h"
#include "netns.h"
#include "netnspath.h"
#include "network.h"
#include "paths.h"
#include "podwire.h"
#include "status.h"
#include "strmap.h"
#include "strv.h"

/* --- what a request works on ----------------------------------------------------- */

typedef struct Ctx {
        const CniRequest *req;
        cni_engine_fn engine;
        CniError *err;
        char ***warnings;
        Config *cfg;
        const Network *nw;      /* NULL when the config does not load (DEL, GC) */
        int lock;
        Ipam ipam;
        bool ipam_open;
        NlSock *host;
        int bridge_ifindex;     /* the network's bridge, once bridge_exists() found it */
} Ctx;

static void ctx_done(Ctx *c) {
        if (c->ipam_open)
                ipam_close(&c->ipam);
        config_free(c->cfg);
        safe_close(c->lock);
        nls_close(c->host);
}

static const char *config_name(const CniRequest *req) {
        return req->config ? req->config : NSMGR_CONF_FILE;
}

static int fail_nm(Ctx *c, unsigned code, const char *msg, const NmError *e) {
        return cni_error(c->err, code, msg, "%s", nm_error_message(e));
}

/* The nsmgr config and the network in it. */
static int load_network(Ctx *c, unsigned code_broken) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        int r;

        r = config_load(c->req->config, &c->cfg, &e);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                return cni_error(c->err, code_broken, "the nsmgr configuration does not load",
                                 "nsmgr's configuration (%s) does not load, so network '%s' is unknown: %s",
                                 config_name(c->req), c->req->network, nm_error_message(&e));
        }
        c->nw = config_find_network(c->cfg, c->req->network);
        if (!c->nw)
                return cni_error(c->err, code_broken == CNI_ERR_NOT_AVAILABLE ? CNI_ERR_NOT_AVAILABLE : CNI_ERR_INVALID_CONFIG,
                                 "invalid network configuration",
                                 "network '%s' is not declared in nsmgr's configuration (%s); declare it there (networks = ( { name = \"%s\"; ... } )) or fix \"network\"",
                                 c->req->network, config_name(c->req), c->req->network);
        return 0;
}

int cni_state_lock(NmError *err) {
        int fd, r;

        r = mkdir_p(NSMGR_RUN_DIR, 0755);
        if (r < 0)
                return nm_error(err, r, "cannot create " NSMGR_RUN_DIR ": %s%s", strerror(-r),
                                r == -EACCES || r == -EPERM ? "; this needs root" : "");
        fd = open(NSMGR_RUN_DIR "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return nm_error(err, negative_errno(), "cannot open " NSMGR_RUN_DIR "/lock: %m%s",
                                errno == EACCES ? "; this needs root" : "");
        if (flock(fd, LOCK_EX) < 0) {
                r = negative_errno();
                close(fd);
                return nm_error(err, r, "cannot lock " NSMGR_RUN_DIR "/lock: %s", strerror(-r));
        }
        return fd;
}

static int take_lock(Ctx *c) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;

        c->lock = cni_state_lock(&e);
        if (c->lock < 0)
                return fail_nm(c, CNI_ERR_FAILED, "cannot lock nsmgr's state", &e);
        return 0;
}

/* The leases of the network. Without a config (DEL and GC must work when it
 * has gone broken or dropped the network), every address is taken as it is. */
static int open_leases(Ctx *c) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        const Network *nw = c->nw;
        Cidr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };
        int r;

        if (c->ipam_open)
                ipam_close(&c->ipam);
        c->ipam_open = false;

        if (nw)
                r = ipam_open(nw->name, nw->subnet.family ? &nw->subnet : NULL, nw->subnet.family ? &nw->gateway : NULL,
                              nw->subnet6.family ? &nw->subnet6 : NULL, nw->subnet6.family ? &nw->gateway6 : NULL, false,
                              &c->ipam, &e);
        else {
                if (!netns_name_is_valid(c->req->network))
                        return 0;
                r = ipam_open(c->req->network, &any4, NULL, &any6, NULL, true, &c->ipam, &e);
        }
        if (r < 0)
                return fail_nm(c, CNI_ERR_FAILED, "cannot read the leases", &e);
        c->ipam_open = true;
        return 0;
}

/* One network's leases without reading them (ipam_open_lite()): an ADD or
 * DEL costs the same with ten pods or a thousand. */
static int open_leases_lite(Ctx *c, const char *network) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        int r;

        if (c->ipam_open)
                ipam_close(&c->ipam);
        c->ipam_open = false;
        r = ipam_open_lite(network, &c->ipam, &e);
        if (r < 0)
                return fail_nm(c, CNI_ERR_FAILED, "cannot lock the leases", &e);
        c->ipam_open = true;
        return 0;
}

/* The engine takes the leases' lock itself: let go of it first. */
static void close_leases(Ctx *c) {
        if (c->ipam_open)
                ipam_close(&c->ipam);
        c->ipam_open = false;
}

static int host_socket(Ctx *c) {
        int r;

        if (c->host)
                return 0;
        r = nls_open(&c->host);
        if (r < 0)
                return cni_error(c->err, CNI_ERR_FAILED, "cannot open a netlink socket", "cannot open a netlink socket: %s",
                                 strerror(-r));
        return 0;
}

_printf_(2, 3) static void warn(Ctx *c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) strv_extendv(c->warnings, fmt, ap);
        va_end(ap);
}

/* --- the leases of one attachment ------------------------------------------------------ */

typedef struct Found {
        Cidr addr4, addr6;      /* the leases held; family 0: none */
        char *netns;
        char *ifname;
        char *container;
        char *path;
        uint64_t inode;
        char *ports;
        char *origin;
} Found;

static void found_done(Found *f) {
        free(f->netns);
        free(f->ifname);
        free(f->container);
        free(f->path);
        free(f->ports);
        free(f->origin);
        *f = (Found) {};
}

static bool found_any(const Found *f) {
        return f->addr4.family || f->addr6.family;
}

static bool is_cni_lease(const Lease *l) {
        return streq(l->origin, LEASE_CNI) || streq(l->origin, LEASE_CNI_IPAM);
}

static int found_take(Found *f, const Lease *l) {
        if (l->addr.family == AF_INET6)
                f->addr6 = l->addr;
        else
                f->addr4 = l->addr;
        if ((!f->netns && !(f->netns = strdup(l->netns))) || (!f->ifname && !(f->ifname = strdup(l->ifname))) ||
            (!f->origin && !(f->origin = strdup(l->origin))) ||
            (!f->container && l->container && !(f->container = strdup(l->container))) ||
            (!f->path && l->path && !(f->path = strdup(l->path))) ||
            (!f->ports && l->ports && !(f->ports = strdup(l->ports))))
                return -ENOMEM;
        if (!f->inode)
                f->inode = l->inode;
        return 0;
}

/* The leases of (CNI network, container, interface) among those read
 * (a full ipam_open(): GC). */
static int find_attachment(const Ipam *ipam, const char *cni_network, const char *container, const char *ifname,
                           Found *ret) {
        Found f = {};

        for (size_t i = 0; i < ipam->n_leases; i++) {
                const Lease *l = &ipam->leases[i];

                if (!is_cni_lease(l) || !streq_ptr(l->cni_network, cni_network) || !streq_ptr(l->container, container) ||
                    !streq(l->ifname, ifname))
                        continue;
                if (found_take(&f, l) < 0) {
                        found_done(&f);
                        return -ENOMEM;
                }
        }
        *ret = f;
        return 0;
}

/* The leases the attachment holds, through its index entry (cniindex.h):
 * each address it names whose lease is there and is this attachment's.
 * Opens the leases of the network the entry names (lite). *ret_indexed
 * says whether there was an entry. */
static int find_indexed(Ctx *c, Found *ret, bool *ret_indexed) {
        CniIndexEntry e;
        Found f = {};
        int r;

        *ret_indexed = false;
        r = cni_index_read(c->req->name, c->req->container_id, c->req->ifname, &e);
        if (r == -ENOENT || r == -EBADMSG) {
                /* None, or a damaged one: nothing is held through it. */
                *ret = f;
                return c->nw ? open_leases_lite(c, c->nw->name) : 0;
        }
        if (r < 0)
                return cni_error(c->err, CNI_ERR_FAILED, "cannot read the attachment's record",
                                 "cannot read the record of container %s, %s in " CNI_INDEX_DIR ": %s",
                                 c->req->container_id, c->req->ifname, strerror(-r));
        *ret_indexed = true;
        r = open_leases_lite(c, e.network);
        if (r < 0)
                return r;
        for (int fam = 0; fam < 2; fam++) {
                const Cidr *a = fam ? &e.addr6 : &e.addr4;
                Lease l = {};

                if (!a->family || ipam_read_lease(&c->ipam, a, &l) < 0)
                        continue;
                if (is_cni_lease(&l) && streq_ptr(l.cni_network, c->req->name) &&
                    streq_ptr(l.container, c->req->container_id) && streq(l.ifname, c->req->ifname))
                        r = found_take(&f, &l);
                ipam_lease_done(&l);
                if (r < 0) {
                        found_done(&f);
                        return r;
                }
        }
        *ret = f;
        return 0;
}

static char *host_end_of(const char *netns, const char *ifname) {
        return veth_peer_name_derive(netns, ifname);
}

/* Link gone, then lease released, then the index entry -- never another
 * order, so that an address is never handed out while an interface still
 * has it, and the index names every lease held. */
static int release_found(Ctx *c, const Found *f, bool unwire) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        int r;

        if (unwire && f->netns) {
                _cleanup_free_ char *host_end = host_end_of(f->netns, f->ifname);

                if (!host_end)
                        return -ENOMEM;
                r = host_socket(c);
                if (r < 0)
                        return r;
                r = pod_unwire(c->host, host_end, &e);
                if (r < 0)
                        return fail_nm(c, CNI_ERR_FAILED, "cannot remove the interface", &e);
        }
        for (int fam = 0; fam < 2; fam++) {
                Cidr a = fam ? f->addr6 : f->addr4;

                if (!a.family)
                        continue;
                r = ipam_release(&c->ipam, &a, &e);
                if (r < 0)
                        return fail_nm(c, CNI_ERR_FAILED, "cannot release the lease", &e);
        }
        if (f->container && f->ifname)
                (void) cni_index_remove(c->req->name, f->container, f->ifname);
        return 0;
}

/* --- results --------------------------------------------------------------------------- */

static int dns_from_json(CniResult *res, json_object *dns) {
        json_object *v;

        if (json_object_object_get_ex(dns, "domain", &v) && json_object_is_type(v, json_type_string) &&
            !(res->domain = strdup(json_object_get_string(v))))
                return -ENOMEM;
        for (int k = 0; k < 3; k++) {
                const char *key = k == 0 ? "nameservers" : k == 1 ? "search" : "options";
                char ***dst = k == 0 ? &res->nameservers : k == 1 ? &res->search : &res->options;

                if (!json_object_object_get_ex(dns, key, &v) || !json_object_is_type(v, json_type_array))
                        continue;
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (strv_extend(dst, json_object_get_string(json_object_array_get_idx(v, i))) < 0)
                                return -ENOMEM;
        }
        return 0;
}

/* The name servers nsmgr gives any namespace that has no resolv.conf of
 * its own: the machine's, without those on a loopback address (they would
 * be the namespace's own loopback). */
static int dns_from_host(CniResult *res, const char *name) {
        _cleanup_free_ char *text = NULL, *out = NULL;
        size_t kept = 0;
        char *save = NULL;
        int r;

        if (read_full_file("/etc/resolv.conf", &text, NULL) < 0)
                return 0;
        r = resolv_conf_for_netns(text, "/etc/resolv.conf", name, &out, &kept);
        if (r < 0 || !out)
                return r == -ENOMEM ? r : 0;
        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *s2 = NULL, *word = strtok_r(line, " \t", &s2);
                char ***dst;

                if (!word || word[0] == '#' || word[0] == ';')
                        continue;
                if (streq(word, "nameserver"))
                        dst = &res->nameservers;
                else if (streq(word, "search"))
                        dst = &res->search;
                else if (streq(word, "options"))
                        dst = &res->options;
                else if (streq(word, "domain")) {
                        char *d = strtok_r(NULL, " \t", &s2);
                        if (d && !res->domain && !(res->domain = strdup(d)))
                                return -ENOMEM;
                        continue;
                } else
                        continue;
                for (char *w = strtok_r(NULL, " \t", &s2); w; w = strtok_r(NULL, " \t", &s2))
                        if (strv_extend(dst, w) < 0)
                                return -ENOMEM;
        }
        return 0;
}

static int add_dns(const CniRequest *req, CniResult *res, const char *name) {
        if (req->dns)
                return dns_from_json(res, req->dns);
        return dns_from_host(res, name);
}

static int output(Ctx *c, const CniResult *res, json_object **ret_out) {
        json_object *o = cni_result_to_json(res, c->req->version, c->req->prev_result);

        if (!o)
                return -ENOMEM;
        *ret_out = o;
        return 0;
}

/* --- ADD -------------------------------------------------------------------------------- */

static char *ports_text(const CniRequest *req) {
        char *s = NULL;
        size_t len = 0;
        FILE *f;

        if (req->n_ports == 0)
                return NULL;
        f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        for (size_t i = 0; i < req->n_ports; i++)
                fprintf(f, "%s%u:%u/%s", i ? "," : "", req->ports[i].host_port, req->ports[i].container_port,
                        req->ports[i].proto == IPPROTO_UDP ? "udp" : "tcp");
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

/* Another attachment that publishes one of the ports: declared in the
 * config, or a lease of this network (read in full: only requests with
 * ports, which go through the engine anyway, pay for it). */
static int check_ports_free(Ctx *c, const char *netns) {
        for (size_t k = 0; k < c->req->n_ports; k++) {
                const CniPortMapping *p = &c->req->ports[k];

                for (size_t i = 0; i < c->cfg->n_netns; i++)
                        for (size_t j = 0; j < c->cfg->netns[i].n_ports; j++)
                                if (c->cfg->netns[i].ports[j].host_port == p->host_port &&
                                    c->cfg->netns[i].ports[j].proto == p->proto)
                                        return cni_error(c->err, CNI_ERR_FAILED, "host port already published",
                                                         "host port %u/%s is published by namespace '%s' in nsmgr's configuration; choose another hostPort",
                                                         p->host_port, p->proto == IPPROTO_UDP ? "udp" : "tcp",
                                                         c->cfg->netns[i].name);
                for (size_t i = 0; i < c->ipam.n_leases; i++) {
                        const Lease *l = &c->ipam.leases[i];
                        _cleanup_free_ char *copy = NULL;
                        char *save = NULL;

                        if (!l->ports || streq(l->netns, netns) ||
                            (streq_ptr(l->container, c->req->container_id) && streq_ptr(l->cni_network, c->req->name)))
                                continue;
                        copy = strdup(l->ports);
                        if (!copy)
                                return -ENOMEM;
                        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                                Port pt;

                                if (port_parse(t, &pt) >= 0 && pt.host_port == p->host_port && pt.proto == p->proto)
                                        return cni_error(c->err, CNI_ERR_FAILED, "host port already published",
                                                         "host port %u/%s is published by container %s already; choose another hostPort",
                                                         p->host_port, p->proto == IPPROTO_UDP ? "udp" : "tcp",
                                                         l->container ? l->container : l->netns);
                        }
                }
        }
        return 0;
}

/* The addresses in the network's folder: the names of the lease files. */
static int taken_addresses(const Ipam *ipam, StrMap *ret) {
        _cleanup_closedir_ DIR *d = opendir(ipam->dir);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                Cidr a;
                char buf[CIDR_STRLEN];

                if (de->d_name[0] == '.' || cidr_parse(de->d_name, false, &a) < 0)
                        continue;
                if (strmap_put(ret, cidr_format(&a, false, buf), 1) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static bool next_address(const Cidr *subnet, Cidr *a) {
        for (int i = cidr_addr_bytes(a->family) - 1; i >= 0; i--)
                if (++a->addr[i] != 0)
                        break;
        return cidr_contains(subnet, a);
}

/* The address for a family: the one asked for (a host address of the
 * subnet, not the gateway, not taken), else the lowest free one. */
static int pick_address(Ctx *c, int family, StrMap *taken, Cidr *ret) {
        const Cidr *subnet = family == AF_INET6 ? &c->nw->subnet6 : &c->nw->subnet;
        const Cidr *gw = family == AF_INET6 ? &c->nw->gateway6 : &c->nw->gateway;
        char b[CIDR_STRLEN], sb[CIDR_STRLEN];
        Cidr a;

        *ret = (Cidr) {};
        if (!subnet->family)
                return 0;
        for (size_t i = 0; i < c->req->n_ips; i++) {
                a = c->req->ips[i];
                if (a.family != family)
                        continue;
                if (a.prefixlen != cidr_addr_bytes(family) * 8 && a.prefixlen != subnet->prefixlen)
                        return cni_error(c->err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%s was asked for, but network '%s' is %s: ask for the address alone or with /%u",
                                         cidr_format(&a, true, b), c->nw->name, cidr_format(subnet, true, sb),
                                         subnet->prefixlen);
                a.prefixlen = subnet->prefixlen;
                if (!ipam_is_host_addr(subnet, &a) || cidr_addr_equal(&a, gw))
                        return cni_error(c->err, CNI_ERR_FAILED, "cannot lease an address",
                                         "address %s cannot be leased on network '%s': it is %s of %s",
                                         cidr_format(&a, false, b), c->nw->name,
                                         !cidr_contains(subnet, &a) ? "outside" : cidr_addr_equal(&a, gw) ? "the gateway"
                                                                                  : "the network or broadcast address",
                                         cidr_format(subnet, true, sb));
                if (strmap_get(taken, cidr_format(&a, false, b), NULL))
                        return cni_error(c->err, CNI_ERR_FAILED, "cannot lease an address",
                                         "address %s on network '%s' is already leased", b, c->nw->name);
                *ret = a;
                return 0;
        }
        a = cidr_network(subnet);
        while (next_address(subnet, &a)) {
                if (!ipam_is_host_addr(subnet, &a) || cidr_addr_equal(&a, gw) ||
                    strmap_get(taken, cidr_format(&a, false, b), NULL))
                        continue;
                a.prefixlen = subnet->prefixlen;
                *ret = a;
                return 0;
        }
        return cni_error(c->err, CNI_ERR_NO_ADDRESS, "no free address",
                         "network '%s' (%s) has no free address left; remove pods or widen the subnet", c->nw->name,
                         cidr_format(subnet, true, sb));
}

/* The engine, for what the direct path does not do: making the network
 * (its bridge, gateway, NAT) when it is not there yet, and published ports. */
static int run_engine(Ctx *c, const char *netns) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        int r;

        if (!c->engine)
                return CNI_HANDOFF;
        close_leases(c);
        r = c->engine(c->cfg, netns, c->warnings, &e);
        if (r < 0)
                return fail_nm(c, CNI_ERR_FAILED, "nsmgr could not wire the attachment", &e);
        return 0;
}

/* Does the network's bridge exist? Without it the engine makes the
 * network first. */
static int bridge_exists(Ctx *c) {
        _cleanup_link_ struct rtnl_link *l = NULL;
        int r;

        r = host_socket(c);
        if (r < 0)
                return r;
        nls_reset_error(c->host);
        r = nls_errno(c->host, rtnl_link_get_kernel(c->host->sk, 0, c->nw->bridge, &l));
        if (r == -ENODEV || r == -ENOENT)
                return 0;
        if (r < 0)
                return cni_error(c->err, CNI_ERR_FAILED, "cannot look up the bridge", "cannot look up bridge %s: %s",
                                 c->nw->bridge, strerror(-r));
        c->bridge_ifindex = rtnl_link_get_ifindex(l);
        return 1;
}

static int open_netns(Ctx *c, int *ret_fd, uint64_t *ret_ino) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        _cleanup_close_ int fd = -EBADF;
        struct stat self;
        uint64_t ino = 0;
        int r;

        r = netns_open_path(c->req->netns, &fd, &ino, &e);
        if (r == -ENOENT)
                return cni_error(c->err, CNI_ERR_UNKNOWN_CONTAINER, "container does not exist",
                                 "CNI_NETNS=%s: %s", c->req->netns, nm_error_message(&e));
        if (r == -EMEDIUMTYPE)
                return cni_error(c->err, CNI_ERR_INVALID_ENV, "invalid CNI_NETNS", "CNI_NETNS=%s: %s", c->req->netns,
                                 nm_error_message(&e));
        if (r < 0)
                return fail_nm(c, CNI_ERR_FAILED, "cannot open the container's namespace", &e);
        if ((stat("/proc/self/ns/net", &self) >= 0 && (uint64_t) self.st_ino == ino) || netns_fd_is_host(fd))
                return cni_error(c->err, CNI_ERR_INVALID_ENV, "invalid CNI_NETNS",
                                 "CNI_NETNS=%s is the network namespace the plugin runs in (the host's), not a container's",
                                 c->req->netns);
        *ret_fd = TAKE_FD(fd);
        *ret_ino = ino;
        return 0;
}

/* With published ports, the full leases: no other attachment may publish
 * the same host port. Read before the lite lock below is taken. */
static int check_ports(Ctx *c, const char *netns) {
        int r;

        r = open_leases(c);
        if (r >= 0)
                r = check_ports_free(c, netns);
        close_leases(c);
        return r;
}

static int cmd_add(Ctx *c, json_object **ret_out) {
        _cleanup_free_ char *netns = NULL, *host_end = NULL, *ports = NULL;
        _cleanup_(strmap_done) StrMap taken = {};
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        _cleanup_(cni_result_done) CniResult res = {};
        _cleanup_close_ int nsfd = -EBADF;
        bool ipam_mode = c->req->mode == CNI_MODE_IPAM, indexed, claimed = false;
        const char *origin = ipam_mode ? LEASE_CNI_IPAM : LEASE_CNI;
        Found f = {};
        Cidr a4 = {}, a6 = {};
        uint64_t ino = 0;
        int r;

        r = open_netns(c, &nsfd, &ino);
        if (r < 0)
                return r;
        r = netns_name_of_path(c->req->netns, &netns, &e);
        if (r < 0)
                return fail_nm(c, CNI_ERR_INVALID_ENV, "invalid CNI_NETNS", &e);
        r = load_network(c, CNI_ERR_FAILED);
        if (r < 0)
                return r;
        /* Without the engine here, the requests that need it go on, before
         * anything changes: ports to publish, or a network not made yet. */
        if (!c->engine && !ipam_mode) {
                if (c->req->n_ports > 0)
                        return CNI_HANDOFF;
                r = bridge_exists(c);
                if (r <= 0)
                        return r < 0 ? r : CNI_HANDOFF;
        }
        r = take_lock(c);
        if (r >= 0 && c->req->n_ports > 0 && !ipam_mode)
                r = check_ports(c, netns);
        if (r < 0)
                return r;

        /* This attachment from before: ADD again for the same namespace is
         * what it was; for another one, the old one is stale. */
        r = find_indexed(c, &f, &indexed);
        if (r < 0)
                return r;
        if (found_any(&f) && streq_ptr(f.path, c->req->netns) && (!f.inode || f.inode == ino) &&
            streq(f.origin, origin)) {
                a4 = f.addr4;
                a6 = f.addr6;
        } else if (found_any(&f) || indexed) {
                if (found_any(&f))
                        warn(c, "container %s, %s: the lease made for %s is stale; released it", c->req->container_id,
                             c->req->ifname, f.path ? f.path : f.netns);
                r = release_found(c, &f, streq_ptr(f.origin, LEASE_CNI));
                if (r >= 0)
                        r = cni_index_remove(c->req->name, c->req->container_id, c->req->ifname);
        }
        found_done(&f);
        if (r < 0)
                return r;
        if (!c->ipam_open && (r = open_leases_lite(c, c->nw->name)) < 0)
                return r;

        if (!a4.family && !a6.family) {
                CniIndexEntry entry = {};
                LeaseExtra x = { .path = c->req->netns, .inode = ino, .container = c->req->container_id,
                                 .cni_network = c->req->name };

                ports = ports_text(c->req);
                if (c->req->n_ports > 0 && !ports)
                        return -ENOMEM;
                x.ports = ipam_mode ? NULL : ports;
                r = taken_addresses(&c->ipam, &taken);
                if (r < 0)
                        return cni_error(c->err, CNI_ERR_FAILED, "cannot read the leases",
                                         "cannot read the leases of network '%s': %s", c->nw->name, strerror(-r));
                for (size_t i = 0; i < c->req->n_ips; i++)
                        if (!(c->req->ips[i].family == AF_INET ? c->nw->subnet.family : c->nw->subnet6.family)) {
                                char b[CIDR_STRLEN];

                                return cni_error(c->err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                                 "%s was asked for, but network '%s' has no %s subnet",
                                                 cidr_format(&c->req->ips[i], false, b), c->nw->name,
                                                 c->req->ips[i].family == AF_INET6 ? "IPv6" : "IPv4");
                        }
                r = pick_address(c, AF_INET, &taken, &a4);
                if (r >= 0)
                        r = pick_address(c, AF_INET6, &taken, &a6);
                if (r < 0)
                        return r;
                /* The index first: it names every lease the attachment may
                 * hold, also after a crash right after the claim. */
                snprintf(entry.network, sizeof(entry.network), "%s", c->nw->name);
                entry.addr4 = a4;
                entry.addr6 = a6;
                r = cni_index_write(c->req->name, c->req->container_id, c->req->ifname, &entry, &e);
                if (r < 0)
                        return fail_nm(c, CNI_ERR_FAILED, "cannot record the attachment", &e);
                claimed = true;
                if (a4.family && (r = ipam_claim(&c->ipam, &a4, netns, c->req->ifname, origin, &x, &e)) < 0)
                        a4 = (Cidr) {};
                if (r >= 0 && a6.family && (r = ipam_claim(&c->ipam, &a6, netns, c->req->ifname, origin, &x, &e)) < 0)
                        a6 = (Cidr) {};
                if (r < 0) {
                        r = fail_nm(c, CNI_ERR_FAILED, "cannot lease an address", &e);
                        goto release;
                }
        }

        if (ipam_mode) {
                /* The abbreviated result of a delegated IPAM plugin. */
                if (a4.family && ((r = cni_result_add_ip(&res, &a4, &c->nw->gateway, -1)) < 0 ||
                                  (r = cni_result_add_route(&res, &(Cidr) { .family = AF_INET }, &c->nw->gateway)) < 0))
                        goto release;
                if (a6.family && ((r = cni_result_add_ip(&res, &a6, &c->nw->gateway6, -1)) < 0 ||
                                  (r = cni_result_add_route(&res, &(Cidr) { .family = AF_INET6 }, &c->nw->gateway6)) < 0))
                        goto release;
                r = add_dns(c->req, &res, netns);
                if (r < 0)
                        goto release;
                return output(c, &res, ret_out);
        }

        host_end = host_end_of(netns, c->req->ifname);
        if (!host_end) {
                r = -ENOMEM;
                goto release;
        }
        r = host_socket(c);
        if (r < 0)
                goto undo;
        {
                PodWire w = { .bridge = c->nw->bridge, .bridge_ifindex = c->bridge_ifindex, .host_ifname = host_end,
                              .ifname = c->req->ifname, .nsfd = nsfd, .addr4 = a4, .addr6 = a6, .single_threaded = true };
                PodLinks links = {};

                if (a4.family)
                        w.gw4 = c->nw->gateway;
                if (a6.family)
                        w.gw6 = c->nw->gateway6;
                r = pod_wire(c->host, &w, &links, &e);
                if (r == -ENODEV || (r >= 0 && c->req->n_ports > 0)) {
                        /* No bridge yet (the first pod of the network on
                         * this machine), or ports to publish. */
                        r = run_engine(c, netns);
                        if (r < 0)
                                goto undo;
                        w.bridge_ifindex = 0;   /* the engine may have made it */
                        /* What the engine made, completed (loopback) and
                         * read back for the result. */
                        r = pod_wire(c->host, &w, &links, &e);
                        if (r < 0) {
                                r = fail_nm(c, CNI_ERR_FAILED, "cannot wire the attachment", &e);
                                goto undo;
                        }
                } else if (r == -EEXIST) {
                        r = fail_nm(c, CNI_ERR_IFACE_EXISTS, "interface already exists", &e);
                        goto release;
                } else if (r < 0) {
                        r = fail_nm(c, CNI_ERR_FAILED, "cannot wire the attachment", &e);
                        goto undo;
                }

                if ((r = cni_result_add_interface(&res, host_end, links.host_mac, links.mtu, NULL)) < 0 ||
                    (r = cni_result_add_interface(&res, c->req->ifname, links.mac, links.mtu, c->req->netns)) < 0)
                        goto undo;
                if (a4.family && (r = cni_result_add_ip(&res, &a4, &c->nw->gateway, 1)) < 0)
                        goto undo;
                if (a6.family && (r = cni_result_add_ip(&res, &a6, &c->nw->gateway6, 1)) < 0)
                        goto undo;
                if (links.route4 && (r = cni_result_add_route(&res, &(Cidr) { .family = AF_INET }, &c->nw->gateway)) < 0)
                        goto undo;
                if (links.route6 && (r = cni_result_add_route(&res, &(Cidr) { .family = AF_INET6 }, &c->nw->gateway6)) < 0)
                        goto undo;
        }
        r = add_dns(c->req, &res, netns);
        if (r < 0)
                goto undo;
        return output(c, &res, ret_out);

undo:
        /* Nothing half-made stays: the link, then the lease and its index
         * entry, then what the engine made for it (NAT). */
        if (c->host && host_end)
                (void) pod_unwire(c->host, host_end, NULL);
release:
        if (c->ipam_open || open_leases_lite(c, c->nw->name) >= 0) {
                if (a4.family)
                        (void) ipam_release(&c->ipam, &a4, NULL);
                if (a6.family)
                        (void) ipam_release(&c->ipam, &a6, NULL);
                if (claimed || a4.family || a6.family)
                        (void) cni_index_remove(c->req->name, c->req->container_id, c->req->ifname);
        }
        if (r != -ENOMEM && c->req->n_ports > 0 && c->engine) {
                _cleanup_error_ NmError e2 = NM_ERROR_INIT;

                close_leases(c);
                (void) c->engine(c->cfg, netns, NULL, &e2);
        }
        return r;
}

/* --- DEL -------------------------------------------------------------------------------- */

static int cmd_del(Ctx *c) {
        bool indexed;
        Found f = {};
        int r;

        /* What DEL needs is in the lease: it works without CNI_NETNS, with
         * the namespace gone, and with a config that no longer loads. */
        r = load_network(c, CNI_ERR_FAILED);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                warn(c, "%s", c->err->details ? c->err->details : "the nsmgr configuration does not load");
                cni_error_done(c->err);
                c->nw = NULL;
        }
        r = take_lock(c);
        if (r >= 0)
                r = find_indexed(c, &f, &indexed);
        if (r < 0)
                return r;
        if (!found_any(&f)) {
                if (indexed)
                        (void) cni_index_remove(c->req->name, c->req->container_id, c->req->ifname);
                return 0;
        }
        if (f.ports && c->nw && !c->engine) {
                found_done(&f);
                return CNI_HANDOFF;
        }
        r = release_found(c, &f, streq(f.origin, LEASE_CNI));
        if (r >= 0 && f.ports && c->nw) {
                /* Its published ports: the engine takes their rules out
                 * now that the lease is gone. */
                _cleanup_error_ NmError e2 = NM_ERROR_INIT;

                close_leases(c);
                if (c->engine(c->cfg, f.netns, c->warnings, &e2) < 0)
                        warn(c, "the published ports of container %s stay until nsmgrd or the next 'nsmgrctl apply' removes them: %s",
                             c->req->container_id, nm_error_message(&e2));
        } else if (r >= 0 && f.ports)
                warn(c, "the published ports of container %s stay until the next 'nsmgrctl apply' removes them: nsmgr's configuration does not load",
                     c->req->container_id);
        found_done(&f);
        return r;
}

/* --- CHECK ------------------------------------------------------------------------------ */

_printf_(2, 3) static void problem(char ***l, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) strv_extendv(l, fmt, ap);
        va_end(ap);
}

static bool daemon_running(void) {
        _cleanup_(daemon_status_donep) DaemonStatus s = {};

        return daemon_status_read(&s) >= 0 && daemon_status_alive(&s) && s.state && !streq(s.state, "stopped");
}

static int cmd_check(Ctx *c) {
        _cleanup_strv_free_ char **problems = NULL;
        _cleanup_free_ char *host_end = NULL;
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        _cleanup_close_ int nsfd = -EBADF;
        bool ipam_mode = c->req->mode == CNI_MODE_IPAM, indexed;
        char b[CIDR_STRLEN];
        uint64_t ino = 0;
        Found f = {};
        int r, idx = -1;

        if (!c->req->prev_result)
                return cni_error(c->err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "CHECK needs prevResult, the result of the ADD it checks");
        r = open_netns(c, &nsfd, &ino);
        if (r < 0)
                return r;
        r = load_network(c, CNI_ERR_FAILED);
        if (r >= 0)
                r = find_indexed(c, &f, &indexed);
        if (r < 0)
                return r;
        if (!found_any(&f))
                return cni_error(c->err, CNI_ERR_UNKNOWN_CONTAINER, "container unknown",
                                 "network '%s' has no lease for container %s, interface %s (was it added? it may have been released by GC)",
                                 c->nw->name, c->req->container_id, c->req->ifname);
        if (c->req->require_daemon && !daemon_running())
                problem(&problems, "nsmgrd is not running, and this network requires it (requireDaemon)");
        if (!streq_ptr(f.path, c->req->netns) || (f.inode && f.inode != ino))
                problem(&problems, "the lease is for namespace %s, not %s", f.path ? f.path : f.netns, c->req->netns);
        if (c->nw->subnet.family && !f.addr4.family)
                problem(&problems, "there is no IPv4 lease");
        if (c->nw->subnet6.family && !f.addr6.family)
                problem(&problems, "there is no IPv6 lease");

        if (!ipam_mode) {
                PodWire w = { .bridge = c->nw->bridge, .ifname = c->req->ifname, .nsfd = nsfd, .addr4 = f.addr4,
                              .addr6 = f.addr6, .single_threaded = true };
                PodState st = {};

                host_end = host_end_of(f.netns, c->req->ifname);
                if (!host_end || host_socket(c) < 0) {
                        found_done(&f);
                        return host_end ? -EIO : -ENOMEM;
                }
                w.host_ifname = host_end;
                if (f.addr4.family)
                        w.gw4 = c->nw->gateway;
                if (f.addr6.family)
                        w.gw6 = c->nw->gateway6;
                r = pod_inspect(c->host, &w, &st, &e);
                if (r < 0) {
                        found_done(&f);
                        return fail_nm(c, CNI_ERR_FAILED, "cannot inspect the attachment", &e);
                }
                if (!st.host_end)
                        problem(&problems, "the host end of the veth, %s, is missing", host_end);
                else if (!st.on_bridge)
                        problem(&problems, "%s is not a port of bridge %s", host_end, c->nw->bridge);
                else if (!st.host_up)
                        problem(&problems, "%s is down", host_end);
                if (!st.inner)
                        problem(&problems, "%s is missing in %s", c->req->ifname, c->req->netns);
                else if (!st.paired)
                        problem(&problems, "%s in %s is not the veth nsmgr made (its peer is not %s)", c->req->ifname,
                                c->req->netns, host_end);
                else {
                        if (!st.inner_up)
                                problem(&problems, "%s is down", c->req->ifname);
                        if (!st.addr4)
                                problem(&problems, "%s lacks its address %s", c->req->ifname, cidr_format(&f.addr4, true, b));
                        if (!st.addr6)
                                problem(&problems, "%s lacks its address %s", c->req->ifname, cidr_format(&f.addr6, true, b));
                }
                if (!cni_prev_result_has_interface(c->req->prev_result, c->req->ifname, c->req->netns, &idx))
                        problem(&problems, "prevResult lists no interface %s in %s", c->req->ifname, c->req->netns);
        }
        if (f.addr4.family && !cni_prev_result_has_ip(c->req->prev_result, &f.addr4, idx))
                problem(&problems, "prevResult does not list the leased address %s", cidr_format(&f.addr4, true, b));
        if (f.addr6.family && !cni_prev_result_has_ip(c->req->prev_result, &f.addr6, idx))
                problem(&problems, "prevResult does not list the leased address %s", cidr_format(&f.addr6, true, b));
        found_done(&f);

        if (problems) {
                _cleanup_free_ char *joined = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&joined, &len);

                if (!m)
                        return -ENOMEM;
                STRV_FOREACH(p, problems)
                        fprintf(m, "%s%s", p == problems ? "" : "; ", *p);
                fclose(m);
                return cni_error(c->err, CNI_ERR_CHECK_FAILED, "the attachment is not as it should be",
                                 "container %s, %s on network '%s': %s", c->req->container_id, c->req->ifname, c->nw->name,
                                 joined ? joined : "?");
        }
        return 0;
}

/* --- STATUS ----------------------------------------------------------------------------- */

static int cmd_status(Ctx *c) {
        _cleanup_error_ NmError e = NM_ERROR_INIT;
        char sb[CIDR_STRLEN];
        int r;

        r = load_network(c, CNI_ERR_NOT_AVAILABLE);
        if (r < 0)
                return r;
        if (c->req->require_daemon && !daemon_running())
                return cni_error(c->err, CNI_ERR_NOT_AVAILABLE, "nsmgrd is not running",
                                 "network '%s' requires nsmgrd (requireDaemon), and it is not running; start it (systemctl start nsmgrd)",
                                 c->nw->name);
        /* A free address in each family, without writing a lease. */
        r = ipam_open(c->nw->name, c->nw->subnet.family ? &c->nw->subnet : NULL,
                      c->nw->subnet.family ? &c->nw->gateway : NULL, c->nw->subnet6.family ? &c->nw->subnet6 : NULL,
                      c->nw->subnet6.family ? &c->nw->gateway6 : NULL, true, &c->ipam, &e);
        if (r < 0)
                return cni_error(c->err, CNI_ERR_NOT_AVAILABLE, "cannot read the leases", "%s", nm_error_message(&e));
        c->ipam_open = true;
        for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
                const Cidr *subnet = fam == AF_INET6 ? &c->nw->subnet6 : &c->nw->subnet;
                Cidr a;

                if (!subnet->family)
                        continue;
                r = ipam_lease(&c->ipam, fam, "\001status", "\001status", NULL, LEASE_CNI, true, &a, NULL);
                if (r == -ENOSPC)
                        return cni_error(c->err, CNI_ERR_NOT_AVAILABLE, "no free address",
                                         "network '%s' (%s) has no free address left; widen the subnet or remove pods",
                                         c->nw->name, cidr_format(subnet, true, sb));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- GC --------------------------------------------------------------------------------- */

static bool valid_attachment(const CniRequest *req, const char *container, const char *ifname) {
        for (size_t i = 0; i < req->n_valid; i++)
                if (streq_ptr(container, req->valid[i].container_id) && streq(ifname, req->valid[i].ifname))
                        return true;
        return false;
}

/* Index entries of attachments that are not valid and hold nothing (their
 * leases went with an apply, or by hand), and leftovers of a crash. */
static void gc_index(Ctx *c) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (asprintf(&dir, CNI_INDEX_DIR "/%s", c->req->name) < 0 || !(d = opendir(dir)))
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *copy = strdup(de->d_name);
                char *colon = copy ? strchr(copy, ':') : NULL;

                if (de->d_name[0] == '.' || !colon)
                        continue;
                if (strstr(colon, ".tmp.")) {
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                *colon = 0;
                if (!valid_attachment(c->req, copy, colon + 1))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
}

static int cmd_gc(Ctx *c) {
        _cleanup_strv_free_ char **errors = NULL, **ported = NULL;
        Found *stale = NULL;
        size_t n_stale = 0;
        int r;

        r = load_network(c, CNI_ERR_FAILED);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                warn(c, "%s", c->err->details ? c->err->details : "the nsmgr configuration does not load");
                cni_error_done(c->err);
                c->nw = NULL;
        }
        r = take_lock(c);
        if (r >= 0)
                r = open_leases(c);
        if (r < 0)
                return r;
        if (!c->ipam_open)
                return 0;

        /* The stale attachments first (both families of each at once),
         * then their release, each on its own: one that fails does not
         * keep the others. GC is the one request that reads every lease. */
        for (size_t i = 0; i < c->ipam.n_leases; i++) {
                const Lease *l = &c->ipam.leases[i];
                bool seen = false;
                Found *v;

                if (!is_cni_lease(l) || !streq_ptr(l->cni_network, c->req->name) ||
                    valid_attachment(c->req, l->container, l->ifname))
                        continue;
                for (size_t k = 0; k < n_stale && !seen; k++)
                        seen = streq_ptr(stale[k].container, l->container) && streq(stale[k].ifname, l->ifname);
                if (seen)
                        continue;
                v = realloc(stale, (n_stale + 1) * sizeof(Found));
                if (!v) {
                        r = -ENOMEM;
                        goto out;
                }
                stale = v;
                r = find_attachment(&c->ipam, l->cni_network, l->container, l->ifname, &stale[n_stale]);
                if (r < 0)
                        goto out;
                n_stale++;
        }
        for (size_t k = 0; k < n_stale && !c->engine && c->nw; k++)
                if (stale[k].ports) {
                        r = CNI_HANDOFF;
                        goto out;
                }
        for (size_t k = 0; k < n_stale; k++) {
                CniError one = CNI_ERROR_INIT, *saved = c->err;

                c->err = &one;
                r = release_found(c, &stale[k], streq(stale[k].origin, LEASE_CNI));
                c->err = saved;
                if (r < 0)
                        (void) strv_extendf(&errors, "container %s, %s: %s", stale[k].container ? stale[k].container : "?",
                                            stale[k].ifname, one.details ? one.details : strerror(-r));
                else if (stale[k].ports)
                        (void) strv_extend(&ported, stale[k].netns);
                cni_error_done(&one);
        }
        gc_index(c);
        if (ported)
                close_leases(c);
        STRV_FOREACH(n, ported) {
                _cleanup_error_ NmError e = NM_ERROR_INIT;

                if (c->nw && c->engine && c->engine(c->cfg, *n, c->warnings, &e) < 0)
                        (void) strv_extend(&errors, nm_error_message(&e));
        }
        r = 0;
        if (errors) {
                _cleanup_free_ char *joined = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&joined, &len);

                if (!m) {
                        r = -ENOMEM;
                        goto out;
                }
                STRV_FOREACH(x, errors)
                        fprintf(m, "%s%s", x == errors ? "" : "; ", *x);
                fclose(m);
                r = cni_error(c->err, CNI_ERR_FAILED, "some stale leases could not be released", "%s",
                              joined ? joined : "?");
        }
out:
        for (size_t k = 0; k < n_stale; k++)
                found_done(&stale[k]);
        free(stale);
        return r;
}

int cni_plugin_run(const CniRequest *req, cni_engine_fn engine, json_object **ret_out, char ***warnings,
                   CniError *err) {
        _cleanup_(ctx_done) Ctx c = { .req = req, .engine = engine, .err = err, .warnings = warnings, .lock = -EBADF,
                                      .ipam = { .lockfd = -EBADF } };
        int r;

        *ret_out = NULL;
        switch (req->command) {
        case CNI_VERSION:
                *ret_out = cni_version_info(req->version);
                return *ret_out ? 0 : -ENOMEM;
        case CNI_ADD:
                r = cmd_add(&c, ret_out);
                break;
        case CNI_DEL:
                r = cmd_del(&c);
                break;
        case CNI_CHECK:
                r = cmd_check(&c);
                break;
        case CNI_STATUS:
                r = cmd_status(&c);
                break;
        case CNI_GC:
                r = cmd_gc(&c);
                break;
        default:
                r = -EINVAL;
        }
        if (r == CNI_HANDOFF)
                cni_error_done(err);
        else if (r == -ENOMEM && !err->code)
                cni_error(err, CNI_ERR_FAILED, "out of memory", "nsmgr ran out of memory");
        return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "fileio.h"
#include "ipam.h"
#include "macro.h"
#include "name.h"
#include "paths.h"
#include "strv.h"

#define IPAM_DIR NSMGR_STATE_DIR "/ipam"

static void lease_free(Lease *l) {
        free(l->netns);
        free(l->ifname);
        free(l->origin);
        free(l->path);
        free(l->container);
        free(l->cni_network);
        free(l->ports);
}

void ipam_close(Ipam *ipam) {
        for (size_t i = 0; i < ipam->n_leases; i++)
                lease_free(&ipam->leases[i]);
        free(ipam->leases);
        strmap_done(&ipam->by_addr);
        strmap_done(&ipam->by_owner);
        strv_free(ipam->warnings);
        free(ipam->network);
        free(ipam->dir);
        safe_close(ipam->lockfd);
        *ipam = (Ipam) { .lockfd = -EBADF };
}

/* Lease file content: "netns=NAME\ninterface=IF\norigin=ORIGIN\n", then
 * the extra lines of LeaseExtra, if any, and "state=releasing\n" once it is
 * being given back. Other keys (written by newer versions, or plugins) are
 * kept as they are. */
static char **lease_extra_field(Lease *l, const char *key) {
        return streq(key, "path") ? &l->path : streq(key, "container") ? &l->container
             : streq(key, "cni_network") ? &l->cni_network : streq(key, "ports") ? &l->ports : NULL;
}

static int parse_lease(const char *text, Lease *l) {
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                char **field;

                if (!eq)
                        continue;
                *eq = 0;
                if (streq(line, "state")) {
                        l->releasing = streq(eq + 1, "releasing");
                        continue;
                }
                field = streq(line, "netns") ? &l->netns : streq(line, "interface") ? &l->ifname
                      : streq(line, "origin") ? &l->origin : lease_extra_field(l, line);
                if (streq(line, "inode")) {
                        l->inode = strtoull(eq + 1, NULL, 10);
                        continue;
                }
                if (!field)
                        continue;
                free(*field);
                *field = strdup(eq + 1);
                if (!*field)
                        return -ENOMEM;
        }
        if (!l->netns || !l->ifname || !netns_name_is_valid(l->netns) || !ifname_is_valid(l->ifname))
                return -EBADMSG;
        if (!l->origin && !(l->origin = strdup(LEASE_CONFIG)))
                return -ENOMEM;
        return 0;
}

static const Cidr *subnet_of(const Ipam *ipam, int family) {
        return family == AF_INET6 ? &ipam->subnet6 : &ipam->subnet;
}

static char *owner_key(int family, const char *netns, const char *ifname) {
        char *k;

        if (asprintf(&k, "%d/%s/%s", family, ifname, netns) < 0)
                return NULL;
        return k;
}

/* A lease being given back keeps its address out of use, but its owner
 * may lease anew meanwhile. */
static bool has_owner(const Lease *l) {
        return l->netns && !l->retired && !l->releasing;
}

static int index_lease(Ipam *ipam, size_t i) {
        const Lease *l = &ipam->leases[i];
        _cleanup_free_ char *ok = NULL;
        char buf[CIDR_STRLEN];
        int r;

        r = strmap_put(&ipam->by_addr, cidr_format(&l->addr, false, buf), i);
        if (r < 0 || !has_owner(l))
                return r;
        ok = owner_key(l->addr.family, l->netns, l->ifname);
        if (!ok)
                return -ENOMEM;
        return strmap_put(&ipam->by_owner, ok, i);
}

static void unindex_lease(Ipam *ipam, size_t i) {
        const Lease *l = &ipam->leases[i];
        _cleanup_free_ char *ok = has_owner(l) ? owner_key(l->addr.family, l->netns, l->ifname) : NULL;
        char buf[CIDR_STRLEN];

        strmap_remove(&ipam->by_addr, cidr_format(&l->addr, false, buf));
        if (ok)
                strmap_remove(&ipam->by_owner, ok);
}

static int load(Ipam *ipam) {
        _cleanup_closedir_ DIR *d = NULL;
        size_t cap = 0;
        struct dirent *de;
        int r;

        d = opendir(ipam->dir);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                Lease l = {};
                Cidr a;

                if (asprintf(&path, "%s/%s", ipam->dir, de->d_name) < 0)
                        return -ENOMEM;
                /* A temporary file a crash left behind never became a lease
                 * (".ADDR.tmp.PID" of a new lease, "ADDR.tmp.PID" of one
                 * rewritten; writers hold the lock we hold). */
                if (strstr(de->d_name, ".tmp.")) {
                        if (!ipam->dry_run)
                                (void) unlink(path);
                        continue;
                }
                if (de->d_name[0] == '.')
                        continue;
                if (cidr_parse(de->d_name, false, &a) < 0) {
                        /* Not a lease (a name nsmgr never writes): not ours to judge. */
                        continue;
                }
                if (!subnet_of(ipam, a.family)->family) {
                        lease_free(&l);
                        continue;
                }
                r = read_full_file(path, &text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        r = parse_lease(text, &l);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        char buf[CIDR_STRLEN];

                        /* Whoever wrote it may use the address: keep it out
                         * of use rather than block every allocation. */
                        lease_free(&l);
                        l = (Lease) {};
                        (void) strv_extendf(&ipam->warnings,
                                            "network '%s': the lease file %s cannot be read; address %s stays out of use until it is removed",
                                            ipam->network, path, cidr_format(&a, false, buf));
                }
                a.prefixlen = subnet_of(ipam, a.family)->prefixlen;
                l.addr = a;
                if (GREEDY_REALLOC(ipam->leases, cap, ipam->n_leases + 1) < 0) {
                        lease_free(&l);
                        return -ENOMEM;
                }
                ipam->leases[ipam->n_leases] = l;
                if (index_lease(ipam, ipam->n_leases) < 0)
                        return -ENOMEM;
                ipam->n_leases++;
        }
        return 0;
}

int ipam_open(const char *network, const Cidr *subnet, const Cidr *gateway, const Cidr *subnet6,
              const Cidr *gateway6, bool dry_run, Ipam *ret, NmError *err) {
        Ipam ipam = { .lockfd = -EBADF };
        int r;

        ipam.dry_run = dry_run;
        ipam.network = strdup(network);
        if (!ipam.network || asprintf(&ipam.dir, IPAM_DIR "/%s", network) < 0) {
                ipam_close(&ipam);
                return -ENOMEM;
        }
        if (subnet)
                ipam.subnet = *subnet;
        if (gateway)
                ipam.gateway = *gateway;
        if (subnet6)
                ipam.subnet6 = *subnet6;
        if (gateway6)
                ipam.gateway6 = *gateway6;

        /* The folder is made with the first lease (a refused apply leaves
         * none behind); without it there is nothing to lock yet, so the
         * parent folder is locked instead. */
        ipam.lockfd = open(ipam.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ipam.lockfd < 0 && errno == ENOENT && !dry_run) {
                r = mkdir_p(IPAM_DIR, 0755);
                if (r < 0) {
                        ipam_close(&ipam);
                        return nm_error(err, r, "network '%s': cannot create %s: %s", network, IPAM_DIR,
                                        strerror(-r));
                }
                ipam.lockfd = open(IPAM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (ipam.lockfd >= 0 && flock(ipam.lockfd, LOCK_EX) < 0) {
                r = negative_errno();
                ipam_close(&ipam);
                return nm_error(err, r, "network '%s': cannot lock its leases: %s", network, strerror(-r));
        }
        r = load(&ipam);
        if (r < 0) {
                ipam_close(&ipam);
                return nm_error(err, r, "network '%s': cannot read its leases in %s: %s", network, IPAM_DIR,
                                strerror(-r));
        }
        *ret = ipam;
        return 0;
}

const Lease *ipam_find(const Ipam *ipam, int family, const char *netns, const char *ifname) {
        _cleanup_free_ char *k = owner_key(family, netns, ifname);
        size_t i;

        if (!k || !strmap_get(&ipam->by_owner, k, &i))
                return NULL;
        return &ipam->leases[i];
}

const Lease *ipam_find_addr(const Ipam *ipam, const Cidr *addr) {
        char buf[CIDR_STRLEN];
        size_t i;

        if (!strmap_get(&ipam->by_addr, cidr_format(addr, false, buf), &i))
                return NULL;
        return &ipam->leases[i];
}

Cidr ipam_first_host(const Cidr *subnet) {
        Cidr c = cidr_network(subnet);
        int last = cidr_addr_bytes(c.family) - 1;

        c.addr[last] |= 1;
        return c;
}

static bool is_broadcast(const Cidr *subnet, const Cidr *addr) {
        int bits = subnet->prefixlen;

        if (subnet->family != AF_INET || bits >= 31)
                return false;
        for (int i = 0; i < 4; i++) {
                int b = i * 8;
                uint8_t host_mask = b >= bits ? 0xff : b + 8 > bits ? (uint8_t) (0xff >> (bits - b)) : 0;
                if ((addr->addr[i] & host_mask) != host_mask)
                        return false;
        }
        return true;
}

bool ipam_is_host_addr(const Cidr *subnet, const Cidr *addr) {
        Cidr net = cidr_network(subnet);

        if (!cidr_contains(subnet, addr))
                return false;
        if (subnet->prefixlen < cidr_addr_bytes(subnet->family) * 8 - 1 && cidr_addr_equal(&net, addr))
                return false;
        return !is_broadcast(subnet, addr);
}

/* addr + 1, in place; false on overflow out of the subnet. */
static bool next_addr(const Cidr *subnet, Cidr *addr) {
        for (int i = cidr_addr_bytes(addr->family) - 1; i >= 0; i--)
                if (++addr->addr[i] != 0)
                        break;
        return cidr_contains(subnet, addr);
}

/* The extra lines: "key=value\n" for each field given. */
static char *extra_text(const LeaseExtra *x) {
        char *s = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        if (x && x->path)
                fprintf(f, "path=%s\n", x->path);
        if (x && x->inode)
                fprintf(f, "inode=%" PRIu64 "\n", x->inode);
        if (x && x->container)
                fprintf(f, "container=%s\n", x->container);
        if (x && x->cni_network)
                fprintf(f, "cni_network=%s\n", x->cni_network);
        if (x && x->ports)
                fprintf(f, "ports=%s\n", x->ports);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

static int lease_write(Ipam *ipam, const Cidr *addr, const char *netns, const char *ifname, const char *origin,
                       const LeaseExtra *extra, NmError *err) {
        _cleanup_free_ char *more = extra_text(extra);
        _cleanup_free_ char *path = NULL, *tmp = NULL, *text = NULL;
        char buf[CIDR_STRLEN];
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        size_t len;
        int r;

        if (asprintf(&path, "%s/%s", ipam->dir, cidr_format(addr, false, buf)) < 0 ||
            asprintf(&tmp, "%s/.%s.tmp.%d", ipam->dir, buf, (int) getpid()) < 0 ||
            !more || asprintf(&text, "netns=%s\ninterface=%s\norigin=%s\n%s", netns, ifname, origin, more) < 0)
                return -ENOMEM;
        len = strlen(text);
        r = mkdir_p(ipam->dir, 0755);
        if (r < 0)
                return nm_error(err, r, "network '%s': cannot create %s: %s", ipam->network, ipam->dir, strerror(-r));

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return nm_error(err, negative_errno(), "network '%s': cannot write a lease: %m", ipam->network);
        if (write(fd, text, len) != (ssize_t) len || fsync(fd) < 0) {
                r = errno ? negative_errno() : -EIO;
                (void) unlink(tmp);
                return nm_error(err, r, "network '%s': cannot write a lease: %s", ipam->network, strerror(-r));
        }
        /* link() fails if the name exists: the claim is atomic (O_EXCL). */
        if (link(tmp, path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                if (r == -EEXIST)
                        return nm_error(err, r, "network '%s': address %s was leased by someone else meanwhile",
                                        ipam->network, buf);
                return nm_error(err, r, "network '%s': cannot write the lease of %s: %s", ipam->network, buf,
                                strerror(-r));
        }
        (void) unlink(tmp);
        dfd = open(ipam->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}

static bool dup_extra(char **dst, const char *src) {
        return !src || (*dst = strdup(src));
}

static int lease_add(Ipam *ipam, const Cidr *addr, const char *netns, const char *ifname, const char *origin,
                     const LeaseExtra *x) {
        Lease *nv = realloc(ipam->leases, (ipam->n_leases + 1) * sizeof(Lease));
        Lease *l;

        if (!nv)
                return -ENOMEM;
        ipam->leases = nv;
        l = &nv[ipam->n_leases];
        *l = (Lease) { .addr = *addr, .netns = strdup(netns), .ifname = strdup(ifname), .origin = strdup(origin) };
        if (x) {
                l->inode = x->inode;
                if (!dup_extra(&l->path, x->path) || !dup_extra(&l->container, x->container) ||
                    !dup_extra(&l->cni_network, x->cni_network) || !dup_extra(&l->ports, x->ports)) {
                        lease_free(l);
                        return -ENOMEM;
                }
        }
        if (!nv[ipam->n_leases].netns || !nv[ipam->n_leases].ifname || !nv[ipam->n_leases].origin ||
            index_lease(ipam, ipam->n_leases) < 0) {
                lease_free(&nv[ipam->n_leases]);
                return -ENOMEM;
        }
        ipam->n_leases++;
        return 0;
}

int ipam_lease(Ipam *ipam, int family, const char *netns, const char *ifname, const Cidr *requested,
               const char *origin, bool dry_run, Cidr *ret, NmError *err) {
        return ipam_lease_extra(ipam, family, netns, ifname, requested, origin, NULL, dry_run, ret, err);
}

int ipam_lease_extra(Ipam *ipam, int family, const char *netns, const char *ifname, const Cidr *requested,
                     const char *origin, const LeaseExtra *extra, bool dry_run, Cidr *ret, NmError *err) {
        const Cidr *subnet = subnet_of(ipam, family);
        const Cidr *gateway = family == AF_INET6 ? &ipam->gateway6 : &ipam->gateway;
        const Lease *have = ipam_find(ipam, family, netns, ifname);
        char buf[CIDR_STRLEN], sbuf[CIDR_STRLEN];
        Cidr addr;
        int r;

        if (!subnet->family)
                return nm_error(err, -EAFNOSUPPORT, "network '%s' has no %s subnet", ipam->network,
                                family == AF_INET6 ? "IPv6" : "IPv4");

        if (have && (!requested || !requested->family || cidr_addr_equal(&have->addr, requested))) {
                *ret = have->addr;
                return 0;
        }
        if (have)
                return nm_error(err, -EEXIST, "namespace '%s', interface %s already has address %s on network '%s'",
                                netns, ifname, cidr_format(&have->addr, false, buf), ipam->network);

        if (requested && requested->family) {
                const Lease *other;

                addr = *requested;
                addr.prefixlen = subnet->prefixlen;
                if (!ipam_is_host_addr(subnet, &addr) || cidr_addr_equal(&addr, gateway))
                        return nm_error(err, -EINVAL,
                                        "address %s cannot be leased on network '%s': it is %s of %s",
                                        cidr_format(&addr, false, buf), ipam->network,
                                        !cidr_contains(subnet, &addr) ? "outside"
                                        : cidr_addr_equal(&addr, gateway) ? "the gateway"
                                                                          : "the network or broadcast address",
                                        cidr_format(subnet, true, sbuf));
                other = ipam_find_addr(ipam, &addr);
                if (other)
                        return nm_error(err, -EADDRINUSE,
                                        "address %s on network '%s' is already leased to namespace '%s' (%s)",
                                        cidr_format(&addr, false, buf), ipam->network, other->netns, other->ifname);
        } else {
                size_t hosts_seen = 0;
                bool found = false;

                /* The lowest free host address; nothing below the cursor is
                 * free, so allocating N addresses costs O(N), not O(N^2). */
                Cidr *cursor = family == AF_INET6 ? &ipam->cursor6 : &ipam->cursor;

                addr = cursor->family ? *cursor : cidr_network(subnet);
                while (next_addr(subnet, &addr)) {
                        if (!ipam_is_host_addr(subnet, &addr) || cidr_addr_equal(&addr, gateway))
                                continue;
                        hosts_seen++;
                        if (!ipam_find_addr(ipam, &addr)) {
                                found = true;
                                break;
                        }
                }
                if (!found)
                        return nm_error(err, -ENOSPC,
                                        "network '%s' (%s) has no free address left: all %zu are leased; detach something or widen the subnet",
                                        ipam->network, cidr_format(subnet, true, sbuf),
                                        hosts_seen + (cursor->family ? ipam->n_leases : 0));
                addr.prefixlen = subnet->prefixlen;
                *cursor = addr;
        }

        if (!dry_run) {
                r = lease_write(ipam, &addr, netns, ifname, origin, extra, err);
                if (r < 0)
                        return r;
        }
        r = lease_add(ipam, &addr, netns, ifname, origin, extra);
        if (r < 0)
                return r;
        *ret = addr;
        return 1;
}

void ipam_forget(Ipam *ipam, const Cidr *addr) {
        const Lease *l = ipam_find_addr(ipam, addr);
        Cidr *cursor = addr->family == AF_INET6 ? &ipam->cursor6 : &ipam->cursor;
        size_t i;

        if (!l)
                return;
        i = (size_t) (l - ipam->leases);
        unindex_lease(ipam, i);
        lease_free(&ipam->leases[i]);
        if (i != ipam->n_leases - 1) {
                unindex_lease(ipam, ipam->n_leases - 1);
                ipam->leases[i] = ipam->leases[ipam->n_leases - 1];
                (void) index_lease(ipam, i);
        }
        ipam->n_leases--;
        /* A freed address may lie below the cursor. */
        *cursor = (Cidr) {};
}

int ipam_release(Ipam *ipam, const Cidr *addr, NmError *err) {
        _cleanup_free_ char *path = NULL;
        char buf[CIDR_STRLEN];
        Cidr a = *addr;

        if (asprintf(&path, "%s/%s", ipam->dir, cidr_format(&a, false, buf)) < 0)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return nm_error(err, negative_errno(), "network '%s': cannot release %s: %m", ipam->network, buf);
        ipam_forget(ipam, &a);
        /* The last lease takes the folder along (ENOTEMPTY otherwise). */
        (void) rmdir(ipam->dir);
        return 0;
}

void ipam_retire(Ipam *ipam, const Cidr *addr) {
        const Lease *l = ipam_find_addr(ipam, addr);
        size_t i;

        if (!l || !has_owner(l))
                return;
        i = (size_t) (l - ipam->leases);
        unindex_lease(ipam, i);
        ipam->leases[i].retired = true;
        (void) index_lease(ipam, i);
}

int ipam_mark_releasing(Ipam *ipam, const Cidr *addr, NmError *err) {
        _cleanup_free_ char *path = NULL, *text = NULL, *marked = NULL;
        Lease *l = (Lease *) ipam_find_addr(ipam, addr);
        char buf[CIDR_STRLEN];
        int r;

        if (!l || l->releasing)
                return 0;
        if (asprintf(&path, "%s/%s", ipam->dir, cidr_format(addr, false, buf)) < 0)
                return -ENOMEM;
        r = read_full_file(path, &text, NULL);
        if (r < 0)
                return nm_error(err, r, "network '%s': cannot read the lease of %s: %s", ipam->network, buf,
                                strerror(-r));
        if (asprintf(&marked, "%s%sstate=releasing\n", text, *text && text[strlen(text) - 1] != '\n' ? "\n" : "") < 0)
                return -ENOMEM;
        r = write_file_atomic(path, marked, strlen(marked), 0644);
        if (r < 0)
                return nm_error(err, r, "network '%s': cannot mark the lease of %s as given back: %s", ipam->network,
                                buf, strerror(-r));
        unindex_lease(ipam, (size_t) (l - ipam->leases));
        l->releasing = true;
        return index_lease(ipam, (size_t) (l - ipam->leases));
}

int ipam_open_lite(const char *network, Ipam *ret, NmError *err) {
        Ipam ipam = { .lockfd = -EBADF };
        int r;

        ipam.network = strdup(network);
        if (!ipam.network || asprintf(&ipam.dir, IPAM_DIR "/%s", network) < 0) {
                ipam_close(&ipam);
                return -ENOMEM;
        }
        r = mkdir_p(ipam.dir, 0755);
        if (r >= 0) {
                ipam.lockfd = open(ipam.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = ipam.lockfd < 0 || flock(ipam.lockfd, LOCK_EX) < 0 ? negative_errno() : 0;
        }
        if (r < 0) {
                ipam_close(&ipam);
                return nm_error(err, r, "network '%s': cannot lock its leases in %s: %s", network, IPAM_DIR,
                                strerror(-r));
        }
        *ret = ipam;
        return 0;
}

int ipam_claim(Ipam *ipam, const Cidr *addr, const char *netns, const char *ifname, const char *origin,
               const LeaseExtra *extra, NmError *err) {
        return lease_write(ipam, addr, netns, ifname, origin, extra, err);
}

void ipam_lease_done(Lease *l) {
        lease_free(l);
        *l = (Lease) {};
}

int ipam_read_lease(const Ipam *ipam, const Cidr *addr, Lease *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        char buf[CIDR_STRLEN];
        Lease l = {};
        int r;

        if (asprintf(&path, "%s/%s", ipam->dir, cidr_format(addr, false, buf)) < 0)
                return -ENOMEM;
        r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;
        r = parse_lease(text, &l);
        if (r < 0) {
                lease_free(&l);
                return r;
        }
        l.addr = *addr;
        *ret = l;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <unistd.h>

#include "cniindex.h"
#include "fileio.h"

static char *entry_path(const char *cni_network, const char *container, const char *ifname) {
        char *p;

        /* ':' is in neither a container ID nor an interface name. */
        if (asprintf(&p, CNI_INDEX_DIR "/%s/%s:%s", cni_network, container, ifname) < 0)
                return NULL;
        return p;
}

int cni_index_read(const char *cni_network, const char *container, const char *ifname, CniIndexEntry *ret) {
        _cleanup_free_ char *path = entry_path(cni_network, container, ifname);
        char target[PATH_MAX], a4[64], a6[64];
        CniIndexEntry e = {};
        ssize_t n;

        if (!path)
                return -ENOMEM;
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return errno == ENOENT ? -ENOENT : negative_errno();
        target[n] = 0;
        if (sscanf(target, "%127s %63s %63s", e.network, a4, a6) != 3)
                return -EBADMSG;
        if ((!streq(a4, "-") && cidr_parse(a4, true, &e.addr4) < 0) ||
            (!streq(a6, "-") && cidr_parse(a6, true, &e.addr6) < 0))
                return -EBADMSG;
        *ret = e;
        return 0;
}

int cni_index_write(const char *cni_network, const char *container, const char *ifname, const CniIndexEntry *e,
                    NmError *err) {
        _cleanup_free_ char *path = entry_path(cni_network, container, ifname), *dir = NULL, *tmp = NULL,
                            *target = NULL;
        char b4[CIDR_STRLEN], b6[CIDR_STRLEN];
        int r;

        if (!path || asprintf(&dir, CNI_INDEX_DIR "/%s", cni_network) < 0 ||
            asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0 ||
            asprintf(&target, "%s %s %s", e->network, e->addr4.family ? cidr_format(&e->addr4, true, b4) : "-",
                     e->addr6.family ? cidr_format(&e->addr6, true, b6) : "-") < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return nm_error(err, r, "cannot create %s: %s", dir, strerror(-r));
        (void) unlink(tmp);
        if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return nm_error(err, r, "cannot record the attachment in %s: %s", dir, strerror(-r));
        }
        return 0;
}

int cni_index_remove(const char *cni_network, const char *container, const char *ifname) {
        _cleanup_free_ char *path = entry_path(cni_network, container, ifname);

        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

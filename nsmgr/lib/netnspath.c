/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "name.h"
#include "netns.h"
#include "netnspath.h"

int netns_open_path(const char *path, int *ret_fd, uint64_t *ret_inode, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (!path || path[0] != '/')
                return nm_error(err, -EINVAL, "'%s' is not a namespace path: it must be absolute, e.g. /run/netns/NAME",
                                path ? path : "");
        /* Not O_NOFOLLOW: /proc/PID/ns/net is a symbolic link of the kernel's. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT || errno == ESRCH)
                        return nm_error(err, -ENOENT, "network namespace %s does not exist", path);
                return nm_error(err, negative_errno(), "cannot open network namespace %s: %m", path);
        }
        r = netns_fd_check(fd, path, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return nm_error(err, negative_errno(), "cannot inspect %s: %m", path);
        if (ret_inode)
                *ret_inode = (uint64_t) st.st_ino;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int netns_name_of_path(const char *path, char **ret, NmError *err) {
        static const char *const pinned[] = { "/run/netns/", "/var/run/netns/" };
        char *name;

        if (!path || path[0] != '/')
                return nm_error(err, -EINVAL, "'%s' is not a namespace path: it must be absolute", path ? path : "");
        for (size_t i = 0; i < ELEMENTSOF(pinned); i++) {
                size_t n = strlen(pinned[i]);
                const char *base = path + n;

                if (strneq(path, pinned[i], n) && !strchr(base, '/') && netns_name_is_valid(base)) {
                        name = strdup(base);
                        if (!name)
                                return -ENOMEM;
                        *ret = name;
                        return 0;
                }
        }
        name = strdup(path + 1);
        if (!name)
                return -ENOMEM;
        for (char *p = name; *p; p++)
                if (*p == '/')
                        *p = ':';
        if (!netns_name_is_valid(name)) {
                free(name);
                return nm_error(err, -EINVAL, "'%s' cannot name a namespace: it is longer than %d bytes or has control characters",
                                path, NAME_MAX);
        }
        *ret = name;
        return 0;
}

bool netns_path_is(const char *path, uint64_t inode) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t ino = 0;

        if (netns_open_path(path, &fd, &ino, NULL) < 0)
                return false;
        return inode == 0 || ino == inode;
}

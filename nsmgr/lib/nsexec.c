/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "netns.h"
#include "nsexec.h"
#include "paths.h"

static void bind_etc(const char *name, nsexec_warn_t warn) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (asprintf(&dir, NETNS_ETC_DIR "/%s", name) < 0)
                return;
        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *src = NULL, *dst = NULL, *msg = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf(&src, "%s/%s", dir, de->d_name) < 0 || asprintf(&dst, "/etc/%s", de->d_name) < 0)
                        return;
                if (mount(src, dst, "none", MS_BIND, NULL) < 0 && warn &&
                    asprintf(&msg, "cannot bind %s over %s: %m, ignoring", src, dst) >= 0)
                        warn(msg);
        }
}

int nsexec_enter(const char *name, nsexec_warn_t warn, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        unsigned long flags = 0;
        struct statvfs sv;
        int r;

        r = netns_open(name, &fd, err);
        if (r < 0)
                return r;
        if (setns(fd, CLONE_NEWNET) < 0) {
                if (errno == EPERM)
                        return nm_error(err, -EPERM,
                                        "cannot enter namespace '%s': permission denied; this needs root (CAP_SYS_ADMIN)",
                                        name);
                return nm_error(err, negative_errno(), "cannot enter namespace '%s': %m", name);
        }
        if (unshare(CLONE_NEWNS) < 0)
                return nm_error(err, negative_errno(), "cannot make a private mount namespace: %m");
        /* Mounts made from here on must not propagate back to the caller. */
        if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0)
                return nm_error(err, negative_errno(), "cannot make / a slave mount: %m");

        /* A /sys that describes this namespace's devices. A read-only /sys
         * cannot be shadowed by a writable one. */
        if (umount2("/sys", MNT_DETACH) < 0 && statvfs("/sys", &sv) >= 0 && (sv.f_flag & ST_RDONLY))
                flags |= MS_RDONLY;
        if (mount(name, "/sys", "sysfs", flags, NULL) < 0)
                return nm_error(err, negative_errno(), "cannot mount a /sys for namespace '%s': %m", name);

        bind_etc(name, warn);
        return 0;
}

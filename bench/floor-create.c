/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for creating and deleting pinned network namespaces: only the
 * system calls a pinned namespace needs, nothing else.
 *
 *   floor-create create N PREFIX [--lo]   N namespaces /run/netns/PREFIXi
 *   floor-create delete N PREFIX          unpin them again
 *
 * Per namespace: a placeholder file, unshare(CLONE_NEWNET), a bind mount of
 * /proc/self/ns/net onto it (create); umount2 + unlink (delete). --lo also
 * brings loopback up (one netlink socket and one RTM_NEWLINK), which nsmgr
 * and ip do not agree on: ip netns add leaves lo down, nsmgr brings it up.
 * /run/netns is made a shared mount once, as ip and nsmgr do. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR "/run/netns"

static void die(const char *what) {
        fprintf(stderr, "floor-create: %s: %s\n", what, strerror(errno));
        exit(1);
}

static void dir_prepare(void) {
        if (mkdir(DIR, 0755) < 0 && errno != EEXIST)
                die("mkdir " DIR);
        if (mount("", DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
                return;
        if (mount(DIR, DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
            mount("", DIR, "none", MS_PRIVATE | MS_REC, NULL) < 0 ||
            mount("", DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
                die("make " DIR " a shared mount");
}

static void lo_up(void) {
        struct {
                struct nlmsghdr h;
                struct ifinfomsg i;
        } req = {
                .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_NEWLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
                .i = { .ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP },
        };
        char buf[256];
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

        if (fd < 0)
                die("netlink socket");
        if (send(fd, &req, sizeof(req), 0) < 0 || recv(fd, buf, sizeof(buf), 0) < 0)
                die("loopback up");
        if (((struct nlmsgerr *) NLMSG_DATA(buf))->error != 0) {
                errno = -((struct nlmsgerr *) NLMSG_DATA(buf))->error;
                die("loopback up");
        }
        close(fd);
}

int main(int argc, char **argv) {
        char path[256];
        int n, lo;

        if (argc < 4) {
                fprintf(stderr, "usage: floor-create create|delete N PREFIX [--lo]\n");
                return 2;
        }
        n = atoi(argv[2]);
        lo = argc > 4 && strcmp(argv[4], "--lo") == 0;

        if (strcmp(argv[1], "create") == 0) {
                dir_prepare();
                for (int i = 0; i < n; i++) {
                        int fd;

                        snprintf(path, sizeof(path), DIR "/%s%d", argv[3], i);
                        fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
                        if (fd < 0)
                                die(path);
                        close(fd);
                        if (unshare(CLONE_NEWNET) < 0)
                                die("unshare");
                        if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
                                die(path);
                        if (lo)
                                lo_up();
                }
                return 0;
        }
        if (strcmp(argv[1], "delete") == 0) {
                for (int i = 0; i < n; i++) {
                        snprintf(path, sizeof(path), DIR "/%s%d", argv[3], i);
                        if (umount2(path, MNT_DETACH) < 0)
                                die(path);
                        if (unlink(path) < 0)
                                die(path);
                }
                return 0;
        }
        fprintf(stderr, "floor-create: unknown command '%s'\n", argv[1]);
        return 2;
}

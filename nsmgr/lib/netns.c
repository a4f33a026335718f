/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>

#include "fileio.h"
#include "link.h"
#include "name.h"
#include "netns.h"
#include "nl.h"
#include "nsthread.h"
#include "owner.h"
#include "paths.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

char *netns_path(const char *name) {
        char *p;

        if (!netns_name_is_valid(name))
                return NULL;
        if (asprintf(&p, NETNS_RUN_DIR "/%s", name) < 0)
                return NULL;
        return p;
}

/* The second half of netns_fd_check(), for a handle already known to be of
 * nsfs. */
static int nsfs_fd_check_net(int fd, const char *what, NmError *err) {
        int type = ioctl(fd, NS_GET_NSTYPE);

        if (type < 0)
                return nm_error(err, negative_errno(), "cannot ask the kernel what kind of namespace %s is: %m", what);
        if (type != CLONE_NEWNET)
                return nm_error(err, -EMEDIUMTYPE, "%s is a namespace handle, but not of a network namespace", what);
        return 0;
}

int netns_fd_check(int fd, const char *what, NmError *err) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return nm_error(err, negative_errno(), "cannot inspect %s: %m", what);
        if (sfs.f_type != NSFS_MAGIC)
                return nm_error(err, -EMEDIUMTYPE, "%s is not a namespace handle (not a file of nsfs)", what);
        return nsfs_fd_check_net(fd, what, err);
}

int netns_fd_inode(int fd, ino_t *ret) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        *ret = st.st_ino;
        return 0;
}

uint64_t netns_cookie_of_socket(int fd) {
        uint64_t cookie = 0;
        socklen_t len = sizeof(cookie);

        if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
                return 0;
        return cookie;
}

static int cookie_in_thread(void *userdata) {
        uint64_t *ret = userdata;
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return negative_errno();
        *ret = netns_cookie_of_socket(fd);
        return 0;
}

int netns_fd_cookie(int nsfd, uint64_t *ret) {
        uint64_t cookie = 0;
        int r;

        r = ns_run_in(nsfd, cookie_in_thread, &cookie);
        if (r < 0)
                return r;
        *ret = cookie;
        return 0;
}

/* /run/netns as nsmgr and iproute2 make it, and nothing else: a folder, not
 * a symbolic link that would carry pins elsewhere. */
static int check_run_dir(NmError *err) {
        struct stat st;

        if (lstat(NETNS_RUN_DIR, &st) < 0)
                return errno == ENOENT ? 0 : nm_error(err, negative_errno(), "cannot inspect " NETNS_RUN_DIR ": %m");
        if (S_ISLNK(st.st_mode))
                return nm_error(err, -ELOOP,
                                NETNS_RUN_DIR " is a symbolic link; nsmgr (like ip netns) keeps pins only in a real folder there; remove the link");
        if (!S_ISDIR(st.st_mode))
                return nm_error(err, -ENOTDIR, NETNS_RUN_DIR " is not a folder; remove it");
        return 0;
}

/* /run/netns made, locked, and a shared mount in its own peer group, so
 * that pins propagate into every mount namespace (also services started
 * later), the way iproute2 does it: MS_SHARED|MS_REC, and on EINVAL bind it
 * onto itself, make it private, then shared. Done under the lock, on every
 * call: /run/netns may have been removed since. A concurrent maker of the
 * same name sees either nothing or a finished handle, never a half-made
 * one. Returns the lock fd. */
static int run_dir_lock(NmError *err) {
        _cleanup_close_ int lock = -EBADF;
        bool made_mount = false;
        int r;

        r = check_run_dir(err);
        if (r < 0)
                return r;
        if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST) {
                if (errno == EPERM || errno == EACCES)
                        return nm_error(err, negative_errno(),
                                        "cannot create " NETNS_RUN_DIR ": permission denied; managing network namespaces needs root (CAP_SYS_ADMIN)");
                return nm_error(err, negative_errno(), "cannot create " NETNS_RUN_DIR ": %m");
        }

        /* Serialize with other nsmgr and ip processes: doing this dance twice
         * at once stacks mounts without end (https://bugs.debian.org/949235). */
        lock = open(NETNS_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (lock < 0)
                return nm_error(err, negative_errno(), "cannot open " NETNS_RUN_DIR ": %m");
        if (flock(lock, LOCK_EX) < 0)
                return nm_error(err, negative_errno(), "cannot lock " NETNS_RUN_DIR ": %m");

        while (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
                if (errno == EPERM)
                        return nm_error(err, -EPERM,
                                        "cannot make " NETNS_RUN_DIR " a shared mount: permission denied; managing network namespaces needs root (CAP_SYS_ADMIN)");
                if (errno != EINVAL || made_mount)
                        return nm_error(err, negative_errno(), "cannot make " NETNS_RUN_DIR " a shared mount: %m");

                /* Not a mount point yet: make it one, in a peer group of its own. */
                if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
                        return nm_error(err, negative_errno(), "cannot bind-mount " NETNS_RUN_DIR " onto itself: %m");
                if (mount("", NETNS_RUN_DIR, "none", MS_PRIVATE | MS_REC, NULL) < 0)
                        return nm_error(err, negative_errno(), "cannot make " NETNS_RUN_DIR " a private mount: %m");
                made_mount = true;
        }
        return TAKE_FD(lock);
}

int netns_dir_prepare(NmError *err) {
        int lock = run_dir_lock(err);

        if (lock < 0)
                return lock;
        safe_close(lock);
        return 0;
}

bool netns_pin_present(const char *name) {
        _cleanup_free_ char *path = netns_path(name);
        struct statfs sfs;

        return path && statfs(path, &sfs) >= 0 && sfs.f_type == NSFS_MAGIC;
}

int netns_open(const char *name, int *ret_fd, NmError *err) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;
        path = netns_path(name);
        if (!path)
                return -ENOMEM;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return nm_error(err, -ENOENT, "namespace '%s' does not exist (there is no %s)", name, path);
                if (errno == ELOOP)
                        return nm_error(err, -ELOOP, "%s is a symbolic link, not a namespace handle", path);
                return nm_error(err, negative_errno(), "cannot open %s: %m", path);
        }
        if (fstatfs(fd, &sfs) < 0)
                return nm_error(err, negative_errno(), "cannot inspect %s: %m", path);
        if (sfs.f_type != NSFS_MAGIC)
                return nm_error(err, -ENXIO,
                                "namespace '%s' is broken: %s is an empty placeholder with no namespace mounted on it; remove it with 'nsmgrctl delete %s'",
                                name, path, name);
        r = nsfs_fd_check_net(fd, path, err);
        if (r < 0)
                return r;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

static bool host_ns_stat(struct stat *ret) {
        static struct stat cached;
        static int state = 0; /* 0 unknown, 1 known, -1 unavailable */
        _cleanup_free_ char *stat_line = NULL;

        if (state == 0) {
                state = -1;
                if (stat("/proc/1/ns/net", &cached) >= 0)
                        state = 1;
                else if (read_one_line("/proc/2/stat", &stat_line) >= 0 &&
                         strstr(stat_line, " (kthreadd) S 0 ") &&
                         stat("/proc/2/ns/net", &cached) >= 0)
                        /* PID 1 may be shielded from us (a supervisor that
                         * is not dumpable); kernel threads always live in the
                         * initial network namespace. */
                        state = 1;
        }
        if (state < 0)
                return false;
        *ret = cached;
        return true;
}

bool netns_fd_is_host(int fd) {
        struct stat host, st;

        if (!host_ns_stat(&host))
                return false;
        if (fstat(fd, &st) < 0)
                return false;
        return st.st_dev == host.st_dev && st.st_ino == host.st_ino;
}

/* Inspects what sits at path when O_EXCL creation failed: 1 if it is a live
 * network namespace handle, 0 if it is an empty placeholder we may reuse. */
static int inspect_existing(const char *name, const char *path, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return nm_error(err, negative_errno(), "cannot open %s: %m", path);
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return nm_error(err, negative_errno(), "cannot inspect %s: %m", path);
        if (sfs.f_type == NSFS_MAGIC)
                return netns_fd_check(fd, path, err) < 0 ? -EEXIST : 1;
        if (!S_ISREG(st.st_mode) || st.st_size > 0)
                return nm_error(err, -EEXIST,
                                "cannot create namespace '%s': %s exists and is neither a namespace handle nor an empty placeholder; remove it by hand",
                                name, path);
        return 0;
}

struct create_args {
        const char *name;
        const char *path;
        const char *origin;
        int nsfd;
        bool mounted;
        bool recorded;
        NmError *err;
};

/* The owner record goes first: there is no instant at which a pin nsmgr
 * made exists without it (owner.h). */
static int record_new(const char *name, int nsfd, NlSock *nl, const char *origin, bool *recorded) {
        ino_t ino = 0;
        int r;

        if (!origin)
                return 0;
        r = netns_fd_inode(nsfd, &ino);
        if (r < 0)
                return r;
        r = owner_record(name, ino, netns_cookie_of_socket(nl_socket_get_fd(nl->sk)), origin);
        if (r < 0)
                return r;
        *recorded = true;
        return 0;
}

static int create_in_thread(void *userdata) {
        struct create_args *a = userdata;
        _cleanup_nl_ NlSock *nl = NULL;
        int r;

        /* We run in the new namespace already (ns_run_in_new). */
        a->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (a->nsfd < 0)
                return nm_error(a->err, negative_errno(), "cannot open the new namespace: %m");
        /* Loopback up is all: no extended acks to ask for. */
        r = nls_open_plain(&nl);
        if (r < 0)
                return nm_error(a->err, r, "cannot open a netlink socket in the new namespace: %s", strerror(-r));
        r = record_new(a->name, a->nsfd, nl, a->origin, &a->recorded);
        if (r < 0)
                return nm_error(a->err, r, "cannot record that nsmgr made namespace '%s': %s", a->name, strerror(-r));
        /* Bind its handle: from here on, the namespace outlives this thread. */
        if (mount("/proc/thread-self/ns/net", a->path, "none", MS_BIND, NULL) < 0)
                return nm_error(a->err, negative_errno(), "cannot bind-mount the new namespace at %s: %m", a->path);
        a->mounted = true;
        r = link_set_up_index(nl, 1);
        if (r < 0)
                return nm_error(a->err, r, "cannot bring up loopback in the new namespace: %s", strerror(-r));
        return 0;
}

static int placeholder_create(const char *name, const char *path, bool exist_ok, bool *ret_new, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
        if (fd >= 0) {
                *ret_new = true;
                return 0;
        }
        if (errno == EACCES || errno == EPERM || errno == EROFS)
                return nm_error(err, negative_errno(),
                                "cannot create %s: %m; managing network namespaces needs root (CAP_SYS_ADMIN)", path);
        if (errno != EEXIST)
                return nm_error(err, negative_errno(), "cannot create %s: %m", path);

        r = inspect_existing(name, path, err);
        if (r < 0)
                return r;
        if (r > 0) {
                if (exist_ok)
                        return 1;
                return nm_error(err, -EEXIST, "namespace '%s' already exists at %s (use --exist-ok to accept that)",
                                name, path);
        }
        /* An empty placeholder left by a crash: mount over it. */
        *ret_new = false;
        return 0;
}

int netns_create(const char *name, NetnsCreateFlags flags, const char *origin, int *ret_fd, NmError *err) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int lock = -EBADF;
        struct create_args a = { .name = name, .origin = origin, .nsfd = -EBADF, .err = err };
        bool new_file = false;
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;
        path = netns_path(name);
        if (!path)
                return -ENOMEM;

        lock = run_dir_lock(err);
        if (lock < 0)
                return lock;

        r = placeholder_create(name, path, flags & NETNS_EXIST_OK, &new_file, err);
        if (r < 0)
                return r;
        if (r > 0) {
                if (ret_fd) {
                        r = netns_open(name, ret_fd, err);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        a.path = path;
        r = ns_run_in_new(create_in_thread, &a);
        if (r < 0) {
                if (a.mounted)
                        (void) umount2(path, MNT_DETACH);
                (void) unlink(path);
                if (a.recorded)
                        (void) owner_forget(name);
                safe_close(a.nsfd);
                if (err && err->msg)
                        return nm_error_prefix(err, r, "cannot create namespace '%s'", name);
                if (r == -EPERM)
                        return nm_error(err, r,
                                        "cannot create namespace '%s': permission denied; this needs root (CAP_SYS_ADMIN)",
                                        name);
                return nm_error(err, r, "cannot create namespace '%s': %s", name, strerror(-r));
        }

        if (ret_fd)
                *ret_fd = a.nsfd;
        else
                safe_close(a.nsfd);
        return 1;
}

struct many_args {
        NetnsNew *v;
        char **paths;
        bool want_sockets;
        pthread_mutex_t lock;    /* err: several threads make namespaces */
        NmError *err;
};

static int create_one_in_thread(size_t i, void *userdata) {
        struct many_args *a = userdata;
        NetnsNew *e = &a->v[i];
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        bool recorded = false;
        NlSock *nl = NULL;
        int r;

        e->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (e->fd < 0) {
                r = nm_error(&err, negative_errno(), "cannot open new namespace '%s': %m", e->name);
                goto fail;
        }
        /* A namespace nothing more is done in only needs its loopback up. */
        r = a->want_sockets || e->want_socket || e->origin ? nls_open(&nl) : nls_open_plain(&nl);
        if (r < 0) {
                nm_error(&err, r, "cannot open a netlink socket in new namespace '%s': %s", e->name, strerror(-r));
                goto fail;
        }
        (void) netns_fd_inode(e->fd, &e->ino);
        e->cookie = netns_cookie_of_socket(nl_socket_get_fd(nl->sk));
        r = record_new(e->name, e->fd, nl, e->origin, &recorded);
        if (r < 0) {
                nm_error(&err, r, "cannot record that nsmgr made namespace '%s': %s", e->name, strerror(-r));
                goto fail;
        }
        if (mount("/proc/thread-self/ns/net", a->paths[i], "none", MS_BIND, NULL) < 0) {
                r = nm_error(&err, negative_errno(), "cannot create namespace '%s': cannot bind-mount it at %s: %m",
                             e->name, a->paths[i]);
                goto fail;
        }
        e->created = true;
        r = link_set_up_index(nl, 1);
        if (r < 0) {
                nm_error(&err, r, "cannot bring up loopback in new namespace '%s': %s", e->name, strerror(-r));
                goto fail;
        }
        if (a->want_sockets || e->want_socket)
                e->nl = TAKE_PTR(nl);
        else
                nl = (nls_close(nl), NULL);
        if (e->no_fd)
                e->fd = safe_close(e->fd);
        return 0;

fail:
        /* Undone here: with several threads, more than one may fail. */
        nls_close(nl);
        if (e->created)
                (void) umount2(a->paths[i], MNT_DETACH);
        if (recorded)
                (void) owner_forget(e->name);
        e->created = false;
        e->fd = safe_close(e->fd);
        if (r == -EPERM && !err.msg)
                nm_error(&err, r, "cannot create namespace '%s': permission denied; this needs root (CAP_SYS_ADMIN)",
                         e->name);
        pthread_mutex_lock(&a->lock);
        if (a->err && !a->err->msg && err.msg)
                nm_error(a->err, r, "%s", err.msg);
        pthread_mutex_unlock(&a->lock);
        return r;
}

int netns_create_many(NetnsNew *v, size_t n, bool want_sockets, NmError *err) {
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ int *fds = NULL;
        struct many_args a = { .v = v, .want_sockets = want_sockets, .lock = PTHREAD_MUTEX_INITIALIZER, .err = err };
        size_t failed = 0, placed = 0;
        int r;

        if (n == 0)
                return 0;
        lock = run_dir_lock(err);
        if (lock < 0)
                return lock;
        r = owner_prepare();
        if (r < 0)
                return nm_error(err, r, "cannot create nsmgr's owner records folder: %s", strerror(-r));

        fds = malloc(n * sizeof(int));
        a.paths = calloc(n + 1, sizeof(char *));
        if (!fds || !a.paths) {
                free(a.paths);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                bool new_file;

                v[i].fd = -EBADF;
                v[i].nl = NULL;
                v[i].created = false;
                fds[i] = -1;
                a.paths[i] = netns_path(v[i].name);
                if (!a.paths[i]) {
                        r = nm_error(err, -EINVAL, "invalid namespace name '%s'", v[i].name);
                        goto out;
                }
                r = placeholder_create(v[i].name, a.paths[i], false, &new_file, err);
                if (r < 0)
                        goto out;
                placed = i + 1;
        }

        /* Making a namespace is nearly all kernel work (sysctl tables,
         * loopback), which runs in parallel on several CPUs. */
        r = ns_run_batch_parallel(fds, n, create_one_in_thread, &a, 0, &failed);

out:
        /* Placeholders that did not become namespaces go away. */
        for (size_t i = 0; i < placed; i++)
                if (!v[i].created)
                        (void) unlink(a.paths[i]);
        for (size_t i = 0; i < n; i++)
                free(a.paths[i]);
        free(a.paths);
        return r < 0 ? nm_error(err, r, "cannot create namespaces: %s", strerror(-r)) : 0;
}

int netns_pin_fd(const char *name, int nsfd, bool allow_host, const char *origin, NmError *err) {
        _cleanup_free_ char *path = NULL, *src = NULL;
        _cleanup_close_ int lock = -EBADF;
        bool new_file = false;
        uint64_t cookie = 0;
        ino_t ino = 0;
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;
        r = netns_fd_check(nsfd, "the handle", err);
        if (r < 0)
                return r;
        if (!allow_host && netns_fd_is_host(nsfd))
                return nm_error(err, -EPERM,
                                "refusing to pin '%s': it is the machine's own network namespace (use --allow-host if you mean it)",
                                name);

        path = netns_path(name);
        if (!path || asprintf(&src, "/proc/self/fd/%d", nsfd) < 0)
                return -ENOMEM;

        lock = run_dir_lock(err);
        if (lock < 0)
                return lock;

        r = placeholder_create(name, path, false, &new_file, err);
        if (r < 0)
                return r;
        if (origin) {
                r = netns_fd_inode(nsfd, &ino);
                if (r >= 0)
                        r = netns_fd_cookie(nsfd, &cookie);
                if (r >= 0)
                        r = owner_record(name, ino, cookie, origin);
                if (r < 0) {
                        (void) unlink(path);
                        return nm_error(err, r, "cannot record that nsmgr pinned '%s': %s", name, strerror(-r));
                }
        }
        if (mount(src, path, "none", MS_BIND, NULL) < 0) {
                r = negative_errno();
                (void) unlink(path);
                if (origin)
                        (void) owner_forget(name);
                return nm_error(err, r, "cannot bind-mount the namespace at %s: %s", path, strerror(-r));
        }
        return 0;
}

int netns_pin_path(const char *name, const char *path, bool allow_host, const char *origin, NmError *err) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;

        /* O_PATH first: fstatfs works on it, and it opens nothing that
         * could block or have side effects (a FIFO, a device). */
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return nm_error(err, -ENOENT, "cannot pin '%s': %s does not exist", name, path);
                return nm_error(err, negative_errno(), "cannot pin '%s': cannot open %s: %m", name, path);
        }
        {
                struct statfs sfs;

                if (fstatfs(fd, &sfs) < 0)
                        return nm_error(err, negative_errno(), "cannot pin '%s': cannot inspect %s: %m", name, path);
                if (sfs.f_type != NSFS_MAGIC)
                        return nm_error(err, -EMEDIUMTYPE,
                                        "cannot pin '%s': %s is not a namespace handle (not a file of nsfs)", name, path);
        }
        safe_close(fd);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return nm_error(err, negative_errno(), "cannot pin '%s': cannot open %s: %m", name, path);

        r = netns_fd_check(fd, path, err);
        if (r < 0)
                return nm_error_prefix(err, r, "cannot pin '%s'", name);
        r = netns_pin_fd(name, fd, allow_host, origin, err);
        if (r < 0)
                return r;
        return 0;
}

static int pidfd_open_(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static bool pidfd_exited(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        /* A pidfd becomes readable when the process exits. */
        return poll(&p, 1, 0) > 0;
}

struct pid_args {
        int pidfd;
        pid_t pid;
        int nsfd;
};

static int open_pid_ns_in_thread(void *userdata) {
        struct pid_args *a = userdata;

        /* Since Linux 5.8 a pidfd can be given to setns(): it names exactly
         * the process we opened, whatever happens to its PID meanwhile. */
        if (setns(a->pidfd, CLONE_NEWNET) < 0)
                return negative_errno();
        a->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (a->nsfd < 0)
                return negative_errno();
        return 0;
}

int netns_open_pid(pid_t pid, int *ret_fd, NmError *err) {
        _cleanup_close_ int pidfd = -EBADF, nsfd = -EBADF;
        struct pid_args a = { .pid = pid, .nsfd = -EBADF };
        int r;

        if (pid <= 0)
                return nm_error(err, -EINVAL, "%d is not a valid PID", (int) pid);

        pidfd = pidfd_open_(pid);
        if (pidfd < 0) {
                if (errno == ESRCH)
                        return nm_error(err, -ESRCH, "there is no process with pid %d", (int) pid);
                return nm_error(err, negative_errno(), "cannot open pid %d: %m", (int) pid);
        }

        a.pidfd = pidfd;
        r = ns_run_in(pidfd, open_pid_ns_in_thread, &a);
        if (r == -EINVAL) {
                /* Older kernel without setns(pidfd): open /proc/PID/ns/net
                 * and make sure, through the pidfd, that it is still the
                 * same process afterwards. */
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "/proc/%d/ns/net", (int) pid) < 0)
                        return -ENOMEM;
                a.nsfd = open(p, O_RDONLY | O_CLOEXEC);
                r = a.nsfd < 0 ? negative_errno() : 0;
        }
        nsfd = a.nsfd;
        if (r == -ESRCH || r == -ENOENT || pidfd_exited(pidfd))
                return nm_error(err, -ESRCH, "pid %d has exited", (int) pid);
        if (r == -EPERM || r == -EACCES)
                return nm_error(err, r, "not allowed to enter the namespace of pid %d; this needs root (CAP_SYS_ADMIN)",
                                (int) pid);
        if (r < 0)
                return nm_error(err, r, "cannot open the network namespace of pid %d: %s", (int) pid, strerror(-r));

        *ret_fd = TAKE_FD(nsfd);
        return 0;
}

int netns_pin_pid(const char *name, pid_t pid, bool allow_host, const char *origin, NmError *err) {
        _cleanup_close_ int nsfd = -EBADF;
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;
        r = netns_open_pid(pid, &nsfd, err);
        if (r < 0)
                return nm_error_prefix(err, r, "cannot pin '%s'", name);
        return netns_pin_fd(name, nsfd, allow_host, origin, err);
}

int netns_unpin(const char *name, NmError *err) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        int r;

        r = netns_name_check(name, err);
        if (r < 0)
                return r;
        path = netns_path(name);
        if (!path)
                return -ENOMEM;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return nm_error(err, -ENOENT, "namespace '%s' does not exist (there is no %s)", name, path);
                return nm_error(err, negative_errno(), "cannot inspect %s: %m", path);
        }
        if (!S_ISREG(st.st_mode))
                return nm_error(err, -EISDIR, "cannot delete '%s': %s is not a namespace handle; remove it by hand",
                                name, path);
        r = check_run_dir(err);
        if (r < 0)
                return r;
        {
                /* A mounted handle, or an empty placeholder: anything else
                 * is somebody's file, and its content is not ours to drop. */
                struct statfs sfs;

                if (st.st_size > 0 && (statfs(path, &sfs) < 0 || sfs.f_type != NSFS_MAGIC))
                        return nm_error(err, -EEXIST,
                                        "cannot delete '%s': %s is a file with content, not a namespace handle or an empty placeholder; remove it by hand",
                                        name, path);
        }

        /* A mount copy in another mount namespace may still be going away
         * when we unlink; like podman, retry for a while on EBUSY. */
        for (unsigned attempt = 0;; attempt++) {
                if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
                        if (errno == EPERM)
                                return nm_error(err, -EPERM,
                                                "cannot unmount %s: permission denied; this needs root (CAP_SYS_ADMIN)", path);
                        return nm_error(err, negative_errno(), "cannot unmount %s: %m", path);
                }
                if (unlink(path) >= 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || attempt >= 50)
                        return nm_error(err, negative_errno(), "cannot remove %s: %m", path);
                nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const NetnsEntry *) a)->name, ((const NetnsEntry *) b)->name);
}

void netns_entries_free(NetnsEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].name);
                free(e[i].reason);
        }
        free(e);
}

/* Mount points under /run/netns as PID 1 sees them: tells "never
 * propagated here" from "nothing was ever mounted". Read once per listing,
 * however many entries are broken. */
typedef struct ListCtx {
        char *mountinfo;
        bool read;
} ListCtx;

static void list_ctx_done(ListCtx *c) {
        free(c->mountinfo);
}

static bool mounted_elsewhere(ListCtx *c, const char *path) {
        _cleanup_free_ char *needle = NULL;

        if (!c->read) {
                c->read = true;
                if (read_full_file("/proc/1/mountinfo", &c->mountinfo, NULL) < 0)
                        c->mountinfo = NULL;
        }
        if (!c->mountinfo || asprintf(&needle, " %s ", path) < 0)
                return false;
        return strstr(c->mountinfo, needle) != NULL;
}

static int entry_fill(ListCtx *c, int dfd, NetnsEntry *e) {
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        struct stat st;
        int type;

        e->nsid = -1;
        fd = openat(dfd, e->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                e->broken = true;
                if (errno == ELOOP)
                        e->reason = strdup("a symbolic link, not a namespace handle");
                else if (errno == EISDIR)
                        e->reason = strdup("a directory, not a namespace handle");
                else if (asprintf(&e->reason, "cannot be opened: %s", strerror(errno)) < 0)
                        e->reason = NULL;
                return -EBADF;
        }
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0) {
                e->broken = true;
                if (asprintf(&e->reason, "cannot be inspected: %s", strerror(errno)) < 0)
                        e->reason = NULL;
                return -EBADF;
        }
        if (sfs.f_type != NSFS_MAGIC) {
                _cleanup_free_ char *path = netns_path(e->name);

                e->broken = true;
                if (!S_ISREG(st.st_mode))
                        e->reason = strdup("not a regular file, not a namespace handle");
                else if (path && mounted_elsewhere(c, path))
                        e->reason = strdup("empty placeholder: the namespace is mounted in PID 1's mount namespace but that mount never propagated here");
                else
                        e->reason = strdup("empty placeholder: no namespace is mounted on it (left by a crash, or a mount that never propagated here)");
                return -EBADF;
        }
        type = ioctl(fd, NS_GET_NSTYPE);
        if (type >= 0 && type != CLONE_NEWNET) {
                e->broken = true;
                e->reason = strdup("a handle of another kind of namespace, not a network namespace");
                return -EBADF;
        }
        e->inode = st.st_ino;
        return TAKE_FD(fd);
}

int netns_list(NetnsEntry **ret, size_t *ret_n) {
        _cleanup_nl_ NlSock *nl = NULL;

        /* The nsid is context only; without a socket, none is shown. */
        (void) nls_open(&nl);
        return netns_list_nsid(ret, ret_n, nl);
}

int netns_list_nsid(NetnsEntry **ret, size_t *ret_n, NlSock *nl) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_(list_ctx_done) ListCtx ctx = {};
        NetnsEntry *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        d = opendir(NETNS_RUN_DIR);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return negative_errno();
        }

        while ((errno = 0, de = readdir(d))) {
                _cleanup_close_ int fd = -EBADF;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                /* Temporary files of other tools' atomic writes are not
                 * entries; neither is anything whose name ip would refuse. */
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        NetnsEntry *nv = realloc(v, ncap * sizeof(*v));
                        if (!nv) {
                                netns_entries_free(v, n);
                                return -ENOMEM;
                        }
                        v = nv;
                        cap = ncap;
                }
                v[n] = (NetnsEntry) { .name = strdup(de->d_name), .nsid = -1 };
                if (!v[n].name) {
                        netns_entries_free(v, n);
                        return -ENOMEM;
                }
                fd = entry_fill(&ctx, dirfd(d), &v[n]);
                if (fd >= 0 && nl)
                        (void) nls_get_nsid(nl, fd, &v[n].nsid);
                n++;
        }
        if (errno != 0) {
                int r = negative_errno();
                netns_entries_free(v, n);
                return r;
        }

        if (n > 1)
                qsort(v, n, sizeof(*v), entry_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

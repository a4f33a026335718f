/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "netnsmon.h"
#include "paths.h"
#include "strmap.h"
#include "strv.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct NetnsMon {
        sd_event_source *inotify_src, *mounts_src;
        int inotify_fd, mounts_fd;
        int dir_wd;                 /* watch on /run/netns, -1 while it is missing */
        int parent_wd;              /* watch on /run, while /run/netns is missing */
        StrMap known;               /* name -> inode of the live pins */
        char **pending;             /* files that are not (yet) a live pin */
        netnsmon_fn fn;
        void *userdata;
};

/* The namespace pinned at /run/netns/NAME, 0 if none (no file, or an empty
 * placeholder); *ret_exists says whether the file is there at all. */
static ino_t pin_inode(const char *name, bool *ret_exists) {
        _cleanup_free_ char *path = NULL;
        struct statfs sfs;
        struct stat st;

        *ret_exists = false;
        if (asprintf(&path, NETNS_RUN_DIR "/%s", name) < 0)
                return 0;
        if (lstat(path, &st) < 0)
                return 0;
        *ret_exists = S_ISREG(st.st_mode);
        if (statfs(path, &sfs) < 0 || sfs.f_type != NSFS_MAGIC || stat(path, &st) < 0)
                return 0;
        return st.st_ino;
}

static void pending_drop(NetnsMon *m, const char *name) {
        size_t n = strv_length(m->pending);

        for (size_t i = 0; i < n; i++)
                if (streq(m->pending[i], name)) {
                        free(m->pending[i]);
                        m->pending[i] = m->pending[n - 1];
                        m->pending[n - 1] = NULL;
                        return;
                }
}

static void recheck(NetnsMon *m, const char *name) {
        _cleanup_free_ char *copy = strdup(name);
        size_t old = 0;
        bool exists;
        ino_t now;

        if (!copy || name[0] == '.')
                return;
        now = pin_inode(copy, &exists);
        (void) strmap_get(&m->known, copy, &old);
        if (exists && !now) {
                if (!strv_contains(m->pending, copy))
                        (void) strv_extend(&m->pending, copy);
        } else
                pending_drop(m, copy);
        if ((ino_t) old == now)
                return;
        if (old) {
                strmap_remove(&m->known, copy);
                m->fn(NETNS_MON_REMOVED, copy, (ino_t) old, m->userdata);
        }
        if (now) {
                (void) strmap_put(&m->known, copy, (size_t) now);
                m->fn(NETNS_MON_ADDED, copy, now, m->userdata);
        }
}

/* Every name known or present: after an overflow of the event queue, or
 * when the folder appears or goes, and once at the start. A folder holds
 * each name once, so a name read is new unless it is known: looked up in
 * the map, not in the list, which at 10,000 pins took a third of a second. */
static void rescan(NetnsMon *m, bool report) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = opendir(NETNS_RUN_DIR);
        struct dirent *de;
        size_t k = 0;

        for (size_t i = 0; i < m->known.cap; i++)
                if (m->known.slots[i].key && strv_push_at(&names, k, strdup(m->known.slots[i].key)) >= 0)
                        k++;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.' && !strmap_get(&m->known, de->d_name, NULL) &&
                    strv_push_at(&names, k, strdup(de->d_name)) >= 0)
                        k++;
        STRV_FOREACH(n, names) {
                if (report)
                        recheck(m, *n);
                else {
                        bool exists;
                        ino_t ino = pin_inode(*n, &exists);

                        if (ino)
                                (void) strmap_put(&m->known, *n, (size_t) ino);
                        else if (exists)
                                (void) strv_extend(&m->pending, *n);
                }
        }
}

static int watch_dir(NetnsMon *m) {
        m->dir_wd = inotify_add_watch(m->inotify_fd, NETNS_RUN_DIR, DIR_EVENTS);
        if (m->dir_wd >= 0) {
                if (m->parent_wd >= 0)
                        (void) inotify_rm_watch(m->inotify_fd, m->parent_wd);
                m->parent_wd = -1;
                return 0;
        }
        if (errno != ENOENT)
                return negative_errno();
        /* Wait for it to be made (the first pin makes it). */
        if (m->parent_wd < 0) {
                m->parent_wd = inotify_add_watch(m->inotify_fd, "/run", IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
                if (m->parent_wd < 0)
                        return negative_errno();
        }
        /* It may have appeared in between. */
        m->dir_wd = inotify_add_watch(m->inotify_fd, NETNS_RUN_DIR, DIR_EVENTS);
        return 0;
}

static void read_events(NetnsMon *m) {
        for (;;) {
                _Alignas(struct inotify_event) char buf[4096];
                ssize_t n = read(m->inotify_fd, buf, sizeof(buf));

                if (n <= 0)
                        return;
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *) p;

                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                rescan(m, true);
                                continue;
                        }
                        if (ev->wd == m->parent_wd && ev->len && streq(ev->name, "netns")) {
                                (void) watch_dir(m);
                                rescan(m, true);
                                continue;
                        }
                        if (ev->wd != m->dir_wd)
                                continue;
                        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                                m->dir_wd = -1;
                                rescan(m, true);
                                (void) watch_dir(m);
                                continue;
                        }
                        if (ev->len)
                                recheck(m, ev->name);
                }
        }
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        read_events(userdata);
        return 0;
}

/* A placeholder's namespace is mounted after its file is made. Polling
 * mountinfo reports a change once per change; nothing needs reading. */
static int on_mounts(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NetnsMon *m = userdata;
        _cleanup_strv_free_ char **names = NULL;

        if (!m->pending)
                return 0;
        names = strv_copy(m->pending);
        STRV_FOREACH(n, names)
                recheck(m, *n);
        return 0;
}

void netnsmon_flush(NetnsMon *m) {
        if (!m)
                return;
        read_events(m);
        (void) on_mounts(NULL, -1, 0, m);
}

int netnsmon_new(sd_event *e, netnsmon_fn fn, void *userdata, NetnsMon **ret, NmError *err) {
        _cleanup_(netnsmon_freep) NetnsMon *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        *m = (NetnsMon) { .inotify_fd = -EBADF, .mounts_fd = -EBADF, .dir_wd = -1, .parent_wd = -1, .fn = fn,
                          .userdata = userdata };
        m->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (m->inotify_fd < 0)
                return nm_error(err, negative_errno(), "cannot watch " NETNS_RUN_DIR ": %m");
        r = watch_dir(m);
        if (r < 0)
                return nm_error(err, r, "cannot watch " NETNS_RUN_DIR ": %s", strerror(-r));
        m->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (m->mounts_fd < 0)
                return nm_error(err, negative_errno(), "cannot open /proc/self/mountinfo: %m");
        r = sd_event_add_io(e, &m->inotify_src, m->inotify_fd, EPOLLIN, on_inotify, m);
        if (r >= 0)
                r = sd_event_add_io(e, &m->mounts_src, m->mounts_fd, EPOLLPRI, on_mounts, m);
        if (r < 0)
                return nm_error(err, r, "cannot watch " NETNS_RUN_DIR ": %s", strerror(-r));
        rescan(m, false);
        *ret = TAKE_PTR(m);
        return 0;
}

NetnsMon *netnsmon_free(NetnsMon *m) {
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->inotify_src);
        sd_event_source_disable_unref(m->mounts_src);
        safe_close(m->inotify_fd);
        safe_close(m->mounts_fd);
        strmap_done(&m->known);
        strv_free(m->pending);
        return mfree(m);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

int read_full_fd(int fd, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                ssize_t n;

                if (cap - len < 4096) {
                        size_t ncap = cap ? cap * 2 : 4096;
                        char *nbuf = realloc(buf, ncap + 1);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_full_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_full_fd(fd, ret, ret_len);
}

static int fsync_parent(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -EBADF;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (fsync(dfd) < 0)
                return negative_errno();
        return 0;
}

int write_file_atomic_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *p = data;
        int r;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int) getpid()) < 0)
                return -ENOMEM;

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return negative_errno();
        /* chown first: it clears set-user-ID bits that fchmod then sets. */
        if ((uid != (uid_t) -1 || gid != (gid_t) -1) && fchown(fd, uid, gid) < 0)
                goto fail;
        if (fchmod(fd, mode) < 0)
                goto fail;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                p += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0)
                goto fail;
        if (rename(tmp, path) < 0)
                goto fail;
        r = fsync_parent(path);
        if (r < 0)
                return r;
        return 0;

fail:
        r = negative_errno();
        (void) unlink(tmp);
        return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode) {
        return write_file_atomic_owned(path, data, len, mode, (uid_t) -1, (gid_t) -1);
}

int write_file_if_changed(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_free_ char *old = NULL;
        size_t old_len;
        struct stat st;
        int r;

        if (read_full_file(path, &old, &old_len) >= 0 && old_len == len &&
            memcmp(old, data, len) == 0 && stat(path, &st) >= 0 &&
            (st.st_mode & 07777) == mode)
                return 0;

        r = write_file_atomic(path, data, len, mode);
        if (r < 0)
                return r;
        return 1;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        char *s;

        if (!p)
                return -ENOMEM;
        for (s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int write_string_file(const char *path, const char *s) {
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(s);
        ssize_t n;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        n = write(fd, s, len);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int read_one_line(const char *path, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        int r;

        r = read_full_file(path, &buf, &len);
        if (r < 0)
                return r;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = 0;
        *ret = buf;
        return 0;
}

int rlimit_nofile_raise(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return negative_errno();
        if (rl.rlim_cur >= rl.rlim_max)
                return 0;
        rl.rlim_cur = rl.rlim_max;
        return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? negative_errno() : 0;
}

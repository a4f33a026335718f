/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "name.h"
#include "owner.h"
#include "paths.h"

#define OWNER_DIR NSMGR_RUN_DIR "/netns"

static int parse_target(const char *target, ino_t *ret_ino, uint64_t *ret_cookie, char **ret_origin) {
        unsigned long long ino, cookie = 0;
        char *end, *rest;

        errno = 0;
        ino = strtoull(target, &end, 10);
        if (errno || end == target || *end != ':' || !end[1])
                return -EINVAL;
        rest = end + 1;
        if (*rest >= '0' && *rest <= '9') {
                cookie = strtoull(rest, &end, 10);
                if (errno || *end != ':' || !end[1])
                        return -EINVAL;
        }
        if (ret_cookie)
                *ret_cookie = cookie;
        if (ret_origin) {
                *ret_origin = strdup(end + 1);
                if (!*ret_origin)
                        return -ENOMEM;
        }
        *ret_ino = (ino_t) ino;
        return 0;
}

static bool dir_made = false;

int owner_prepare(void) {
        int r;

        if (dir_made)
                return 0;
        r = mkdir_p(OWNER_DIR, 0755);
        if (r < 0)
                return r;
        dir_made = true;
        return 0;
}

int owner_record(const char *name, ino_t ino, uint64_t cookie, const char *origin) {
        _cleanup_free_ char *target = NULL, *path = NULL, *tmp = NULL;
        pid_t pid = getpid();
        int r;

        if (!netns_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&target, "%" PRIu64 ":%" PRIu64 ":%s", (uint64_t) ino, cookie, origin) < 0 ||
            asprintf(&path, OWNER_DIR "/%s", name) < 0 ||
            asprintf(&tmp, OWNER_DIR "/.#%d.%s", (int) pid, name) < 0)
                return -ENOMEM;
        /* A long name plus the temporary prefix may pass NAME_MAX. */
        if (strlen(name) + 16 > 255) {
                free(tmp);
                if (asprintf(&tmp, OWNER_DIR "/.#%d.%lx.%" PRIx64, (int) pid, (unsigned long) ino, cookie) < 0)
                        return -ENOMEM;
        }

        /* The folder is made when it turns out to be missing, rather than
         * looked for each time: a one-shot create pays one syscall here. */
        if (symlink(target, tmp) < 0) {
                if (errno == ENOENT)
                        r = mkdir_p(OWNER_DIR, 0755);
                else if (errno == EEXIST)
                        /* A crash of a process with our PID may have left it. */
                        r = unlink(tmp) < 0 ? negative_errno() : 0;
                else
                        r = negative_errno();
                if (r < 0)
                        return r;
                if (symlink(target, tmp) < 0)
                        return negative_errno();
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int owner_read(const char *name, ino_t *ret_ino, uint64_t *ret_cookie, char **ret_origin) {
        _cleanup_free_ char *path = NULL;
        char buf[128];
        ssize_t n;

        if (!netns_name_is_valid(name))
                return 0;
        if (asprintf(&path, OWNER_DIR "/%s", name) < 0)
                return -ENOMEM;
        n = readlink(path, buf, sizeof(buf) - 1);
        if (n < 0)
                return errno == ENOENT ? 0 : negative_errno();
        buf[n] = 0;
        if (parse_target(buf, ret_ino, ret_cookie, ret_origin) < 0)
                return 0;
        return 1;
}

int owner_lookup(const char *name, ino_t ino, uint64_t cookie, char **ret_origin) {
        _cleanup_free_ char *origin = NULL;
        uint64_t rec_cookie = 0;
        ino_t rec = 0;
        int r;

        r = owner_read(name, &rec, &rec_cookie, &origin);
        if (r <= 0)
                return r;
        if (rec != ino || (cookie && rec_cookie && cookie != rec_cookie))
                return 0;
        if (ret_origin)
                *ret_origin = TAKE_PTR(origin);
        return 1;
}

int owner_forget(const char *name) {
        _cleanup_free_ char *path = NULL;

        if (!netns_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&path, OWNER_DIR "/%s", name) < 0)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

void owner_records_free(OwnerRecord *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].origin);
        }
        free(v);
}

static int record_cmp(const void *a, const void *b) {
        return strcmp(((const OwnerRecord *) a)->name, ((const OwnerRecord *) b)->name);
}

int owner_load_matching(owner_want_fn_t want, void *userdata, OwnerRecord **ret, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = NULL;
        OwnerRecord *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;

        d = opendir(OWNER_DIR);
        if (!d) {
                *ret = NULL;
                *ret_n = 0;
                return errno == ENOENT ? 0 : negative_errno();
        }
        while ((de = readdir(d))) {
                char buf[128];
                ssize_t len;

                if (de->d_name[0] == '.' || (want && !want(de->d_name, userdata)))
                        continue;
                len = readlinkat(dirfd(d), de->d_name, buf, sizeof(buf) - 1);
                if (len < 0)
                        continue;
                buf[len] = 0;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        OwnerRecord *nv = realloc(v, ncap * sizeof(*v));
                        if (!nv) {
                                owner_records_free(v, n);
                                return -ENOMEM;
                        }
                        v = nv;
                        cap = ncap;
                }
                v[n] = (OwnerRecord) {};
                if (parse_target(buf, &v[n].ino, &v[n].cookie, &v[n].origin) < 0)
                        continue;
                v[n].name = strdup(de->d_name);
                if (!v[n].name) {
                        free(v[n].origin);
                        owner_records_free(v, n);
                        return -ENOMEM;
                }
                n++;
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), record_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

int owner_load_all(OwnerRecord **ret, size_t *ret_n) {
        return owner_load_matching(NULL, NULL, ret, ret_n);
}

const OwnerRecord *owner_find(const OwnerRecord *v, size_t n, const char *name, ino_t ino) {
        OwnerRecord key = { .name = (char *) name };
        const OwnerRecord *r;

        if (n == 0)
                return NULL;
        r = bsearch(&key, v, n, sizeof(*v), record_cmp);
        if (!r || r->ino != ino)
                return NULL;
        return r;
}

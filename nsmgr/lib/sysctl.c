/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fileio.h"
#include "macro.h"
#include "sysctl.h"

int sysctl_path(const char *key, char **ret) {
        char *p;

        if (asprintf(&p, "/proc/sys/%s", key) < 0)
                return -ENOMEM;
        if (!strchr(key, '/'))
                for (char *s = p + strlen("/proc/sys/"); *s; s++)
                        if (*s == '.')
                                *s = '/';
        *ret = p;
        return 0;
}

int sysctl_read(const char *key, char **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sysctl_path(key, &path);
        if (r < 0)
                return r;
        return read_one_line(path, ret);
}

int sysctl_write(const char *key, const char *value) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sysctl_path(key, &path);
        if (r < 0)
                return r;
        return write_string_file(path, value);
}

/* Collapses runs of blanks into one space and trims both ends. */
static char *normalize(const char *s) {
        char *out = malloc(strlen(s) + 1), *o = out;
        bool blank = false;

        if (!out)
                return NULL;
        for (; *s; s++) {
                if (*s == ' ' || *s == '\t' || *s == '\n') {
                        blank = o != out;
                        continue;
                }
                if (blank)
                        *o++ = ' ';
                blank = false;
                *o++ = *s;
        }
        *o = 0;
        return out;
}

bool sysctl_value_equal(const char *kernel, const char *wanted) {
        _cleanup_free_ char *a = normalize(kernel), *b = normalize(wanted);

        return a && b && streq(a, b);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cni-main.h"
#include "fileio.h"
#include "strv.h"

#ifndef NSMGRCTL_PATH
#define NSMGRCTL_PATH "/usr/local/bin/nsmgrctl"
#endif

static const char *env(const char *name, void *userdata) {
        return getenv(name);
}

static int print_json(json_object *o) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s || printf("%s\n", s) < 0 || fflush(stdout) != 0)
                return -EIO;
        return 0;
}

static int fail(const CniError *e, const char *version) {
        json_object *o = cni_error_to_json(e, version);

        /* The error object goes to stdout (libcni reads it there); stderr
         * gets the sentence for whoever reads the runtime's log. */
        if (o)
                (void) print_json(o);
        json_object_put(o);
        fprintf(stderr, "nsmgr: %s\n", e->details ? e->details : e->msg ? e->msg : "failed");
        return EXIT_FAILURE;
}

/* nsmgrctl: next to the build tree's plugin (build/cni/nsmgr and
 * build/nsmgrctl), else where `make install` put it. */
static char *find_nsmgrctl(void) {
        _cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
        char *p;

        if (self && (p = strrchr(self, '/'))) {
                *p = 0;
                p = strrchr(self, '/');
                if (p) {
                        char *cand;

                        *p = 0;
                        if (asprintf(&cand, "%s/nsmgrctl", self) >= 0) {
                                if (access(cand, X_OK) == 0)
                                        return cand;
                                free(cand);
                        }
                }
        }
        return strdup(NSMGRCTL_PATH);
}

/* Runs `nsmgrctl cni` in this process, with the same environment and what
 * was read from stdin on its stdin. Returns only on failure. */
static int hand_off(const char *input, size_t len, CniError *err) {
        _cleanup_free_ char *ctl = find_nsmgrctl();
        int fd;

        if (!ctl)
                return -ENOMEM;
        fd = memfd_create("cni-config", 0);
        if (fd < 0 || (len > 0 && write(fd, input, len) != (ssize_t) len) || lseek(fd, 0, SEEK_SET) < 0 ||
            dup2(fd, STDIN_FILENO) < 0)
                return cni_error(err, CNI_ERR_FAILED, "cannot hand the request on",
                                 "this request needs nsmgr's engine, and it cannot be handed to %s: %m", ctl);
        if (fd != STDIN_FILENO)
                close(fd);
        fflush(stdout);
        execv(ctl, (char *[]) { (char *) "nsmgrctl", (char *) "cni", NULL });
        return cni_error(err, CNI_ERR_FAILED, "cannot hand the request on",
                         "this request (published ports, or the first pod of a network on this machine) needs nsmgr's engine, in %s, which cannot be run: %m; install nsmgrctl there",
                         ctl);
}

int cni_main(cni_engine_fn engine) {
        _cleanup_(cni_request_done) CniRequest req = {};
        _cleanup_(cni_error_done) CniError err = CNI_ERROR_INIT;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *input = NULL, *vbuf = NULL;
        const char *cmd = getenv("CNI_COMMAND");
        json_object *out = NULL;
        size_t len = 0;
        int r;

        /* VERSION may come without anything on stdin: do not wait for a
         * terminal. */
        if (!(cmd && streq(cmd, "VERSION") && isatty(STDIN_FILENO))) {
                r = read_full_fd(STDIN_FILENO, &input, &len);
                if (r == -EBADF)
                        r = 0;    /* no stdin at all: nothing on it */
                if (r < 0) {
                        cni_error(&err, CNI_ERR_IO, "cannot read stdin", "cannot read the network configuration from stdin: %s",
                                  strerror(-r));
                        return fail(&err, CNI_VERSION_LATEST);
                }
        }

        r = cni_request_parse(env, NULL, input, len, &req, &err);
        if (r < 0) {
                if (!err.code)
                        cni_error(&err, CNI_ERR_FAILED, "out of memory", "nsmgr ran out of memory");
                return fail(&err, cni_error_version(input, len, &vbuf));
        }
        r = cni_plugin_run(&req, engine, &out, &warnings, &err);
        STRV_FOREACH(w, warnings)
                fprintf(stderr, "nsmgr: %s\n", *w);
        if (r == CNI_HANDOFF)
                r = hand_off(input, len, &err);
        if (r < 0) {
                if (!err.code)
                        cni_error(&err, CNI_ERR_FAILED, "nsmgr failed", "%s", strerror(-r));
                return fail(&err, req.version);
        }
        if (out) {
                r = print_json(out);
                json_object_put(out);
                if (r < 0)
                        return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

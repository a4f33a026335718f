/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsmgr-runtime: an OCI runtime in front of runc that makes containers
 * join pinned namespaces (runtime.h, nsmgr-runtime(8)). It is run for every
 * verb docker or containerd hands a runtime, so it does its work only for
 * create and run, and otherwise just execs the real runtime. */
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fileio.h"
#include "runtime.h"

#ifndef NSMGR_LIBEXECDIR
#define NSMGR_LIBEXECDIR "/usr/local/libexec/nsmgr"
#endif
#define NETWORK_HELPER "nsmgr-runtime-network"

extern char **environ;

/* Where runc writes its errors: the --log file in --log-format (and then
 * the message alone on stderr), or stderr in that format. */
static int fail(const RuntimeArgs *a, const char *fmt, ...) _printf_(2, 3);
static int fail(const RuntimeArgs *a, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *body = NULL, *entry = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&body, fmt, ap) < 0)
                body = NULL;
        va_end(ap);
        if (!body || asprintf(&msg, "nsmgr-runtime: %s", body) < 0) {
                fputs("nsmgr-runtime: out of memory\n", stderr);
                return EXIT_FAILURE;
        }
        entry = runtime_log_entry(a->log_json, msg, time(NULL));
        if (a->log) {
                _cleanup_close_ int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND | O_SYNC | O_CLOEXEC, 0644);

                if (fd >= 0 && entry)
                        (void) !write(fd, entry, strlen(entry));
                fprintf(stderr, "%s\n", msg);
        } else
                fputs(entry ? entry : msg, stderr);
        return EXIT_FAILURE;
}

static void help(void) {
        printf("Usage: nsmgr-runtime [--runtime-path PATH] [--nsmgr-config FILE] [RUNTIME OPTIONS] COMMAND ...\n\n"
               "An OCI runtime in front of runc: every command goes to the real runtime unchanged,\n"
               "except that 'create' and 'run' first make a container join the pinned network\n"
               "namespace its config asks for (NSMGR_NETNS=NAME in its environment, or the\n"
               "annotation org.nsmgr.netns; NSMGR_NETWORK / org.nsmgr.network to make NAME and\n"
               "attach it to an nsmgr network).\n\n"
               "  --runtime-path PATH   the real runtime (default: $" RUNTIME_ENV_PATH ", else " RUNTIME_DEFAULT
               " in PATH)\n"
               "  --nsmgr-config FILE   nsmgr's config, for networks (default: /etc/nsmgr)\n\n"
               "See nsmgr-runtime(8). The real runtime's help follows.\n\n");
}

/* The real runtime's file, searched in PATH as execvp() would. */
static char *find_program(const char *name) {
        _cleanup_free_ char *copy = NULL;
        const char *path;
        char *save = NULL;

        if (strchr(name, '/'))
                return strdup(name);
        path = getenv("PATH");
        copy = strdup(path && *path ? path : "/usr/local/bin:/bin:/usr/bin");
        if (!copy)
                return NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *p = NULL;

                if (asprintf(&p, "%s/%s", *dir ? dir : ".", name) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

static int exec_runtime(RuntimeArgs *a) {
        const char *name = a->runtime_path ? a->runtime_path : getenv(RUNTIME_ENV_PATH);
        _cleanup_free_ char *path = NULL;
        struct stat self, st;

        if (!name || !*name)
                name = RUNTIME_DEFAULT;
        path = find_program(name);
        if (!path)
                return fail(a, "cannot run the real runtime '%s': it is not in PATH (install it, or give its path with --runtime-path in daemon.json's runtimeArgs)",
                            name);
        /* Named after us by mistake, it would run us again, forever. */
        if (stat("/proc/self/exe", &self) == 0 && stat(path, &st) == 0 && self.st_dev == st.st_dev &&
            self.st_ino == st.st_ino)
                return fail(a, "the real runtime '%s' is nsmgr-runtime itself; give runc's path with --runtime-path",
                            path);
        a->argv[0] = (char *) name;
        execv(path, a->argv);
        return fail(a, "cannot run the real runtime %s: %m", path);
}

/* nsmgr-runtime-network sits next to us (a build tree) or in libexec. */
static char *helper_path(void) {
        _cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
        char *p = NULL, *slash;

        if (self && (slash = strrchr(self, '/'))) {
                *slash = 0;
                if (asprintf(&p, "%s/" NETWORK_HELPER, self) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return strdup(NSMGR_LIBEXECDIR "/" NETWORK_HELPER);
}

/* NSMGR_NETWORK: nsmgr-runtime-network makes NAME if needed and attaches
 * it; what it says on stderr is the sentence for the user. */
static int attach_network(const char *id, const char *netns, const char *network, const char *config,
                          void *userdata, NmError *err) {
        _cleanup_free_ char *helper = helper_path(), *text = NULL;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        posix_spawn_file_actions_t fa;
        char *args[9];
        size_t n = 0, len;
        int pipefd[2], status, r;
        pid_t pid;

        if (!helper)
                return -ENOMEM;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return nm_error(err, negative_errno(), "cannot run %s: %m", helper);
        rfd = pipefd[0];
        wfd = pipefd[1];

        args[n++] = (char *) NETWORK_HELPER;
        if (config) {
                args[n++] = (char *) "--config";
                args[n++] = (char *) config;
        }
        args[n++] = (char *) "--";
        args[n++] = (char *) id;
        args[n++] = (char *) netns;
        args[n++] = (char *) network;
        args[n] = NULL;

        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_adddup2(&fa, wfd, STDERR_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn(&pid, helper, &fa, NULL, args, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return nm_error(err, -r, "cannot run %s: %s", helper, strerror(r));
        wfd = safe_close(wfd);

        r = read_full_fd(rfd, &text, &len);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return nm_error(err, negative_errno(), "cannot wait for %s: %m", helper);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (r >= 0) {
                while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
                        text[--len] = 0;
                if (len > 0)
                        return nm_error(err, -EIO, "%s", text);
        }
        if (WIFEXITED(status))
                return nm_error(err, -EIO, "%s exited with status %d", helper, WEXITSTATUS(status));
        return nm_error(err, -EIO, "%s was killed by signal %d", helper, WTERMSIG(status));
}

int main(int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_(runtime_args_done) RuntimeArgs a = {};
        int r;

        r = runtime_args_parse(argc, argv, &a, &err);
        if (r < 0) {
                if (r == -ENOMEM)
                        return fail(&a, "out of memory");
                return fail(&a, "%s", nm_error_message(&err));
        }
        if (a.help)
                help();
        else if (a.version)
                printf("nsmgr-runtime version %s\n", NSMGR_VERSION);
        fflush(stdout);

        if (a.create) {
                r = runtime_prepare(&a, attach_network, NULL, &err);
                if (r < 0)
                        return fail(&a, "%s", nm_error_message(&err));
        }
        return exec_runtime(&a);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs two (or more) commands in interleaved rounds and writes, per round,
 * the wall clock and CPU time of each, from spawn to reaped exit:
 *
 *   spawn-pair [-r SRC DST] N OUT A [ARG...] --- B [ARG...] [--- C ...]
 *
 * OUT gets N lines "A_WALL A_CPU B_WALL B_CPU ..." in seconds, after 10
 * rounds of warm-up that are not written. Within a round the order is
 * drawn at random, so no command always runs last, on a warmer cache. CPU
 * time is the child's user + system time (wait4's rusage: the program and
 * whatever it exec'd), which waiting for a CPU on a busy machine does not
 * inflate. -r: DST gets SRC's bytes back before every run, outside the
 * clock (a runtime's create rewrites the bundle's config.json). Every
 * command must exit 0; its standard streams are /dev/null. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 10
#define MAX_CMDS 8

extern char **environ;

static char *restore_text;
static size_t restore_len;
static const char *restore_dst;

static double secs(struct timeval tv) {
        return (double) tv.tv_sec + (double) tv.tv_usec / 1e6;
}

static int restore(void) {
        int fd;
        ssize_t n;

        if (!restore_dst)
                return 0;
        fd = open(restore_dst, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        n = write(fd, restore_text, restore_len);
        close(fd);
        return n == (ssize_t) restore_len ? 0 : -EIO;
}

/* One run of argv: wall and CPU seconds; -1 on failure, said on stderr. */
static int run(char **argv, posix_spawn_file_actions_t *fa, double *wall, double *cpu) {
        struct timespec t0, t1;
        struct rusage ru;
        pid_t pid;
        int status, r;

        r = restore();
        if (r < 0) {
                fprintf(stderr, "spawn-pair: cannot restore %s: %s\n", restore_dst, strerror(-r));
                return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = posix_spawn(&pid, argv[0], fa, NULL, argv, environ);
        if (r != 0) {
                fprintf(stderr, "spawn-pair: cannot run %s: %s\n", argv[0], strerror(r));
                return -1;
        }
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR) {
                        perror("spawn-pair: wait4");
                        return -1;
                }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "spawn-pair: %s failed (status 0x%x)\n", argv[0], (unsigned) status);
                return -1;
        }
        *wall = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        *cpu = secs(ru.ru_utime) + secs(ru.ru_stime);
        return 0;
}

static int slurp(const char *path) {
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fstat(fd, &st) < 0)
                return -1;
        restore_len = (size_t) st.st_size;
        restore_text = malloc(restore_len + 1);
        if (!restore_text || read(fd, restore_text, restore_len) != (ssize_t) restore_len) {
                close(fd);
                return -1;
        }
        close(fd);
        return 0;
}

int main(int argc, char **argv) {
        posix_spawn_file_actions_t fa;
        char **cmd[MAX_CMDS];
        int ncmd = 1, i = 1;
        FILE *out;
        long n;

        if (argc > 3 && strcmp(argv[1], "-r") == 0) {
                if (slurp(argv[2]) < 0) {
                        perror(argv[2]);
                        return 2;
                }
                restore_dst = argv[3];
                i = 4;
        }
        if (argc - i < 5)
                goto usage;
        n = strtol(argv[i], NULL, 10);
        cmd[0] = argv + i + 2;
        for (char **p = cmd[0]; *p; p++)
                if (strcmp(*p, "---") == 0) {
                        if (ncmd == MAX_CMDS)
                                goto usage;
                        *p = NULL;
                        cmd[ncmd++] = p + 1;
                }
        if (n <= 0 || ncmd < 2)
                goto usage;
        for (int c = 0; c < ncmd; c++)
                if (!*cmd[c])
                        goto usage;
        out = fopen(argv[i + 1], "we");
        if (!out) {
                perror(argv[i + 1]);
                return 2;
        }
        if (posix_spawn_file_actions_init(&fa) != 0 ||
            posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, 0, 1) != 0 || posix_spawn_file_actions_adddup2(&fa, 0, 2) != 0)
                return 2;
        srand((unsigned) getpid() ^ (unsigned) time(NULL));

        for (long k = -WARMUP; k < n; k++) {
                double wall[MAX_CMDS], cpu[MAX_CMDS];
                int order[MAX_CMDS];

                for (int c = 0; c < ncmd; c++)
                        order[c] = c;
                for (int c = ncmd - 1; c > 0; c--) { /* Fisher-Yates */
                        int j = rand() % (c + 1), t = order[c];

                        order[c] = order[j];
                        order[j] = t;
                }
                for (int c = 0; c < ncmd; c++)
                        if (run(cmd[order[c]], &fa, &wall[order[c]], &cpu[order[c]]) < 0)
                                return 1;
                if (k < 0)
                        continue;
                for (int c = 0; c < ncmd; c++)
                        fprintf(out, "%s%.9f %.6f", c ? " " : "", wall[c], cpu[c]);
                fputc('\n', out);
        }
        if (fclose(out) != 0) {
                perror(argv[i + 1]);
                return 1;
        }
        return 0;

usage:
        fprintf(stderr, "usage: spawn-pair [-r SRC DST] N OUT A [ARG...] --- B [ARG...] [--- C ...]\n");
        return 2;
}

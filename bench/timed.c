/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a command and writes "SECONDS MAXRSS_KIB" of it to a file:
 *
 *   timed RESULT -- CMD [ARG...]
 *
 * The clock runs from just before spawn to the reaped exit, so every tool
 * pays its own start-up. The peak RSS is the child's (wait4 ru_maxrss),
 * which includes the few hundred KiB of this small launcher before exec:
 * measured from Python, it would include the whole interpreter. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
        struct timespec t0, t1;
        struct rusage ru;
        FILE *out;
        pid_t pid;
        int status, r;

        if (argc < 4 || strcmp(argv[2], "--") != 0) {
                fprintf(stderr, "usage: timed RESULT -- CMD [ARG...]\n");
                return 2;
        }
        out = fopen(argv[1], "we");
        if (!out) {
                perror(argv[1]);
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = posix_spawn(&pid, argv[3], NULL, NULL, argv + 3, environ);
        if (r != 0) {
                fprintf(stderr, "timed: %s: %s\n", argv[3], strerror(r));
                return 127;
        }
        if (wait4(pid, &status, 0, &ru) < 0) {
                perror("timed: wait4");
                return 127;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fprintf(out, "%.9f %ld\n", (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9,
                ru.ru_maxrss);
        fclose(out);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

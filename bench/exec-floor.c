/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The least a runtime shim can cost: a program that only execs the real
 * runtime, linked as nsmgr-runtime is (Makefile, RUNTIME_STATIC).
 *
 *   exec-floor RUNTIME [ARG...]
 *
 * bench/docker times it next to nsmgr-runtime: what nsmgr-runtime adds
 * beyond this is its own work; up to this, it is the price of one more
 * exec on the machine. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
        if (argc < 2) {
                fputs("usage: exec-floor RUNTIME [ARG...]\n", stderr);
                return 2;
        }
        execv(argv[1], argv + 1);
        perror(argv[1]);
        return 127;
}

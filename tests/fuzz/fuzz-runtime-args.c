/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer entry point: nsmgr-runtime's reading of a runtime command line
 * (runtime_args_parse), which docker, containerd or anyone who can run the
 * runtime hands it. The input is the argument vector, NUL-separated. */
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *buf = NULL;
        char *argv[MAX_ARGS + 2];
        RuntimeArgs a = {};
        int argc = 0;

        buf = malloc(size + 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = 0;
        argv[argc++] = (char *) "nsmgr-runtime";
        for (char *p = buf; p <= buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
                argv[argc++] = p;
        argv[argc] = NULL;

        if (runtime_args_parse(argc, argv, &a, &err) == -ENOMEM)
                return 0;
        if (a.argv) {
                /* What the real runtime gets: argv[0] and a subset of the words, in order. */
                int j = 1;

                if (a.argc < 1 || a.argc > argc || a.argv[a.argc] != NULL || a.argv[0] != argv[0])
                        abort();
                for (int i = 1; i < a.argc; i++) {
                        while (j < argc && argv[j] != a.argv[i])
                                j++;
                        if (j == argc)
                                abort();
                        j++;
                }
        }
        if (a.create && (!a.parsed || !a.bundle || !a.id || !a.verb))
                abort();
        if (err.msg && strchr(err.msg, '\n'))
                abort();
        runtime_args_done(&a);
        return 0;
}

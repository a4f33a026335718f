/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <pthread.h>

#include "dlopen-nftables.h"

typeof(nft_ctx_new) *sym_nft_ctx_new;
typeof(nft_ctx_free) *sym_nft_ctx_free;
typeof(nft_ctx_output_set_flags) *sym_nft_ctx_output_set_flags;
typeof(nft_ctx_buffer_output) *sym_nft_ctx_buffer_output;
typeof(nft_ctx_buffer_error) *sym_nft_ctx_buffer_error;
typeof(nft_ctx_get_output_buffer) *sym_nft_ctx_get_output_buffer;
typeof(nft_ctx_get_error_buffer) *sym_nft_ctx_get_error_buffer;
typeof(nft_run_cmd_from_buffer) *sym_nft_run_cmd_from_buffer;
unsigned int (*sym_nft_ctx_input_set_flags)(struct nft_ctx *ctx, unsigned int flags);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *failure;          /* why it cannot be loaded; NULL: loaded */
static bool no_memory;

static const struct {
        const char *name;
        void **ptr;
} symbols[] = {
        { "nft_ctx_new", (void **) &sym_nft_ctx_new },
        { "nft_ctx_free", (void **) &sym_nft_ctx_free },
        { "nft_ctx_output_set_flags", (void **) &sym_nft_ctx_output_set_flags },
        { "nft_ctx_buffer_output", (void **) &sym_nft_ctx_buffer_output },
        { "nft_ctx_buffer_error", (void **) &sym_nft_ctx_buffer_error },
        { "nft_ctx_get_output_buffer", (void **) &sym_nft_ctx_get_output_buffer },
        { "nft_ctx_get_error_buffer", (void **) &sym_nft_ctx_get_error_buffer },
        { "nft_run_cmd_from_buffer", (void **) &sym_nft_run_cmd_from_buffer },
};

static void load(void) {
        const char *why;
        void *dl;

        /* Never unloaded: its functions may be called until the end. */
        dl = dlopen(NFTABLES_SONAME, RTLD_NOW | RTLD_NODELETE);
        if (!dl) {
                why = dlerror();
                /* "libnftables.so.1: cannot open shared object file: ..." */
                if (why && strneq(why, NFTABLES_SONAME ": ", strlen(NFTABLES_SONAME ": ")))
                        why += strlen(NFTABLES_SONAME ": ");
                failure = strdup(why ? why : "dlopen() failed");
                no_memory = !failure;
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(symbols); i++) {
                *symbols[i].ptr = dlsym(dl, symbols[i].name);
                if (!*symbols[i].ptr) {
                        if (asprintf(&failure, "it has no function %s, it is too old", symbols[i].name) < 0) {
                                failure = NULL;
                                no_memory = true;
                        }
                        for (size_t j = 0; j < ELEMENTSOF(symbols); j++)
                                *symbols[j].ptr = NULL;
                        dlclose(dl);
                        return;
                }
        }
        *(void **) &sym_nft_ctx_input_set_flags = dlsym(dl, "nft_ctx_input_set_flags");
}

int dlopen_nftables(NmError *err) {
        (void) pthread_once(&once, load);
        if (no_memory)
                return -ENOMEM;
        if (failure)
                return nm_error(err, -EOPNOTSUPP,
                                "cannot load " NFTABLES_SONAME ", which networks need for NAT (%s); install the package " NFTABLES_PACKAGE,
                                failure);
        return 0;
}

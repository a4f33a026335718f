/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <nftables/libnftables.h>

#include "error.h"

/* libnftables, loaded with dlopen() the first time NAT needs it, the way
 * systemd loads its optional libraries (dlopen_*() in src/shared/). nsmgrctl
 * and nsmgrd do not link it: a command that makes, lists or deletes a
 * namespace does not load it and the five libraries it pulls in (libnftnl,
 * libmnl, libxtables, libjansson, libgmp), and a machine without it can do
 * everything but NAT. */

#ifndef NFTABLES_SONAME
#define NFTABLES_SONAME "libnftables.so.1"
#endif
/* The Debian package that ships it, for the error message. */
#define NFTABLES_PACKAGE "libnftables1"

/* Since libnftables 1.0.9; before, NFT_CTX_OUTPUT_JSON alone made it read
 * JSON (and still does). */
#define NSMGR_NFT_CTX_INPUT_JSON (1u << 1)

extern typeof(nft_ctx_new) *sym_nft_ctx_new;
extern typeof(nft_ctx_free) *sym_nft_ctx_free;
extern typeof(nft_ctx_output_set_flags) *sym_nft_ctx_output_set_flags;
extern typeof(nft_ctx_buffer_output) *sym_nft_ctx_buffer_output;
extern typeof(nft_ctx_buffer_error) *sym_nft_ctx_buffer_error;
extern typeof(nft_ctx_get_output_buffer) *sym_nft_ctx_get_output_buffer;
extern typeof(nft_ctx_get_error_buffer) *sym_nft_ctx_get_error_buffer;
extern typeof(nft_run_cmd_from_buffer) *sym_nft_run_cmd_from_buffer;
/* Optional: NULL with a libnftables older than 1.0.9. */
extern unsigned int (*sym_nft_ctx_input_set_flags)(struct nft_ctx *ctx, unsigned int flags);

/* Loads the library once per process (later calls return what the first
 * found): 0, or -EOPNOTSUPP with one sentence that names the package to
 * install. */
int dlopen_nftables(NmError *err);

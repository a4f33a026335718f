/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* What went wrong, as one sentence for the user: library functions fill it
 * and return the same negative errno; only the programs print it. Modelled
 * on crun's libcrun_error_t. */
typedef struct NmError {
        int code;        /* negative errno */
        char *msg;       /* "cannot pin 'web': pid 4242 has exited" */
} NmError;

#define NM_ERROR_INIT { 0, NULL }

/* Sets the message unless one is already set (the innermost cause wins),
 * and returns code (a negative errno) so callers can `return nm_error(...)`. */
int nm_error(NmError *e, int code, const char *fmt, ...) _printf_(3, 4);

/* Adds context in front of an existing message: "applying 'x': <old>". */
int nm_error_prefix(NmError *e, int code, const char *fmt, ...) _printf_(3, 4);

void nm_error_clear(NmError *e);

static inline void nm_error_clearp(NmError *e) {
        nm_error_clear(e);
}
#define _cleanup_error_ _cleanup_(nm_error_clearp)

/* The message, or strerror of the code when nothing more was said. */
const char *nm_error_message(const NmError *e);

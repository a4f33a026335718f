/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "error.h"

int nm_error(NmError *e, int code, const char *fmt, ...) {
        va_list ap;

        if (code >= 0)
                code = -EIO;
        if (!e)
                return code;
        if (e->msg)
                return code;

        va_start(ap, fmt);
        if (vasprintf(&e->msg, fmt, ap) < 0)
                e->msg = NULL;
        va_end(ap);
        e->code = code;
        return code;
}

int nm_error_prefix(NmError *e, int code, const char *fmt, ...) {
        _cleanup_free_ char *prefix = NULL;
        char *joined = NULL;
        va_list ap;

        if (code >= 0)
                code = -EIO;
        if (!e)
                return code;

        va_start(ap, fmt);
        if (vasprintf(&prefix, fmt, ap) < 0)
                prefix = NULL;
        va_end(ap);
        if (!prefix)
                return code;

        if (asprintf(&joined, "%s: %s", prefix, e->msg ? e->msg : strerror(-code)) < 0)
                return code;
        free(e->msg);
        e->msg = joined;
        e->code = code;
        return code;
}

void nm_error_clear(NmError *e) {
        if (!e)
                return;
        e->msg = mfree(e->msg);
        e->code = 0;
}

const char *nm_error_message(const NmError *e) {
        if (e->msg)
                return e->msg;
        return strerror(e->code < 0 ? -e->code : EIO);
}

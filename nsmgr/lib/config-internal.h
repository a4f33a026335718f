/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#include "config.h"

/* One problem of a config, at file:line (line 0: the file as a whole). */
typedef struct ConfigError {
        const char *file;    /* owned by Config.files */
        int line;
        size_t order;        /* keeps problems of one line in the order found */
        size_t file_index;   /* position of file in Config.files, for sorting */
        bool repeated;       /* said before at the same place: not said again */
        char *msg;
} ConfigError;

/* The problems found so far. An allocation failure anywhere sets oom: the
 * model and this list are then incomplete, and the load fails as a whole
 * with -ENOMEM, never with a shorter list of problems. */
typedef struct ConfigErrors {
        ConfigError *v;
        size_t n, cap;
        bool oom;
} ConfigErrors;

void config_error_add(ConfigErrors *e, const char *file, int line, const char *fmt, ...) _printf_(4, 5);
void config_error_addv(ConfigErrors *e, const char *file, int line, const char *fmt, va_list ap) _printf_(4, 0);
void config_errors_done(ConfigErrors *e);
/* Sorted by file (in the order of files) and line, each problem once, as one
 * message of one line per problem: returns -EINVAL with it in err, 0 when
 * there is none, -ENOMEM after an allocation failure. */
int config_errors_report(ConfigErrors *e, char *const *files, NmError *err);

/* Appends what one file declares to c; problems go to errors. */
int config_parse_file(Config *c, const char *file, ConfigErrors *errors);
/* Cross-checks what every file declared. */
int config_validate(Config *c, ConfigErrors *errors);
bool sysctl_key_is_valid(const char *key);
int port_parse(const char *s, Port *ret);

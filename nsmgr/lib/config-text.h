/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <libconfig.h>
#include <stddef.h>

#include "config-internal.h"

/* A config file's text, read and looked through before libconfig parses
 * it, for what libconfig 1.5 gets wrong or too slowly:
 *  - it is read from a regular file of at most CONFIG_FILE_MAX bytes, so a
 *    FIFO, a device or a huge file never reaches the parser;
 *  - an integer without the L suffix is kept by libconfig as a 32-bit int,
 *    silently cut (4294968796 becomes 1500): every integer literal is
 *    read here exactly, in the order of the text, and given to its
 *    setting (config_text_attach());
 *  - @include would read any file, unchecked: it is refused;
 *  - each member added to a group { } is compared with all before it, so
 *    a group of N settings costs N^2: groups are limited to
 *    CONFIG_GROUP_MAX settings, and nesting to CONFIG_DEPTH_MAX levels. */

#define CONFIG_GROUP_MAX 64
#define CONFIG_DEPTH_MAX 32

/* An integer literal of the text. */
typedef struct ConfigInt {
        long long value;
        bool overflow;       /* beyond 64 bits: value is meaningless */
        bool hex;
        int line;
        char text[24];       /* as written, cut to fit, for messages */
} ConfigInt;

typedef struct ConfigText {
        char *text;          /* NUL-terminated; no NUL inside */
        size_t len;
        ConfigInt *ints;
        size_t n_ints, cap_ints;
} ConfigText;

void config_text_done(ConfigText *t);

/* Reads file (named file in messages) and looks it through. Problems are
 * added to errors as file:line: ...; returns 0 when the text can be given
 * to libconfig, -EINVAL when it must not be, -ENOMEM. */
int config_text_load(const char *path, const char *file, ConfigText *ret, ConfigErrors *errors);
/* The same for text in memory (len bytes, NUL bytes included). */
int config_text_scan(const char *text, size_t len, const char *file, ConfigText *ret, ConfigErrors *errors);

/* After libconfig parsed t->text into cf: hooks every integer setting to
 * its literal (config_setting_get_hook() returns the ConfigInt). Returns
 * -EBADMSG if the literals and the settings do not match up. */
int config_text_attach(ConfigText *t, config_setting_t *root);

/* Line n (from 1) of the text, without leading and trailing blanks, as a
 * message can show it between single quotes: bytes that are not printable
 * ASCII, ' and \ as \xNN, cut after CONFIG_LINE_SHOW_BYTES bytes with "...". */
#define CONFIG_LINE_SHOW_BYTES 60
#define CONFIG_LINE_SHOW_MAX (CONFIG_LINE_SHOW_BYTES * 4 + 4)
const char *config_text_line(const ConfigText *t, int n, char buf[static CONFIG_LINE_SHOW_MAX]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "error.h"
#include "macro.h"

#define EXIT_USAGE 2
#define EXIT_NOT_RUNNING 3
/* apply --dry-run: the plan has changes (0: nothing to change). */
#define EXIT_CHANGES_PENDING 4

extern const char *program_name;

/* One line on stderr, prefixed with the program name. */
void log_error(const char *fmt, ...) _printf_(1, 2);
void log_warning(const char *fmt, ...) _printf_(1, 2);
/* Prints the error's sentence and returns EXIT_FAILURE. */
int fail(const NmError *err);
/* A usage error: one line naming what is wrong, exit status 2. */
int usage_error(const char *fmt, ...) _printf_(1, 2);

/* Parses options for a verb; long-only options map to their val. Options
 * may stand before or after positional arguments (GNU getopt permutes).
 * Returns 0 and fills *ret_optind, or EXIT_USAGE after saying why. */
typedef int (*opt_fn_t)(int c, const char *arg, void *userdata);
int parse_options(int argc, char **argv, const char *verb, const struct option *opts, const char *shortopts,
                  opt_fn_t fn, void *userdata, int *ret_optind);

/* Prints a JSON value the same way everywhere (pretty, stable key order
 * as inserted, no escaped slashes). */
void print_json(json_object *o);

int verb_create(int argc, char **argv);
int verb_pin(int argc, char **argv);
int verb_delete(int argc, char **argv);
int verb_list(int argc, char **argv);
int verb_show(int argc, char **argv);
int verb_path(int argc, char **argv);
int verb_exec(int argc, char **argv);
int verb_apply(int argc, char **argv);
int verb_attach(int argc, char **argv);
int verb_detach(int argc, char **argv);
int verb_oci(int argc, char **argv);
int verb_oci_hook(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_reload(int argc, char **argv);
int verb_check(int argc, char **argv);
int verb_monitor(int argc, char **argv);

/* Records that nsmgr made the pin NAME (owner.h), warning when it cannot. */
void record_owner(const char *name, const char *origin);

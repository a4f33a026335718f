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

/* Every option of every verb; the value getopt hands the verb's callback,
 * for the short form too. */
enum {
        OPT_HELP = 0x100,
        OPT_JSON,
        OPT_EXIST_OK,
        OPT_MISSING_OK,
        OPT_FORCE,
        OPT_PID,
        OPT_PATH,
        OPT_ALLOW_HOST,
        OPT_QUIET,
        OPT_NO_LEGEND,
        OPT_DRY_RUN,
        OPT_CONFIG,
        OPT_IP,
        OPT_IFNAME,
        OPT_BUNDLE,
        OPT_TIMEOUT,
};

/* What completion offers for an option's argument or a positional one. */
typedef enum ArgKind {
        ARG_NONE,
        ARG_WORD,       /* nothing to offer: a new name, a number, an address */
        ARG_FILE,
        ARG_DIR,
        ARG_PID,
        ARG_NETNS,      /* an existing namespace, from /run/netns */
        ARG_NETWORK,    /* a network the config declares */
        ARG_VERB,
        ARG_COMMAND,    /* a command and its arguments */
} ArgKind;

/* One option of a verb: its help and its parsing come from this one entry,
 * so that no option goes undescribed. */
typedef struct VerbOption {
        const char *name;       /* --name */
        char short_name;        /* -x, or 0 */
        int val;                /* OPT_* */
        const char *arg;        /* the argument's placeholder; NULL: takes none */
        ArgKind arg_kind;
        const char *help;
} VerbOption;

typedef struct Verb Verb;
struct Verb {
        const char *name;
        int (*run)(const Verb *verb, int argc, char **argv);
        const char *args;               /* the positional arguments, as in the synopsis */
        ArgKind arg_kinds[3];           /* what each positional argument is */
        const char *summary;            /* one line in the list of commands */
        const char *description;        /* a paragraph for 'nsmgrctl help VERB' */
        const VerbOption *options;      /* ends with { NULL } */
        /* Options end at the first positional argument: what follows it
         * belongs to a command (exec). */
        bool options_first;
};

/* Prints 'nsmgrctl help VERB'. */
void verb_help(const Verb *verb);

/* Parses a verb's options (Verb.options, and -h/--help). Options may stand
 * before or after positional arguments (GNU getopt permutes), unless
 * Verb.options_first. Returns ARGS_PARSED and sets *ret_optind, or the exit
 * status the verb returns at once: 0 after printing its help, EXIT_USAGE
 * after saying what is wrong. */
#define ARGS_PARSED (-1)
typedef int (*opt_fn_t)(int c, const char *arg, void *userdata);
int parse_options(const Verb *verb, int argc, char **argv, opt_fn_t fn, void *userdata, int *ret_optind);

/* Output for people: colour only on a terminal and without NO_COLOR set
 * (https://no-color.org), widths in the columns a terminal shows. */
bool colors_enabled(void);
const char *ansi_highlight(void);
const char *ansi_red(void);
const char *ansi_green(void);
const char *ansi_normal(void);
/* The columns S takes on a terminal in the user's locale; its length in
 * bytes if it is not valid there. */
size_t display_width(const char *s);

/* A table for people: columns as wide as their widest cell in display
 * columns, the header (the legend) optional and highlighted. A row with
 * fewer cells than the header ends in its last cell, which takes the rest
 * of the line and counts in no column's width. */
typedef struct Table Table;
Table *table_new(size_t n_columns, const char *const *header);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
#define _cleanup_table_ _cleanup_(table_freep)
/* Right-aligns column I (numbers). */
void table_align_right(Table *t, size_t i);
/* Adds a row of N cells (copied); RED prints it in red. Returns 0 or -ENOMEM. */
int table_add_row(Table *t, size_t n, const char *const *cells, bool red);
void table_print(const Table *t, bool legend);

/* Prints a JSON value the same way everywhere (pretty, stable key order
 * as inserted, no escaped slashes). */
void print_json(json_object *o);

int verb_create(const Verb *verb, int argc, char **argv);
int verb_pin(const Verb *verb, int argc, char **argv);
int verb_delete(const Verb *verb, int argc, char **argv);
int verb_list(const Verb *verb, int argc, char **argv);
int verb_show(const Verb *verb, int argc, char **argv);
int verb_path(const Verb *verb, int argc, char **argv);
int verb_exec(const Verb *verb, int argc, char **argv);
int verb_apply(const Verb *verb, int argc, char **argv);
int verb_attach(const Verb *verb, int argc, char **argv);
int verb_detach(const Verb *verb, int argc, char **argv);
int verb_oci(const Verb *verb, int argc, char **argv);
int verb_oci_hook(const Verb *verb, int argc, char **argv);
int verb_status(const Verb *verb, int argc, char **argv);
int verb_reload(const Verb *verb, int argc, char **argv);
int verb_check(const Verb *verb, int argc, char **argv);
int verb_monitor(const Verb *verb, int argc, char **argv);
/* nsmgrctl cni: the CNI plugin with the engine; not a listed verb. */
int verb_cni(int argc, char **argv);
/* The names of the networks a config declares, one a line, nothing when
 * it cannot be read: for shell completion. */
int verb_complete_networks(const Verb *verb, int argc, char **argv);


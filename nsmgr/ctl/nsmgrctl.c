/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <locale.h>

#include "ctl.h"

/* Every verb, its help and each of its options, in one place: help and
 * shell completion are made from these tables, and so is the parsing. */

#define OPTION_JSON(what) { "json", 0, OPT_JSON, NULL, ARG_NONE, what }
#define OPTION_CONFIG(what) { "config", 'c', OPT_CONFIG, "FILE", ARG_FILE, what }
#define CONFIG_DEFAULT "(default: /etc/nsmgr/nsmgr.conf, then /etc/nsmgr/conf.d/*.conf in name order)"

static const VerbOption create_options[] = {
        { "exist-ok", 0, OPT_EXIST_OK, NULL, ARG_NONE,
          "an existing NAME is fine: exit 0 and change nothing (a broken placeholder is still replaced)" },
        {}
};

static const VerbOption pin_options[] = {
        { "pid", 0, OPT_PID, "PID", ARG_PID,
          "pin the namespace process PID is in; it is addressed through a pidfd, so a reused PID is never taken for it" },
        { "path", 0, OPT_PATH, "FILE", ARG_FILE,
          "pin the namespace FILE refers to: /proc/PID/task/TID/ns/net, another bind mount" },
        { "allow-host", 0, OPT_ALLOW_HOST, NULL, ARG_NONE,
          "allow pinning the machine's own namespace (refused otherwise: it is rarely what was meant)" },
        {}
};

static const VerbOption delete_options[] = {
        { "force", 'f', OPT_FORCE, NULL, ARG_NONE,
          "unpin even while processes are inside; the namespace then lives on as long as they do" },
        { "missing-ok", 0, OPT_MISSING_OK, NULL, ARG_NONE, "a NAME that does not exist is fine: exit 0" },
        {}
};

static const VerbOption list_options[] = {
        OPTION_JSON("print a JSON array, one object per entry, with its networks and ports"),
        { "quiet", 'q', OPT_QUIET, NULL, ARG_NONE, "print only the names, one a line" },
        { "no-legend", 0, OPT_NO_LEGEND, NULL, ARG_NONE, "leave out the header line" },
        {}
};

static const VerbOption show_options[] = {
        OPTION_JSON("print one JSON object, with list's fields and the interfaces, routes and processes"),
        {}
};

static const VerbOption path_options[] = {
        OPTION_JSON("print {\"name\": NAME, \"path\": PATH}"),
        {}
};

static const VerbOption exec_options[] = {
        {}
};

static const VerbOption apply_options[] = {
        OPTION_CONFIG("read FILE alone " CONFIG_DEFAULT),
        { "dry-run", 'n', OPT_DRY_RUN, NULL, ARG_NONE, "print the plan and change nothing" },
        OPTION_JSON("print {\"dry_run\", \"changed\", \"changes\", \"warnings\", \"steps\"} as JSON"),
        { "force", 0, OPT_FORCE, NULL, ARG_NONE,
          "apply FILE although nsmgrd keeps another config in force (it will undo what differs)" },
        {}
};

static const VerbOption check_options[] = {
        OPTION_CONFIG("check FILE alone " CONFIG_DEFAULT),
        {}
};

static const VerbOption monitor_options[] = {
        OPTION_JSON("print one JSON object a line"),
        {}
};

static const VerbOption attach_options[] = {
        { "ip", 0, OPT_IP, "ADDR", ARG_WORD,
          "take ADDR (in NETWORK's subnet) instead of the next free address" },
        { "ifname", 0, OPT_IFNAME, "IF", ARG_WORD, "name the interface IF inside NAME (default: the lowest free ethN)" },
        OPTION_CONFIG("the config that declares NETWORK " CONFIG_DEFAULT),
        OPTION_JSON("print the interface and its addresses as JSON"),
        {}
};

static const VerbOption detach_options[] = {
        OPTION_CONFIG("the config that declares NETWORK " CONFIG_DEFAULT),
        {}
};

static const VerbOption oci_options[] = {
        { "bundle", 0, OPT_BUNDLE, "DIR", ARG_DIR,
          "instead of printing the entry, make DIR/config.json join NAME (other settings stay as they are)" },
        OPTION_JSON("accepted for symmetry with the other commands: the entry is JSON anyway"),
        {}
};

static const VerbOption oci_hook_options[] = {
        OPTION_CONFIG("the config that declares the networks org.nsmgr.network names " CONFIG_DEFAULT),
        {}
};

static const VerbOption status_options[] = {
        OPTION_JSON("print nsmgrd's status record with \"running\" added; the same keys whether or not it has ever run"),
        {}
};

static const VerbOption reload_options[] = {
        { "timeout", 0, OPT_TIMEOUT, "SEC", ARG_WORD, "wait at most SEC seconds, 1 to 86400 (default: 120)" },
        {}
};

static const VerbOption no_options[] = {
        {}
};

static int verb_help_cmd(const Verb *verb, int argc, char **argv);
static int verb_version(const Verb *verb, int argc, char **argv);
static int verb_complete(const Verb *verb, int argc, char **argv);

static const Verb verbs[] = {
        { .name = "create",
          .run = verb_create,
          .args = "NAME",
          .arg_kinds = { ARG_WORD },
          .summary = "a new namespace, loopback up, at /run/netns/NAME",
          .description = "Make a network namespace with its loopback up and pin it at "
                         "/run/netns/NAME, where ip-netns(8) and container runtimes find it. It lives"
                         " until 'nsmgrctl delete NAME', whatever runs in it or stops. Prints the "
                         "path.",
          .options = create_options, },
        { .name = "pin",
          .run = verb_pin,
          .args = "NAME",
          .arg_kinds = { ARG_WORD },
          .summary = "pin a process's namespace, or any handle",
          .description = "Pin the network namespace of a running process, or any namespace handle, at"
                         " /run/netns/NAME, so that it outlives the processes in it. Give exactly one"
                         " of --pid and --path. Prints the path.",
          .options = pin_options, },
        { .name = "delete",
          .run = verb_delete,
          .args = "NAME",
          .arg_kinds = { ARG_NETNS },
          .summary = "unpin NAME (refused while processes are inside)",
          .description = "Unpin NAME and remove what nsmgr made for it (the name-resolution files of "
                         "its containers). Refused while processes are inside, naming them. Broken "
                         "entries (an empty placeholder a crash left) are removed too.",
          .options = delete_options, },
        { .name = "list",
          .run = verb_list,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "every namespace under /run/netns, broken included",
          .description = "Every entry under /run/netns, whoever made it: its inode, nsid, the number "
                         "of processes inside, whether nsmgr made it (create, pin, config, hook) and "
                         "its networks. Broken entries are listed with the reason.",
          .options = list_options, },
        { .name = "show",
          .run = verb_show,
          .args = "NAME",
          .arg_kinds = { ARG_NETNS },
          .summary = "interfaces, addresses, routes, processes of NAME",
          .description = "The interfaces, addresses and routes inside NAME, its networks and "
                         "published ports, and the processes inside. Looking inside a namespace needs"
                         " root.",
          .options = show_options, },
        { .name = "path",
          .run = verb_path,
          .args = "NAME",
          .arg_kinds = { ARG_NETNS },
          .summary = "the path a runtime joins",
          .description = "The path a runtime joins NAME by: OCI linux.namespaces, systemd's "
                         "NetworkNamespacePath=, podman's --network ns:PATH, CNI_NETNS. Fails if NAME"
                         " does not exist.",
          .options = path_options, },
        { .name = "exec",
          .run = verb_exec,
          .args = "NAME [--] CMD [ARG...]",
          .arg_kinds = { ARG_NETNS, ARG_COMMAND },
          .summary = "run a command inside NAME, as 'ip netns exec'",
          .description = "Run CMD inside NAME as 'ip netns exec' does: the files in /etc/netns/NAME/ "
                         "are bound over /etc and /sys describes NAME's interfaces. Options end at "
                         "NAME: what follows is the command's, and a word after NAME that starts with"
                         " '-' (other than '--') is taken for a misspelt option of nsmgrctl. The exit"
                         " status is CMD's (126: it cannot be run, 127: it is not found). Entering a "
                         "namespace needs root.",
          .options = exec_options,
          .options_first = true, },
        { .name = "apply",
          .run = verb_apply,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "make the system what the config declares",
          .description = "Make the system what the config declares: observe, plan the difference, "
                         "check that every step can be taken, then take the steps. What matches is "
                         "left as it is; what nsmgr made and the config no longer declares is torn "
                         "down; what nsmgr did not make is never touched. A broken config is refused "
                         "as a whole, each problem named by file:line. While nsmgrd runs it keeps its"
                         " own config: use 'nsmgrctl reload' to change what it keeps.",
          .options = apply_options, },
        { .name = "check",
          .run = verb_check,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "validate the config, without root",
          .description = "Parse and validate the config as apply would, each problem named by "
                         "file:line, without root and without looking at or changing the system. "
                         "Exit status 0 when it is valid, 1 when not.",
          .options = check_options, },
        { .name = "attach",
          .run = verb_attach,
          .args = "NAME|PATH NETWORK",
          .arg_kinds = { ARG_NETNS, ARG_NETWORK },
          .summary = "a veth into NAME on NETWORK, address from IPAM",
          .description = "Put a veth into NAME on the bridge of the declared network NETWORK, with an"
                         " address from its IPAM. The lease makes the attachment part of what apply "
                         "and nsmgrd keep wired, until 'nsmgrctl detach'. Instead of a NAME under "
                         "/run/netns, a PATH (containing '/') names any network namespace handle, "
                         "e.g. /var/run/netns/cni-... or /proc/PID/ns/net; it is checked to be one.",
          .options = attach_options, },
        { .name = "detach",
          .run = verb_detach,
          .args = "NAME|PATH NETWORK",
          .arg_kinds = { ARG_NETNS, ARG_NETWORK },
          .summary = "remove that veth and release its lease",
          .description = "Remove the veth that 'nsmgrctl attach' put into NAME (or the namespace at "
                         "PATH) on NETWORK, and release its lease. When the namespace is gone "
                         "already, the lease is released all the same.",
          .options = detach_options, },
        { .name = "oci",
          .run = verb_oci,
          .args = "NAME",
          .arg_kinds = { ARG_NETNS },
          .summary = "NAME's OCI namespace entry, or patch a bundle",
          .description = "Print the OCI runtime spec's linux.namespaces entry that joins NAME (JSON),"
                         " or with --bundle make a bundle's config.json join it.",
          .options = oci_options, },
        { .name = "oci-hook",
          .run = verb_oci_hook,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "OCI createRuntime hook (org.nsmgr.* annotations)",
          .description = "An OCI createRuntime hook: it reads the container's state on standard input"
                         " and, as the container's annotations say, pins its network namespace "
                         "(org.nsmgr.pin=NAME) and attaches it to a declared network "
                         "(org.nsmgr.network=NETWORK). An OCI runtime runs it, not a person.",
          .options = oci_hook_options, },
        { .name = "status",
          .run = verb_status,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "is nsmgrd running, its last reconcile, repairs",
          .description = "Whether nsmgrd runs, its config files, what it manages, its last reconcile "
                         "and reload with their result and time, and the drift it repaired. Exit "
                         "status 0 while it runs, 3 when it does not.",
          .options = status_options, },
        { .name = "reload",
          .run = verb_reload,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "make nsmgrd apply an edited config, and wait",
          .description = "Make nsmgrd re-read its config and apply the difference, and wait until it "
                         "has. Exit status 1 with each file:line problem when the config is broken "
                         "(nsmgrd then keeps the config it had), 3 when nsmgrd does not run.",
          .options = reload_options, },
        { .name = "monitor",
          .run = verb_monitor,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "one line per event, until interrupted",
          .description = "Print one line per event as it happens: namespaces created, pinned and "
                         "deleted (by nsmgr or by anyone, as 'ip netns monitor' sees them), drift "
                         "repaired, reloads. With nsmgrd running its D-Bus signals are followed; "
                         "without it, /run/netns is watched. Runs until interrupted.",
          .options = monitor_options, },
        { .name = "help",
          .run = verb_help_cmd,
          .args = "[COMMAND]",
          .arg_kinds = { ARG_VERB },
          .summary = "this help, or COMMAND's with each of its options",
          .description = "Print the list of commands, or what COMMAND does and each of its options.",
          .options = no_options, },
        { .name = "version",
          .run = verb_version,
          .args = "",
          .arg_kinds = { ARG_NONE },
          .summary = "print nsmgrctl's version",
          .description = "Print nsmgrctl's version.",
          .options = no_options, },
};

/* Not listed: what the shell completion scripts ask. */
static const Verb complete_verb = {
        .name = "__complete", .run = verb_complete, .args = "WHAT [ARG]", .options = no_options,
};
static const VerbOption complete_networks_options[] = {
        OPTION_CONFIG("the config"),
        {}
};
static const Verb complete_networks_verb = {
        .name = "__complete networks", .run = verb_complete_networks, .args = "", .options = complete_networks_options,
};

static const Verb *find_verb(const char *name) {
        /* Matched exactly, never by prefix. */
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(name, verbs[i].name))
                        return &verbs[i];
        return NULL;
}

#define HELP_WIDTH 80

/* Prints TEXT word-wrapped to HELP_WIDTH columns, the first line going on
 * from column AT, the others indented by INDENT. */
static void print_wrapped(const char *text, size_t at, size_t indent) {
        size_t col = at;
        bool first = true;

        for (const char *p = text; *p;) {
                size_t n = strcspn(p, " ");
                _cleanup_free_ char *word = strndup(p, n);
                size_t w = word ? display_width(word) : n;

                if (!first && col + 1 + w > HELP_WIDTH) {
                        printf("\n%*s", (int) indent, "");
                        col = indent;
                } else if (!first) {
                        putchar(' ');
                        col++;
                }
                printf("%.*s", (int) n, p);
                col += w;
                first = false;
                p += n;
                p += strspn(p, " ");
        }
        putchar('\n');
}

static char *option_label(const VerbOption *o) {
        char *s;

        if (asprintf(&s, "%c%c%s--%s%s%s", o->short_name ? '-' : ' ', o->short_name ? o->short_name : ' ',
                     o->short_name ? ", " : "  ", o->name, o->arg ? " " : "", o->arg ? o->arg : "") < 0)
                return NULL;
        return s;
}

static const VerbOption help_option = { "help", 'h', OPT_HELP, NULL, ARG_NONE, "show this help" };

void verb_help(const Verb *verb) {
        size_t w = 0;

        printf("Usage: %s %s%s%s%s\n\n", program_name, verb->name, *verb->args ? " " : "", verb->args,
               verb->options[0].name ? " [OPTIONS]" : "");
        print_wrapped(verb->description, 0, 0);

        for (const VerbOption *o = verb->options; o->name; o++) {
                _cleanup_free_ char *l = option_label(o);
                if (l && strlen(l) > w)
                        w = strlen(l);
        }
        if (w < 10)
                w = 10;
        printf("\nOptions:\n");
        for (const VerbOption *o = verb->options;; o++) {
                const VerbOption *x = o->name ? o : &help_option;
                _cleanup_free_ char *l = option_label(x);

                printf("  %-*s  ", (int) w, l ? l : x->name);
                print_wrapped(x->help, 2 + w + 2, 2 + w + 2);
                if (!o->name)
                        break;
        }
        printf("\nSee %s(8).\n", program_name);
}

static void help(void) {
        size_t w = 0;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                size_t l = strlen(verbs[i].name) + (*verbs[i].args ? 1 + strlen(verbs[i].args) : 0);
                if (l > w)
                        w = l;
        }
        printf("Usage: %s COMMAND [OPTIONS] [NAME]\n\n"
               "Named, pinned network namespaces that outlive the processes in them.\n\n"
               "Commands:\n", program_name);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                _cleanup_free_ char *s = NULL;

                if (asprintf(&s, "%s%s%s", verbs[i].name, *verbs[i].args ? " " : "", verbs[i].args) < 0)
                        return;
                printf("  %-*s  ", (int) w, s);
                print_wrapped(verbs[i].summary, 2 + w + 2, 2 + w + 2);
        }
        printf("\nOptions:\n"
               "  -h, --help     show this help\n"
               "  -V, --version  show the version\n\n");
        print_wrapped("'nsmgrctl help COMMAND' or 'nsmgrctl COMMAND --help' describes a command and each of its "
                      "options. Options may stand before or after NAME. Every read command takes --json.",
                      0, 0);
        print_wrapped("Exit status: 0 success, 1 failure, 2 usage error, 3 nsmgrd is not running "
                      "(status, reload), 4 apply --dry-run has changes to make.", 0, 0);
        printf("See %s(8).\n", program_name);
}

static int verb_help_cmd(const Verb *verb, int argc, char **argv) {
        const Verb *v;
        int optind, r;

        r = parse_options(verb, argc, argv, NULL, NULL, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind >= argc) {
                help();
                return 0;
        }
        if (optind + 1 < argc)
                return usage_error("help: unexpected argument '%s'", argv[optind + 1]);
        v = find_verb(argv[optind]);
        if (!v)
                return usage_error("help: unknown command '%s'", argv[optind]);
        verb_help(v);
        return 0;
}

static int verb_version(const Verb *verb, int argc, char **argv) {
        int optind, r;

        r = parse_options(verb, argc, argv, NULL, NULL, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind < argc)
                return usage_error("version: unexpected argument '%s'", argv[optind]);
        puts("nsmgrctl " NSMGR_VERSION);
        return 0;
}

static const char *const arg_kind_names[] = {
        [ARG_NONE] = "none",       [ARG_WORD] = "word",   [ARG_FILE] = "file",       [ARG_DIR] = "dir",
        [ARG_PID] = "pid",         [ARG_NETNS] = "netns", [ARG_NETWORK] = "network", [ARG_VERB] = "verb",
        [ARG_COMMAND] = "command",
};

/* nsmgrctl __complete verbs               NAME<TAB>SUMMARY, a line each
 * nsmgrctl __complete args VERB           the kind of each positional argument
 * nsmgrctl __complete options VERB        -X or --NAME<TAB>KIND<TAB>HELP (KIND: of its argument)
 * nsmgrctl __complete networks [-c FILE]  the networks the config declares
 * A stable interface between nsmgrctl and the completion scripts shipped
 * with it, not for people. */
static int verb_complete(const Verb *verb, int argc, char **argv) {
        const char *what = argc > 1 ? argv[1] : "";
        const Verb *v = NULL;

        if (streq(what, "networks"))
                return verb_complete_networks(&complete_networks_verb, argc - 1, argv + 1);
        if (streq(what, "verbs")) {
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        printf("%s\t%s\n", verbs[i].name, verbs[i].summary);
                return 0;
        }
        if (!streq(what, "args") && !streq(what, "options"))
                return usage_error("__complete: unknown request '%s'", what);
        if (argc != 3)
                return usage_error("__complete %s: needs one COMMAND", what);
        v = find_verb(argv[2]);
        if (!v)
                return 0;
        if (streq(what, "args")) {
                for (size_t i = 0; i < ELEMENTSOF(v->arg_kinds) && v->arg_kinds[i] != ARG_NONE; i++)
                        printf("%s\n", arg_kind_names[v->arg_kinds[i]]);
                return 0;
        }
        for (const VerbOption *o = v->options;; o++) {
                const VerbOption *x = o->name ? o : &help_option;

                if (x->short_name)
                        printf("-%c\t%s\t%s\n", x->short_name, arg_kind_names[x->arg_kind], x->help);
                printf("--%s\t%s\t%s\n", x->name, arg_kind_names[x->arg_kind], x->help);
                if (!o->name)
                        break;
        }
        return 0;
}

int main(int argc, char **argv) {
        const char *name;
        const Verb *v;

        /* Only character classes: widths of names in tables. Numbers,
         * messages and JSON stay as they are in every locale. */
        setlocale(LC_CTYPE, "");

        if (argc < 2)
                return usage_error("missing COMMAND");
        name = argv[1];
        if (streq(name, "--help") || streq(name, "-h")) {
                help();
                return 0;
        }
        if (streq(name, "--version") || streq(name, "-V"))
                return verb_version(find_verb("version"), 1, argv + 1);
        if (streq(name, complete_verb.name))
                return verb_complete(&complete_verb, argc - 1, argv + 1);
        /* Not listed either: what the CNI plugin hands on (nsmgr-cni(8)). */
        if (streq(name, "cni"))
                return verb_cni(argc - 1, argv + 1);
        v = find_verb(name);
        if (v)
                return v->run(v, argc - 1, argv + 1);
        if (name[0] == '-')
                return usage_error("unknown option '%s'", name);
        return usage_error("unknown command '%s'", name);
}

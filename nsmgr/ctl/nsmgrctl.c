/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *synopsis;
        const char *summary;
} Verb;

static const Verb verbs[] = {
        { "create", verb_create, "create NAME [--exist-ok]",
          "make a network namespace with loopback up, pinned at /run/netns/NAME" },
        { "pin", verb_pin, "pin NAME (--pid PID | --path FILE) [--allow-host]",
          "pin a running process's namespace, or any handle, so it outlives its processes" },
        { "delete", verb_delete, "delete NAME [--force] [--missing-ok]", "unpin NAME (refused while processes are inside)" },
        { "list", verb_list, "list [--json]", "every namespace under /run/netns, broken ones included" },
        { "show", verb_show, "show NAME [--json]", "interfaces, addresses, routes and processes of NAME" },
        { "path", verb_path, "path NAME [--json]", "the path a runtime joins (OCI linux.namespaces, NetworkNamespacePath=)" },
        { "apply", verb_apply, "apply [-c FILE] [--dry-run] [--json] [--force]",
          "make the system what the config declares; --dry-run prints the plan" },
        { "check", verb_check, "check [-c FILE]", "validate the config, without root and without touching the system" },
        { "attach", verb_attach, "attach NAME NETWORK [--ip ADDR] [--ifname IF] [-c FILE]",
          "a veth into NAME on NETWORK's bridge, with an address from IPAM" },
        { "detach", verb_detach, "detach NAME NETWORK [-c FILE]", "remove that veth and release its lease" },
        { "exec", verb_exec, "exec NAME -- CMD [ARG...]", "run a command inside NAME, as 'ip netns exec' does" },
        { "oci", verb_oci, "oci NAME [--bundle DIR]",
          "print NAME's OCI namespace entry, or make the bundle's config.json join NAME" },
        { "oci-hook", verb_oci_hook, "oci-hook",
          "OCI createRuntime hook: pins the container's namespace as its org.nsmgr.pin annotation says" },
        { "status", verb_status, "status [--json]",
          "whether nsmgrd runs, its config, its last reconcile and drift repairs (exit 3: not running)" },
        { "reload", verb_reload, "reload [--timeout SEC]",
          "make nsmgrd re-read its config and apply the difference; waits for the result" },
        { "monitor", verb_monitor, "monitor [--json]",
          "one line per event: namespaces created, pinned, deleted, drift repaired, reloads" },
};

static void help(void) {
        printf("Usage: %s COMMAND [OPTIONS] [NAME]\n\n"
               "Named, pinned network namespaces that outlive the processes in them.\n\n"
               "Commands:\n", program_name);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-50s %s\n", verbs[i].synopsis, verbs[i].summary);
        printf("\nOptions may stand before or after NAME. Every read command takes --json.\n"
               "Exit status: 0 success, 1 failure, 2 usage error, 3 nsmgrd is not running (status, reload),\n"
               "4 apply --dry-run has changes to make.\n"
               "See nsmgrctl(8).\n");
}

int main(int argc, char **argv) {
        const char *verb;

        if (argc < 2)
                return usage_error("missing COMMAND");
        verb = argv[1];
        if (streq(verb, "--help") || streq(verb, "-h") || streq(verb, "help")) {
                help();
                return 0;
        }
        if (streq(verb, "--version")) {
                puts("nsmgrctl " NSMGR_VERSION);
                return 0;
        }
        /* Matched exactly, never by prefix. */
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verb, verbs[i].name)) {
                        for (int j = 2; j < argc; j++) {
                                if (streq(argv[j], "--"))
                                        break;
                                /* exec: what follows NAME belongs to the command. */
                                if (verbs[i].run == verb_exec && argv[j][0] != '-')
                                        break;
                                if (streq(argv[j], "--help") || streq(argv[j], "-h")) {
                                        printf("Usage: %s %s\n  %s\n", program_name, verbs[i].synopsis,
                                               verbs[i].summary);
                                        return 0;
                                }
                        }
                        return verbs[i].run(argc - 1, argv + 1);
                }
        if (verb[0] == '-')
                return usage_error("unknown option '%s'", verb);
        return usage_error("unknown command '%s'", verb);
}

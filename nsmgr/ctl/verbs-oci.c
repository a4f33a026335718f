/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "ctl.h"
#include "fileio.h"
#include "netns.h"
#include "oci.h"
#include "ocihook.h"
#include "owner.h"

static int on_option(int c, const char *arg, void *userdata) {
        const char **bundle = userdata;

        switch (c) {
        case OPT_BUNDLE: *bundle = arg; break;
        case OPT_JSON:   break; /* what oci prints is JSON anyway */
        default:         return EXIT_USAGE;
        }
        return 0;
}

int verb_oci(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        const char *bundle = NULL, *name;
        json_object *entry;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &bundle, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (optind >= argc)
                return usage_error("oci: missing NAME");
        if (optind + 1 < argc)
                return usage_error("oci: unexpected argument '%s'", argv[optind + 1]);
        name = argv[optind];
        if (bundle && !*bundle)
                return usage_error("oci: --bundle needs a folder");

        if (bundle) {
                r = oci_bundle_join(bundle, name, &err);
                if (r < 0)
                        return fail(&err);
                return 0;
        }

        r = netns_open(name, &fd, &err);
        if (r < 0)
                return fail(&err);
        path = netns_path(name);
        entry = oci_netns_entry(path);
        if (!entry) {
                log_error("cannot print the entry of '%s': out of memory", name);
                return EXIT_FAILURE;
        }
        print_json(entry);
        json_object_put(entry);
        return 0;
}

static int on_hook_option(int c, const char *arg, void *userdata) {
        const char **config = userdata;

        switch (c) {
        case OPT_CONFIG:
                *config = arg;
                return 0;
        default:
                return EXIT_USAGE;
        }
}

int verb_oci_hook(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *text = NULL;
        const char *config = NULL;
        OciHookRequest req = {};
        size_t len;
        int optind, r;

        r = parse_options(verb, argc, argv, on_hook_option, &config, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (config && !*config)
                return usage_error("oci-hook: option '--config' needs a file name");
        if (optind < argc)
                return usage_error("oci-hook: unexpected argument '%s'", argv[optind]);
        if (isatty(STDIN_FILENO))
                return usage_error("oci-hook: reads the container state on stdin; an OCI runtime runs it as a createRuntime hook");

        r = oci_hook_read_state(STDIN_FILENO, &text, &len, &err);
        if (r < 0)
                return fail(&err);

        r = oci_hook_parse(text, len, &req, &err);
        if (r < 0)
                return fail(&err);

        r = oci_hook_pin(&req, &err);
        if (r < 0) {
                oci_hook_request_done(&req);
                return fail(&err);
        }

        if (req.network) {
                bool pinned_now = r > 0;

                r = oci_attach_network(config, req.id, req.pin, req.network, &err);
                if (r < 0) {
                        /* Half-wired is worse than not started: the pin made
                         * by this run goes too, and the runtime refuses. */
                        if (pinned_now) {
                                _cleanup_error_ NmError undo = NM_ERROR_INIT;
                                if (netns_unpin(req.pin, &undo) >= 0)
                                        (void) owner_forget(req.pin);
                        }
                        oci_hook_request_done(&req);
                        return fail(&err);
                }
        }

        oci_hook_request_done(&req);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"
#include "netns.h"
#include "oci.h"

enum {
        OPT_BUNDLE = 0x100,
};

static int on_option(int c, const char *arg, void *userdata) {
        const char **bundle = userdata;

        switch (c) {
        case OPT_BUNDLE: *bundle = arg; break;
        default:         return EXIT_USAGE;
        }
        return 0;
}

int verb_oci(int argc, char **argv) {
        static const struct option opts[] = {
                { "bundle", required_argument, NULL, OPT_BUNDLE },
                {}
        };
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        const char *bundle = NULL, *name;
        json_object *entry;
        int optind, r;

        r = parse_options(argc, argv, "oci", opts, "", on_option, &bundle, &optind);
        if (r)
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

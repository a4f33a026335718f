/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "ctl.h"
#include "reconcile.h"
#include "strv.h"

enum {
        OPT_JSON = 0x100,
        OPT_DRY_RUN,
        OPT_CONFIG,
};

struct apply_args {
        bool json;
        bool dry_run;
        const char *config;
};

static int on_option(int c, const char *arg, void *userdata) {
        struct apply_args *a = userdata;

        switch (c) {
        case OPT_JSON:    a->json = true; break;
        case OPT_DRY_RUN:
        case 'n':         a->dry_run = true; break;
        case OPT_CONFIG:
        case 'c':         a->config = arg; break;
        default:          return EXIT_USAGE;
        }
        return 0;
}

int verb_apply(int argc, char **argv) {
        static const struct option opts[] = {
                { "dry-run", no_argument,       NULL, OPT_DRY_RUN },
                { "config",  required_argument, NULL, OPT_CONFIG },
                { "json",    no_argument,       NULL, OPT_JSON },
                {}
        };
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        ReconcileReport report = {};
        struct apply_args a = {};
        int optind, r;

        r = parse_options(argc, argv, "apply", opts, "c:n", on_option, &a, &optind);
        if (r)
                return r;
        if (a.config && !*a.config)
                return usage_error("apply: option '--config' needs a file name");
        if (optind < argc)
                return usage_error("apply: unexpected argument '%s'", argv[optind]);

        r = config_load(a.config, &cfg, &err);
        if (r < 0)
                return fail(&err);

        r = reconcile(cfg, a.dry_run ? RECONCILE_DRY_RUN : 0, &report, &err);
        STRV_FOREACH(w, report.warnings)
                log_warning("%s", *w);
        if (r < 0) {
                /* What was done before the failure is worth knowing. */
                STRV_FOREACH(c, report.changes)
                        printf("%s\n", *c);
                reconcile_report_done(&report);
                return fail(&err);
        }

        if (a.json) {
                json_object *o = json_object_new_object(), *changes = json_object_new_array(),
                            *warnings = json_object_new_array();

                STRV_FOREACH(c, report.changes)
                        json_object_array_add(changes, json_object_new_string(*c));
                STRV_FOREACH(w, report.warnings)
                        json_object_array_add(warnings, json_object_new_string(*w));
                json_object_object_add(o, "dry_run", json_object_new_boolean(a.dry_run));
                json_object_object_add(o, "changed", json_object_new_boolean(!a.dry_run && report.changes));
                json_object_object_add(o, "changes", changes);
                json_object_object_add(o, "warnings", warnings);
                print_json(o);
                json_object_put(o);
        } else if (!report.changes)
                printf("nothing to change\n");
        else {
                if (a.dry_run)
                        printf("would change (dry run, nothing was changed):\n");
                STRV_FOREACH(c, report.changes)
                        printf("%s%s\n", a.dry_run ? "  " : "", *c);
                if (!a.dry_run)
                        printf("applied %zu change%s\n", strv_length(report.changes),
                               strv_length(report.changes) == 1 ? "" : "s");
        }
        reconcile_report_done(&report);
        return 0;
}

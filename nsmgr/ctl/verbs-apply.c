/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "ctl.h"
#include "fileio.h"
#include "reconcile.h"
#include "strv.h"

struct apply_args {
        bool json;
        bool dry_run;
        const char *config;
};

static int on_option(int c, const char *arg, void *userdata) {
        struct apply_args *a = userdata;

        switch (c) {
        case OPT_JSON:    a->json = true; break;
        case OPT_DRY_RUN: a->dry_run = true; break;
        case OPT_CONFIG:  a->config = arg; break;
        default:          return EXIT_USAGE;
        }
        return 0;
}

static json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

/* Each step as a record: what is done (action) to which object (kind),
 * where (namespace; null: the host), on which interface, and the rest. */
static json_object *steps_json(const ReconcileReport *report) {
        json_object *steps = json_object_new_array();

        for (size_t i = 0; i < report->n_steps; i++) {
                const PlanStep *s = &report->steps[i];
                json_object *o = json_object_new_object();

                json_object_object_add(o, "action", str_or_null(s->action));
                json_object_object_add(o, "kind", str_or_null(s->kind));
                json_object_object_add(o, "namespace", str_or_null(s->netns));
                json_object_object_add(o, "interface", str_or_null(s->ifname));
                json_object_object_add(o, "detail", str_or_null(s->detail));
                json_object_object_add(o, "text", str_or_null(s->text));
                json_object_array_add(steps, o);
        }
        return steps;
}

int verb_apply(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        ReconcileReport report = {};
        struct apply_args a = {};
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (a.config && !*a.config)
                return usage_error("apply: option '--config' needs a file name");
        if (optind < argc)
                return usage_error("apply: unexpected argument '%s'", argv[optind]);

        r = config_load(a.config, &cfg, &err);
        if (r < 0)
                return fail(&err);

        (void) rlimit_nofile_raise();
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
                json_object_object_add(o, "steps", steps_json(&report));
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

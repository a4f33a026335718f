/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/stat.h>

#include "bus-client.h"
#include "config.h"
#include "ctl.h"
#include "fileio.h"
#include "heap.h"
#include "observe.h"
#include "ops.h"
#include "paths.h"
#include "reconcile.h"
#include "strv.h"

struct apply_args {
        bool json;
        bool dry_run;
        bool force;
        const char *config;
};

static int on_option(int c, const char *arg, void *userdata) {
        struct apply_args *a = userdata;

        switch (c) {
        case OPT_JSON:    a->json = true; break;
        case OPT_DRY_RUN: a->dry_run = true; break;
        case OPT_CONFIG:  a->config = arg; break;
        case OPT_FORCE:   a->force = true; break;
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
        _cleanup_(daemon_link_done) DaemonLink link = {};
        _cleanup_(host_read_ahead_freep) HostReadAhead *ahead = NULL;
        _cleanup_close_ int lock = -EBADF;
        ReconcileReport report = {};
        struct apply_args a = {};
        struct stat st;
        int optind, r;

        r = parse_options(verb, argc, argv, on_option, &a, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (a.config && !*a.config)
                return usage_error("apply: option '--config' needs a file name");
        if (optind < argc)
                return usage_error("apply: unexpected argument '%s'", argv[optind]);

        /* Thousands of namespaces: a handle each while they are visited. */
        (void) rlimit_nofile_raise();
        (void) daemon_link_open(&link);
        if (!link.alive) {
                /* Applied here. Under the appliers' lock from now on, a thread
                 * reads the host while the config loads: with thousands of
                 * veths the host's dump is the longest single read. Without
                 * the lock (not root: the run says why), no read ahead. */
                lock = reconcile_lock(NULL);
                if (lock >= 0)
                        (void) host_read_ahead(&ahead);
                /* The config's tree, backed in one go rather than a page
                 * fault at a time (the text of conf.d is not counted). */
                if (stat(a.config ? a.config : NSMGR_CONF_FILE, &st) >= 0 && S_ISREG(st.st_mode))
                        heap_prefault((size_t) st.st_size * HEAP_PER_CONFIG_BYTE);
        }
        r = config_load(a.config, &cfg, &err);
        if (r < 0)
                return fail(&err);

        if (link.alive && !ops_same_config(cfg->files, link.files)) {
                /* nsmgrd would undo it within a second and the two would
                 * fight over what is made; a plan changes nothing. */
                _cleanup_error_ NmError other = NM_ERROR_INIT;

                (void) ops_refuse_other_config(cfg->files, link.files,
                                               a.dry_run ? OPS_CONFLICT_PLAN : a.force ? OPS_CONFLICT_FORCED : OPS_CONFLICT_REFUSE,
                                               &other);
                if (!a.dry_run && !a.force)
                        return fail(&other);
                log_warning("%s", nm_error_message(&other));
                link.bus = link.bus ? sd_bus_flush_close_unref(link.bus) : NULL;
        }

        /* nsmgrd's config: nsmgrd applies it (re-reading it) and keeps it. */
        if (link.bus)
                r = bus_call_apply(link.bus, a.dry_run, 0, &report, &err);
        else
                r = ops_apply(cfg, TAKE_PTR(ahead),
                              (a.dry_run ? RECONCILE_DRY_RUN : 0) | (lock >= 0 ? RECONCILE_LOCKED : 0), &report, NULL,
                              &err);
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
        /* A plan with something to do is told apart from one without
         * (nsmgrctl(8): EXIT STATUS), as `diff` does. */
        r = a.dry_run && report.changes ? EXIT_CHANGES_PENDING : 0;
        reconcile_report_done(&report);
        return r;
}

static int on_check_option(int c, const char *arg, void *userdata) {
        const char **config = userdata;

        if (c != OPT_CONFIG)
                return EXIT_USAGE;
        *config = arg;
        return 0;
}

int verb_check(const Verb *verb, int argc, char **argv) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_config_ Config *cfg = NULL;
        const char *config = NULL;
        int optind, r;

        r = parse_options(verb, argc, argv, on_check_option, &config, &optind);
        if (r != ARGS_PARSED)
                return r;
        if (config && !*config)
                return usage_error("check: option '--config' needs a file name");
        if (optind < argc)
                return usage_error("check: unexpected argument '%s'", argv[optind]);

        /* Parsing and validating reads the files and nothing else: no root,
         * no namespace, no lease. */
        r = config_load(config, &cfg, &err);
        if (r < 0)
                return fail(&err);
        if (!cfg->files) {
                printf("valid: %s does not exist, an empty config\n", config ? config : NSMGR_CONF_FILE);
                return 0;
        }
        printf("valid: %zu namespace%s, %zu network%s, %zu bridge%s (", cfg->n_netns, cfg->n_netns == 1 ? "" : "s",
               cfg->n_networks, cfg->n_networks == 1 ? "" : "s", cfg->n_bridges, cfg->n_bridges == 1 ? "" : "s");
        STRV_FOREACH(f, cfg->files)
                printf("%s%s", f == cfg->files ? "" : ", ", *f);
        printf(")\n");
        return 0;
}

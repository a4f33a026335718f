/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the D-Bus API and nsmgrctl share that needs no root: steps as
 * records, the error names in both directions, the config conflict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bus-def.h"
#include "ops.h"
#include "strv.h"

static void steps_from_a_report(void **state) {
        char *changes[] = { (char *) "red: create namespace", (char *) "bring up br-study", NULL };
        PlanStep filled[] = {
                { .action = (char *) "create", .kind = (char *) "namespace", .netns = (char *) "red",
                  .text = (char *) "red: create namespace" },
        };
        ReconcileReport prose = { .changes = changes };
        ReconcileReport typed = { .steps = filled, .n_steps = 1, .changes = changes };
        PlanStep *v = NULL;
        size_t n = 0;

        /* Prose only: one record per line, with nothing but the text. */
        assert_int_equal(plan_steps_from_report(&prose, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_null(v[0].action);
        assert_null(v[0].netns);
        assert_string_equal(v[1].text, "bring up br-study");
        /* Appended to what is there, records as the engine gave them. */
        assert_int_equal(plan_steps_from_report(&typed, &v, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(v[2].action, "create");
        assert_string_equal(v[2].kind, "namespace");
        assert_string_equal(v[2].netns, "red");
        assert_null(v[2].ifname);
        assert_true(v[2].text != filled[0].text);
        plan_steps_free(v, n);
}

static void error_names_both_ways(void **state) {
        static const int codes[] = { ENOENT, EEXIST, EBUSY, NSMGR_ERRNO_DECLARED, ESRCH, EADDRINUSE, EOPNOTSUPP,
                                     EBADMSG, EMEDIUMTYPE };

        assert_int_equal(sd_bus_error_add_map(nsmgr_bus_errors), 1);
        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                const char *name = nsmgr_bus_error_name(-codes[i]);

                assert_non_null(name);
                assert_true(strneq(name, "org.nsmgr1.Error.", strlen("org.nsmgr1.Error.")));
                sd_bus_error_set(&e, name, "x");
                assert_int_equal(sd_bus_error_get_errno(&e), codes[i]);
                sd_bus_error_free(&e);
        }
        assert_string_equal(nsmgr_bus_error_name(-EBUSY), "org.nsmgr1.Error.NamespaceBusy");
        assert_string_equal(nsmgr_bus_error_name(-NSMGR_ERRNO_DECLARED), "org.nsmgr1.Error.DeclaredByConfig");
        /* sd-bus's own names for the rest (InvalidArgs, AccessDenied). */
        assert_null(nsmgr_bus_error_name(-EINVAL));
        assert_null(nsmgr_bus_error_name(-EACCES));
}

static void another_config(void **state) {
        char *mine[] = { (char *) "/run/other.conf", NULL };
        char *theirs[] = { (char *) "/etc/nsmgr/nsmgr.conf", (char *) "/etc/nsmgr/conf.d/a.conf", NULL };
        NmError err = NM_ERROR_INIT;

        assert_true(ops_same_config(theirs, theirs));
        assert_true(ops_same_config(NULL, NULL));
        assert_false(ops_same_config(mine, theirs));
        assert_false(ops_same_config(theirs, theirs + 1));
        assert_int_equal(ops_refuse_other_config(theirs, theirs, OPS_CONFLICT_REFUSE, &err), 0);
        assert_null(err.msg);

        assert_int_equal(ops_refuse_other_config(mine, theirs, OPS_CONFLICT_REFUSE, &err), -NSMGR_ERRNO_DECLARED);
        assert_string_equal(err.msg,
                            "cannot apply /run/other.conf: nsmgrd keeps /etc/nsmgr/nsmgr.conf and /etc/nsmgr/conf.d/a.conf "
                            "in force and would undo what this changes; edit those files and run 'nsmgrctl reload', "
                            "or use --force to apply it anyway");
        nm_error_clear(&err);
        /* nsmgrd without a config file: the default, empty. */
        assert_int_equal(ops_refuse_other_config(mine, NULL, OPS_CONFLICT_FORCED, &err), -NSMGR_ERRNO_DECLARED);
        assert_non_null(strstr(err.msg, "nsmgrd keeps /etc/nsmgr/nsmgr.conf (missing: an empty config) in force"));
        nm_error_clear(&err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(steps_from_a_report),
                cmocka_unit_test(error_names_both_ways),
                cmocka_unit_test(another_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

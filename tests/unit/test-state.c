/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state file is checked, never trusted: every damaged shape is refused
 * with a reason, never read half-way or crashed on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "state.h"

static int parse(const char *text, State *s, char **why) {
        *s = (State) {};
        *why = NULL;
        return state_parse(text, strlen(text), s, why);
}

static void reads_what_it_writes(void **unused) {
        State s = {};
        char *why;

        assert_int_equal(parse("{\"version\":2,\"namespaces\":{\"red\":{\"inode\":4026532369,\"cookie\":16654,"
                               "\"routes\":[\"ipv4\"]},\"blue\":{\"inode\":7,\"routes\":[\"ipv6\"]}}}", &s, &why), 0);
        assert_int_equal(s.n_netns, 2);
        assert_int_equal(state_netns(&s, "red")->cookie, 16654);
        assert_true(state_netns(&s, "red")->routes4);
        assert_false(state_netns(&s, "red")->routes6);
        assert_true(state_netns(&s, "blue")->routes6);
        assert_false(s.dirty);
        state_done(&s);
}

static void reads_the_record_of_nsmgr_0_1(void **unused) {
        State s = {};
        char *why;

        assert_int_equal(parse("{\"version\":1,\"host\":{\"links\":{\"br0\":2}},\"namespaces\":{\"red\":{\"inode\":9,"
                               "\"created\":true,\"routes\":[\"254 0.0.0.0/0 198.18.10.254 - 0\","
                               "\"254 fd00::/0 fd00::1 - 1024\"]}}}", &s, &why), 0);
        assert_true(state_netns(&s, "red")->routes4);
        assert_true(state_netns(&s, "red")->routes6);
        assert_true(s.dirty);   /* written in this version's form next time */
        state_done(&s);
}

static void refuses_damage_with_a_reason(void **unused) {
        static const struct {
                const char *text, *why;
        } cases[] = {
                { "{\"version\":2,\"namespa", "not JSON" },
                { "garbage", "not JSON" },
                { "[1,2]", "not a JSON object" },
                { "{\"namespaces\":{}}", "has no version" },
                { "{\"version\":3}", "version 3, which this nsmgr does not know" },
                { "{\"version\":\"2\"}", "has no version" },
                { "{\"version\":2,\"namespaces\":[]}", "'namespaces' is not an object" },
                { "{\"version\":2,\"namespaces\":{\"a\":{\"inode\":\"x\"}}}", "namespace 'a' has no inode" },
                { "{\"version\":2,\"namespaces\":{\"a\":{\"inode\":-5}}}", "namespace 'a' has no inode" },
                { "{\"version\":2,\"namespaces\":{\"a/b\":{\"inode\":5}}}", "'a/b' is not a namespace name" },
                { "{\"version\":2,\"namespaces\":{\"a\":{\"inode\":5,\"routes\":\"ipv4\"}}}", "'routes' is not a list" },
                { "{\"version\":2,\"namespaces\":{\"a\":{\"inode\":5,\"routes\":[4]}}}", "a route record is not text" },
                { "{\"version\":2,\"namespaces\":{\"a\":{\"inode\":5,\"routes\":[\"ipx\"]}}}", "unknown route family" },
                { "{\"version\":2,\"namespaces\":{\"a\":{\"inode\":5,\"cookie\":\"c\"}}}", "'cookie' is not a number" },
                { "{\"version\":2,\"nat\":[]}", "'nat' is not an object" },
                { "{\"version\":2,\"nat\":{\"chains\":{}}}", "lacks 'chains' or 'ports'" },
                { "{\"version\":2,\"nat\":{\"chains\":{\"c\":{\"want\":1}},\"ports\":{}}}", "has no fingerprint" },
                { "{\"version\":2,\"nat\":{\"chains\":{\"c\":[]},\"ports\":{}}}", "has no fingerprint" },
                { "{\"version\":2,\"nat\":{\"chains\":{\"c\":{\"want\":\"ab\",\"seen\":[]}},\"ports\":{}}}", "has no fingerprint" },
                { "{\"version\":2,\"nat\":{\"chains\":{},\"ports\":{\"w\":[7]}}}", "not a list of text" },
                { "{\"version\":2} trailing", "bytes after the record" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                State s = {};
                char *why = NULL;

                if (parse(cases[i].text, &s, &why) != -EBADMSG || !why || !strstr(why, cases[i].why))
                        fail_msg("%s: expected '%s', got '%s'", cases[i].text, cases[i].why, why ? why : "(accepted)");
                free(why);
                state_done(&s);
        }
}

static void a_namesake_starts_a_new_record(void **unused) {
        State s = {};

        assert_int_equal(state_netns_set(&s, "red", 5, 50), 0);
        state_netns_routes(&s, "red", AF_INET);
        assert_int_equal(state_netns_set(&s, "red", 5, 50), 0);
        assert_true(state_netns(&s, "red")->routes4);
        /* Another namespace under the name: nothing of the old one holds. */
        assert_int_equal(state_netns_set(&s, "red", 5, 51), 0);
        assert_false(state_netns(&s, "red")->routes4);
        state_netns_remove(&s, "red");
        assert_null(state_netns(&s, "red"));
        state_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(reads_what_it_writes),
                cmocka_unit_test(reads_the_record_of_nsmgr_0_1),
                cmocka_unit_test(refuses_damage_with_a_reason),
                cmocka_unit_test(a_namesake_starts_a_new_record),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

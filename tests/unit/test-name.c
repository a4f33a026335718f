/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "name.h"

static void netns_names(void **state) {
        char longest[256], too_long[257];
        _cleanup_error_ NmError err = NM_ERROR_INIT;

        memset(longest, 'a', 255);
        longest[255] = 0;
        memset(too_long, 'a', 256);
        too_long[256] = 0;

        assert_true(netns_name_is_valid("red"));
        assert_true(netns_name_is_valid("a.b-c_d"));
        assert_true(netns_name_is_valid("...")); /* a name, not a path step */
        assert_true(netns_name_is_valid(longest));

        assert_false(netns_name_is_valid(""));
        assert_false(netns_name_is_valid(NULL));
        assert_false(netns_name_is_valid("."));
        assert_false(netns_name_is_valid(".."));
        assert_false(netns_name_is_valid("a/b"));
        assert_false(netns_name_is_valid("/"));
        assert_false(netns_name_is_valid("x\n"));
        assert_false(netns_name_is_valid("x\x7f"));
        assert_false(netns_name_is_valid(too_long));

        assert_int_equal(netns_name_check("a/b", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "must not contain '/'"));
}

static void interface_names(void **state) {
        assert_true(ifname_is_valid("eth0"));
        assert_true(ifname_is_valid("123456789012345"));
        assert_false(ifname_is_valid("1234567890123456"));
        assert_false(ifname_is_valid(""));
        assert_false(ifname_is_valid("a b"));
        assert_false(ifname_is_valid("a:b"));
        assert_false(ifname_is_valid("a/b"));
        assert_false(ifname_is_valid(".."));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(netns_names),
                cmocka_unit_test(interface_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

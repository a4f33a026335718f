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
        _cleanup_error_ NmError err = NM_ERROR_INIT;

        assert_true(ifname_is_valid("eth0"));
        assert_true(ifname_is_valid("123456789012345"));
        assert_true(ifname_is_valid("br-lab.10_x"));
        assert_true(ifname_is_valid("..."));
        assert_true(ifname_is_valid("tcp")); /* only for names in nft rules */

        /* What the kernel's dev_valid_name() refuses. */
        assert_false(ifname_is_valid("1234567890123456"));
        assert_false(ifname_is_valid(""));
        assert_false(ifname_is_valid(NULL));
        assert_false(ifname_is_valid("."));
        assert_false(ifname_is_valid(".."));
        assert_false(ifname_is_valid("a/b"));
        assert_false(ifname_is_valid("a:b"));
        assert_false(ifname_is_valid("a b"));
        assert_false(ifname_is_valid("a\tb"));
        assert_false(ifname_is_valid("a\nb"));
        assert_false(ifname_is_valid("a\vb"));
        assert_false(ifname_is_valid("a\fb"));
        assert_false(ifname_is_valid("a\rb"));
        assert_false(ifname_is_valid("a\xa0"));
        assert_int_equal(ifname_check("a\xa0", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "the kernel refuses white space (0xa0)"));
        /* What register_netdevice() refuses. */
        assert_false(ifname_is_valid("all"));
        assert_false(ifname_is_valid("default"));
        assert_true(ifname_is_valid("alla"));

        /* What the kernel takes but what breaks elsewhere. */
        assert_false(ifname_is_valid("a\x01"));
        assert_false(ifname_is_valid("a\x7f"));
        assert_false(ifname_is_valid("caf\xc3\xa9"));
        assert_false(ifname_is_valid("eth%d"));
        /* Quotes reach nftables as JSON strings; a backslash would escape. */
        assert_true(ifname_is_valid("e\"th0"));
        assert_true(ifname_is_valid("e'th0"));
        assert_false(ifname_is_valid("e\\th0"));
        assert_false(ifname_is_valid("eth*"));
        assert_false(ifname_is_valid("@set"));
        assert_false(ifname_is_valid("a@b"));

        nm_error_clear(&err);
        assert_int_equal(ifname_check("eth\x01" "0\"", &err), -EINVAL);
        /* The name is shown escaped: one line, no quote inside quotes. */
        assert_string_equal(err.msg, "invalid interface name 'eth\\x010\\x22': it contains the control character 0x01, which ip(8), logs and terminals show garbled");

        nm_error_clear(&err);
        assert_int_equal(ifname_check_nft("tcp", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "nftables reads 'tcp' as a protocol"));
        assert_int_equal(ifname_check_nft("br-lab", NULL), 0);
        assert_int_equal(ifname_check_nft("e*", NULL), -EINVAL);
}

static void network_names(void **state) {
        char long_name[NETWORK_NAME_MAX + 2];

        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        assert_int_equal(network_name_check("lab-1.x_y", NULL), 0);
        assert_int_equal(network_name_check("", NULL), -EINVAL);
        assert_int_equal(network_name_check("..", NULL), -EINVAL);
        assert_int_equal(network_name_check("a/b", NULL), -EINVAL);
        assert_int_equal(network_name_check(long_name, NULL), -EINVAL);
        long_name[NETWORK_NAME_MAX] = 0;
        assert_int_equal(network_name_check(long_name, NULL), 0);
}

static void names_are_shown_safely(void **state) {
        char buf[NAME_SHOW_MAX], longest[300];

        assert_string_equal(name_show("eth0", buf), "eth0");
        assert_string_equal(name_show("a'b\"c\\d\n\xff", buf), "a\\x27b\\x22c\\x5cd\\x0a\\xff");
        memset(longest, '\xff', sizeof(longest) - 1);
        longest[sizeof(longest) - 1] = 0;
        name_show(longest, buf);
        assert_int_equal(strlen(buf), NAME_SHOW_BYTES * 4 + 3);
        assert_string_equal(buf + NAME_SHOW_BYTES * 4, "...");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(netns_names),
                cmocka_unit_test(interface_names),
                cmocka_unit_test(network_names),
                cmocka_unit_test(names_are_shown_safely),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dns.h"
#include "ipaddr.h"
#include "ipam.h"
#include "strmap.h"
#include "strv.h"
#include "sysctl.h"

static Cidr C(const char *s) {
        Cidr c;

        assert_int_equal(cidr_parse(s, strchr(s, '/') != NULL, &c), 0);
        return c;
}

/* A pointer to a parsed address that lives as long as the test. */
#define P(s) ptr_of(C(s))
static Cidr slots[64];
static size_t slot;
static Cidr *ptr_of(Cidr c) {
        slots[slot % 64] = c;
        return &slots[slot++ % 64];
}

static void cidrs(void **state) {
        Cidr c, net = C("198.18.20.0/24");
        char buf[CIDR_STRLEN];

        assert_int_equal(cidr_parse("198.18.20.1", true, &c), -EINVAL);
        assert_int_equal(cidr_parse("198.18.20.1/33", true, &c), -EINVAL);
        assert_int_equal(cidr_parse("198.18.20.1/", true, &c), -EINVAL);
        assert_int_equal(cidr_parse("fd00::1/129", true, &c), -EINVAL);
        assert_int_equal(cidr_parse("fd00::1/-1", true, &c), -EINVAL);
        assert_int_equal(cidr_parse("host.example", false, &c), -EINVAL);
        assert_true(cidr_contains(&net, P("198.18.20.77")));
        assert_false(cidr_contains(&net, P("198.18.21.1")));
        assert_true(cidr_is_network(&net));
        assert_false(cidr_is_network(P("198.18.20.1/24")));
        c = cidr_network(P("fd00:20::77/64"));
        assert_string_equal(cidr_format(&c, true, buf), "fd00:20::/64");
        assert_true(cidr_overlap(&net, P("198.18.20.128/25")));
        assert_false(cidr_overlap(&net, P("198.18.21.0/24")));
}

static void host_addresses(void **state) {
        Cidr net = C("198.18.22.0/29"), g;
        char buf[CIDR_STRLEN];

        g = ipam_first_host(&net);
        assert_string_equal(cidr_format(&g, false, buf), "198.18.22.1");
        assert_false(ipam_is_host_addr(&net, P("198.18.22.0")));
        assert_false(ipam_is_host_addr(&net, P("198.18.22.7")));
        assert_true(ipam_is_host_addr(&net, P("198.18.22.6")));
        assert_false(ipam_is_host_addr(&net, P("198.18.22.8")));
        /* IPv6 has no broadcast address. */
        net = C("fd00::/126");
        assert_true(ipam_is_host_addr(&net, P("fd00::3")));
        assert_false(ipam_is_host_addr(&net, P("fd00::")));
}

static void maps(void **state) {
        StrMap m = {};
        size_t v;
        char key[32];

        for (size_t i = 0; i < 1000; i++) {
                snprintf(key, sizeof(key), "k%zu", i);
                assert_int_equal(strmap_put(&m, key, i), 0);
        }
        for (size_t i = 0; i < 1000; i += 2) {
                snprintf(key, sizeof(key), "k%zu", i);
                strmap_remove(&m, key);
        }
        for (size_t i = 0; i < 1000; i++) {
                snprintf(key, sizeof(key), "k%zu", i);
                assert_int_equal(strmap_get(&m, key, &v), i % 2 == 1);
                if (i % 2)
                        assert_int_equal(v, i);
        }
        assert_int_equal(m.n, 500);
        strmap_done(&m);
}

static void sysctl_values(void **state) {
        _cleanup_free_ char *p = NULL;

        assert_true(sysctl_value_equal("4096\t131072\t6291456", "4096 131072 6291456"));
        assert_true(sysctl_value_equal("1\n", "1"));
        assert_false(sysctl_value_equal("10", "1"));
        assert_int_equal(sysctl_path("net.ipv4.conf.eth0.rp_filter", &p), 0);
        assert_string_equal(p, "/proc/sys/net/ipv4/conf/eth0/rp_filter");
        free(p);
        assert_int_equal(sysctl_path("net/ipv4/conf/eth0.100/rp_filter", &p), 0);
        assert_string_equal(p, "/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
}

static void dns_files(void **state) {
        char *ns_list[] = { (char *) "198.18.0.53", NULL }, *search[] = { (char *) "a.example", (char *) "b", NULL },
             *names[] = { (char *) "web", (char *) "web.a.example", NULL };
        HostEntry hosts[] = { { .address = C("198.18.0.80"), .names = names } };
        Netns ns = { .name = (char *) "pod",
                     .dns = { .declared = true, .nameservers = ns_list, .search = search, .hosts = hosts, .n_hosts = 1,
                              .src = { .file = "f.conf", .line = 3 } } };
        _cleanup_free_ char *resolv = NULL, *h = NULL;

        assert_int_equal(dns_render(&ns, &resolv, &h), 0);
        assert_non_null(strstr(resolv, "\nnameserver 198.18.0.53\nsearch a.example b\n"));
        assert_null(strstr(resolv, "options"));
        assert_non_null(strstr(h, "127.0.0.1\tlocalhost\n"));
        assert_non_null(strstr(h, "198.18.0.80\tweb web.a.example\n"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(cidrs),
                cmocka_unit_test(host_addresses),
                cmocka_unit_test(maps),
                cmocka_unit_test(sysctl_values),
                cmocka_unit_test(dns_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

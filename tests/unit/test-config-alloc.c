/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config loader under allocation failure: the Nth allocation made by
 * libnsmgr fails, for every N until a load makes no more. Each load must
 * fail with -ENOMEM (a config read in part is never taken for the whole)
 * and must not crash or leak (make check-asan runs this too). The
 * allocation functions are wrapped at link time (-Wl,--wrap=...): only
 * what nsmgr's own objects call fails, not libconfig's or libc's insides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "config.h"

static long fail_at = -1, calls;

static bool fail_now(void) {
        if (fail_at < 0 || ++calls != fail_at)
                return false;
        errno = ENOMEM;
        return true;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **ret, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **ret, const char *fmt, va_list ap);
int __wrap_asprintf(char **ret, const char *fmt, ...);

void *__wrap_malloc(size_t n) {
        return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size) {
        return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n) {
        return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s) {
        return fail_now() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n) {
        return fail_now() ? NULL : __real_strndup(s, n);
}

int __wrap_vasprintf(char **ret, const char *fmt, va_list ap) {
        if (fail_now()) {
                *ret = NULL; /* glibc leaves it undefined; be unkind */
                return -1;
        }
        return __real_vasprintf(ret, fmt, ap);
}

int __wrap_asprintf(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = __wrap_vasprintf(ret, fmt, ap);
        va_end(ap);
        return r;
}

/* Dirties the stack the loader's frames will use, so that reading an
 * uninitialised local shows (a cleanup handler run on one, for instance). */
static __attribute__((noinline)) void scribble_stack(void) {
        volatile unsigned char junk[64 * 1024];

        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = 0xa5;
}

static void fails_cleanly_at_every_allocation(const char *text) {
        char path[] = "/tmp/nsmgr-unit-XXXXXX";
        char *files[] = { path, NULL };
        long total;
        int fd;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);

        /* How many allocations a good load makes. */
        {
                _cleanup_error_ NmError err = NM_ERROR_INIT;
                Config *c = NULL;

                calls = 0;
                fail_at = 0;
                assert_int_equal(config_load_files(files, &c, &err), 0);
                total = calls;
                fail_at = -1;
                config_free(c);
        }
        assert_true(total > 10);

        for (long n = 1; n <= total; n++) {
                _cleanup_error_ NmError err = NM_ERROR_INIT;
                Config *c = NULL;
                int r;

                scribble_stack();
                calls = 0;
                fail_at = n;
                r = config_load_files(files, &c, &err);
                fail_at = -1;
                if (r != -ENOMEM)
                        fail_msg("allocation %ld of %ld failed, yet the load returned %d (%s)", n, total, r,
                                 err.msg ? err.msg : "no message");
                assert_null(c);
        }
        unlink(path);
}

static void a_full_config(void **state) {
        fails_cleanly_at_every_allocation(
                "host = { bridges = ( { name = \"br0\"; addresses = [ \"198.18.10.254/24\" ]; mtu = 1500; } );\n"
                "         sysctls = [ \"net.ipv4.ip_forward = 1\" ]; };\n"
                "networks = ( { name = \"lab\"; bridge = \"br-lab\"; subnet = \"198.18.20.0/24\"; subnet6 = \"fd00:20::/64\"; uplink = \"eth0\"; } );\n"
                "namespaces = ( { name = \"red\";\n"
                "  interfaces = ( { name = \"eth0\"; type = \"veth\"; bridge = \"br0\"; addresses = [ \"198.18.10.1/24\", \"fd00::1/64\" ]; },\n"
                "                 { name = \"up0\"; type = \"veth\"; addresses = [ \"198.18.50.2/24\" ]; peer = { name = \"red-up\"; addresses = [ \"198.18.50.1/24\" ]; }; },\n"
                "                 { name = \"l0\"; type = \"veth\"; addresses = [ \"198.18.51.1/30\" ]; peer = { namespace = \"blue\"; name = \"l0\"; addresses = [ \"198.18.51.2/30\" ]; }; },\n"
                "                 { name = \"mv0\"; type = \"macvlan\"; parent = \"eth1\"; mode = \"bridge\"; },\n"
                "                 { name = \"vx0\"; type = \"vxlan\"; vni = 42; local = \"198.18.51.1\"; remote = \"198.18.51.2\"; parent = \"l0\"; },\n"
                "                 { name = \"vrf0\"; type = \"vrf\"; table = 100; members = [ \"up0\" ]; } );\n"
                "  routes = ( { to = \"default\"; via = \"198.18.10.254\"; }, { to = \"198.18.60.0/24\"; dev = \"l0\"; metric = 5; table = 7; } );\n"
                "  sysctls = [ \"net.ipv4.ip_forward=1\" ];\n"
                "  dns = { nameservers = [ \"198.18.0.53\" ]; search = [ \"lab\" ]; options = [ \"ndots:2\" ];\n"
                "          hosts = ( { address = \"198.18.10.2\"; names = [ \"blue\" ]; } ); };\n"
                "  networks = ( { network = \"lab\"; } ); ports = [ \"8080:80/tcp\" ];\n"
                "}, { name = \"blue\"; } );\n");
}

static void a_config_with_errors(void **state) {
        /* Errors are collected in memory too: losing one must not turn a
         * bad config into a good one. Loading it always fails; under
         * allocation failure it must fail as -ENOMEM, not with a shorter
         * list that happens to be empty. */
        char path[] = "/tmp/nsmgr-unit-XXXXXX";
        const char *text = "namespaces = ( { name = \"x\"; colour = 1; interfaces = ( { name = \"e\"; type = \"veth\"; mtu = 1; } ); } );\n";
        char *files[] = { path, NULL };
        long total;
        int fd;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        {
                _cleanup_error_ NmError err = NM_ERROR_INIT;
                Config *c = NULL;

                calls = 0;
                fail_at = 0;
                assert_int_equal(config_load_files(files, &c, &err), -EINVAL);
                total = calls;
                fail_at = -1;
        }
        for (long n = 1; n <= total; n++) {
                _cleanup_error_ NmError err = NM_ERROR_INIT;
                Config *c = NULL;
                int r;

                scribble_stack();
                calls = 0;
                fail_at = n;
                r = config_load_files(files, &c, &err);
                fail_at = -1;
                assert_true(r == -ENOMEM || r == -EINVAL);
                assert_null(c);
        }
        unlink(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_full_config),
                cmocka_unit_test(a_config_with_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

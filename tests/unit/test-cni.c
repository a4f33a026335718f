/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CNI protocol (cni.c), without a kernel: versions, reading requests
 * (the environment through a table, stdin as text), and the answers of
 * each version. The plugin as a runtime runs it is tests/system/test_cni.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cni.h"
#include "jsonfile.h"
#include "strv.h"

typedef struct Env {
        const char *const *kv;   /* "KEY", "VALUE", ..., NULL */
} Env;

static const char *env_get(const char *name, void *userdata) {
        const Env *e = userdata;

        for (const char *const *p = e->kv; *p; p += 2)
                if (streq(p[0], name))
                        return p[1];
        return NULL;
}

#define ADD_ENV "CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c1", "CNI_NETNS", "/run/netns/p1", "CNI_IFNAME", "eth0"

static int parse(const char *const *kv, const char *in, CniRequest *ret, CniError *err) {
        Env e = { kv };

        return cni_request_parse(env_get, &e, in, in ? strlen(in) : 0, ret, err);
}

static void assert_code(const char *const *kv, const char *in, unsigned code, const char *word) {
        CniRequest r = {};
        CniError err = CNI_ERROR_INIT;

        assert_true(parse(kv, in, &r, &err) < 0);
        if (err.code != code)
                fail_msg("code %u, not %u: %s", err.code, code, err.details ? err.details : "");
        if (word && !strstr(err.details ? err.details : "", word))
                fail_msg("'%s' not in: %s", word, err.details ? err.details : "");
        cni_error_done(&err);
        cni_request_done(&r);
}

static void versions_compare_as_semver(void **state) {
        assert_true(cni_version_cmp("0.4.0", "1.0.0") < 0);
        assert_true(cni_version_cmp("1.10.0", "1.9.0") > 0);
        assert_int_equal(cni_version_cmp("1.1.0", "1.1.0"), 0);
        assert_true(cni_version_cmp("nonsense", "0.1.0") < 0);
        assert_true(cni_version_supported("0.4.0") && cni_version_supported("1.0.0") && cni_version_supported("1.1.0"));
        assert_false(cni_version_supported("0.3.1"));
        assert_false(cni_version_supported("1.1"));
}

static void a_plugin_request(void **state) {
        static const char *const kv[] = { ADD_ENV, "CNI_ARGS", "IgnoreUnknown=1;IP=198.18.20.9", NULL };
        CniRequest r = {};
        CniError err = CNI_ERROR_INIT;

        assert_int_equal(parse(kv, "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"lab\","
                                   " \"runtimeConfig\": {\"portMappings\": [{\"HostPort\": 8080, \"ContainerPort\": 80}]}}",
                               &r, &err), 0);
        assert_int_equal(r.command, CNI_ADD);
        assert_int_equal(r.mode, CNI_MODE_PLUGIN);
        assert_string_equal(r.network, "lab");
        assert_string_equal(r.version, "1.0.0");
        assert_int_equal(r.n_ports, 1);
        assert_int_equal(r.ports[0].host_port, 8080);
        assert_int_equal(r.ports[0].container_port, 80);
        assert_int_equal(r.n_ips, 1);
        cni_request_done(&r);
}

static void an_ipam_request(void **state) {
        static const char *const kv[] = { "CNI_COMMAND", "DEL", "CNI_CONTAINERID", "c1", "CNI_IFNAME", "net1", NULL };
        CniRequest r = {};
        CniError err = CNI_ERROR_INIT;

        assert_int_equal(parse(kv, "{\"cniVersion\": \"0.4.0\", \"name\": \"m\", \"type\": \"macvlan\", \"master\": \"x\","
                                   " \"ipam\": {\"type\": \"nsmgr\", \"network\": \"lab\"}}", &r, &err), 0);
        assert_int_equal(r.mode, CNI_MODE_IPAM);
        assert_null(r.netns);
        cni_request_done(&r);
}

static void errors_carry_the_specs_codes(void **state) {
        static const char *const none[] = { NULL };
        static const char *const add[] = { ADD_ENV, NULL };
        static const char *const gc_nopath[] = { "CNI_COMMAND", "GC", NULL };
        static const char *const bad_id[] = { "CNI_COMMAND", "DEL", "CNI_CONTAINERID", "a b", "CNI_IFNAME", "e", NULL };
        const char *ok = "{\"cniVersion\": \"1.1.0\", \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"lab\"}";

        assert_code(none, ok, CNI_ERR_INVALID_ENV, "CNI_COMMAND");
        assert_code((const char *const[]) { "CNI_COMMAND", "ADD", NULL }, ok, CNI_ERR_INVALID_ENV, "CNI_NETNS");
        assert_code(bad_id, ok, CNI_ERR_INVALID_ENV, "CNI_CONTAINERID");
        assert_code(gc_nopath, ok, CNI_ERR_INVALID_ENV, "CNI_PATH");
        assert_code(add, "", CNI_ERR_DECODE, "empty");
        assert_code(add, "{", CNI_ERR_DECODE, NULL);
        assert_code(add, "{\"cniVersion\": \"1.1.0\", \"type\": \"nsmgr\"}", CNI_ERR_INVALID_CONFIG, "name");
        assert_code(add, "{\"cniVersion\": \"0.3.1\", \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"l\"}",
                    CNI_ERR_INCOMPATIBLE_VERSION, "0.3.1");
        assert_code((const char *const[]) { "CNI_COMMAND", "STATUS", NULL },
                    "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"l\"}",
                    CNI_ERR_INCOMPATIBLE_VERSION, "STATUS");
        assert_code(add, "{\"cniVersion\": \"1.1.0\", \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"l\", \"x\": 1}",
                    CNI_ERR_UNSUPPORTED_FIELD, "x = 1");
        assert_code((const char *const[]) { "CNI_COMMAND", "GC", "CNI_PATH", "/p", NULL }, ok, CNI_ERR_INVALID_CONFIG,
                    "valid-attachments");
}

static char *plain(json_object *o) {
        return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void results_per_version(void **state) {
        CniResult r = {};
        Cidr a, gw, any = { .family = AF_INET };
        _cleanup_free_ char *v04 = NULL, *v11 = NULL;
        json_object *o;

        assert_int_equal(cidr_parse("198.18.20.2/24", true, &a), 0);
        assert_int_equal(cidr_parse("198.18.20.1", false, &gw), 0);
        assert_int_equal(cni_result_add_interface(&r, "vh", "02:00:00:00:00:01", 1500, NULL), 0);
        assert_int_equal(cni_result_add_interface(&r, "eth0", "02:00:00:00:00:02", 1500, "/run/netns/p"), 0);
        assert_int_equal(cni_result_add_ip(&r, &a, &gw, 1), 0);
        assert_int_equal(cni_result_add_route(&r, &any, &gw), 0);

        o = cni_result_to_json(&r, "0.4.0", NULL);
        v04 = plain(o);
        json_object_put(o);
        assert_string_equal(v04,
                            "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"vh\",\"mac\":\"02:00:00:00:00:01\"},"
                            "{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:02\",\"sandbox\":\"/run/netns/p\"}],"
                            "\"ips\":[{\"version\":\"4\",\"interface\":1,\"address\":\"198.18.20.2/24\",\"gateway\":\"198.18.20.1\"}],"
                            "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"198.18.20.1\"}]}");
        o = cni_result_to_json(&r, "1.1.0", NULL);
        v11 = plain(o);
        json_object_put(o);
        assert_non_null(strstr(v11, "\"mtu\":1500"));
        assert_null(strstr(v11, "\"version\""));
        cni_result_done(&r);
}

static void prev_result_is_passed_on(void **state) {
        _cleanup_json_ json_object *prev = NULL;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *out = NULL;
        CniResult r = {};
        Cidr a, gw;
        json_object *o;
        const char *p = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"d0\"}],\"ips\":[{\"address\":\"198.19.0.5/24\","
                        "\"interface\":0}],\"dns\":{\"nameservers\":[\"198.19.0.53\"]}}";

        assert_int_equal(json_parse_document(p, strlen(p), "prev", &prev, &err), 0);
        assert_int_equal(cidr_parse("198.18.20.2/24", true, &a), 0);
        assert_int_equal(cidr_parse("198.18.20.1", false, &gw), 0);
        assert_int_equal(cni_result_add_interface(&r, "eth0", "", 0, "/run/netns/p"), 0);
        assert_int_equal(cni_result_add_ip(&r, &a, &gw, 0), 0);
        assert_int_equal(strv_extend(&r.nameservers, "198.18.20.53"), 0);
        o = cni_result_to_json(&r, "1.0.0", prev);
        out = plain(o);
        json_object_put(o);
        assert_string_equal(out,
                            "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"d0\"},{\"name\":\"eth0\",\"sandbox\":\"/run/netns/p\"}],"
                            "\"ips\":[{\"address\":\"198.19.0.5/24\",\"interface\":0},"
                            "{\"interface\":1,\"address\":\"198.18.20.2/24\",\"gateway\":\"198.18.20.1\"}],"
                            "\"dns\":{\"nameservers\":[\"198.19.0.53\"]}}");
        assert_true(cni_prev_result_has_interface(prev, "d0", NULL, NULL));
        assert_false(cni_prev_result_has_interface(prev, "eth0", "/run/netns/p", NULL));
        cni_result_done(&r);
}

static void version_and_error_objects(void **state) {
        CniError e = CNI_ERROR_INIT;
        _cleanup_free_ char *v = NULL, *x = NULL, *buf = NULL;
        json_object *o;

        o = cni_version_info("0.4.0");
        v = plain(o);
        json_object_put(o);
        assert_string_equal(v, "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
        cni_error(&e, 7, "invalid network configuration", "network '%s' is not declared", "x");
        o = cni_error_to_json(&e, cni_error_version("{\"cniVersion\": \"1.0.0\"}", 23, &buf));
        x = plain(o);
        json_object_put(o);
        assert_string_equal(x, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"invalid network configuration\","
                               "\"details\":\"network 'x' is not declared\"}");
        cni_error_done(&e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(versions_compare_as_semver),
                cmocka_unit_test(a_plugin_request),
                cmocka_unit_test(an_ipam_request),
                cmocka_unit_test(errors_carry_the_specs_codes),
                cmocka_unit_test(results_per_version),
                cmocka_unit_test(prev_result_is_passed_on),
                cmocka_unit_test(version_and_error_objects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

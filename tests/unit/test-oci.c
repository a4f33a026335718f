/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pure part of `nsmgrctl oci NAME --bundle DIR`: patching a parsed
 * config.json (oci_config_join) and reading/writing the document
 * (jsonfile.h). Configs are written compactly here; what is compared is
 * json-c's plain serialization, which keeps key order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "jsonfile.h"
#include "oci.h"

static const OciJoin RED = {
        .netns_path = "/run/netns/red",
        .resolv_conf = "/run/nsmgr/oci/red/resolv.conf",
        .hosts = "/run/nsmgr/oci/red/hosts",
};

#define NETNS_RED "{\"type\":\"network\",\"path\":\"/run/netns/red\"}"
#define MOUNT_RESOLV                                                                                  \
        "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/run/nsmgr/oci/red/resolv.conf\"," \
        "\"options\":[\"rbind\",\"ro\"]}"
#define MOUNT_HOSTS                                                                                   \
        "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/run/nsmgr/oci/red/hosts\","  \
        "\"options\":[\"rbind\",\"ro\"]}"

static char *plain(json_object *o) {
        return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Parses in, patches it with j; returns the result as plain text, or NULL
 * with *err set. */
static char *patch(const char *in, const OciJoin *j, NmError *err) {
        _cleanup_json_ json_object *o = NULL;

        assert_int_equal(json_parse_document(in, strlen(in), "test", &o, err), 0);
        if (oci_config_join(o, j, err) < 0)
                return NULL;
        return plain(o);
}

static void assert_patch(const char *in, const OciJoin *j, const char *want) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *got = NULL, *again = NULL;

        got = patch(in, j, &err);
        if (!got)
                fail_msg("patch failed: %s", nm_error_message(&err));
        assert_string_equal(got, want);
        /* Idempotent: patching the result changes nothing. */
        again = patch(got, j, &err);
        assert_non_null(again);
        assert_string_equal(again, want);
}

static void network_entry_without_path_gets_it(void **state) {
        assert_patch("{\"ociVersion\":\"1.0.2\",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"
                     "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"mount\"}],\"x-unknown\":7}}",
                     &RED,
                     "{\"ociVersion\":\"1.0.2\",\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                     MOUNT_RESOLV "," MOUNT_HOSTS "],"
                     "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}," NETNS_RED ",{\"type\":\"mount\"}],\"x-unknown\":7}}");
}

static void network_entry_with_path_is_replaced_in_place(void **state) {
        assert_patch("{\"linux\":{\"namespaces\":[{\"path\":\"/proc/14702/ns/net\",\"type\":\"network\",\"x\":1},{\"type\":\"uts\"}]}}",
                     &(OciJoin) { .netns_path = "/run/netns/red" },
                     "{\"linux\":{\"namespaces\":[{\"path\":\"/run/netns/red\",\"type\":\"network\",\"x\":1},{\"type\":\"uts\"}]}}");
}

static void network_entry_is_appended_when_missing(void **state) {
        assert_patch("{\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}", &(OciJoin) { .netns_path = "/run/netns/red" },
                     "{\"linux\":{\"namespaces\":[{\"type\":\"pid\"}," NETNS_RED "]}}");
}

static void duplicate_network_entries_become_one(void **state) {
        assert_patch("{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/a\"},{\"type\":\"ipc\"},{\"type\":\"network\"},{\"type\":\"network\",\"path\":\"/b\"}]}}",
                     &(OciJoin) { .netns_path = "/run/netns/red" },
                     "{\"linux\":{\"namespaces\":[" NETNS_RED ",{\"type\":\"ipc\"}]}}");
}

static void linux_and_namespaces_are_made_when_absent(void **state) {
        assert_patch("{\"ociVersion\":\"1.0.2\"}", &(OciJoin) { .netns_path = "/run/netns/red" },
                     "{\"ociVersion\":\"1.0.2\",\"linux\":{\"namespaces\":[" NETNS_RED "]}}");
        assert_patch("{\"linux\":{\"cgroupsPath\":\"/x\"}}", &(OciJoin) { .netns_path = "/run/netns/red" },
                     "{\"linux\":{\"cgroupsPath\":\"/x\",\"namespaces\":[" NETNS_RED "]}}");
        /* null counts as absent, and the key keeps its place. */
        assert_patch("{\"linux\":null,\"z\":1}", &(OciJoin) { .netns_path = "/run/netns/red" },
                     "{\"linux\":{\"namespaces\":[" NETNS_RED "]},\"z\":1}");
        assert_patch("{}", &RED, "{\"linux\":{\"namespaces\":[" NETNS_RED "]},\"mounts\":[" MOUNT_RESOLV "," MOUNT_HOSTS "]}");
}

static void mounts_on_the_same_destination_are_replaced(void **state) {
        /* Whoever made them, however the destination is spelled: the first
         * keeps its place, the others go. Other /etc files stay. */
        assert_patch("{\"mounts\":["
                     "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/old/hosts\",\"options\":[\"rbind\",\"rprivate\"]},"
                     "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"/old/hostname\"},"
                     "{\"destination\":\"etc//resolv.conf/\",\"type\":\"bind\",\"source\":\"/old/resolv.conf\"},"
                     "{\"destination\":\"/etc/./hosts\",\"type\":\"bind\",\"source\":\"/other/hosts\"},"
                     "{\"destination\":\"/etc/hosts.allow\",\"type\":\"bind\",\"source\":\"/x\"},"
                     "{\"destination\":\"/etc/hosts/..\",\"type\":\"bind\",\"source\":\"/y\"},"
                     "{\"type\":\"tmpfs\"}"
                     "]}",
                     &RED,
                     "{\"mounts\":[" MOUNT_HOSTS ","
                     "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"/old/hostname\"},"
                     MOUNT_RESOLV ","
                     "{\"destination\":\"/etc/hosts.allow\",\"type\":\"bind\",\"source\":\"/x\"},"
                     "{\"destination\":\"/etc/hosts/..\",\"type\":\"bind\",\"source\":\"/y\"},"
                     "{\"type\":\"tmpfs\"}"
                     "],\"linux\":{\"namespaces\":[" NETNS_RED "]}}");
}

static void another_name_replaces_the_earlier_patch(void **state) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *first = NULL, *second = NULL;
        const OciJoin blue = {
                .netns_path = "/run/netns/blue",
                .resolv_conf = "/etc/netns/blue/resolv.conf",
                .hosts = "/run/nsmgr/oci/blue/hosts",
        };

        first = patch("{\"mounts\":[],\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}", &RED, &err);
        assert_non_null(first);
        second = patch(first, &blue, &err);
        assert_non_null(second);
        assert_string_equal(second,
                            "{\"mounts\":["
                            "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/etc/netns/blue/resolv.conf\",\"options\":[\"rbind\",\"ro\"]},"
                            "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/run/nsmgr/oci/blue/hosts\",\"options\":[\"rbind\",\"ro\"]}"
                            "],\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/run/netns/blue\"}]}}");
}

/* The seed: docker's config.json for --net=container:A, cut down to what
 * matters. Every value that nsmgr does not own survives, numbers included. */
static const char SEED[] =
        "{\"ociVersion\":\"0.6.0-dev\",\"process\":{\"env\":[\"HOSTNAME=75599a6f387b\"],\"user\":{\"additionalGids\":[0,1,27]}},"
        "\"hostname\":\"75599a6f387b\","
        "\"mounts\":["
        "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
        "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/7559/resolv.conf\",\"options\":[\"rbind\",\"rprivate\"]},"
        "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/7559/hostname\",\"options\":[\"rbind\",\"rprivate\"]},"
        "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/7559/hosts\",\"options\":[\"rbind\",\"rprivate\"]},"
        "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/d823/shm\",\"options\":[\"rbind\",\"rprivate\"]}"
        "],"
        "\"hooks\":{},"
        "\"linux\":{\"resources\":{\"memory\":{\"kernelTCP\":null,\"swappiness\":18446744073709551615},\"cpu\":{},\"pids\":{\"limit\":0},\"x\":-9223372036854775808,\"f\":1.50,\"g\":1e3},"
        "\"cgroupsPath\":\"/docker/d823\","
        "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/proc/14702/ns/net\"},{\"type\":\"uts\"},{\"type\":\"pid\"},{\"type\":\"ipc\"}],"
        "\"maskedPaths\":[\"/proc/kcore\"]}}";

static void seed_config(void **state) {
        assert_patch(SEED, &RED,
                     "{\"ociVersion\":\"0.6.0-dev\",\"process\":{\"env\":[\"HOSTNAME=75599a6f387b\"],\"user\":{\"additionalGids\":[0,1,27]}},"
                     "\"hostname\":\"75599a6f387b\","
                     "\"mounts\":["
                     "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
                     MOUNT_RESOLV ","
                     "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/7559/hostname\",\"options\":[\"rbind\",\"rprivate\"]},"
                     MOUNT_HOSTS ","
                     "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/var/lib/docker/containers/d823/shm\",\"options\":[\"rbind\",\"rprivate\"]}"
                     "],"
                     "\"hooks\":{},"
                     "\"linux\":{\"resources\":{\"memory\":{\"kernelTCP\":null,\"swappiness\":18446744073709551615},\"cpu\":{},\"pids\":{\"limit\":0},\"x\":-9223372036854775808,\"f\":1.50,\"g\":1e3},"
                     "\"cgroupsPath\":\"/docker/d823\","
                     "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/run/netns/red\"},{\"type\":\"uts\"},{\"type\":\"pid\"},{\"type\":\"ipc\"}],"
                     "\"maskedPaths\":[\"/proc/kcore\"]}}");
}

static void no_files_leaves_mounts_alone(void **state) {
        assert_patch("{\"mounts\":[{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/mine\"}]}",
                     &(OciJoin) { .netns_path = "/run/netns/red" },
                     "{\"mounts\":[{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/mine\"}],"
                     "\"linux\":{\"namespaces\":[" NETNS_RED "]}}");
}

static void assert_refused(const char *in, const char *msg) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *got = patch(in, &RED, &err);

        assert_null(got);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(err.msg, msg);
}

static void fields_of_the_wrong_type_are_named(void **state) {
        assert_refused("{\"linux\":[]}", "'linux' is not an object");
        assert_refused("{\"linux\":{\"namespaces\":{}}}", "'linux.namespaces' is not an array");
        assert_refused("{\"linux\":{\"namespaces\":\"network\"}}", "'linux.namespaces' is not an array");
        assert_refused("{\"mounts\":{\"destination\":\"/etc/hosts\"}}", "'mounts' is not an array");
        assert_refused("[]", "it is not a JSON object");
}

static void entry_for_printing(void **state) {
        _cleanup_json_ json_object *o = oci_netns_entry("/run/netns/red");
        _cleanup_free_ char *s = plain(o);

        assert_string_equal(s, NETNS_RED);
}

/* --- jsonfile.h ------------------------------------------------------------ */

static void assert_parse_error(const char *in, int code, const char *msg) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        json_object *o = NULL;

        assert_int_equal(json_parse_document(in, strlen(in), "config.json", &o, &err), code);
        assert_null(o);
        assert_string_equal(err.msg, msg);
}

static void parse_errors_say_where(void **state) {
        assert_parse_error("{\n  \"a\": 1,\n  \"b\": ]\n}", -EINVAL,
                           "config.json is not valid JSON: unexpected character at line 3, column 8");
        assert_parse_error("{\"a\": 1,}", -EINVAL, "config.json is not valid JSON: unexpected character at line 1, column 9");
        assert_parse_error("{\"a\": 1", -EINVAL, "config.json is not valid JSON: it ends before the value is complete");
        assert_parse_error("{\"a\": 1}\n{", -EINVAL,
                           "config.json is not valid JSON: unexpected character at line 2, column 1");
        assert_parse_error("/* c */ {}", -EINVAL, "config.json is not valid JSON: unexpected character at line 1, column 1");
        assert_parse_error("", -EINVAL, "config.json is empty, not a JSON document");
        assert_parse_error(" \n ", -EINVAL, "config.json is empty, not a JSON document");
}

static void integers_beyond_64_bits_are_refused(void **state) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        json_object *o = NULL;

        assert_parse_error("{\"a\":\n [18446744073709551616]}", -ERANGE,
                           "config.json has the integer 18446744073709551616 at line 2, column 3, which does not fit in 64 bits; nsmgr cannot keep it exactly");
        assert_parse_error("{\"a\": -9223372036854775809}", -ERANGE,
                           "config.json has the integer -9223372036854775809 at line 1, column 7, which does not fit in 64 bits; nsmgr cannot keep it exactly");
        /* The limits themselves, floats, and digits inside strings are fine. */
        static const char ok[] = "{\"a\": [18446744073709551615, -9223372036854775808, 1e400, 123456789012345678901234567890.5],"
                                 " \"s\": \"123456789012345678901234567890\", \"e\": \"\\\"99999999999999999999999\"}";
        assert_int_equal(json_parse_document(ok, strlen(ok), "x", &o, &err), 0);
        json_object_put(o);
}

static void format_keeps_tabs_or_spaces(void **state) {
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *tabs = NULL, *spaces = NULL;

        assert_true(json_text_uses_tabs("{\n\t\"a\": 1\n}"));
        assert_false(json_text_uses_tabs("{\n    \"a\": 1\n}"));
        assert_false(json_text_uses_tabs("{\"a\": 1}"));
        assert_true(json_text_uses_tabs("{\n\n\t\"a\": 1\n}"));

        assert_int_equal(json_parse_document("{\"a\":{\"b\":\"/x\"}}", 16, "x", &o, NULL), 0);
        tabs = json_format_document(o, true);
        spaces = json_format_document(o, false);
        assert_string_equal(tabs, "{\n\t\"a\": {\n\t\t\"b\": \"/x\"\n\t}\n}\n");
        assert_string_equal(spaces, "{\n  \"a\": {\n    \"b\": \"/x\"\n  }\n}\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(network_entry_without_path_gets_it),
                cmocka_unit_test(network_entry_with_path_is_replaced_in_place),
                cmocka_unit_test(network_entry_is_appended_when_missing),
                cmocka_unit_test(duplicate_network_entries_become_one),
                cmocka_unit_test(linux_and_namespaces_are_made_when_absent),
                cmocka_unit_test(mounts_on_the_same_destination_are_replaced),
                cmocka_unit_test(another_name_replaces_the_earlier_patch),
                cmocka_unit_test(seed_config),
                cmocka_unit_test(no_files_leaves_mounts_alone),
                cmocka_unit_test(fields_of_the_wrong_type_are_named),
                cmocka_unit_test(entry_for_printing),
                cmocka_unit_test(parse_errors_say_where),
                cmocka_unit_test(integers_beyond_64_bits_are_refused),
                cmocka_unit_test(format_keeps_tabs_or_spaces),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

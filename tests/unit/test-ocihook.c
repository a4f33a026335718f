/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI hook's reading of the container state (oci_hook_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "ocihook.h"

static int parse(const char *s, OciHookRequest *req, NmError *err) {
        return oci_hook_parse(s, strlen(s), req, err);
}

static void runc_state_with_pin(void **state) {
        /* As runc 1.1 hands it to a createRuntime hook. */
        OciHookRequest req = {};

        assert_int_equal(parse("{\"ociVersion\":\"1.0.2-dev\",\"id\":\"a\",\"status\":\"creating\",\"pid\":8149,"
                               "\"bundle\":\"/tmp/a\",\"annotations\":{\"org.nsmgr.pin\":\"web\",\"org.other\":\"x\"}}",
                               &req, NULL),
                         0);
        assert_string_equal(req.id, "a");
        assert_int_equal(req.pid, 8149);
        assert_string_equal(req.bundle, "/tmp/a");
        assert_string_equal(req.pin, "web");
        oci_hook_request_done(&req);
        assert_null(req.pin);
}

static void no_annotations_asks_for_nothing(void **state) {
        OciHookRequest req = {};

        assert_int_equal(parse("{\"id\":\"a\",\"pid\":1}", &req, NULL), 0);
        assert_null(req.pin);
        assert_null(req.bundle);
        oci_hook_request_done(&req);
        assert_int_equal(parse("{\"id\":\"a\",\"pid\":1,\"annotations\":{}}", &req, NULL), 0);
        assert_null(req.pin);
        oci_hook_request_done(&req);
}

static void assert_refused(const char *in, int code, const char *msg) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        OciHookRequest req = {};

        assert_int_equal(parse(in, &req, &err), code);
        assert_null(req.id);
        assert_string_equal(err.msg, msg);
}

static void bad_states_are_refused(void **state) {
        static const char no_pid[] =
                "the container state on stdin of container 'a' has no process ('pid'); run 'nsmgrctl oci-hook' as a createRuntime hook, when the container's process exists";

        assert_refused("{\"id\":\"a\",\"status\":\"stopped\"}", -EINVAL, no_pid);
        assert_refused("{\"id\":\"a\",\"pid\":0}", -EINVAL, no_pid);
        assert_refused("{\"id\":\"a\",\"pid\":\"12\"}", -EINVAL, no_pid);
        assert_refused("{\"id\":\"a\",\"pid\":null}", -EINVAL, no_pid);
        assert_refused("{\"id\":\"a\",\"pid\":4294967296}", -EINVAL,
                       "the container state on stdin of container 'a' has the pid 4294967296, which is not a valid PID");
        assert_refused("{\"id\":", -EINVAL, "the container state on stdin is not valid JSON: it ends before the value is complete");
        assert_refused("", -EINVAL, "the container state on stdin is empty, not a JSON document");
        assert_refused("[1]", -EINVAL, "the container state on stdin is not an OCI state (not a JSON object)");
        assert_refused("{\"id\":\"a\",\"pid\":5,\"annotations\":[]}", -EINVAL,
                       "the container state on stdin is not an OCI state: 'annotations' is not an object");
}

static void nsmgr_annotations_are_checked(void **state) {
        assert_refused("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.pinn\":\"web\"}}", -EOPNOTSUPP,
                       "container 'a' has the annotation org.nsmgr.pinn, which this nsmgr does not know (it knows org.nsmgr.pin, org.nsmgr.network and org.nsmgr.netns); refusing to start it half-wired");
        assert_refused("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.pin\":\"a/b\"}}", -EINVAL,
                       "container 'a': annotation org.nsmgr.pin: invalid namespace name 'a/b': it must not contain '/'");
        assert_refused("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.pin\":\"\"}}", -EINVAL,
                       "container 'a': annotation org.nsmgr.pin: invalid namespace name '': a name must not be empty");
        assert_refused("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.pin\":7}}", -EINVAL,
                       "container 'a': annotation org.nsmgr.pin is not a string");
}

static void the_runtimes_annotations_are_left_alone(void **state) {
        OciHookRequest req = {};

        /* nsmgr-runtime's request: joined and attached before the hook runs. */
        assert_int_equal(parse("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.netns\":\"pod1\","
                               "\"org.nsmgr.network\":\"lab\"}}",
                               &req, NULL),
                         0);
        assert_null(req.pin);
        assert_null(req.network);
        oci_hook_request_done(&req);
        /* With a pin of its own, the network is the hook's. */
        assert_int_equal(parse("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.netns\":\"pod1\","
                               "\"org.nsmgr.pin\":\"web\",\"org.nsmgr.network\":\"lab\"}}",
                               &req, NULL),
                         0);
        assert_string_equal(req.pin, "web");
        assert_string_equal(req.network, "lab");
        oci_hook_request_done(&req);
}

static void annotation_values_are_checked(void **state) {
        _cleanup_free_ char *long_pin = NULL, *doc = NULL;

        assert_refused("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.pin\":\"w\",\"org.nsmgr.network\":\"\"}}", -EINVAL,
                       "container 'a': annotation org.nsmgr.network: invalid network name '': a name must not be empty");
        assert_refused("{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.pin\":\"w\",\"org.nsmgr.network\":\"../x\"}}", -EINVAL,
                       "container 'a': annotation org.nsmgr.network: invalid network name '../x': a network name is 1 to 64 letters, digits, '-', '_' or '.'");
        /* An over-long value is refused, and shown cut. */
        long_pin = malloc(100001);
        assert_non_null(long_pin);
        memset(long_pin, 'p', 100000);
        long_pin[100000] = 0;
        assert_true(asprintf(&doc, "{\"id\":\"a\",\"pid\":5,\"annotations\":{\"org.nsmgr.pin\":\"%s\"}}", long_pin) > 0);
        {
                _cleanup_error_ NmError err = NM_ERROR_INIT;
                OciHookRequest req = {};

                assert_int_equal(parse(doc, &req, &err), -EINVAL);
                assert_non_null(strstr(err.msg, "it is 100000 bytes long, the limit is 255 (NAME_MAX)"));
                assert_true(strlen(err.msg) < 300);
        }
}

static void the_id_is_shown_safely(void **state) {
        OciHookRequest req = {};

        assert_int_equal(parse("{\"id\":\"a\\nb'c\",\"pid\":1}", &req, NULL), 0);
        assert_string_equal(req.id, "a\\x0ab\\x27c");
        oci_hook_request_done(&req);
}

static int memfd_with(size_t n) {
        int fd = memfd_create("state", MFD_CLOEXEC);
        _cleanup_free_ char *buf = malloc(n);

        assert_true(fd >= 0);
        assert_non_null(buf);
        memset(buf, ' ', n);
        assert_int_equal(write(fd, buf, n), (ssize_t) n);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void stdin_is_capped(void **state) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int fd;

        fd = memfd_with(OCI_HOOK_STATE_MAX);
        assert_int_equal(oci_hook_read_state(fd, &text, &len, &err), 0);
        assert_int_equal(len, OCI_HOOK_STATE_MAX);
        close(fd);

        fd = memfd_with(OCI_HOOK_STATE_MAX + 1);
        assert_int_equal(oci_hook_read_state(fd, &text, &len, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "the container state on stdin is over 1048576 bytes (1 MiB)"));
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(runc_state_with_pin),
                cmocka_unit_test(no_annotations_asks_for_nothing),
                cmocka_unit_test(bad_states_are_refused),
                cmocka_unit_test(nsmgr_annotations_are_checked),
                cmocka_unit_test(the_runtimes_annotations_are_left_alone),
                cmocka_unit_test(annotation_values_are_checked),
                cmocka_unit_test(the_id_is_shown_safely),
                cmocka_unit_test(stdin_is_capped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

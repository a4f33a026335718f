/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The OCI hook's reading of its stdin, the container state a runtime
 * hands it: read (capped), then parsed. It must never crash or leak, and
 * what it accepts must be a request the hook can act on. */
#include <stdint.h>
#include <sys/mman.h>

#include "name.h"
#include "ocihook.h"

static void check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "an accepted state broke a promise: %s\n", what);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static int memfd = -1;
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_free_ char *text = NULL;
        OciHookRequest req = {};
        size_t len = 0;

        if (memfd < 0 && (memfd = memfd_create("fuzz-ocihook", MFD_CLOEXEC)) < 0)
                abort();
        if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t) size ||
            lseek(memfd, 0, SEEK_SET) != 0)
                abort();

        if (oci_hook_read_state(memfd, &text, &len, &err) < 0) {
                check(size > OCI_HOOK_STATE_MAX, "a state that fits is read");
                return 0;
        }
        check(len == size && memcmp(text, data, size) == 0, "the state is read as it is");

        if (oci_hook_parse(text, len, &req, &err) < 0) {
                check(err.msg && *err.msg, "a refusal says why");
                check(!req.id && !req.pin && !req.network, "a refusal hands nothing back");
                return 0;
        }
        check(req.id && !strpbrk(req.id, "\n\r"), "the id can be shown");
        check(req.pid > 0, "a process to act on");
        check(!req.pin || netns_name_is_valid(req.pin), "the pin is a namespace name");
        check(!req.network || (req.pin && network_name_check(req.network, NULL) >= 0),
              "a network is a network name, with a pin");
        oci_hook_request_done(&req);
        return 0;
}

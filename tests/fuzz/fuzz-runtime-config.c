/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer entry point: what nsmgr-runtime reads in a bundle's
 * config.json (runtime_request_parse, runtime_docker_container_dir,
 * runtime_check_container, runtime_drop_docker_hook) and the log entry it
 * writes for an error (runtime_log_entry). */
#include <stddef.h>
#include <stdint.h>

#include "jsonfile.h"
#include "runtime.h"

#define ID "3967a2fab76125404b2e6db23fcc2a9e3a0a2d30fde1cb1a4a2e8360fbb521bd"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One line, ending in its newline. */
static void one_line(const char *s) {
        const char *nl = s ? strchr(s, '\n') : NULL;

        if (s && (!nl || nl[1] != 0))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        _cleanup_json_ json_object *config = NULL;
        _cleanup_free_ char *text = NULL, *dir = NULL, *t = NULL, *j = NULL;
        RuntimeRequest req = {};
        bool docker;

        text = strndup((const char *) data, size);
        if (!text)
                return 0;

        /* Whatever a message holds, a log entry is one line. */
        t = runtime_log_entry(false, text, 0);
        j = runtime_log_entry(true, text, 0);
        one_line(t);
        one_line(j);

        if (json_parse_document(text, strlen(text), "config.json", &config, NULL) < 0 ||
            !json_object_is_type(config, json_type_object))
                return 0;
        if (runtime_request_parse(config, ID, &req, &err) >= 0 && req.netns && !req.netns_from)
                abort();
        nm_error_clear(&err);
        dir = runtime_docker_container_dir(config, ID);
        docker = dir || runtime_has_docker_hook(config);
        (void) runtime_check_container(config, ID, docker, NULL, req.netns ? req.netns : "pod1", &err);
        nm_error_clear(&err);
        (void) runtime_check_container(config, ID, docker, config, "pod1", &err);
        (void) runtime_drop_docker_hook(config);
        if (runtime_has_docker_hook(config))
                abort();
        runtime_request_done(&req);
        return 0;
}

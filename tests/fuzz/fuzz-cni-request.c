/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the CNI plugin's reading of a request (cni_request_parse(): the
 * environment and the network configuration on stdin, what any runtime or
 * anyone who can write a conflist controls) and its answers built from it
 * (the error object, the result with a prevResult passed on).
 *
 * Input: environment lines "KEY=VALUE\n", an empty line, then stdin:
 *
 *     CNI_COMMAND=ADD
 *     CNI_CONTAINERID=c1
 *     CNI_NETNS=/run/netns/p1
 *     CNI_IFNAME=eth0
 *
 *     {"cniVersion": "1.1.0", "name": "n", "type": "nsmgr", "network": "lab"}
 *
 * libFuzzer-compatible (LLVMFuzzerTestOneInput); built against libnsmgr.a
 * only, e.g. clang -fsanitize=fuzzer,address,undefined -Insmgr/lib
 * $(pkg-config --cflags json-c libnl-3.0) tests/fuzz/fuzz-cni-request.c
 * build/libnsmgr.a $(pkg-config --libs ...). Seeds: corpus/cni-request/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

typedef struct Env {
        char **keys;
        char **values;
        size_t n;
} Env;

static const char *env_get(const char *name, void *userdata) {
        const Env *e = userdata;

        for (size_t i = e->n; i > 0; i--)
                if (strcmp(e->keys[i - 1], name) == 0)
                        return e->values[i - 1];
        return NULL;
}

static void env_done(Env *e) {
        for (size_t i = 0; i < e->n; i++) {
                free(e->keys[i]);
                free(e->values[i]);
        }
        free(e->keys);
        free(e->values);
}

/* The environment part: lines up to an empty one (or the end). Returns
 * where stdin starts. */
static size_t env_parse(const uint8_t *data, size_t size, Env *e) {
        size_t i = 0;

        while (i < size) {
                const uint8_t *nl = memchr(data + i, '\n', size - i);
                size_t len = nl ? (size_t) (nl - (data + i)) : size - i;
                const uint8_t *eq = memchr(data + i, '=', len);
                char **k, **v;

                if (len == 0)
                        return i + 1;
                if (eq && memchr(data + i, 0, len) == NULL) {
                        k = realloc(e->keys, (e->n + 1) * sizeof(char *));
                        if (k)
                                e->keys = k;
                        v = realloc(e->values, (e->n + 1) * sizeof(char *));
                        if (v)
                                e->values = v;
                        if (k && v) {
                                e->keys[e->n] = strndup((const char *) data + i, (size_t) (eq - (data + i)));
                                e->values[e->n] = strndup((const char *) eq + 1, len - (size_t) (eq - (data + i)) - 1);
                                if (e->keys[e->n] && e->values[e->n])
                                        e->n++;
                                else {
                                        free(e->keys[e->n]);
                                        free(e->values[e->n]);
                                }
                        }
                }
                i += len + (nl ? 1 : 0);
        }
        return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        CniRequest req = {};
        CniError err = CNI_ERROR_INIT;
        Env e = {};
        size_t start = env_parse(data, size, &e);
        const char *in = (const char *) data + start;
        size_t len = size - start;
        char *vbuf = NULL;
        json_object *o;

        if (cni_request_parse(env_get, &e, in, len, &req, &err) < 0) {
                o = cni_error_to_json(&err, cni_error_version(in, len, &vbuf));
                (void) json_object_to_json_string(o);
                json_object_put(o);
        } else {
                CniResult res = {};
                Cidr a = { .family = AF_INET, .addr = { 198, 18, 20, 2 }, .prefixlen = 24 };
                Cidr gw = { .family = AF_INET, .addr = { 198, 18, 20, 1 } };
                Cidr any = { .family = AF_INET };

                /* The answers an ADD would give for this request. */
                if (cni_result_add_interface(&res, "vhost-0", "02:00:00:00:00:01", 1500, NULL) >= 0 &&
                    cni_result_add_interface(&res, req.ifname ? req.ifname : "eth0", "02:00:00:00:00:02", 1500,
                                             req.netns) >= 0 &&
                    cni_result_add_ip(&res, &a, &gw, 1) >= 0 && cni_result_add_route(&res, &any, &gw) >= 0) {
                        o = req.version ? cni_result_to_json(&res, req.version, req.prev_result) : NULL;
                        (void) json_object_to_json_string(o);
                        json_object_put(o);
                }
                (void) cni_prev_result_has_interface(req.prev_result, "eth0", req.netns, NULL);
                (void) cni_prev_result_has_ip(req.prev_result, &a, 1);
                cni_result_done(&res);
                o = cni_version_info(req.version);
                json_object_put(o);
        }
        free(vbuf);
        cni_error_done(&err);
        cni_request_done(&req);
        env_done(&e);
        return 0;
}

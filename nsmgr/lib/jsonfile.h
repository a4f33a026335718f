/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* JSON documents that other programs wrote and read back: an OCI bundle's
 * config.json, a runtime's container state. */

/* Parses one JSON value the way the OCI runtimes (Go's encoding/json) read
 * it: strictly (no comments, no trailing commas, nothing but white space
 * after the value). Also refuses an integer beyond 64 bits, which json-c
 * would silently clamp, so that a document we rewrite keeps every number it
 * had. `what` names the document in the error, which gives line and column:
 * "/b/config.json is not valid JSON: unexpected character at line 3, column 7". */
int json_parse_document(const char *text, size_t len, const char *what, json_object **ret, NmError *err);

/* True when the document's first indented line starts with a tab (the way
 * 'runc spec' writes config.json), so a rewrite keeps its style. */
bool json_text_uses_tabs(const char *text);

/* The text of a document to write back: pretty-printed with tabs or two
 * spaces, "/" unescaped, a final newline. NULL on no memory. */
char *json_format_document(json_object *o, bool tabs);

/* The string value of key in object o, or NULL when absent or not a string. */
const char *json_get_string(json_object *o, const char *key);

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

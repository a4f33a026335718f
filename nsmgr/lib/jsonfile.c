/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <limits.h>

#include "jsonfile.h"

static void line_column(const char *text, size_t offset, size_t *ret_line, size_t *ret_col) {
        size_t line = 1, col = 1;

        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        }
        *ret_line = line;
        *ret_col = col;
}

/* Is the decimal integer s[0..n) (optionally with a leading '-') beyond
 * what json-c stores, int64 for negatives and uint64 otherwise? */
static bool integer_overflows(const char *s, size_t n) {
        const char *limit = "18446744073709551615";

        if (n > 0 && s[0] == '-') {
                s++;
                n--;
                limit = "9223372036854775808";
        }
        while (n > 1 && s[0] == '0') {
                s++;
                n--;
        }
        if (n != strlen(limit))
                return n > strlen(limit);
        return memcmp(s, limit, n) > 0;
}

/* Finds the first integer literal json-c would clamp. Runs on text that
 * already parsed, so every '-' or digit outside a string starts a number. */
static bool find_overflow(const char *text, size_t len, size_t *ret_offset, size_t *ret_len) {
        size_t i = 0;

        while (i < len) {
                char c = text[i];

                if (c == '"') {
                        for (i++; i < len && text[i] != '"'; i++)
                                if (text[i] == '\\')
                                        i++;
                        i++;
                        continue;
                }
                if (c == '-' || isdigit((unsigned char) c)) {
                        size_t start = i;
                        bool integer = true;

                        while (i < len && (isdigit((unsigned char) text[i]) || strchr("-+.eE", text[i]))) {
                                if (strchr(".eE", text[i]))
                                        integer = false;
                                i++;
                        }
                        if (integer && integer_overflows(text + start, i - start)) {
                                *ret_offset = start;
                                *ret_len = i - start;
                                return true;
                        }
                        continue;
                }
                i++;
        }
        return false;
}

int json_parse_document(const char *text, size_t len, const char *what, json_object **ret, NmError *err) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error jerr;
        size_t end, line, col, n;

        for (end = 0; end < len && isspace((unsigned char) text[end]); end++)
                ;
        if (end == len)
                return nm_error(err, -EINVAL, "%s is empty, not a JSON document", what);

        if (len > INT_MAX)
                return nm_error(err, -EFBIG, "%s is too large for a JSON document (%zu bytes)", what, len);

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, text, (int) len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (!o) {
                if (jerr == json_tokener_continue)
                        return nm_error(err, -EINVAL, "%s is not valid JSON: it ends before the value is complete", what);
                line_column(text, end, &line, &col);
                return nm_error(err, -EINVAL, "%s is not valid JSON: %s at line %zu, column %zu", what,
                                json_tokener_error_desc(jerr), line, col);
        }
        if (find_overflow(text, len, &end, &n)) {
                json_object_put(o);
                line_column(text, end, &line, &col);
                return nm_error(err, -ERANGE,
                                "%s has the integer %.*s at line %zu, column %zu, which does not fit in 64 bits; nsmgr cannot keep it exactly",
                                what, (int) (n > 40 ? 40 : n), text + end, line, col);
        }

        *ret = o;
        return 0;
}

bool json_text_uses_tabs(const char *text) {
        const char *nl = strchr(text, '\n');

        /* The first line that is indented at all decides. */
        while (nl) {
                const char *p = nl + 1;

                if (*p == '\t')
                        return true;
                if (*p == ' ')
                        return false;
                nl = strchr(p, '\n');
        }
        return false;
}

char *json_format_document(json_object *o, bool tabs) {
        int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;
        const char *s;
        char *out;

        if (tabs)
                flags |= JSON_C_TO_STRING_PRETTY_TAB;
        s = json_object_to_json_string_ext(o, flags);
        if (!s || asprintf(&out, "%s\n", s) < 0)
                return NULL;
        return out;
}

const char *json_get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

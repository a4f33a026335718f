/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdarg.h>

#include "macro.h"
#include "nftjson.h"

const char nftj_null_tag = 0;

json_object *nftj_obj(const char *key, ...) {
        json_object *o = json_object_new_object();
        bool ok = o != NULL;
        va_list ap;

        va_start(ap, key);
        /* Every value is consumed, also after a failure, so none leaks. */
        for (const char *k = key; k; k = va_arg(ap, const char *)) {
                json_object *v = va_arg(ap, json_object *);

                if (v == NFTJ_NULL)
                        v = NULL;
                else if (!v) {
                        ok = false;
                        continue;
                }
                if (!ok || json_object_object_add(o, k, v) < 0) {
                        json_object_put(v);
                        ok = false;
                }
        }
        va_end(ap);
        if (!ok) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *nftj_str(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

json_object *nftj_int(int64_t i) {
        return json_object_new_int64(i);
}

bool nftj_append(json_object *a, json_object *v) {
        if (!a || !v || json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return false;
        }
        return true;
}

json_object *nftj_payload(const char *protocol, const char *field) {
        return nftj_obj("payload", nftj_obj("protocol", nftj_str(protocol), "field", nftj_str(field), NULL), NULL);
}

json_object *nftj_meta(const char *key) {
        return nftj_obj("meta", nftj_obj("key", nftj_str(key), NULL), NULL);
}

json_object *nftj_ct(const char *key) {
        return nftj_obj("ct", nftj_obj("key", nftj_str(key), NULL), NULL);
}

json_object *nftj_fib_daddr_type(void) {
        json_object *flags = json_object_new_array();

        if (!nftj_append(flags, nftj_str("daddr"))) {
                json_object_put(flags);
                return NULL;
        }
        return nftj_obj("fib", nftj_obj("result", nftj_str("type"), "flags", flags, NULL), NULL);
}

json_object *nftj_addr(const Cidr *c) {
        char buf[CIDR_STRLEN];

        return nftj_str(cidr_format(c, false, buf));
}

json_object *nftj_cidr(const Cidr *c) {
        if (c->prefixlen == cidr_addr_bytes(c->family) * 8)
                return nftj_addr(c);
        return nftj_obj("prefix", nftj_obj("addr", nftj_addr(c), "len", nftj_int(c->prefixlen), NULL), NULL);
}

json_object *nftj_match(const char *op, json_object *left, json_object *right) {
        return nftj_obj("match", nftj_obj("op", nftj_str(op), "left", left, "right", right, NULL), NULL);
}

json_object *nftj_verdict(const char *verdict) {
        return nftj_obj(verdict, NFTJ_NULL, NULL);
}

json_object *nftj_jump(const char *chain) {
        return nftj_obj("jump", nftj_obj("target", nftj_str(chain), NULL), NULL);
}

json_object *nftj_masquerade(void) {
        return nftj_obj("masquerade", NFTJ_NULL, NULL);
}

json_object *nftj_dnat(const Cidr *addr, uint16_t port) {
        return nftj_obj("dnat",
                        nftj_obj("family", nftj_str(addr->family == AF_INET6 ? "ip6" : "ip"), "addr", nftj_addr(addr),
                                 "port", nftj_int(port), NULL),
                        NULL);
}

/* --- the normal form --------------------------------------------------------- */

static int normalize(json_object *v, bool unordered, json_object **ret);

static int normalize_string(const char *s, json_object **ret) {
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        size_t n = strspn(s, "0123456789");

        /* A number given as a string (a port, a mark) is that number. */
        if (n > 0 && n <= 18 && s[n] == 0)
                *ret = json_object_new_int64(strtoll(s, NULL, 10));
        /* IPv6 addresses have many spellings; inet_ntop() gives the
         * canonical one (RFC 5952), as nft prints it. No interface name
         * can look like one: the kernel refuses ':' in them. */
        else if (strchr(s, ':') && inet_pton(AF_INET6, s, &a6) == 1 && inet_ntop(AF_INET6, &a6, buf, sizeof(buf)))
                *ret = json_object_new_string(buf);
        else
                *ret = json_object_new_string(s);
        return *ret ? 0 : -ENOMEM;
}

static int string_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int json_text_cmp(const void *a, const void *b) {
        json_object *const *x = a, *const *y = b;

        return strcmp(json_object_to_json_string_ext(*x, JSON_C_TO_STRING_PLAIN),
                      json_object_to_json_string_ext(*y, JSON_C_TO_STRING_PLAIN));
}

static int normalize_array(json_object *a, bool unordered, json_object **ret) {
        size_t n = json_object_array_length(a);
        json_object *out;
        int r;

        /* One element and the element are the same. */
        if (n == 1)
                return normalize(json_object_array_get_idx(a, 0), false, ret);
        out = json_object_new_array_ext((int) n);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = NULL;

                r = normalize(json_object_array_get_idx(a, i), false, &e);
                if (r < 0 || json_object_array_add(out, e) < 0) {
                        json_object_put(e);
                        json_object_put(out);
                        return -ENOMEM;
                }
        }
        /* The elements of a set, and flags, have no order. */
        if (unordered)
                json_object_array_sort(out, json_text_cmp);
        *ret = out;
        return 0;
}

/* {"prefix": {"addr": A, "len": 32}} (or 128 for IPv6) is A. */
static json_object *full_prefix_addr(json_object *o) {
        json_object *p, *addr, *len;
        struct in6_addr a6;
        struct in_addr a4;
        int64_t l;

        if (json_object_object_length(o) != 1 || !json_object_object_get_ex(o, "prefix", &p) ||
            !json_object_object_get_ex(p, "addr", &addr) || !json_object_object_get_ex(p, "len", &len) ||
            !json_object_is_type(addr, json_type_string))
                return NULL;
        l = json_object_get_int64(len);
        if ((l == 32 && inet_pton(AF_INET, json_object_get_string(addr), &a4) == 1) ||
            (l == 128 && inet_pton(AF_INET6, json_object_get_string(addr), &a6) == 1))
                return addr;
        return NULL;
}

static int normalize_object(json_object *o, json_object **ret) {
        _cleanup_free_ const char **keys = NULL;
        size_t n = (size_t) json_object_object_length(o), k = 0;
        json_object *out, *addr;
        int r;

        /* {} says as much as null: "accept": {} is "accept": null. */
        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        addr = full_prefix_addr(o);
        if (addr)
                return normalize_string(json_object_get_string(addr), ret);

        /* Keys in one order: json-c keeps them in the order they came. */
        keys = malloc(n * sizeof(char *));
        out = json_object_new_object();
        if (!keys || !out) {
                json_object_put(out);
                return -ENOMEM;
        }
        json_object_object_foreach(o, key, val) {
                (void) val;
                keys[k++] = key;
        }
        qsort(keys, n, sizeof(char *), string_cmp);
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_object_get(o, keys[i]), *nv = NULL;

                /* The right side of a match, the elements of a set, flags:
                 * lists whose order means nothing. */
                r = normalize(v, streq(keys[i], "right") || streq(keys[i], "set") || streq(keys[i], "flags"), &nv);
                if (r < 0 || json_object_object_add(out, keys[i], nv) < 0) {
                        json_object_put(nv);
                        json_object_put(out);
                        return -ENOMEM;
                }
        }
        *ret = out;
        return 0;
}

static int normalize(json_object *v, bool unordered, json_object **ret) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                *ret = NULL;
                return 0;
        case json_type_string:
                return normalize_string(json_object_get_string(v), ret);
        case json_type_array:
                return normalize_array(v, unordered, ret);
        case json_type_object:
                return normalize_object(v, ret);
        case json_type_double: {
                double d = json_object_get_double(v);

                if (d == (double) (int64_t) d)
                        *ret = json_object_new_int64((int64_t) d);
                else
                        *ret = json_object_new_double(d);
                return *ret ? 0 : -ENOMEM;
        }
        case json_type_boolean:
        case json_type_int:
        default:
                *ret = json_object_get(v);
                return 0;
        }
}

char *nftj_rule_fingerprint(json_object *expr) {
        json_object *out;
        char *text;
        size_t n;

        if (!json_object_is_type(expr, json_type_array))
                return NULL;
        n = json_object_array_length(expr);
        out = json_object_new_array_ext((int) n);
        if (!out)
                return NULL;
        /* The statements keep their order, and a rule of one statement
         * stays a list. */
        for (size_t i = 0; i < n; i++) {
                json_object *s = NULL;

                if (normalize(json_object_array_get_idx(expr, i), false, &s) < 0 ||
                    json_object_array_add(out, s) < 0) {
                        json_object_put(s);
                        json_object_put(out);
                        return NULL;
                }
        }
        text = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(out);
        return text;
}

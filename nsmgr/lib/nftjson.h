/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "ipaddr.h"

/* Commands and rules for libnftables in its JSON schema (libnftables-json(5)),
 * built with json-c: names go in as JSON strings, so nothing is ever quoted
 * by hand and no name can be read as nft syntax.
 *
 * Every builder returns a new reference, or NULL when out of memory. The
 * json_object arguments are taken over, also when the builder fails, and a
 * NULL argument (a builder that failed before) makes it fail: a whole
 * expression is built in one nested call and checked once. */

/* In nftj_obj(), a JSON null value; NULL there means "out of memory". */
extern const char nftj_null_tag;
#define NFTJ_NULL ((json_object *) &nftj_null_tag)

/* An object from key/value pairs, ended by a NULL key:
 * nftj_obj("key", nftj_str("v"), "flag", NFTJ_NULL, NULL). */
json_object *nftj_obj(const char *key, ...);
json_object *nftj_str(const char *s);
json_object *nftj_int(int64_t i);
/* Appends v to the array a (taken over); false (and v freed) on failure. */
bool nftj_append(json_object *a, json_object *v);

/* Expressions. */
json_object *nftj_payload(const char *protocol, const char *field);
json_object *nftj_meta(const char *key);
json_object *nftj_ct(const char *key);
json_object *nftj_fib_daddr_type(void);
/* "198.18.0.0/16" as {"prefix": ...}; a host address as itself. */
json_object *nftj_cidr(const Cidr *c);
json_object *nftj_addr(const Cidr *c);

/* Statements. */
json_object *nftj_match(const char *op, json_object *left, json_object *right);
json_object *nftj_verdict(const char *verdict);         /* "accept": {"accept": null} */
json_object *nftj_jump(const char *chain);
json_object *nftj_masquerade(void);
json_object *nftj_dnat(const Cidr *addr, uint16_t port);

/* The normal form of a rule's expression array, as one line of text: two
 * rules with the same normal form do the same. What the kernel lists is not
 * byte for byte what was added: a one-element list comes back as a scalar
 * ("flags": "daddr" as ["daddr"], ["established"] as "established"), "{}"
 * as null, "8080" as 8080, "fd00:20:0::" as "fd00:20::", a /32 or /128
 * prefix as the bare address, the elements of a set sorted, object keys
 * in any order. The normal form undoes all that; what changes meaning (an
 * operator, a value, a statement more or less, their order) stays.
 * NULL when out of memory or when expr is not an array. */
char *nftj_rule_fingerprint(json_object *expr);

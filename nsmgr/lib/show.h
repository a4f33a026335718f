/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "error.h"
#include "nl.h"

/* What is inside a network namespace, as a JSON object with stable keys:
 *   { "interfaces": [ { "name", "ifindex", "kind", "up", "operstate", "mtu",
 *                       "mac", "master", "addresses": [ { "family",
 *                       "address", "prefixlen" } ] } ],
 *     "routes": [ { "destination", "gateway", "device", "metric", "table",
 *                   "protocol", "family" } ] }
 * Read through a netlink socket bound to that namespace. The local routing
 * table (255) is left out, as `ip route` does. */
int show_netns(NlSock *nl, json_object **ret, NmError *err);

/* "198.18.0.1" (no prefix) or with_prefix: "198.18.0.0/24"; "default"
 * for a zero-length prefix when default_word is set. */
char *nladdr_to_string(struct nl_addr *a, bool with_prefix, bool default_word);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "error.h"

/* A namespace name is one file name under /run/netns: not empty, not "." or
 * "..", no "/", no control characters, at most NAME_MAX bytes. On failure the
 * error names the rule that was broken. */
int netns_name_check(const char *name, NmError *err);
bool netns_name_is_valid(const char *name);

/* An interface name the kernel takes, checked as dev_valid_name() checks
 * it: 1 to 15 bytes, not "." or "..", no "/", ":" or white space (the
 * kernel's isspace(), which counts 0xa0), and not "all" or "default"
 * (register_netdevice() refuses those). On top of that it refuses what
 * the kernel takes but what breaks elsewhere: control characters and
 * bytes beyond ASCII, '%' (a pattern to the kernel), quotes and '\' (nft,
 * shells), '*' (a wildcard to nft) and '@' (a set reference to nft). */
int ifname_check(const char *name, NmError *err);
bool ifname_is_valid(const char *name);
/* The same for a name nsmgr matches in nftables rules (bridges, uplinks):
 * not one of the words libnftables' JSON reads as a protocol ("tcp", ...). */
int ifname_check_nft(const char *name, NmError *err);

/* A network name is a folder under /var/lib/nsmgr/ipam and a word in
 * nftables comments: 1 to 64 letters, digits, '-', '_' or '.', not "." or
 * "..". */
#define NETWORK_NAME_MAX 64
int network_name_check(const char *name, NmError *err);

/* A name from outside as a message can show it: bytes that are not
 * printable ASCII, quotes and '\' as \xNN, cut after NAME_SHOW_BYTES bytes
 * with "...". Returns buf. */
#define NAME_SHOW_BYTES 64
#define NAME_SHOW_MAX (NAME_SHOW_BYTES * 4 + 4)
const char *name_show(const char *name, char buf[static NAME_SHOW_MAX]);

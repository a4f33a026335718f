/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "error.h"

/* A namespace name is one file name under /run/netns: not empty, not "." or
 * "..", no "/", no control characters, at most NAME_MAX bytes. On failure the
 * error names the rule that was broken. */
int netns_name_check(const char *name, NmError *err);
bool netns_name_is_valid(const char *name);

/* An interface name as the kernel takes it (dev_valid_name()): 1 to 15
 * bytes, not "." or "..", no "/", ":" or white space. */
int ifname_check(const char *name, NmError *err);
bool ifname_is_valid(const char *name);

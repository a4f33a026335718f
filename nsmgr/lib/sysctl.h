/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* sysctls of the calling thread's network namespace: /proc/sys/net is
 * resolved against the namespace of the thread that opens it. Keys are
 * given as sysctl(8) does: "net.ipv4.ip_forward", or with slashes for
 * names that hold dots ("net/ipv4/conf/eth0.100/rp_filter"). */
int sysctl_path(const char *key, char **ret);
int sysctl_read(const char *key, char **ret);
int sysctl_write(const char *key, const char *value);
/* True if the kernel's text for a value equals what the config says
 * (multi-value sysctls print tabs where people write spaces). */
#include <stdbool.h>
bool sysctl_value_equal(const char *kernel, const char *wanted);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "error.h"

typedef void (*nsexec_warn_t)(const char *msg);

/* Moves the calling process into the network namespace NAME the way
 * `ip netns exec` does: a private (slave) mount namespace, a fresh /sys that
 * shows NAME's devices, and each file of /etc/netns/NAME/ bind-mounted over
 * the same file in /etc. Only for a single-threaded process about to exec.
 * A file of /etc/netns/NAME/ that cannot be bound is reported through warn
 * and skipped, as ip does. */
int nsexec_enter(const char *name, nsexec_warn_t warn, NmError *err);

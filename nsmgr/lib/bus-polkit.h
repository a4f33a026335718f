/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/* Is the sender of a method call allowed an action? Root always is. Anyone
 * else is asked through polkit's CheckAuthorization, without blocking: the
 * call is answered later, when polkit has. Without polkit (not installed,
 * not running, masked), reading stays open to everyone and changing is for
 * root only.
 *
 * How a method uses it (sd-bus re-dispatches the call once polkit has
 * answered, and the method asks again and gets the answer):
 *
 *   r = bus_verify_polkit_async(m, NSMGR_POLKIT_MANAGE, details, "delete 'web'", &registry, error);
 *   if (r < 0)
 *           return r;          refused, error says why in one sentence
 *   if (r == 0)
 *           return 1;          polkit is asked; nothing may change yet
 *   ... allowed ...
 *
 * details: NULL or NULL-terminated key, value pairs for polkit rules
 * (action.lookup("namespace")). what: what is being refused, for the
 * sentence ("delete namespace 'web'"). */

typedef struct PolkitRegistry PolkitRegistry;

int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char *const *details, const char *what,
                            PolkitRegistry **registry, sd_bus_error *error);
PolkitRegistry *polkit_registry_free(PolkitRegistry *reg);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"

/* Appends what one file declares to c; problems go to *errors. */
int config_parse_file(Config *c, const char *file, char ***errors);
bool sysctl_key_is_valid(const char *key);
int port_parse(const char *s, Port *ret);

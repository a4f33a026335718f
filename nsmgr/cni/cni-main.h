/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cniplugin.h"

/* The CNI plugin as a program: the environment and stdin in, the result
 * or the error object out on stdout, the exit status. Shared by the plugin
 * binary (engine NULL: requests that need the engine are handed on to
 * `nsmgrctl cni`) and by `nsmgrctl cni` (with the engine). */
int cni_main(cni_engine_fn engine);

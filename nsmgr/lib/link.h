/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "nl.h"

/* Sets IFF_UP on the link with this index (one RTM_NEWLINK, no lookup). */
int link_set_up_index(NlSock *nl, int ifindex);

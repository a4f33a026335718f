/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ipaddr.h"
#include "nl.h"

/* Adds (or refreshes) an address on a link, marked as nsmgr's (IFA_PROTO,
 * marks.h). An IPv6 address is usable at once: no duplicate address
 * detection holding it back as "tentative" for a second. */
int address_add(NlSock *nl, int ifindex, const Cidr *a);
/* Removes it; -EADDRNOTAVAIL when it is not there. */
int address_del(NlSock *nl, int ifindex, const Cidr *a);

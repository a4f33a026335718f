/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_addr;

/* An IPv4 or IPv6 address with a prefix length: "198.18.10.1/24". */
typedef struct Cidr {
        int family;            /* AF_INET or AF_INET6; 0 when unset */
        uint8_t addr[16];
        uint8_t prefixlen;
} Cidr;

/* Parses "ADDR/LEN" (require_prefix) or "ADDR" (prefix = full length). */
int cidr_parse(const char *s, bool require_prefix, Cidr *ret);
/* "198.18.10.1/24" (with_prefix) or "198.18.10.1"; buf of CIDR_STRLEN. */
#define CIDR_STRLEN (INET6_ADDRSTRLEN + 5)
const char *cidr_format(const Cidr *c, bool with_prefix, char buf[static CIDR_STRLEN]);

bool cidr_equal(const Cidr *a, const Cidr *b);           /* address and prefix */
bool cidr_addr_equal(const Cidr *a, const Cidr *b);      /* address only */
/* True if addr lies in net (net's prefix length). */
bool cidr_contains(const Cidr *net, const Cidr *addr);
/* The network address of c (host bits cleared). */
Cidr cidr_network(const Cidr *c);
/* True if the host bits are zero. */
bool cidr_is_network(const Cidr *c);
bool cidr_overlap(const Cidr *a, const Cidr *b);
int cidr_addr_bytes(int family);

/* libnl conversions. */
struct nl_addr *cidr_to_nl(const Cidr *c);
int cidr_from_nl(struct nl_addr *a, Cidr *ret);

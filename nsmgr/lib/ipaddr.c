/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netlink/addr.h>

#include "ipaddr.h"
#include "macro.h"

int cidr_addr_bytes(int family) {
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int cidr_parse(const char *s, bool require_prefix, Cidr *ret) {
        char addr[INET6_ADDRSTRLEN];
        const char *slash;
        Cidr c = {};
        size_t n;
        int maxlen;

        if (!s || !*s)
                return -EINVAL;
        slash = strchr(s, '/');
        if (!slash && require_prefix)
                return -EINVAL;
        /* The longest address text fits; anything longer is no address. */
        n = slash ? (size_t) (slash - s) : strlen(s);
        if (n == 0 || n >= sizeof(addr))
                return -EINVAL;
        memcpy(addr, s, n);
        addr[n] = 0;

        if (inet_pton(AF_INET, addr, c.addr) == 1)
                c.family = AF_INET;
        else if (inet_pton(AF_INET6, addr, c.addr) == 1)
                c.family = AF_INET6;
        else
                return -EINVAL;

        maxlen = c.family == AF_INET ? 32 : 128;
        if (slash) {
                char *end;
                long len;

                if (!slash[1])
                        return -EINVAL;
                errno = 0;
                len = strtol(slash + 1, &end, 10);
                if (errno || *end || len < 0 || len > maxlen || !(slash[1] >= '0' && slash[1] <= '9'))
                        return -EINVAL;
                c.prefixlen = (uint8_t) len;
        } else
                c.prefixlen = (uint8_t) maxlen;

        *ret = c;
        return 0;
}

const char *cidr_format(const Cidr *c, bool with_prefix, char buf[static CIDR_STRLEN]) {
        char a[INET6_ADDRSTRLEN];

        if (!inet_ntop(c->family, c->addr, a, sizeof(a))) {
                snprintf(buf, CIDR_STRLEN, "?");
                return buf;
        }
        if (with_prefix)
                snprintf(buf, CIDR_STRLEN, "%s/%u", a, c->prefixlen);
        else
                snprintf(buf, CIDR_STRLEN, "%s", a);
        return buf;
}

bool cidr_addr_equal(const Cidr *a, const Cidr *b) {
        return a->family == b->family && memcmp(a->addr, b->addr, (size_t) cidr_addr_bytes(a->family)) == 0;
}

bool cidr_equal(const Cidr *a, const Cidr *b) {
        return cidr_addr_equal(a, b) && a->prefixlen == b->prefixlen;
}

static bool prefix_match(const uint8_t *x, const uint8_t *y, unsigned bits) {
        unsigned bytes = bits / 8, rest = bits % 8;

        if (memcmp(x, y, bytes) != 0)
                return false;
        if (rest == 0)
                return true;
        return ((x[bytes] ^ y[bytes]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

bool cidr_contains(const Cidr *net, const Cidr *addr) {
        if (net->family != addr->family)
                return false;
        return prefix_match(net->addr, addr->addr, net->prefixlen);
}

bool cidr_overlap(const Cidr *a, const Cidr *b) {
        if (a->family != b->family)
                return false;
        return prefix_match(a->addr, b->addr, a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen);
}

Cidr cidr_network(const Cidr *c) {
        Cidr n = *c;
        int bytes = cidr_addr_bytes(c->family);

        for (int i = 0; i < bytes; i++) {
                int bit = i * 8;
                if (bit >= c->prefixlen)
                        n.addr[i] = 0;
                else if (bit + 8 > c->prefixlen)
                        n.addr[i] &= (uint8_t) (0xff << (8 - (c->prefixlen - bit)));
        }
        return n;
}

bool cidr_is_network(const Cidr *c) {
        Cidr n = cidr_network(c);
        return cidr_addr_equal(&n, c);
}

struct nl_addr *cidr_to_nl(const Cidr *c) {
        struct nl_addr *a;

        a = nl_addr_build(c->family, c->addr, (size_t) cidr_addr_bytes(c->family));
        if (!a)
                return NULL;
        nl_addr_set_prefixlen(a, c->prefixlen);
        return a;
}

int cidr_from_nl(struct nl_addr *a, Cidr *ret) {
        Cidr c = {};
        int family;

        if (!a)
                return -EINVAL;
        family = nl_addr_get_family(a);
        if (family != AF_INET && family != AF_INET6)
                return -EAFNOSUPPORT;
        c.family = family;
        if (nl_addr_get_len(a) == 0)
                memset(c.addr, 0, sizeof(c.addr));
        else if (nl_addr_get_len(a) != (unsigned) cidr_addr_bytes(family))
                return -EINVAL;
        else
                memcpy(c.addr, nl_addr_get_binary_addr(a), nl_addr_get_len(a));
        c.prefixlen = (uint8_t) nl_addr_get_prefixlen(a);
        *ret = c;
        return 0;
}

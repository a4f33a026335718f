/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <limits.h>
#include <net/if.h>

#include "name.h"

const char *name_show(const char *name, char buf[static NAME_SHOW_MAX]) {
        size_t k = 0, n = 0;

        for (const unsigned char *p = (const unsigned char *) name; p && *p; p++, n++) {
                if (n == NAME_SHOW_BYTES) {
                        memcpy(buf + k, "...", 4);
                        return buf;
                }
                if (*p < 0x20 || *p >= 0x7f || *p == '\\' || *p == '\'' || *p == '"')
                        k += (size_t) snprintf(buf + k, NAME_SHOW_MAX - k, "\\x%02x", *p);
                else
                        buf[k++] = (char) *p;
        }
        buf[k] = 0;
        return buf;
}

int netns_name_check(const char *name, NmError *err) {
        char show[NAME_SHOW_MAX];
        size_t len;

        if (!name || !*name)
                return nm_error(err, -EINVAL, "invalid namespace name '': a name must not be empty");
        if (streq(name, ".") || streq(name, ".."))
                return nm_error(err, -EINVAL, "invalid namespace name '%s': '.' and '..' are not names", name);
        len = strlen(name);
        if (len > NAME_MAX)
                return nm_error(err, -EINVAL,
                                "invalid namespace name '%s': it is %zu bytes long, the limit is %d (NAME_MAX)",
                                name_show(name, show), len, NAME_MAX);
        for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
                if (*p == '/')
                        return nm_error(err, -EINVAL, "invalid namespace name '%s': it must not contain '/'",
                                        name_show(name, show));
                if (*p < 0x20 || *p == 0x7f)
                        return nm_error(err, -EINVAL,
                                        "invalid namespace name '%s': it contains the control character 0x%02x",
                                        name_show(name, show), *p);
        }
        return 0;
}

bool netns_name_is_valid(const char *name) {
        return netns_name_check(name, NULL) >= 0;
}

/* The kernel's isspace() (lib/ctype.c): the ASCII blanks and, as Latin-1
 * has it, 0xa0 (no-break space). */
static bool kernel_isspace(unsigned char c) {
        return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

int ifname_check(const char *name, NmError *err) {
        char show[NAME_SHOW_MAX];
        size_t len;

        /* First what the kernel refuses, checked as dev_valid_name()
         * (net/core/dev.c) checks it... */
        if (!name || !*name)
                return nm_error(err, -EINVAL, "invalid interface name '': a name must not be empty");
        len = strlen(name);
        if (len >= IFNAMSIZ)
                return nm_error(err, -EINVAL,
                                "invalid interface name '%s': it is %zu bytes long, the kernel's limit is %d",
                                name_show(name, show), len, IFNAMSIZ - 1);
        if (streq(name, ".") || streq(name, ".."))
                return nm_error(err, -EINVAL, "invalid interface name '%s': '.' and '..' are not names", name);
        for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
                if (*p == '/' || *p == ':')
                        return nm_error(err, -EINVAL,
                                        "invalid interface name '%s': the kernel refuses '%c' in interface names",
                                        name_show(name, show), *p);
                if (kernel_isspace(*p))
                        return nm_error(err, -EINVAL,
                                        "invalid interface name '%s': the kernel refuses white space (0x%02x) in interface names",
                                        name_show(name, show), *p);
        }
        /* ...and what register_netdevice() refuses: "all" and "default"
         * are the folders of every interface's settings in
         * /proc/sys/net/ipv{4,6}/conf (sysctl_dev_name_is_allowed()). */
        if (streq(name, "all") || streq(name, "default"))
                return nm_error(err, -EINVAL,
                                "invalid interface name '%s': the kernel keeps 'all' and 'default' for /proc/sys/net/ipv4/conf/%s; choose another name",
                                name, name);

        /* Then what the kernel takes but what breaks elsewhere. */
        for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
                const char *why = NULL;

                if (*p < 0x20 || *p == 0x7f)
                        return nm_error(err, -EINVAL,
                                        "invalid interface name '%s': it contains the control character 0x%02x, which ip(8), logs and terminals show garbled",
                                        name_show(name, show), *p);
                if (*p >= 0x80)
                        return nm_error(err, -EINVAL,
                                        "invalid interface name '%s': it contains the byte 0x%02x, which is not ASCII (nftables takes names as UTF-8 and the kernel refuses the byte 0xa0 that many UTF-8 letters hold); use ASCII letters, digits, '-', '_' and '.'",
                                        name_show(name, show), *p);
                switch (*p) {
                case '%':
                        /* dev_get_valid_name(): "eth%d" becomes "eth0". */
                        why = "the kernel takes as a pattern for a free name ('eth%d' is made as 'eth0')";
                        break;
                case '\\':
                        /* Quotes are characters like others: names reach
                         * libnftables as JSON strings. A backslash does not
                         * stay one: nftables unescapes it in names. */
                        why = "nftables reads as an escape ('e\\*' is the name 'e*')";
                        break;
                case '*':
                        why = "nftables reads as a wildcard ('eth*' matches every eth interface)";
                        break;
                case '@':
                        why = "nftables reads as a set reference and ip(8) prints between a link and its peer ('veth0@if5')";
                        break;
                default:
                        break;
                }
                if (why)
                        return nm_error(err, -EINVAL, "invalid interface name '%s': it contains '%c', which %s",
                                        name_show(name, show), *p, why);
        }
        return 0;
}

bool ifname_is_valid(const char *name) {
        return ifname_check(name, NULL) >= 0;
}

int ifname_check_nft(const char *name, NmError *err) {
        /* Strings that libnftables' JSON parser takes as protocol
         * constants wherever a value may stand (json_parse_immediate()),
         * so that `"oifname" == "tcp"` compares a name with a protocol. */
        static const char *const words[] = { "ah", "comp", "dccp", "esp", "icmp", "icmpv6", "redirect",
                                             "sctp", "tcp", "udp", "udplite" };
        int r;

        r = ifname_check(name, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (streq(name, words[i]))
                        return nm_error(err, -EINVAL,
                                        "invalid interface name '%s': nftables reads '%s' as a protocol, not an interface name, and nsmgr matches this interface in nftables rules; choose another name",
                                        name, name);
        return 0;
}

int network_name_check(const char *name, NmError *err) {
        char show[NAME_SHOW_MAX];
        size_t len;

        if (!name || !*name)
                return nm_error(err, -EINVAL, "invalid network name '': a name must not be empty");
        len = strlen(name);
        if (len > NETWORK_NAME_MAX)
                return nm_error(err, -EINVAL, "invalid network name '%s': it is %zu bytes long, the limit is %d",
                                name_show(name, show), len, NETWORK_NAME_MAX);
        if (streq(name, ".") || streq(name, ".."))
                return nm_error(err, -EINVAL, "invalid network name '%s': '.' and '..' are not names", name);
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '_' || *p == '.'))
                        return nm_error(err, -EINVAL,
                                        "invalid network name '%s': a network name is 1 to %d letters, digits, '-', '_' or '.'",
                                        name_show(name, show), NETWORK_NAME_MAX);
        return 0;
}

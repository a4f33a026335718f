/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <limits.h>
#include <net/if.h>

#include "name.h"

int netns_name_check(const char *name, NmError *err) {
        size_t len;

        if (!name || !*name)
                return nm_error(err, -EINVAL, "invalid namespace name '': a name must not be empty");
        if (streq(name, ".") || streq(name, ".."))
                return nm_error(err, -EINVAL, "invalid namespace name '%s': '.' and '..' are not names", name);
        len = strlen(name);
        if (len > NAME_MAX)
                return nm_error(err, -EINVAL,
                                "invalid namespace name '%.20s...': it is %zu bytes long, the limit is %d (NAME_MAX)",
                                name, len, NAME_MAX);
        for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
                if (*p == '/')
                        return nm_error(err, -EINVAL, "invalid namespace name '%s': it must not contain '/'", name);
                if (*p < 0x20 || *p == 0x7f)
                        return nm_error(err, -EINVAL,
                                        "invalid namespace name: it contains the control character 0x%02x", *p);
        }
        return 0;
}

bool netns_name_is_valid(const char *name) {
        return netns_name_check(name, NULL) >= 0;
}

int ifname_check(const char *name, NmError *err) {
        size_t len;

        if (!name || !*name)
                return nm_error(err, -EINVAL, "invalid interface name '': a name must not be empty");
        len = strlen(name);
        if (len >= IFNAMSIZ)
                return nm_error(err, -EINVAL,
                                "invalid interface name '%s': it is %zu bytes long, the kernel's limit is %d",
                                name, len, IFNAMSIZ - 1);
        if (streq(name, ".") || streq(name, ".."))
                return nm_error(err, -EINVAL, "invalid interface name '%s': '.' and '..' are not names", name);
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                if (*p == '/' || *p == ':' || isspace(*p) || *p < 0x20 || *p == 0x7f)
                        return nm_error(err, -EINVAL,
                                        "invalid interface name '%s': it must not contain '/', ':', white space or control characters",
                                        name);
        return 0;
}

bool ifname_is_valid(const char *name) {
        return ifname_check(name, NULL) >= 0;
}

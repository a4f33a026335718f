/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-def.h"

const sd_bus_error_map nsmgr_bus_errors[] = {
        SD_BUS_ERROR_MAP(NSMGR_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_ALREADY_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_NAMESPACE_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_DECLARED_BY_CONFIG, NSMGR_ERRNO_DECLARED),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_PROCESS_GONE, ESRCH),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_ADDRESS_IN_USE, EADDRINUSE),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_INVALID_CONFIG, EBADMSG),
        SD_BUS_ERROR_MAP(NSMGR_ERROR_NOT_A_NAMESPACE, EMEDIUMTYPE),
        SD_BUS_ERROR_MAP_END,
};

const char *nsmgr_bus_error_name(int r) {
        for (const sd_bus_error_map *m = nsmgr_bus_errors; m->name; m++)
                if (m->code == -r)
                        return m->name;
        return NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* nsmgrd's D-Bus API, shared by the daemon (bus-manager.c) and its clients
 * (bus-client.c): names, flags, errors. The interface is described in
 * nsmgr/daemon/org.nsmgr1.Manager.xml and in nsmgrd(8).
 *
 * The name follows systemd's (org.freedesktop.network1, machine1): a
 * reverse-DNS name with the API version as its last digit, so that an
 * incompatible version 2 can live next to it. nsmgr has no domain of its
 * own to put in front; org.nsmgr is the prefix its OCI annotations use
 * already (org.nsmgr.pin). */

#define NSMGR_BUS_NAME      "org.nsmgr1"
#define NSMGR_BUS_PATH      "/org/nsmgr1"
#define NSMGR_BUS_INTERFACE "org.nsmgr1.Manager"

/* polkit actions (nsmgr/daemon/org.nsmgr1.policy): reading is allowed to
 * everyone, changing needs an administrator by default. */
#define NSMGR_POLKIT_READ   "org.nsmgr1.read"
#define NSMGR_POLKIT_MANAGE "org.nsmgr1.manage"

/* Flags of CreateNamespace, PinNamespace*, DeleteNamespace and Apply (one
 * 't' each, so that a flag can be added without a new method). */
#define NSMGR_FLAG_EXIST_OK   (UINT64_C(1) << 0)   /* CreateNamespace */
#define NSMGR_FLAG_ALLOW_HOST (UINT64_C(1) << 1)   /* PinNamespace* */
#define NSMGR_FLAG_FORCE      (UINT64_C(1) << 2)   /* DeleteNamespace: even with processes inside */
#define NSMGR_FLAG_MISSING_OK (UINT64_C(1) << 3)   /* DeleteNamespace */
#define NSMGR_FLAG_DRY_RUN    (UINT64_C(1) << 4)   /* Apply */

/* Errors, each with the errno the library returns for it (the one table
 * that maps them, in both directions: sd_bus_error_set_errnof() on the
 * daemon's side, sd_bus_error_get_errno() on the client's). The message is
 * always the library's one sentence. */
#define NSMGR_ERROR_NOT_FOUND          "org.nsmgr1.Error.NotFound"          /* ENOENT */
#define NSMGR_ERROR_ALREADY_EXISTS     "org.nsmgr1.Error.AlreadyExists"     /* EEXIST */
#define NSMGR_ERROR_NAMESPACE_BUSY     "org.nsmgr1.Error.NamespaceBusy"     /* EBUSY: processes inside */
#define NSMGR_ERROR_DECLARED_BY_CONFIG "org.nsmgr1.Error.DeclaredByConfig"  /* ENOTUNIQ: the config keeps it */
#define NSMGR_ERROR_PROCESS_GONE       "org.nsmgr1.Error.ProcessGone"       /* ESRCH */
#define NSMGR_ERROR_ADDRESS_IN_USE     "org.nsmgr1.Error.AddressInUse"      /* EADDRINUSE: a subnet overlaps, an address is taken */
#define NSMGR_ERROR_NOT_SUPPORTED      "org.nsmgr1.Error.NotSupported"      /* EOPNOTSUPP: the kernel lacks a feature */
#define NSMGR_ERROR_INVALID_CONFIG     "org.nsmgr1.Error.InvalidConfig"     /* EBADMSG: the config has errors */
#define NSMGR_ERROR_NOT_A_NAMESPACE    "org.nsmgr1.Error.NotANamespace"     /* EMEDIUMTYPE */
/* Refusals by polkit are org.freedesktop.DBus.Error.AccessDenied (EACCES)
 * and ...InteractiveAuthorizationRequired; bad arguments ...InvalidArgs. */

/* The errno the library (ops.h) returns for a change refused because the
 * config nsmgrd keeps declares the object. */
#define NSMGR_ERRNO_DECLARED ENOTUNIQ

extern const sd_bus_error_map nsmgr_bus_errors[];

/* The error name for what the library returned (r negative), NULL when
 * sd-bus's own mapping (InvalidArgs, AccessDenied...) is the right one. */
const char *nsmgr_bus_error_name(int r);

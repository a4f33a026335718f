/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipaddr.h"

/* The CNI protocol, spec 1.1.0 (SPEC.md of containernetworking/cni): what a
 * runtime hands a plugin (environment variables and a JSON configuration on
 * stdin), the versions it may speak, and what the plugin answers (a result
 * of that version, or an error object with a code from the spec's table).
 * Pure: nothing here reads the environment, opens a file or touches the
 * kernel, so that every path can be unit-tested and fuzzed. */

typedef enum CniCommand {
        CNI_ADD,
        CNI_DEL,
        CNI_CHECK,
        CNI_STATUS,
        CNI_GC,
        CNI_VERSION,
        _CNI_COMMAND_MAX,
} CniCommand;

const char *cni_command_name(CniCommand c);

/* Error codes: 1-11 of the spec's table, 50/51 of STATUS, and nsmgr's own
 * from 100 (the spec leaves 100+ to plugins). */
enum {
        CNI_ERR_INCOMPATIBLE_VERSION = 1,
        CNI_ERR_UNSUPPORTED_FIELD = 2,
        CNI_ERR_UNKNOWN_CONTAINER = 3,
        CNI_ERR_INVALID_ENV = 4,
        CNI_ERR_IO = 5,
        CNI_ERR_DECODE = 6,
        CNI_ERR_INVALID_CONFIG = 7,
        CNI_ERR_TRY_AGAIN = 11,
        CNI_ERR_NOT_AVAILABLE = 50,
        CNI_ERR_LIMITED = 51,
        CNI_ERR_FAILED = 100,           /* nsmgr could not do it (the details say why) */
        CNI_ERR_NO_ADDRESS = 101,       /* the network has no free address */
        CNI_ERR_IFACE_EXISTS = 102,     /* CNI_IFNAME is taken in the container */
        CNI_ERR_CHECK_FAILED = 103,     /* CHECK: the attachment is not what it should be */
};

typedef struct CniError {
        unsigned code;
        char *msg;              /* short: what kind of error */
        char *details;          /* one sentence: the object, the cause, the fix */
} CniError;

#define CNI_ERROR_INIT { 0, NULL, NULL }

/* Sets the error unless one is set already (the first cause wins); returns
 * -EINVAL so that callers can `return cni_error(...)`. */
int cni_error(CniError *e, unsigned code, const char *msg, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cni_error_done(CniError *e);

/* The versions nsmgr speaks, oldest first, and the newest. */
extern const char *const cni_supported_versions[];
#define CNI_VERSION_LATEST "1.1.0"
/* Semantic version order of "MAJOR.MINOR.PATCH" strings: <0, 0, >0; a
 * string that is not one sorts first. */
int cni_version_cmp(const char *a, const char *b);
bool cni_version_supported(const char *v);

typedef struct CniPortMapping {
        uint16_t host_port;
        uint16_t container_port;
        int proto;              /* IPPROTO_TCP or IPPROTO_UDP */
} CniPortMapping;

typedef struct CniAttachmentRef {
        char *container_id;
        char *ifname;
} CniAttachmentRef;

typedef enum CniMode {
        CNI_MODE_PLUGIN,        /* "type": "nsmgr": the interface, its address, routes, ports */
        CNI_MODE_IPAM,          /* "ipam": {"type": "nsmgr"}: addresses for another plugin */
} CniMode;

typedef struct CniRequest {
        CniCommand command;
        /* The environment. */
        char *container_id;     /* CNI_CONTAINERID */
        char *netns;            /* CNI_NETNS, NULL when not given */
        char *ifname;           /* CNI_IFNAME */
        char *cni_path;         /* CNI_PATH */

        /* The configuration on stdin (absent for VERSION). */
        json_object *conf;      /* the whole object, as given */
        char *version;          /* cniVersion, one nsmgr speaks (VERSION: as given) */
        char *name;             /* the network configuration's name */
        char *type;
        CniMode mode;
        char *network;          /* nsmgr network */
        char *config;           /* nsmgr config file; NULL: /etc/nsmgr/nsmgr.conf and conf.d */
        bool require_daemon;    /* STATUS and CHECK fail without nsmgrd */
        CniPortMapping *ports;  /* runtimeConfig.portMappings */
        size_t n_ports;
        Cidr *ips;              /* requested addresses: runtimeConfig.ips, args.cni.ips, CNI_ARGS IP */
        size_t n_ips;
        json_object *dns;       /* the configuration's "dns", for the result */
        json_object *prev_result;       /* checked; NULL when none */
        CniAttachmentRef *valid;        /* GC: cni.dev/valid-attachments */
        size_t n_valid;
} CniRequest;

typedef const char *(*cni_getenv_fn)(const char *name, void *userdata);

/* Reads a request: the environment through getenv, the configuration from
 * stdin (len bytes, not necessarily NUL-terminated). Checks everything the
 * spec and nsmgr's configuration fields require, in the order a runtime
 * sees them fail (environment, stdin, JSON, name, version, fields). On
 * failure, *err holds the code and sentences and *ret is untouched. */
int cni_request_parse(cni_getenv_fn getenv, void *userdata, const char *stdin_buf, size_t len, CniRequest *ret,
                      CniError *err);
void cni_request_done(CniRequest *r);

/* The cniVersion an error object carries: the request's when it is one
 * nsmgr speaks, else the latest. stdin may be anything. */
const char *cni_error_version(const char *stdin_buf, size_t len, char **ret_buf);

/* The error object of the spec: {"cniVersion", "code", "msg", "details"}. */
json_object *cni_error_to_json(const CniError *e, const char *version);
/* VERSION's answer: {"cniVersion", "supportedVersions"}. */
json_object *cni_version_info(const char *version);

/* What an attachment made, for the result. */
typedef struct CniInterface {
        char *name;
        char mac[18];           /* "aa:bb:cc:dd:ee:ff", "" when none */
        uint32_t mtu;           /* 0: not said */
        char *sandbox;          /* NULL: in the host */
} CniInterface;

typedef struct CniIp {
        Cidr address;           /* with the subnet's prefix */
        Cidr gateway;           /* family 0: none */
        int interface;          /* index into interfaces, -1: none (IPAM results) */
} CniIp;

typedef struct CniRoute {
        Cidr dst;
        Cidr gw;                /* family 0: none */
} CniRoute;

typedef struct CniResult {
        CniInterface *interfaces;
        size_t n_interfaces;
        CniIp *ips;
        size_t n_ips;
        CniRoute *routes;
        size_t n_routes;
        char **nameservers;
        char *domain;
        char **search;
        char **options;
} CniResult;

void cni_result_done(CniResult *r);
int cni_result_add_interface(CniResult *r, const char *name, const char *mac, uint32_t mtu, const char *sandbox);
int cni_result_add_ip(CniResult *r, const Cidr *address, const Cidr *gateway, int interface);
int cni_result_add_route(CniResult *r, const Cidr *dst, const Cidr *gw);

/* The result as the version asks (0.4.0: "version" in each IP; 1.1.0: the
 * interfaces' MTU). With prev, the previous plugin's result is passed on
 * with this one's interfaces, IPs and routes added after its own (indices
 * shifted), and its DNS kept unless it has none. */
json_object *cni_result_to_json(const CniResult *r, const char *version, json_object *prev);

/* The interfaces, addresses and routes a (previous) result lists, for
 * CHECK: an interface by name and sandbox, an address on it. */
bool cni_prev_result_has_interface(json_object *prev, const char *name, const char *sandbox, int *ret_index);
bool cni_prev_result_has_ip(json_object *prev, const Cidr *address, int interface);

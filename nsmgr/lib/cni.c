/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "cni.h"
#include "jsonfile.h"
#include "name.h"
#include "strv.h"

const char *const cni_supported_versions[] = { "0.4.0", "1.0.0", "1.1.0", NULL };

static const char *const command_names[_CNI_COMMAND_MAX] = {
        [CNI_ADD] = "ADD", [CNI_DEL] = "DEL", [CNI_CHECK] = "CHECK",
        [CNI_STATUS] = "STATUS", [CNI_GC] = "GC", [CNI_VERSION] = "VERSION",
};

const char *cni_command_name(CniCommand c) {
        return c < _CNI_COMMAND_MAX ? command_names[c] : "?";
}

int cni_error(CniError *e, unsigned code, const char *msg, const char *fmt, ...) {
        va_list ap;

        if (!e || e->code)
                return -EINVAL;
        e->code = code;
        e->msg = strdup(msg);
        va_start(ap, fmt);
        if (vasprintf(&e->details, fmt, ap) < 0)
                e->details = NULL;
        va_end(ap);
        return -EINVAL;
}

void cni_error_done(CniError *e) {
        free(e->msg);
        free(e->details);
        *e = (CniError) CNI_ERROR_INIT;
}

/* --- versions --------------------------------------------------------------- */

static bool version_parse(const char *s, unsigned v[3]) {
        for (int i = 0; i < 3; i++) {
                char *end;
                unsigned long x;

                if (!isdigit((unsigned char) *s))
                        return false;
                errno = 0;
                x = strtoul(s, &end, 10);
                if (errno || x > 0xffff || (i < 2 && *end != '.') || (i == 2 && *end))
                        return false;
                v[i] = (unsigned) x;
                s = end + (i < 2);
        }
        return true;
}

int cni_version_cmp(const char *a, const char *b) {
        unsigned x[3], y[3];
        bool ok_a = version_parse(a, x), ok_b = version_parse(b, y);

        if (!ok_a || !ok_b)
                return (int) ok_a - (int) ok_b;
        for (int i = 0; i < 3; i++)
                if (x[i] != y[i])
                        return x[i] < y[i] ? -1 : 1;
        return 0;
}

bool cni_version_supported(const char *v) {
        for (size_t i = 0; cni_supported_versions[i]; i++)
                if (streq(v, cni_supported_versions[i]))
                        return true;
        return false;
}

static char *supported_list(void) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; cni_supported_versions[i]; i++)
                fprintf(f, "%s%s", i ? ", " : "", cni_supported_versions[i]);
        fclose(f);
        return s;
}

/* --- small JSON helpers ------------------------------------------------------- */

/* A value for a message: its JSON text, cut short. */
static char *value_text(json_object *v) {
        const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *s;

        if (!t)
                t = "null";
        if (strlen(t) > 80) {
                if (asprintf(&s, "%.77s...", t) < 0)
                        return NULL;
                return s;
        }
        return strdup(t);
}

static const char *type_name(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:    return "null";
        case json_type_boolean: return "a boolean";
        case json_type_double:
        case json_type_int:     return "a number";
        case json_type_object:  return "an object";
        case json_type_array:   return "an array";
        case json_type_string:  return "a string";
        }
        return "?";
}

/* A non-negative integer value (JSON numbers without a fraction). */
static bool get_uint(json_object *v, uint64_t max, uint64_t *ret) {
        int64_t x;

        if (json_object_get_type(v) == json_type_double) {
                double d = json_object_get_double(v);

                if (d < 0 || d > (double) max || d != (double) (uint64_t) d)
                        return false;
                *ret = (uint64_t) d;
                return true;
        }
        if (json_object_get_type(v) != json_type_int)
                return false;
        x = json_object_get_int64(v);
        if (x < 0 || (uint64_t) x > max)
                return false;
        *ret = (uint64_t) x;
        return true;
}

/* A member the way Go's encoding/json finds a struct field, which is how
 * libcni and the reference plugins read these objects: the exact key, else
 * one that differs in case only. containerd's go-cni, for one, sends
 * portMappings as {"HostPort": ..., "ContainerPort": ...}. */
static bool get_ci(json_object *o, const char *key, json_object **ret) {
        if (json_object_object_get_ex(o, key, ret))
                return true;
        json_object_object_foreach(o, k, v)
                if (strcasecmp(k, key) == 0) {
                        *ret = v;
                        return true;
                }
        return false;
}

/* CNI names (network names, container IDs): [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
static bool cni_name_valid(const char *s) {
        if (!s || !isalnum((unsigned char) *s))
                return false;
        for (s++; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
                        return false;
        return true;
}

/* --- the request ---------------------------------------------------------------- */

void cni_request_done(CniRequest *r) {
        free(r->container_id);
        free(r->netns);
        free(r->ifname);
        free(r->cni_path);
        json_object_put(r->conf);
        free(r->version);
        free(r->name);
        free(r->type);
        free(r->network);
        free(r->config);
        free(r->ports);
        free(r->ips);
        for (size_t i = 0; i < r->n_valid; i++) {
                free(r->valid[i].container_id);
                free(r->valid[i].ifname);
        }
        free(r->valid);
        *r = (CniRequest) {};
}

enum { NEED_CONTAINERID = 1 << 0, NEED_NETNS = 1 << 1, NEED_IFNAME = 1 << 2, NEED_PATH = 1 << 3 };

/* What each command requires of the environment (SPEC.md, "CNI operations"). */
static const unsigned required_env[_CNI_COMMAND_MAX] = {
        [CNI_ADD] = NEED_CONTAINERID | NEED_NETNS | NEED_IFNAME,
        [CNI_DEL] = NEED_CONTAINERID | NEED_IFNAME,
        [CNI_CHECK] = NEED_CONTAINERID | NEED_NETNS | NEED_IFNAME,
        [CNI_STATUS] = 0,
        [CNI_GC] = NEED_PATH,
        [CNI_VERSION] = 0,
};

static const char *env_get(cni_getenv_fn getenv, void *userdata, const char *name) {
        const char *v = getenv(name, userdata);

        return v && *v ? v : NULL;
}

static int parse_env(cni_getenv_fn getenv, void *userdata, CniRequest *r, CniError *err) {
        const char *cmd = env_get(getenv, userdata, "CNI_COMMAND");
        const char *id = env_get(getenv, userdata, "CNI_CONTAINERID");
        const char *netns = env_get(getenv, userdata, "CNI_NETNS");
        const char *ifname = env_get(getenv, userdata, "CNI_IFNAME");
        const char *path = env_get(getenv, userdata, "CNI_PATH");
        _cleanup_strv_free_ char **missing = NULL;
        unsigned need;
        int c = -1;

        for (int i = 0; cmd && i < _CNI_COMMAND_MAX; i++)
                if (streq(cmd, command_names[i]))
                        c = i;
        if (!cmd)
                return cni_error(err, CNI_ERR_INVALID_ENV, "required environment variables missing",
                                 "CNI_COMMAND is not set: it must be one of ADD, DEL, CHECK, STATUS, GC, VERSION");
        if (c < 0)
                return cni_error(err, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND",
                                 "CNI_COMMAND='%s' is not a CNI operation: it must be one of ADD, DEL, CHECK, STATUS, GC, VERSION",
                                 cmd);
        r->command = (CniCommand) c;
        need = required_env[c];

        if ((need & NEED_CONTAINERID) && !id)
                (void) strv_extend(&missing, "CNI_CONTAINERID");
        if ((need & NEED_NETNS) && !netns)
                (void) strv_extend(&missing, "CNI_NETNS");
        if ((need & NEED_IFNAME) && !ifname)
                (void) strv_extend(&missing, "CNI_IFNAME");
        if ((need & NEED_PATH) && !path)
                (void) strv_extend(&missing, "CNI_PATH");
        if (missing) {
                size_t n = strv_length(missing);
                char joined[128] = "";

                STRV_FOREACH(m, missing) {
                        strcat(joined, m == missing ? "" : ", ");
                        strcat(joined, *m);
                }
                return cni_error(err, CNI_ERR_INVALID_ENV, "required environment variables missing",
                                 "%s %s required for %s but %s not set", joined, n > 1 ? "are" : "is", cmd,
                                 n > 1 ? "they are" : "it is");
        }

        if ((need & NEED_CONTAINERID) && !cni_name_valid(id))
                return cni_error(err, CNI_ERR_INVALID_ENV, "invalid CNI_CONTAINERID",
                                 "CNI_CONTAINERID='%s' is not a container ID: it must start with a letter or digit, followed by letters, digits, '_', '.' or '-'",
                                 id);
        if ((need & NEED_IFNAME) && ifname_check(ifname, NULL) < 0)
                return cni_error(err, CNI_ERR_INVALID_ENV, "invalid CNI_IFNAME",
                                 "CNI_IFNAME='%s' is not an interface name: it must be 1 to 15 bytes, not '.' or '..', without '/', ':', white space or control characters",
                                 ifname);
        if (netns && (need & NEED_NETNS || c == CNI_DEL) && netns[0] != '/')
                return cni_error(err, CNI_ERR_INVALID_ENV, "invalid CNI_NETNS",
                                 "CNI_NETNS='%s' is not a path: it must name the container's network namespace, e.g. /run/netns/NAME",
                                 netns);

        if ((id && !(r->container_id = strdup(id))) || (ifname && !(r->ifname = strdup(ifname))) ||
            (path && !(r->cni_path = strdup(path))))
                return -ENOMEM;
        /* Only where the operation takes it: VERSION, STATUS and GC never
         * look at a namespace. */
        if (netns && (c == CNI_ADD || c == CNI_DEL || c == CNI_CHECK) && !(r->netns = strdup(netns)))
                return -ENOMEM;
        return 0;
}

/* CNI_ARGS: "K=V;K2=V2"; IP=ADDR[,ADDR] asks for addresses. Other keys are
 * the runtime's (IgnoreUnknown, K8S_POD_NAME, ...) and are let be. */
static int parse_cni_args(const char *args, char ***ret_ips, CniError *err) {
        _cleanup_free_ char *copy = strdup(args);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *pair = strtok_r(copy, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(pair, '=');

                if (!eq || eq == pair)
                        return cni_error(err, CNI_ERR_INVALID_ENV, "invalid CNI_ARGS",
                                         "CNI_ARGS has '%s', which is not KEY=VALUE: CNI_ARGS must be pairs separated by ';', e.g. \"FOO=BAR;ABC=123\"",
                                         pair);
                *eq = 0;
                if (streq(pair, "IP")) {
                        char *s2 = NULL;

                        for (char *a = strtok_r(eq + 1, ",", &s2); a; a = strtok_r(NULL, ",", &s2))
                                if (strv_extend(ret_ips, a) < 0)
                                        return -ENOMEM;
                }
        }
        return 0;
}

static int add_ip(CniRequest *r, const char *s, const char *where, CniError *err) {
        Cidr c;
        Cidr *v;

        if (cidr_parse(s, false, &c) < 0)
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "%s: '%s' is not an IP address (ADDRESS or ADDRESS/PREFIX)", where, s);
        for (size_t i = 0; i < r->n_ips; i++)
                if (r->ips[i].family == c.family)
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%s asks for more than one %s address; nsmgr leases one address of each family per interface",
                                         where, c.family == AF_INET ? "IPv4" : "IPv6");
        v = realloc(r->ips, (r->n_ips + 1) * sizeof(Cidr));
        if (!v)
                return -ENOMEM;
        r->ips = v;
        v[r->n_ips++] = c;
        return 0;
}

static int parse_ip_list(CniRequest *r, json_object *list, const char *where, CniError *err) {
        int k;

        if (!json_object_is_type(list, json_type_array))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "%s must be a list of addresses, not %s", where, type_name(list));
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *e = json_object_array_get_idx(list, i);

                if (!json_object_is_type(e, json_type_string))
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%s[%zu] must be a string, not %s", where, i, type_name(e));
                k = add_ip(r, json_object_get_string(e), where, err);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int parse_ports(CniRequest *r, json_object *list, CniError *err) {
        const char *where = "runtimeConfig.portMappings";
        size_t n;

        if (json_object_is_type(list, json_type_null))
                return 0;
        if (!json_object_is_type(list, json_type_array))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "%s must be a list of port mappings, not %s", where, type_name(list));
        n = json_object_array_length(list);
        r->ports = calloc(n + 1, sizeof(CniPortMapping));
        if (!r->ports)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i), *v;
                CniPortMapping p = { .proto = IPPROTO_TCP };
                uint64_t x;

                if (!json_object_is_type(e, json_type_object))
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%s[%zu] must be an object, not %s", where, i, type_name(e));
                json_object_object_foreach(e, key, val) {
                        if (strcasecmp(key, "hostPort") && strcasecmp(key, "containerPort") &&
                            strcasecmp(key, "protocol") && strcasecmp(key, "hostIP")) {
                                _cleanup_free_ char *t = value_text(val);
                                return cni_error(err, CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
                                                 "%s[%zu].%s = %s: nsmgr knows hostPort, containerPort, protocol and hostIP",
                                                 where, i, key, t ? t : "?");
                        }
                }
                if (!get_ci(e, "hostPort", &v) || !get_uint(v, 65535, &x) || x == 0)
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%s[%zu].hostPort must be a port number from 1 to 65535", where, i);
                p.host_port = (uint16_t) x;
                if (!get_ci(e, "containerPort", &v) || !get_uint(v, 65535, &x) || x == 0)
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%s[%zu].containerPort must be a port number from 1 to 65535", where, i);
                p.container_port = (uint16_t) x;
                if (get_ci(e, "protocol", &v)) {
                        const char *proto = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

                        if (proto && (strcasecmp(proto, "tcp") == 0 || !*proto))
                                p.proto = IPPROTO_TCP;
                        else if (proto && strcasecmp(proto, "udp") == 0)
                                p.proto = IPPROTO_UDP;
                        else {
                                _cleanup_free_ char *t = value_text(v);
                                return cni_error(err, CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
                                                 "%s[%zu].protocol = %s: nsmgr publishes tcp and udp ports", where, i,
                                                 t ? t : "?");
                        }
                }
                if (get_ci(e, "hostIP", &v) && !json_object_is_type(v, json_type_null)) {
                        const char *ip = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

                        if (!ip || (*ip && !streq(ip, "0.0.0.0") && !streq(ip, "::"))) {
                                _cleanup_free_ char *t = value_text(v);
                                return cni_error(err, CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
                                                 "%s[%zu].hostIP = %s: nsmgr publishes a port on every address of the host; leave hostIP out",
                                                 where, i, t ? t : "?");
                        }
                }
                for (size_t j = 0; j < r->n_ports; j++)
                        if (r->ports[j].host_port == p.host_port && r->ports[j].proto == p.proto)
                                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                                 "%s publishes host port %u/%s twice", where, p.host_port,
                                                 p.proto == IPPROTO_UDP ? "udp" : "tcp");
                r->ports[r->n_ports++] = p;
        }
        return 0;
}

static int check_string_list(json_object *o, const char *where, CniError *err) {
        if (!json_object_is_type(o, json_type_array))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "%s must be a list of strings, not %s", where, type_name(o));
        for (size_t i = 0; i < json_object_array_length(o); i++)
                if (!json_object_is_type(json_object_array_get_idx(o, i), json_type_string))
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%s[%zu] must be a string", where, i);
        return 0;
}

static int check_dns(json_object *dns, const char *where, unsigned code, CniError *err) {
        _cleanup_free_ char *w = NULL;
        int r;

        if (!json_object_is_type(dns, json_type_object))
                return cni_error(err, code, code == CNI_ERR_DECODE ? "failed to decode content" : "invalid network configuration",
                                 "%s must be an object, not %s", where, type_name(dns));
        json_object_object_foreach(dns, key, val) {
                free(w);
                if (asprintf(&w, "%s.%s", where, key) < 0)
                        return -ENOMEM;
                if (streq(key, "domain")) {
                        if (!json_object_is_type(val, json_type_string))
                                return cni_error(err, code, "invalid network configuration", "%s must be a string", w);
                } else if (streq(key, "nameservers") || streq(key, "search") || streq(key, "options")) {
                        r = check_string_list(val, w, err);
                        if (r < 0) {
                                err->code = code;
                                return r;
                        }
                }
        }
        return 0;
}

/* A result a previous plugin returned (or this one, for CHECK and DEL):
 * its shape, so that passing it on cannot make an invalid result. */
static int check_prev_result(json_object *prev, CniError *err) {
        const char *msg = "failed to decode content";
        json_object *ifs = NULL, *ips = NULL, *routes = NULL, *dns = NULL;
        size_t n_ifs = 0;

        if (!json_object_is_type(prev, json_type_object))
                return cni_error(err, CNI_ERR_DECODE, msg, "prevResult must be an object, not %s", type_name(prev));
        if (json_object_object_get_ex(prev, "interfaces", &ifs) && !json_object_is_type(ifs, json_type_null)) {
                if (!json_object_is_type(ifs, json_type_array))
                        return cni_error(err, CNI_ERR_DECODE, msg, "prevResult.interfaces must be a list, not %s",
                                         type_name(ifs));
                n_ifs = json_object_array_length(ifs);
                for (size_t i = 0; i < n_ifs; i++) {
                        json_object *e = json_object_array_get_idx(ifs, i), *v;

                        if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "name", &v) ||
                            !json_object_is_type(v, json_type_string))
                                return cni_error(err, CNI_ERR_DECODE, msg,
                                                 "prevResult.interfaces[%zu] must be an object with a \"name\" string", i);
                        if (json_object_object_get_ex(e, "sandbox", &v) && !json_object_is_type(v, json_type_string))
                                return cni_error(err, CNI_ERR_DECODE, msg,
                                                 "prevResult.interfaces[%zu].sandbox must be a string", i);
                }
        }
        if (json_object_object_get_ex(prev, "ips", &ips) && !json_object_is_type(ips, json_type_null)) {
                if (!json_object_is_type(ips, json_type_array))
                        return cni_error(err, CNI_ERR_DECODE, msg, "prevResult.ips must be a list, not %s", type_name(ips));
                for (size_t i = 0; i < json_object_array_length(ips); i++) {
                        json_object *e = json_object_array_get_idx(ips, i), *v;
                        uint64_t idx;
                        Cidr c;

                        if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "address", &v) ||
                            !json_object_is_type(v, json_type_string) ||
                            cidr_parse(json_object_get_string(v), true, &c) < 0)
                                return cni_error(err, CNI_ERR_DECODE, msg,
                                                 "prevResult.ips[%zu] must be an object with an \"address\" in CIDR notation", i);
                        if (json_object_object_get_ex(e, "gateway", &v) &&
                            (!json_object_is_type(v, json_type_string) || cidr_parse(json_object_get_string(v), false, &c) < 0))
                                return cni_error(err, CNI_ERR_DECODE, msg, "prevResult.ips[%zu].gateway must be an IP address", i);
                        if (json_object_object_get_ex(e, "interface", &v) &&
                            (!get_uint(v, UINT32_MAX, &idx) || idx >= n_ifs))
                                return cni_error(err, CNI_ERR_DECODE, msg,
                                                 "prevResult.ips[%zu].interface must be an index into prevResult.interfaces", i);
                }
        }
        if (json_object_object_get_ex(prev, "routes", &routes) && !json_object_is_type(routes, json_type_null)) {
                if (!json_object_is_type(routes, json_type_array))
                        return cni_error(err, CNI_ERR_DECODE, msg, "prevResult.routes must be a list, not %s",
                                         type_name(routes));
                for (size_t i = 0; i < json_object_array_length(routes); i++) {
                        json_object *e = json_object_array_get_idx(routes, i), *v;
                        Cidr c;

                        if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "dst", &v) ||
                            !json_object_is_type(v, json_type_string) || cidr_parse(json_object_get_string(v), true, &c) < 0)
                                return cni_error(err, CNI_ERR_DECODE, msg,
                                                 "prevResult.routes[%zu] must be an object with a \"dst\" in CIDR notation", i);
                        if (json_object_object_get_ex(e, "gw", &v) &&
                            (!json_object_is_type(v, json_type_string) || cidr_parse(json_object_get_string(v), false, &c) < 0))
                                return cni_error(err, CNI_ERR_DECODE, msg, "prevResult.routes[%zu].gw must be an IP address", i);
                }
        }
        if (json_object_object_get_ex(prev, "dns", &dns) && !json_object_is_type(dns, json_type_null))
                return check_dns(dns, "prevResult.dns", CNI_ERR_DECODE, err);
        return 0;
}

static int parse_valid_attachments(CniRequest *r, CniError *err) {
        json_object *list = NULL;
        const char *key = "cni.dev/valid-attachments";
        size_t n;

        /* libcni sends cni.dev/valid-attachments; SPEC.md 1.1.0 calls it
         * cni.dev/attachments. Either is taken. */
        if (!json_object_object_get_ex(r->conf, key, &list)) {
                key = "cni.dev/attachments";
                if (!json_object_object_get_ex(r->conf, key, &list))
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "GC needs the list of attachments still in use (cni.dev/valid-attachments); without it nsmgr cannot tell which leases are stale, so none is released");
        }
        if (json_object_is_type(list, json_type_null))
                return 0;    /* Go's encoding of an empty list */
        if (!json_object_is_type(list, json_type_array))
                return cni_error(err, CNI_ERR_DECODE, "failed to decode content", "%s must be a list, not %s", key,
                                 type_name(list));
        n = json_object_array_length(list);
        r->valid = calloc(n + 1, sizeof(CniAttachmentRef));
        if (!r->valid)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i), *id, *ifn;

                if (!json_object_is_type(e, json_type_object) || !get_ci(e, "containerID", &id) ||
                    !get_ci(e, "ifname", &ifn) || !json_object_is_type(id, json_type_string) ||
                    !json_object_is_type(ifn, json_type_string))
                        return cni_error(err, CNI_ERR_DECODE, "failed to decode content",
                                         "%s[%zu] must be an object with \"containerID\" and \"ifname\" strings", key, i);
                r->valid[i].container_id = strdup(json_object_get_string(id));
                r->valid[i].ifname = strdup(json_object_get_string(ifn));
                r->n_valid++;
                if (!r->valid[i].container_id || !r->valid[i].ifname)
                        return -ENOMEM;
        }
        return 0;
}

/* Keys of the plugin configuration (or of "ipam" in IPAM mode) and where
 * they belong. */
static bool key_known(const char *key, CniMode mode, bool ipam_object) {
        static const char *const nsmgr_keys[] = { "type", "network", "config", "requireDaemon", NULL };
        static const char *const runtime_keys[] = {
                /* Inserted by the runtime, or of the configuration list. */
                "cniVersion", "cniVersions", "name", "runtimeConfig", "args", "prevResult", "capabilities",
                "disableCheck", "dns", NULL,
        };

        if (ipam_object || mode == CNI_MODE_PLUGIN)
                for (size_t i = 0; nsmgr_keys[i]; i++)
                        if (streq(key, nsmgr_keys[i]))
                                return true;
        if (ipam_object)
                return false;
        for (size_t i = 0; runtime_keys[i]; i++)
                if (streq(key, runtime_keys[i]))
                        return true;
        return strneq(key, "cni.dev/", 8);
}

static int parse_nsmgr_fields(CniRequest *r, json_object *o, const char *prefix, CniError *err) {
        bool ipam_object = r->mode == CNI_MODE_IPAM;
        json_object *v;

        json_object_object_foreach(o, key, val)
                if (!key_known(key, r->mode, ipam_object)) {
                        _cleanup_free_ char *t = value_text(val);

                        return cni_error(err, CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
                                         "%s%s = %s: nsmgr does not know this setting (%s)", prefix, key, t ? t : "?",
                                         streq(key, "ipam") ? "the nsmgr plugin leases its addresses itself; leave \"ipam\" out"
                                         : ipam_object ? "in \"ipam\" it takes type, network, config and requireDaemon"
                                                       : "it takes network, config and requireDaemon");
                }

        if (!json_object_object_get_ex(o, "network", &v) || !json_object_is_type(v, json_type_string) ||
            !*json_object_get_string(v))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "%snetwork must name the nsmgr network to attach to (a string, e.g. \"lab\")", prefix);
        r->network = strdup(json_object_get_string(v));
        if (!r->network)
                return -ENOMEM;
        if (json_object_object_get_ex(o, "config", &v) && !json_object_is_type(v, json_type_null)) {
                if (!json_object_is_type(v, json_type_string) || json_object_get_string(v)[0] != '/')
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%sconfig must be the absolute path of an nsmgr config file", prefix);
                r->config = strdup(json_object_get_string(v));
                if (!r->config)
                        return -ENOMEM;
        }
        if (json_object_object_get_ex(o, "requireDaemon", &v) && !json_object_is_type(v, json_type_null)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "%srequireDaemon must be true or false, not %s", prefix, type_name(v));
                r->require_daemon = json_object_get_boolean(v);
        }
        return 0;
}

static int parse_conf(CniRequest *r, const char *args, CniError *err) {
        json_object *v, *ipam = NULL, *rc = NULL, *a;
        _cleanup_strv_free_ char **arg_ips = NULL;
        const char *version;
        int k;

        if (!json_object_is_type(r->conf, json_type_object))
                return cni_error(err, CNI_ERR_DECODE, "failed to decode content",
                                 "the network configuration on stdin must be a JSON object, not %s", type_name(r->conf));

        if (!json_object_object_get_ex(r->conf, "name", &v) || json_object_is_type(v, json_type_null) ||
            (json_object_is_type(v, json_type_string) && !*json_object_get_string(v)))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "missing network name",
                                 "the network configuration has no \"name\"");
        if (!json_object_is_type(v, json_type_string))
                return cni_error(err, CNI_ERR_DECODE, "failed to decode content", "\"name\" must be a string, not %s",
                                 type_name(v));
        if (!cni_name_valid(json_object_get_string(v)))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid characters found in network name",
                                 "network name '%s' must start with a letter or digit, followed by letters, digits, '_', '.' or '-'",
                                 json_object_get_string(v));
        r->name = strdup(json_object_get_string(v));
        if (!r->name)
                return -ENOMEM;

        /* libcni reads a configuration without cniVersion as 0.1.0. */
        if (!json_object_object_get_ex(r->conf, "cniVersion", &v) || json_object_is_type(v, json_type_null))
                version = "0.1.0";
        else if (!json_object_is_type(v, json_type_string))
                return cni_error(err, CNI_ERR_DECODE, "failed to decode content", "\"cniVersion\" must be a string, not %s",
                                 type_name(v));
        else
                version = json_object_get_string(v);
        if (!cni_version_supported(version)) {
                _cleanup_free_ char *list = supported_list();

                return cni_error(err, CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI versions",
                                 "the network configuration is cniVersion %s%s, the nsmgr plugin speaks %s; set \"cniVersion\" to one of them",
                                 version, v ? "" : " (it has no \"cniVersion\")", list ? list : "?");
        }
        if ((r->command == CNI_GC || r->command == CNI_STATUS) && cni_version_cmp(version, "1.1.0") < 0)
                return cni_error(err, CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI versions",
                                 "%s came with cniVersion %s, but %s exists only from CNI 1.1.0 on",
                                 cni_command_name(r->command), version, cni_command_name(r->command));
        r->version = strdup(version);
        if (!r->version)
                return -ENOMEM;

        if (!json_object_object_get_ex(r->conf, "type", &v) || !json_object_is_type(v, json_type_string) ||
            !*json_object_get_string(v))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "the network configuration has no \"type\" (the plugin to run)");
        r->type = strdup(json_object_get_string(v));
        if (!r->type)
                return -ENOMEM;
        if (json_object_object_get_ex(r->conf, "ipam", &ipam) && !json_object_is_type(ipam, json_type_object) &&
            !streq(r->type, "nsmgr"))
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "\"ipam\" must be an object, not %s", type_name(ipam));

        if (streq(r->type, "nsmgr")) {
                r->mode = CNI_MODE_PLUGIN;
                k = parse_nsmgr_fields(r, r->conf, "", err);
        } else if (ipam && json_object_is_type(ipam, json_type_object) &&
                   json_object_object_get_ex(ipam, "type", &v) && json_object_is_type(v, json_type_string) &&
                   streq(json_object_get_string(v), "nsmgr")) {
                r->mode = CNI_MODE_IPAM;
                k = parse_nsmgr_fields(r, ipam, "ipam.", err);
        } else
                return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                 "this is the nsmgr plugin, but the configuration asks for type '%s' without \"ipam\": {\"type\": \"nsmgr\"}",
                                 r->type);
        if (k < 0)
                return k;

        if (json_object_object_get_ex(r->conf, "dns", &v) && !json_object_is_type(v, json_type_null)) {
                k = check_dns(v, "dns", CNI_ERR_INVALID_CONFIG, err);
                if (k < 0)
                        return k;
                r->dns = v;
        }

        /* Capability arguments the runtime filled in. In IPAM mode the
         * rest of runtimeConfig is the main plugin's business. */
        if (json_object_object_get_ex(r->conf, "runtimeConfig", &rc) && !json_object_is_type(rc, json_type_null)) {
                if (!json_object_is_type(rc, json_type_object))
                        return cni_error(err, CNI_ERR_INVALID_CONFIG, "invalid network configuration",
                                         "runtimeConfig must be an object, not %s", type_name(rc));
                json_object_object_foreach(rc, key, val) {
                        if (streq(key, "portMappings")) {
                                if (r->mode == CNI_MODE_IPAM)
                                        continue;
                                k = parse_ports(r, val, err);
                        } else if (streq(key, "ips"))
                                k = parse_ip_list(r, val, "runtimeConfig.ips", err);
                        else if (r->mode == CNI_MODE_IPAM)
                                continue;
                        else {
                                _cleanup_free_ char *t = value_text(val);
                                k = cni_error(err, CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
                                              "runtimeConfig.%s = %s: the nsmgr plugin has the capabilities portMappings and ips only",
                                              key, t ? t : "?");
                        }
                        if (k < 0)
                                return k;
                }
        }
        /* args.cni.ips, then CNI_ARGS IP: only when nothing asked before. */
        if (json_object_object_get_ex(r->conf, "args", &a) && json_object_is_type(a, json_type_object) &&
            json_object_object_get_ex(a, "cni", &a) && json_object_is_type(a, json_type_object) &&
            json_object_object_get_ex(a, "ips", &v) && r->n_ips == 0) {
                k = parse_ip_list(r, v, "args.cni.ips", err);
                if (k < 0)
                        return k;
        }
        if (args) {
                k = parse_cni_args(args, &arg_ips, err);
                if (k < 0)
                        return k;
                /* The convention: CNI_ARGS IP gives way to args.cni.ips and
                 * runtimeConfig.ips. */
                if (r->n_ips == 0)
                        STRV_FOREACH(ip, arg_ips) {
                                k = add_ip(r, *ip, "CNI_ARGS IP", err);
                                if (k < 0)
                                        return k;
                        }
        }

        if (json_object_object_get_ex(r->conf, "prevResult", &v) && !json_object_is_type(v, json_type_null)) {
                k = check_prev_result(v, err);
                if (k < 0)
                        return k;
                r->prev_result = v;
        }
        if (r->command == CNI_GC)
                return parse_valid_attachments(r, err);
        return 0;
}

int cni_request_parse(cni_getenv_fn getenv, void *userdata, const char *stdin_buf, size_t len, CniRequest *ret,
                      CniError *err) {
        _cleanup_(cni_request_done) CniRequest r = {};
        _cleanup_error_ NmError nerr = NM_ERROR_INIT;
        const char *args;
        size_t start = 0;
        int k;

        k = parse_env(getenv, userdata, &r, err);
        if (k < 0)
                return k;
        while (start < len && strchr(" \t\r\n", stdin_buf[start]))
                start++;

        if (r.command == CNI_VERSION) {
                json_object *v;

                /* {"cniVersion": ...}, or nothing at all. */
                if (start < len) {
                        if (memchr(stdin_buf, 0, len) ||
                            json_parse_document(stdin_buf, len, "the input on stdin", &r.conf, &nerr) < 0)
                                return cni_error(err, CNI_ERR_DECODE, "failed to decode content", "%s",
                                                 nerr.msg ? nerr.msg : "the input on stdin contains a NUL byte");
                        if (json_object_is_type(r.conf, json_type_object) &&
                            json_object_object_get_ex(r.conf, "cniVersion", &v) && json_object_is_type(v, json_type_string))
                                r.version = strdup(json_object_get_string(v));
                        else if (!json_object_is_type(r.conf, json_type_object) ||
                                 (json_object_object_get_ex(r.conf, "cniVersion", &v) && !json_object_is_type(v, json_type_null)))
                                return cni_error(err, CNI_ERR_DECODE, "failed to decode content",
                                                 "VERSION takes {\"cniVersion\": \"VERSION\"} on stdin");
                }
                if (!r.version && !(r.version = strdup(CNI_VERSION_LATEST)))
                        return -ENOMEM;
                *ret = r;
                r = (CniRequest) {};
                return 0;
        }

        if (start == len)
                return cni_error(err, CNI_ERR_DECODE, "failed to decode content",
                                 "%s needs the network configuration as JSON on stdin, and stdin is empty",
                                 cni_command_name(r.command));
        if (memchr(stdin_buf, 0, len))
                return cni_error(err, CNI_ERR_DECODE, "failed to decode content",
                                 "the network configuration on stdin contains a NUL byte");
        if (json_parse_document(stdin_buf, len, "the network configuration on stdin", &r.conf, &nerr) < 0)
                return cni_error(err, CNI_ERR_DECODE, "failed to decode content", "%s", nerr.msg ? nerr.msg : "invalid JSON");

        args = env_get(getenv, userdata, "CNI_ARGS");
        if (r.command != CNI_ADD && r.command != CNI_CHECK)
                args = NULL;    /* addresses are asked for at ADD only */
        k = parse_conf(&r, args, err);
        if (k < 0)
                return k;
        *ret = r;
        r = (CniRequest) {};
        return 0;
}

const char *cni_error_version(const char *stdin_buf, size_t len, char **ret_buf) {
        _cleanup_free_ char *copy = NULL;
        json_object *o, *v;
        const char *out = CNI_VERSION_LATEST;

        *ret_buf = NULL;
        if (!stdin_buf || len == 0 || memchr(stdin_buf, 0, len))
                return out;
        copy = strndup(stdin_buf, len);
        if (!copy)
                return out;
        o = json_tokener_parse(copy);
        if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "cniVersion", &v) &&
            json_object_is_type(v, json_type_string) && cni_version_supported(json_object_get_string(v))) {
                *ret_buf = strdup(json_object_get_string(v));
                if (*ret_buf)
                        out = *ret_buf;
        }
        json_object_put(o);
        return out;
}

/* --- answers ------------------------------------------------------------------- */

json_object *cni_error_to_json(const CniError *e, const char *version) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "cniVersion", json_object_new_string(version ? version : CNI_VERSION_LATEST));
        json_object_object_add(o, "code", json_object_new_int64(e->code ? e->code : CNI_ERR_FAILED));
        json_object_object_add(o, "msg", json_object_new_string(e->msg ? e->msg : "nsmgr failed"));
        if (e->details && *e->details)
                json_object_object_add(o, "details", json_object_new_string(e->details));
        return o;
}

json_object *cni_version_info(const char *version) {
        json_object *o = json_object_new_object(), *l = json_object_new_array();

        if (!o || !l) {
                json_object_put(o);
                json_object_put(l);
                return NULL;
        }
        json_object_object_add(o, "cniVersion", json_object_new_string(version ? version : CNI_VERSION_LATEST));
        for (size_t i = 0; cni_supported_versions[i]; i++)
                json_object_array_add(l, json_object_new_string(cni_supported_versions[i]));
        json_object_object_add(o, "supportedVersions", l);
        return o;
}

void cni_result_done(CniResult *r) {
        for (size_t i = 0; i < r->n_interfaces; i++) {
                free(r->interfaces[i].name);
                free(r->interfaces[i].sandbox);
        }
        free(r->interfaces);
        free(r->ips);
        free(r->routes);
        strv_free(r->nameservers);
        free(r->domain);
        strv_free(r->search);
        strv_free(r->options);
        *r = (CniResult) {};
}

int cni_result_add_interface(CniResult *r, const char *name, const char *mac, uint32_t mtu, const char *sandbox) {
        CniInterface *v = realloc(r->interfaces, (r->n_interfaces + 1) * sizeof(CniInterface));

        if (!v)
                return -ENOMEM;
        r->interfaces = v;
        v[r->n_interfaces] = (CniInterface) { .name = strdup(name), .mtu = mtu, .sandbox = sandbox ? strdup(sandbox) : NULL };
        snprintf(v[r->n_interfaces].mac, sizeof(v[r->n_interfaces].mac), "%s", mac ? mac : "");
        if (!v[r->n_interfaces].name || (sandbox && !v[r->n_interfaces].sandbox)) {
                free(v[r->n_interfaces].name);
                free(v[r->n_interfaces].sandbox);
                return -ENOMEM;
        }
        r->n_interfaces++;
        return 0;
}

int cni_result_add_ip(CniResult *r, const Cidr *address, const Cidr *gateway, int interface) {
        CniIp *v = realloc(r->ips, (r->n_ips + 1) * sizeof(CniIp));

        if (!v)
                return -ENOMEM;
        r->ips = v;
        v[r->n_ips++] = (CniIp) { .address = *address, .gateway = gateway ? *gateway : (Cidr) {}, .interface = interface };
        return 0;
}

int cni_result_add_route(CniResult *r, const Cidr *dst, const Cidr *gw) {
        CniRoute *v = realloc(r->routes, (r->n_routes + 1) * sizeof(CniRoute));

        if (!v)
                return -ENOMEM;
        r->routes = v;
        v[r->n_routes++] = (CniRoute) { .dst = *dst, .gw = gw ? *gw : (Cidr) {} };
        return 0;
}

static json_object *strv_to_json(char **l) {
        json_object *a = json_object_new_array();

        STRV_FOREACH(s, l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

static json_object *get_or_add_array(json_object *o, const char *key) {
        json_object *a;

        if (json_object_object_get_ex(o, key, &a) && json_object_is_type(a, json_type_array))
                return a;
        a = json_object_new_array();
        json_object_object_add(o, key, a);
        return a;
}

static bool dns_empty(json_object *dns) {
        json_object *v;

        if (!dns || !json_object_is_type(dns, json_type_object))
                return true;
        if (json_object_object_get_ex(dns, "domain", &v) && json_object_is_type(v, json_type_string) &&
            *json_object_get_string(v))
                return false;
        for (const char *const *k = (const char *const[]) { "nameservers", "search", "options", NULL }; *k; k++)
                if (json_object_object_get_ex(dns, *k, &v) && json_object_is_type(v, json_type_array) &&
                    json_object_array_length(v) > 0)
                        return false;
        return true;
}

json_object *cni_result_to_json(const CniResult *r, const char *version, json_object *prev) {
        bool v04 = cni_version_cmp(version, "1.0.0") < 0;
        bool v11 = cni_version_cmp(version, "1.1.0") >= 0;
        json_object *o, *ifs, *ips, *routes, *dns;
        size_t base = 0;
        char buf[CIDR_STRLEN];

        if (prev) {
                /* A deep copy: what the previous plugins said stays as they
                 * said it, key for key. */
                o = NULL;
                if (json_object_deep_copy(prev, &o, NULL) < 0)
                        return NULL;
                json_object_object_del(o, "cniVersion");
        } else
                o = json_object_new_object();
        if (!o)
                return NULL;
        /* cniVersion first, as the spec lists the keys. */
        {
                json_object *out = json_object_new_object();

                json_object_object_add(out, "cniVersion", json_object_new_string(version));
                json_object_object_foreach(o, k, val)
                        json_object_object_add(out, k, json_object_get(val));
                json_object_put(o);
                o = out;
        }

        if (r->n_interfaces > 0) {
                ifs = get_or_add_array(o, "interfaces");
                base = json_object_array_length(ifs);
                for (size_t i = 0; i < r->n_interfaces; i++) {
                        const CniInterface *it = &r->interfaces[i];
                        json_object *e = json_object_new_object();

                        json_object_object_add(e, "name", json_object_new_string(it->name));
                        if (it->mac[0])
                                json_object_object_add(e, "mac", json_object_new_string(it->mac));
                        if (v11 && it->mtu)
                                json_object_object_add(e, "mtu", json_object_new_int64(it->mtu));
                        if (it->sandbox)
                                json_object_object_add(e, "sandbox", json_object_new_string(it->sandbox));
                        json_object_array_add(ifs, e);
                }
        }
        if (r->n_ips > 0) {
                ips = get_or_add_array(o, "ips");
                for (size_t i = 0; i < r->n_ips; i++) {
                        const CniIp *ip = &r->ips[i];
                        json_object *e = json_object_new_object();

                        if (v04)
                                json_object_object_add(e, "version",
                                                       json_object_new_string(ip->address.family == AF_INET6 ? "6" : "4"));
                        if (ip->interface >= 0)
                                json_object_object_add(e, "interface", json_object_new_int64((int64_t) base + ip->interface));
                        json_object_object_add(e, "address", json_object_new_string(cidr_format(&ip->address, true, buf)));
                        if (ip->gateway.family)
                                json_object_object_add(e, "gateway",
                                                       json_object_new_string(cidr_format(&ip->gateway, false, buf)));
                        json_object_array_add(ips, e);
                }
        }
        if (r->n_routes > 0) {
                routes = get_or_add_array(o, "routes");
                for (size_t i = 0; i < r->n_routes; i++) {
                        json_object *e = json_object_new_object();

                        json_object_object_add(e, "dst", json_object_new_string(cidr_format(&r->routes[i].dst, true, buf)));
                        if (r->routes[i].gw.family)
                                json_object_object_add(e, "gw", json_object_new_string(cidr_format(&r->routes[i].gw, false, buf)));
                        json_object_array_add(routes, e);
                }
        }
        if (!json_object_object_get_ex(o, "dns", &dns) || dns_empty(dns)) {
                json_object_object_del(o, "dns");
                if (r->nameservers || r->domain || r->search || r->options) {
                        dns = json_object_new_object();
                        if (r->nameservers)
                                json_object_object_add(dns, "nameservers", strv_to_json(r->nameservers));
                        if (r->domain)
                                json_object_object_add(dns, "domain", json_object_new_string(r->domain));
                        if (r->search)
                                json_object_object_add(dns, "search", strv_to_json(r->search));
                        if (r->options)
                                json_object_object_add(dns, "options", strv_to_json(r->options));
                        json_object_object_add(o, "dns", dns);
                }
        }
        return o;
}

bool cni_prev_result_has_interface(json_object *prev, const char *name, const char *sandbox, int *ret_index) {
        json_object *ifs;

        if (!prev || !json_object_object_get_ex(prev, "interfaces", &ifs) || !json_object_is_type(ifs, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(ifs); i++) {
                json_object *e = json_object_array_get_idx(ifs, i);
                const char *n = json_get_string(e, "name"), *sb = json_get_string(e, "sandbox");

                if (n && streq(n, name) && streq_ptr(sb && *sb ? sb : NULL, sandbox)) {
                        if (ret_index)
                                *ret_index = (int) i;
                        return true;
                }
        }
        return false;
}

bool cni_prev_result_has_ip(json_object *prev, const Cidr *address, int interface) {
        json_object *ips;

        if (!prev || !json_object_object_get_ex(prev, "ips", &ips) || !json_object_is_type(ips, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(ips); i++) {
                json_object *e = json_object_array_get_idx(ips, i), *v;
                const char *a = json_get_string(e, "address");
                Cidr c;

                if (!a || cidr_parse(a, true, &c) < 0 || !cidr_equal(&c, address))
                        continue;
                if (interface >= 0 && json_object_object_get_ex(e, "interface", &v) &&
                    json_object_get_int64(v) != interface)
                        continue;
                return true;
        }
        return false;
}

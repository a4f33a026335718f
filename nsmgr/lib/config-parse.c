/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading one libconfig file into the model: types, ranges and unknown
 * settings at every level. Cross-references are checked in config.c once
 * every file is read. */
#include <libconfig.h>
#include <netinet/in.h>
#include <stdarg.h>

#include "config-internal.h"
#include "config-text.h"
#include "name.h"
#include "strv.h"

typedef struct Parser {
        Config *cfg;
        ConfigErrors *errors;
        const char *file;
} Parser;

/* An allocation failed: the model is incomplete, and the load will fail. */
static bool oom(Parser *p) {
        p->errors->oom = true;
        return false;
}

static int setting_line(const config_setting_t *s) {
        return s ? (int) config_setting_source_line(s) : 0;
}

static const char *setting_file(Parser *p, const config_setting_t *s) {
        const char *f = s ? config_setting_source_file(s) : NULL;
        return f ? f : p->file;
}

static Source source_of(Parser *p, const config_setting_t *s) {
        const char *f = setting_file(p, s);

        /* @include'd files are not in cfg->files: keep the string alive. */
        if (!strv_contains(p->cfg->files, f) && strv_extend(&p->cfg->files, f) < 0)
                oom(p);
        for (size_t i = 0; p->cfg->files && p->cfg->files[i]; i++)
                if (streq(p->cfg->files[i], f))
                        return (Source) { .file = p->cfg->files[i], .line = setting_line(s) };
        return (Source) { .file = p->file, .line = setting_line(s) };
}

_printf_(3, 4) static void perr(Parser *p, const config_setting_t *s, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        config_error_addv(p->errors, source_of(p, s).file, setting_line(s), fmt, ap);
        va_end(ap);
}

static const char *type_name(int type) {
        switch (type) {
        case CONFIG_TYPE_GROUP:  return "a group { ... }";
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:  return "an integer";
        case CONFIG_TYPE_FLOAT:  return "a number with a fraction";
        case CONFIG_TYPE_STRING: return "a string";
        case CONFIG_TYPE_BOOL:   return "a boolean";
        case CONFIG_TYPE_ARRAY:  return "an array [ ... ]";
        case CONFIG_TYPE_LIST:   return "a list ( ... )";
        default:                 return "something else";
        }
}

/* Flags every member of grp whose name is not in allowed. */
static void check_keys(Parser *p, const config_setting_t *grp, const char *ctx, const char *const *allowed) {
        for (int i = 0; i < config_setting_length(grp); i++) {
                const config_setting_t *m = config_setting_get_elem(grp, (unsigned) i);
                const char *name = config_setting_name(m);
                bool ok = false;

                for (const char *const *a = allowed; *a; a++)
                        if (name && streq(name, *a))
                                ok = true;
                if (!ok)
                        perr(p, m, "%s: unknown setting '%s'", ctx, name ? name : "?");
        }
}

static const config_setting_t *member(Parser *p, const config_setting_t *grp, const char *key, const char *ctx,
                                      bool required) {
        const config_setting_t *m = config_setting_get_member(grp, key);

        if (!m && required)
                perr(p, grp, "%s: missing setting '%s'", ctx, key);
        return m;
}

static bool want_type(Parser *p, const config_setting_t *m, const char *ctx, int type) {
        int t = config_setting_type(m);

        if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
                return true;
        perr(p, m, "%s: '%s' must be %s, not %s", ctx, config_setting_name(m), type_name(type), type_name(t));
        return false;
}

static bool get_str(Parser *p, const config_setting_t *grp, const char *key, const char *ctx, bool required,
                    char **ret) {
        const config_setting_t *m = member(p, grp, key, ctx, required);

        if (!m || !want_type(p, m, ctx, CONFIG_TYPE_STRING))
                return false;
        free(*ret);
        *ret = strdup(config_setting_get_string(m));
        return *ret ? true : oom(p);
}

static bool get_uint(Parser *p, const config_setting_t *grp, const char *key, const char *ctx, long long min,
                     long long max, uint32_t *ret) {
        const config_setting_t *m = member(p, grp, key, ctx, false);
        const ConfigInt *v;

        if (!m || !want_type(p, m, ctx, CONFIG_TYPE_INT))
                return false;
        /* The literal as written, not libconfig's value: it cuts integers
         * to 32 bits (config-text.h). */
        v = config_setting_get_hook(m);
        if (!v || v->overflow || v->value < min || v->value > max) {
                perr(p, m, "%s: '%s' must be an integer from %lld to %lld, not %s", ctx, key, min, max,
                     v ? v->text : "this");
                return false;
        }
        *ret = (uint32_t) v->value;
        return true;
}

static bool get_bool(Parser *p, const config_setting_t *grp, const char *key, const char *ctx, bool *ret) {
        const config_setting_t *m = member(p, grp, key, ctx, false);

        if (!m || !want_type(p, m, ctx, CONFIG_TYPE_BOOL))
                return false;
        *ret = config_setting_get_bool(m);
        return true;
}

/* An array or list of strings. */
static bool get_strv(Parser *p, const config_setting_t *grp, const char *key, const char *ctx, char ***ret) {
        const config_setting_t *m = member(p, grp, key, ctx, false);
        char **l;
        int n;

        if (!m)
                return false;
        if (config_setting_type(m) != CONFIG_TYPE_ARRAY && config_setting_type(m) != CONFIG_TYPE_LIST) {
                perr(p, m, "%s: '%s' must be an array of strings [ \"...\", ... ], not %s", ctx, key,
                     type_name(config_setting_type(m)));
                return false;
        }
        n = config_setting_length(m);
        for (int i = 0; i < n; i++) {
                const config_setting_t *e = config_setting_get_elem(m, (unsigned) i);

                if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                        perr(p, e, "%s: '%s' must hold strings only, element %d is %s", ctx, key, i + 1,
                             type_name(config_setting_type(e)));
                        return false;
                }
        }
        /* Sized once: appending one by one costs N^2 for long arrays. */
        l = calloc((size_t) n + 1, sizeof(char *));
        if (!l)
                return oom(p);
        for (int i = 0; i < n; i++)
                if (!(l[i] = strdup(config_setting_get_string(config_setting_get_elem(m, (unsigned) i))))) {
                        strv_free(l);
                        return oom(p);
                }
        strv_free(*ret);
        *ret = l;
        return true;
}

static bool get_cidrs(Parser *p, const config_setting_t *grp, const char *key, const char *ctx, Cidr **ret,
                      size_t *ret_n) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        Cidr *v;

        if (!get_strv(p, grp, key, ctx, &l))
                return false;
        v = calloc(strv_length(l) + 1, sizeof(Cidr));
        if (!v)
                return oom(p);
        STRV_FOREACH(s, l) {
                if (cidr_parse(*s, true, &v[n]) < 0) {
                        perr(p, config_setting_get_member(grp, key),
                             "%s: '%s' is not an address with a prefix length (like 198.18.0.1/24 or fd00::1/64)",
                             ctx, *s);
                        continue;
                }
                n++;
        }
        free(*ret);
        *ret = v;
        *ret_n = n;
        return true;
}

static bool get_addr(Parser *p, const config_setting_t *grp, const char *key, const char *ctx, Cidr *ret) {
        _cleanup_free_ char *s = NULL;

        if (!get_str(p, grp, key, ctx, false, &s))
                return false;
        if (cidr_parse(s, false, ret) < 0 || ret->prefixlen != cidr_addr_bytes(ret->family) * 8) {
                perr(p, config_setting_get_member(grp, key), "%s: '%s' = \"%s\" is not an IP address", ctx, key, s);
                *ret = (Cidr) {};
                return false;
        }
        return true;
}

static bool get_prefix(Parser *p, const config_setting_t *grp, const char *key, const char *ctx, Cidr *ret) {
        _cleanup_free_ char *s = NULL;
        char buf[CIDR_STRLEN];

        if (!get_str(p, grp, key, ctx, false, &s))
                return false;
        if (cidr_parse(s, true, ret) < 0) {
                perr(p, config_setting_get_member(grp, key),
                     "%s: '%s' = \"%s\" is not a prefix (like 198.18.20.0/24 or fd00:20::/64)", ctx, key, s);
                *ret = (Cidr) {};
                return false;
        }
        if (!cidr_is_network(ret)) {
                Cidr n = cidr_network(ret);
                perr(p, config_setting_get_member(grp, key), "%s: '%s' = \"%s\" has host bits set; did you mean %s?",
                     ctx, key, s, cidr_format(&n, true, buf));
                *ret = (Cidr) {};
                return false;
        }
        return true;
}

static bool want_group(Parser *p, const config_setting_t *s, const char *what) {
        if (config_setting_type(s) == CONFIG_TYPE_GROUP)
                return true;
        perr(p, s, "%s must be a group { ... }, not %s", what, type_name(config_setting_type(s)));
        return false;
}

static bool want_list(Parser *p, const config_setting_t *s, const char *ctx) {
        if (config_setting_type(s) == CONFIG_TYPE_LIST)
                return true;
        if (config_setting_type(s) == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)
                return true;
        perr(p, s, "%s: '%s' must be a list ( { ... }, ... ), not %s", ctx, config_setting_name(s),
             type_name(config_setting_type(s)));
        return false;
}

/* "key=value" */
static void parse_sysctls(Parser *p, const config_setting_t *grp, const char *ctx, bool netns_only, Sysctl **v,
                          size_t *n) {
        const config_setting_t *m = member(p, grp, "sysctls", ctx, false);
        _cleanup_strv_free_ char **l = NULL;

        if (!m || !get_strv(p, grp, "sysctls", ctx, &l))
                return;
        STRV_FOREACH(s, l) {
                _cleanup_free_ char *key = NULL, *value = NULL;
                const char *eq = strchr(*s, '=');
                Sysctl *nv;

                if (!eq || eq == *s) {
                        perr(p, m, "%s: sysctl \"%s\" must have the form \"key=value\", like \"net.ipv4.ip_forward=1\"",
                             ctx, *s);
                        continue;
                }
                key = strndup(*s, (size_t) (eq - *s));
                value = strdup(eq + 1);
                if (!key || !value) {
                        oom(p);
                        return;
                }
                /* Trim the blanks people put around '='. */
                for (size_t k = strlen(key); k > 0 && (key[k - 1] == ' ' || key[k - 1] == '\t'); k--)
                        key[k - 1] = 0;
                {
                        char *v0 = value;
                        while (*v0 == ' ' || *v0 == '\t')
                                v0++;
                        memmove(value, v0, strlen(v0) + 1);
                }
                if (!sysctl_key_is_valid(key)) {
                        perr(p, m, "%s: \"%s\" is not a valid sysctl name", ctx, key);
                        continue;
                }
                if (netns_only && !strneq(key, "net.", 4) && !strneq(key, "net/", 4)) {
                        perr(p, m, "%s: sysctl '%s' is not per network namespace; only net.* can be set inside a namespace",
                             ctx, key);
                        continue;
                }
                nv = realloc(*v, (*n + 1) * sizeof(Sysctl));
                if (!nv) {
                        oom(p);
                        return;
                }
                *v = nv;
                nv[*n] = (Sysctl) { .key = TAKE_PTR(key), .value = TAKE_PTR(value), .src = source_of(p, m) };
                (*n)++;
        }
}

static void parse_bridge(Parser *p, const config_setting_t *s, Bridge *b) {
        static const char *const keys[] = { "name", "addresses", "mtu", "ipv6", "netfilter", NULL };
        _cleanup_free_ char *ctx = NULL;
        bool ipv6;

        b->src = source_of(p, s);
        b->ipv6 = -1;
        if (!want_group(p, s, "a bridge"))
                return;
        if (!get_str(p, s, "name", "bridge", true, &b->name))
                return;
        if (asprintf(&ctx, "bridge '%s'", b->name) < 0) {
                ctx = NULL;
                oom(p);
                return;
        }
        check_keys(p, s, ctx, keys);
        get_cidrs(p, s, "addresses", ctx, &b->addresses, &b->n_addresses);
        get_uint(p, s, "mtu", ctx, 68, 65535, &b->mtu);
        if (get_bool(p, s, "ipv6", ctx, &ipv6))
                b->ipv6 = ipv6;
        get_bool(p, s, "netfilter", ctx, &b->netfilter);
}

static void parse_host(Parser *p, const config_setting_t *s) {
        static const char *const keys[] = { "bridges", "sysctls", NULL };
        const config_setting_t *bridges;
        Config *c = p->cfg;

        if (!want_group(p, s, "'host'"))
                return;
        check_keys(p, s, "host", keys);
        parse_sysctls(p, s, "host", false, &c->host_sysctls, &c->n_host_sysctls);

        bridges = config_setting_get_member(s, "bridges");
        if (bridges && want_list(p, bridges, "host")) {
                int n = config_setting_length(bridges);
                Bridge *nv = realloc(c->bridges, (c->n_bridges + (size_t) n + 1) * sizeof(Bridge));

                if (!nv) {
                        oom(p);
                        return;
                }
                c->bridges = nv;
                for (int i = 0; i < n; i++) {
                        c->bridges[c->n_bridges] = (Bridge) {};
                        parse_bridge(p, config_setting_get_elem(bridges, (unsigned) i), &c->bridges[c->n_bridges]);
                        c->n_bridges++;
                }
        }
}

static const char *const iface_kind_names[_IFACE_KIND_MAX] = {
        [IFACE_VETH] = "veth",
        [IFACE_MACVLAN] = "macvlan",
        [IFACE_VXLAN] = "vxlan",
        [IFACE_VRF] = "vrf",
};

const char *iface_kind_name(IfaceKind k) {
        return k < _IFACE_KIND_MAX ? iface_kind_names[k] : "?";
}

static void parse_peer(Parser *p, const config_setting_t *s, Iface *i, const char *ctx) {
        static const char *const keys[] = { "name", "namespace", "addresses", NULL };
        _cleanup_free_ char *pctx = NULL;

        if (asprintf(&pctx, "%s, peer", ctx) < 0) {
                pctx = NULL;
                oom(p);
                return;
        }
        if (!want_group(p, s, "'peer'"))
                return;
        check_keys(p, s, pctx, keys);
        get_str(p, s, "name", pctx, false, &i->peer_name);
        get_str(p, s, "namespace", pctx, false, &i->peer_netns);
        get_cidrs(p, s, "addresses", pctx, &i->peer_addresses, &i->n_peer_addresses);
}

/* The MTUs the kernel takes at creation, per kind: ETH_MIN_MTU to
 * ETH_MAX_MTU (veth, macvlan, vxlan); a VRF's minimum is IPV6_MIN_MTU
 * (vrf_setup()), its maximum 65535 on every kernel (IP6_MAX_MTU, 65575,
 * since Linux 5.12). What depends on other links (a vxlan's parent, IPv6
 * on the link) is checked in config.c. */
static const struct {
        long long min, max;
} kind_mtu[_IFACE_KIND_MAX] = {
        [IFACE_VETH] = { 68, 65535 },
        [IFACE_MACVLAN] = { 68, 65535 },
        [IFACE_VXLAN] = { 68, 65535 },
        [IFACE_VRF] = { 1280, 65535 },
};

static void parse_iface(Parser *p, const config_setting_t *s, Iface *i, const char *nsctx) {
        static const char *const common[] = { "name", "type", "addresses", "mtu", "up", "ipv6", NULL };
        static const char *const per_kind[_IFACE_KIND_MAX][8] = {
                [IFACE_VETH] = { "bridge", "peer", NULL },
                [IFACE_MACVLAN] = { "parent", "mode", NULL },
                [IFACE_VXLAN] = { "vni", "local", "remote", "group", "port", "parent", NULL },
                [IFACE_VRF] = { "table", "members", NULL },
        };
        _cleanup_free_ char *ctx = NULL, *type = NULL;
        const char *allowed[16];
        const config_setting_t *peer;
        size_t k = 0;
        uint32_t u;
        bool b;

        i->src = source_of(p, s);
        i->up = true;
        i->ipv6 = -1;
        if (!want_group(p, s, "an interface"))
                return;
        if (!get_str(p, s, "name", nsctx, true, &i->name))
                return;
        if (asprintf(&ctx, "%s, interface '%s'", nsctx, i->name) < 0) {
                ctx = NULL;
                oom(p);
                return;
        }
        if (!get_str(p, s, "type", ctx, true, &type))
                return;
        for (i->kind = 0; i->kind < _IFACE_KIND_MAX; i->kind++)
                if (streq(type, iface_kind_names[i->kind]))
                        break;
        if (i->kind == _IFACE_KIND_MAX) {
                perr(p, config_setting_get_member(s, "type"),
                     "%s: unknown interface type \"%s\" (known: veth, macvlan, vxlan, vrf)", ctx, type);
                return;
        }

        for (const char *const *a = common; *a; a++)
                allowed[k++] = *a;
        for (const char *const *a = per_kind[i->kind]; *a; a++)
                allowed[k++] = *a;
        allowed[k] = NULL;
        for (int e = 0; e < config_setting_length(s); e++) {
                const config_setting_t *m = config_setting_get_elem(s, (unsigned) e);
                const char *name = config_setting_name(m);
                bool ok = false, other = false;

                for (size_t a = 0; a < k; a++)
                        ok = ok || streq(name, allowed[a]);
                if (ok)
                        continue;
                for (int kk = 0; kk < _IFACE_KIND_MAX; kk++)
                        for (const char *const *a = per_kind[kk]; *a; a++)
                                other = other || streq(name, *a);
                if (other)
                        perr(p, m, "%s: setting '%s' does not apply to a %s interface", ctx, name, type);
                else
                        perr(p, m, "%s: unknown setting '%s'", ctx, name);
        }

        get_cidrs(p, s, "addresses", ctx, &i->addresses, &i->n_addresses);
        get_uint(p, s, "mtu", ctx, kind_mtu[i->kind].min, kind_mtu[i->kind].max, &i->mtu);
        get_bool(p, s, "up", ctx, &i->up);
        if (get_bool(p, s, "ipv6", ctx, &b))
                i->ipv6 = b;

        switch (i->kind) {
        case IFACE_VETH:
                get_str(p, s, "bridge", ctx, false, &i->bridge);
                peer = config_setting_get_member(s, "peer");
                if (peer)
                        parse_peer(p, peer, i, ctx);
                break;
        case IFACE_MACVLAN:
                get_str(p, s, "parent", ctx, true, &i->parent);
                if (get_str(p, s, "mode", ctx, false, &i->macvlan_mode) &&
                    !strv_contains((char *[]) { "private", "vepa", "bridge", "passthru", "source", NULL },
                                   i->macvlan_mode))
                        perr(p, config_setting_get_member(s, "mode"),
                             "%s: macvlan mode \"%s\" is not one of private, vepa, bridge, passthru, source", ctx,
                             i->macvlan_mode);
                break;
        case IFACE_VXLAN:
                if (!member(p, s, "vni", ctx, true))
                        break;
                get_uint(p, s, "vni", ctx, 0, 16777215, &i->vni);
                get_addr(p, s, "local", ctx, &i->local);
                get_addr(p, s, "remote", ctx, &i->remote);
                get_addr(p, s, "group", ctx, &i->group);
                i->port = 4789;
                if (get_uint(p, s, "port", ctx, 1, 65535, &u))
                        i->port = (uint16_t) u;
                get_str(p, s, "parent", ctx, false, &i->parent);
                break;
        case IFACE_VRF:
                if (!member(p, s, "table", ctx, true))
                        break;
                /* The kernel refuses 0 (vrf_newlink()); main and local are
                 * the tables of the namespace's own routing. */
                if (get_uint(p, s, "table", ctx, 0, 0xffffffffLL, &i->table) &&
                    (i->table == 0 || i->table == 254 || i->table == 255))
                        perr(p, config_setting_get_member(s, "table"),
                             "%s: a VRF needs a table of its own, not %u (%s); pick another number, like 100", ctx,
                             i->table, i->table == 0 ? "no table" : i->table == 254 ? "main" : "local");
                get_strv(p, s, "members", ctx, &i->members);
                break;
        default:
                break;
        }
}

static void parse_route(Parser *p, const config_setting_t *s, Route *r, const char *nsctx) {
        static const char *const keys[] = { "to", "via", "dev", "metric", "table", NULL };
        _cleanup_free_ char *to = NULL, *ctx = NULL;

        r->src = source_of(p, s);
        r->table = 254;
        if (!want_group(p, s, "a route"))
                return;
        if (!get_str(p, s, "to", nsctx, true, &to))
                return;
        if (asprintf(&ctx, "%s, route to %s", nsctx, to) < 0) {
                ctx = NULL;
                oom(p);
                return;
        }
        check_keys(p, s, ctx, keys);
        get_addr(p, s, "via", ctx, &r->via);
        get_str(p, s, "dev", ctx, false, &r->dev);
        get_uint(p, s, "metric", ctx, 0, 0xffffffffLL, &r->metric);
        /* As ip-route(8) names them: 0 "unspec" (the kernel files the
         * route in main, so it would never be found in table 0 again), 253
         * "default" (a table like others, the last rule looks it up), 254
         * "main" and 255 "local", which the kernel fills itself. */
        if (get_uint(p, s, "table", ctx, 0, 0xffffffffLL, &r->table) && r->table == 0)
                perr(p, config_setting_get_member(s, "table"),
                     "%s: table 0 means no table, and the kernel puts such a route in main; leave 'table' out for main (254)",
                     ctx);
        else if (r->table == 255)
                perr(p, config_setting_get_member(s, "table"),
                     "%s: table 255 is reserved for the kernel's local routes, which it adds and removes itself; use main (leave 'table' out) or a table of your own",
                     ctx);

        if (streq(to, "default")) {
                /* The family follows the gateway; without one it is IPv4. */
                r->dst = (Cidr) { .family = r->via.family == AF_INET6 ? AF_INET6 : AF_INET, .prefixlen = 0 };
        } else if (cidr_parse(to, true, &r->dst) < 0) {
                perr(p, config_setting_get_member(s, "to"),
                     "%s: 'to' must be \"default\" or a prefix like 198.18.9.0/24", ctx);
                return;
        } else if (!cidr_is_network(&r->dst)) {
                char buf[CIDR_STRLEN];
                Cidr n = cidr_network(&r->dst);
                perr(p, config_setting_get_member(s, "to"), "%s: \"%s\" has host bits set; did you mean %s?", ctx,
                     to, cidr_format(&n, true, buf));
                return;
        }
        if (r->via.family && r->via.family != r->dst.family)
                perr(p, config_setting_get_member(s, "via"), "%s: gateway and destination are of different families",
                     ctx);
        if (!r->via.family && !r->dev && !config_setting_get_member(s, "via"))
                perr(p, s, "%s: needs 'via' or 'dev' (or both)", ctx);
}

static void parse_dns(Parser *p, const config_setting_t *s, Dns *d, const char *nsctx) {
        static const char *const keys[] = { "nameservers", "search", "options", "hosts", NULL };
        static const char *const host_keys[] = { "address", "names", NULL };
        _cleanup_free_ char *ctx = NULL;
        const config_setting_t *hosts;

        d->src = source_of(p, s);
        if (!want_group(p, s, "'dns'"))
                return;
        d->declared = true;
        if (asprintf(&ctx, "%s, dns", nsctx) < 0) {
                ctx = NULL;
                oom(p);
                return;
        }
        check_keys(p, s, ctx, keys);
        if (get_strv(p, s, "nameservers", ctx, &d->nameservers))
                STRV_FOREACH(ns, d->nameservers) {
                        Cidr c;
                        if (cidr_parse(*ns, false, &c) < 0 || c.prefixlen != cidr_addr_bytes(c.family) * 8)
                                perr(p, config_setting_get_member(s, "nameservers"),
                                     "%s: nameserver \"%s\" is not an IP address", ctx, *ns);
                }
        if (get_strv(p, s, "search", ctx, &d->search))
                STRV_FOREACH(dom, d->search)
                        if (!**dom || strpbrk(*dom, " \t\n#;"))
                                perr(p, config_setting_get_member(s, "search"),
                                     "%s: search domain \"%s\" must be one word", ctx, *dom);
        if (get_strv(p, s, "options", ctx, &d->options))
                STRV_FOREACH(o, d->options)
                        if (!**o || strpbrk(*o, " \t\n#;"))
                                perr(p, config_setting_get_member(s, "options"),
                                     "%s: resolver option \"%s\" must be one word, like \"ndots:2\"", ctx, *o);

        hosts = config_setting_get_member(s, "hosts");
        if (hosts && want_list(p, hosts, ctx)) {
                int n = config_setting_length(hosts);

                d->hosts = calloc((size_t) n + 1, sizeof(HostEntry));
                if (!d->hosts) {
                        oom(p);
                        return;
                }
                for (int i = 0; i < n; i++) {
                        const config_setting_t *h = config_setting_get_elem(hosts, (unsigned) i);
                        HostEntry *e = &d->hosts[d->n_hosts];

                        if (!want_group(p, h, "a hosts entry"))
                                continue;
                        check_keys(p, h, ctx, host_keys);
                        if (!member(p, h, "address", ctx, true) || !get_addr(p, h, "address", ctx, &e->address))
                                continue;
                        if (!member(p, h, "names", ctx, true) || !get_strv(p, h, "names", ctx, &e->names))
                                continue;
                        if (strv_length(e->names) == 0)
                                perr(p, h, "%s: a hosts entry needs at least one name", ctx);
                        STRV_FOREACH(nm, e->names)
                                if (!**nm || strpbrk(*nm, " \t\n#"))
                                        perr(p, h, "%s: host name \"%s\" must be one word", ctx, *nm);
                        d->n_hosts++;
                }
        }
}

static void parse_attachment(Parser *p, const config_setting_t *s, Attachment *a, const char *nsctx) {
        static const char *const keys[] = { "network", "interface", "address", "address6", NULL };
        _cleanup_free_ char *ctx = NULL;

        a->src = source_of(p, s);
        if (!want_group(p, s, "a network attachment"))
                return;
        if (!get_str(p, s, "network", nsctx, true, &a->network))
                return;
        if (asprintf(&ctx, "%s, network '%s'", nsctx, a->network) < 0) {
                ctx = NULL;
                oom(p);
                return;
        }
        check_keys(p, s, ctx, keys);
        get_str(p, s, "interface", ctx, false, &a->ifname);
        get_addr(p, s, "address", ctx, &a->address);
        get_addr(p, s, "address6", ctx, &a->address6);
        if (a->address.family == AF_INET6)
                perr(p, config_setting_get_member(s, "address"), "%s: 'address' is for IPv4; use 'address6'", ctx);
        if (a->address6.family == AF_INET)
                perr(p, config_setting_get_member(s, "address6"), "%s: 'address6' is for IPv6; use 'address'", ctx);
}

/* A port number: 1 to 65535, digits only (strtoul() would take " +80"
 * and wrap "-1"). */
static const char *port_number(const char *s, unsigned *ret) {
        unsigned v = 0;
        size_t n = 0;

        while (s[n] >= '0' && s[n] <= '9') {
                v = v * 10 + (unsigned) (s[n] - '0');
                if (++n > 5)
                        return NULL;
        }
        if (n == 0 || v < 1 || v > 65535)
                return NULL;
        *ret = v;
        return s + n;
}

int port_parse(const char *s, Port *ret) {
        unsigned host, inner;
        const char *slash;
        Port pt = { .proto = IPPROTO_TCP };

        s = port_number(s, &host);
        if (!s || *s != ':')
                return -EINVAL;
        slash = port_number(s + 1, &inner);
        if (!slash)
                return -EINVAL;
        if (*slash == '/') {
                if (streq(slash + 1, "tcp"))
                        pt.proto = IPPROTO_TCP;
                else if (streq(slash + 1, "udp"))
                        pt.proto = IPPROTO_UDP;
                else
                        return -EINVAL;
        } else if (*slash)
                return -EINVAL;
        pt.host_port = (uint16_t) host;
        pt.port = (uint16_t) inner;
        *ret = pt;
        return 0;
}

static void parse_netns(Parser *p, const config_setting_t *s, Netns *ns) {
        static const char *const keys[] = { "name", "interfaces", "routes", "sysctls", "dns", "networks", "ports", NULL };
        _cleanup_free_ char *ctx = NULL;
        const config_setting_t *l;

        ns->src = source_of(p, s);
        if (!want_group(p, s, "a namespace"))
                return;
        if (!get_str(p, s, "name", "namespace", true, &ns->name))
                return;
        if (asprintf(&ctx, "namespace '%s'", ns->name) < 0) {
                ctx = NULL;
                oom(p);
                return;
        }
        check_keys(p, s, ctx, keys);

        l = config_setting_get_member(s, "interfaces");
        if (l && want_list(p, l, ctx)) {
                int n = config_setting_length(l);
                ns->ifaces = calloc((size_t) n + 1, sizeof(Iface));
                if (!ns->ifaces) {
                        oom(p);
                        return;
                }
                for (int i = 0; i < n; i++)
                        parse_iface(p, config_setting_get_elem(l, (unsigned) i), &ns->ifaces[ns->n_ifaces++], ctx);
        }
        l = config_setting_get_member(s, "routes");
        if (l && want_list(p, l, ctx)) {
                int n = config_setting_length(l);
                ns->routes = calloc((size_t) n + 1, sizeof(Route));
                if (!ns->routes) {
                        oom(p);
                        return;
                }
                for (int i = 0; i < n; i++)
                        parse_route(p, config_setting_get_elem(l, (unsigned) i), &ns->routes[ns->n_routes++], ctx);
        }
        parse_sysctls(p, s, ctx, true, &ns->sysctls, &ns->n_sysctls);
        l = config_setting_get_member(s, "dns");
        if (l)
                parse_dns(p, l, &ns->dns, ctx);
        l = config_setting_get_member(s, "networks");
        if (l && want_list(p, l, ctx)) {
                int n = config_setting_length(l);
                ns->attachments = calloc((size_t) n + 1, sizeof(Attachment));
                if (!ns->attachments) {
                        oom(p);
                        return;
                }
                for (int i = 0; i < n; i++)
                        parse_attachment(p, config_setting_get_elem(l, (unsigned) i),
                                         &ns->attachments[ns->n_attachments++], ctx);
        }
        l = config_setting_get_member(s, "ports");
        if (l) {
                _cleanup_strv_free_ char **ports = NULL;

                if (get_strv(p, s, "ports", ctx, &ports)) {
                        ns->ports = calloc(strv_length(ports) + 1, sizeof(Port));
                        if (!ns->ports) {
                                oom(p);
                                return;
                        }
                        for (size_t k = 0; ports[k]; k++) {
                                /* Each at the line of its own string. */
                                const config_setting_t *e = config_setting_get_elem(l, (unsigned) k);

                                if (port_parse(ports[k], &ns->ports[ns->n_ports]) < 0) {
                                        perr(p, e, "%s: port \"%s\" must look like \"8080:80/tcp\" (HOSTPORT:PORT[/tcp|/udp], each from 1 to 65535)",
                                             ctx, ports[k]);
                                        continue;
                                }
                                ns->ports[ns->n_ports].src = source_of(p, e);
                                ns->n_ports++;
                        }
                }
        }
}

static void parse_network(Parser *p, const config_setting_t *s, Network *nw) {
        static const char *const keys[] = { "name",    "bridge",     "subnet",     "subnet6", "gateway",
                                             "gateway6", "masquerade", "uplink", NULL };
        _cleanup_free_ char *ctx = NULL;

        nw->src = source_of(p, s);
        nw->masquerade = true;
        if (!want_group(p, s, "a network"))
                return;
        if (!get_str(p, s, "name", "network", true, &nw->name))
                return;
        if (asprintf(&ctx, "network '%s'", nw->name) < 0) {
                ctx = NULL;
                oom(p);
                return;
        }
        check_keys(p, s, ctx, keys);
        get_str(p, s, "bridge", ctx, true, &nw->bridge);
        get_prefix(p, s, "subnet", ctx, &nw->subnet);
        get_prefix(p, s, "subnet6", ctx, &nw->subnet6);
        get_addr(p, s, "gateway", ctx, &nw->gateway);
        get_addr(p, s, "gateway6", ctx, &nw->gateway6);
        get_bool(p, s, "masquerade", ctx, &nw->masquerade);
        get_str(p, s, "uplink", ctx, false, &nw->uplink);
        if (nw->subnet.family == AF_INET6)
                perr(p, config_setting_get_member(s, "subnet"), "%s: 'subnet' is for IPv4; use 'subnet6'", ctx);
        if (nw->subnet6.family == AF_INET)
                perr(p, config_setting_get_member(s, "subnet6"), "%s: 'subnet6' is for IPv6; use 'subnet'", ctx);
        if (!nw->subnet.family && !nw->subnet6.family && !config_setting_get_member(s, "subnet") &&
            !config_setting_get_member(s, "subnet6"))
                perr(p, s, "%s: needs 'subnet' or 'subnet6' (or both)", ctx);
}

static void append_list(Parser *p, const config_setting_t *root, const char *key, void **arr, size_t *n,
                        size_t size, void (*parse)(Parser *, const config_setting_t *, void *)) {
        const config_setting_t *l = config_setting_get_member(root, key);
        size_t add;
        char *nv;

        if (!l || !want_list(p, l, "top level"))
                return;
        add = (size_t) config_setting_length(l);
        nv = realloc(*arr, (*n + add + 1) * size);
        if (!nv) {
                oom(p);
                return;
        }
        *arr = nv;
        for (size_t i = 0; i < add; i++) {
                memset(nv + (*n) * size, 0, size);
                parse(p, config_setting_get_elem(l, (unsigned) i), nv + (*n) * size);
                (*n)++;
        }
}

/* An object whose declaration had a problem is marked, so that checks
 * of what depends on it do not say the same thing again. */
static void parse_netns_v(Parser *p, const config_setting_t *s, void *x) {
        Netns *ns = x;
        size_t before = p->errors->n;

        parse_netns(p, s, ns);
        ns->incomplete = p->errors->n > before;
}

static void parse_network_v(Parser *p, const config_setting_t *s, void *x) {
        Network *nw = x;
        size_t before = p->errors->n;

        parse_network(p, s, nw);
        nw->incomplete = p->errors->n > before;
}

/* libconfig's error, as one sentence with the line it is on. */
static void syntax_error(Parser *p, const config_t *cf, const ConfigText *t) {
        const char *what = config_error_text(cf) ?: "syntax error";
        int line = config_error_line(cf);
        char near[CONFIG_LINE_SHOW_MAX];

        config_text_line(t, line, near);
        if (!*near)
                config_error_add(p->errors, p->file, line,
                                 "%s at the end of the file: a closing '}', ')', ']', a ';' or a quote is missing",
                                 what);
        else if (streq(what, "syntax error"))
                config_error_add(p->errors, p->file, line,
                                 "syntax error in '%s': look for a missing ';', quote or bracket on this line or the one before",
                                 near);
        else if (streq(what, "duplicate setting name"))
                config_error_add(p->errors, p->file, line,
                                 "a setting is given twice in one group, in '%s'; keep one of them", near);
        else if (streq(what, "mismatched element type in array"))
                config_error_add(p->errors, p->file, line,
                                 "an array [ ... ] holds values of one type only, in '%s'; use a list ( ... ) for mixed values",
                                 near);
        else
                config_error_add(p->errors, p->file, line, "%s in '%s'", what, near);
}

int config_parse_file(Config *c, const char *file, ConfigErrors *errors) {
        static const char *const keys[] = { "host", "namespaces", "networks", NULL };
        _cleanup_(config_text_done) ConfigText text = {};
        _cleanup_(config_destroy) config_t cf;
        Parser p = { .cfg = c, .errors = errors };
        const config_setting_t *root, *host;
        int r;

        /* Before anything can fail: the cleanup destroys cf. */
        config_init(&cf);

        r = strv_extend(&c->files, file);
        if (r < 0)
                return r;
        p.file = c->files[strv_length(c->files) - 1];

        r = config_text_load(file, p.file, &text, errors);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* said why */
        if (!config_read_string(&cf, text.text)) {
                syntax_error(&p, &cf, &text);
                return 0;
        }
        if (config_text_attach(&text, config_root_setting(&cf)) < 0) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
                abort(); /* the scanner and libconfig disagree: a bug to find */
#endif
                config_error_add(errors, p.file, 0,
                                 "nsmgr cannot match the integers of this file to their settings, which is a bug in nsmgr; please report it with the file");
                return 0;
        }

        root = config_root_setting(&cf);
        check_keys(&p, root, "top level", keys);
        host = config_setting_get_member(root, "host");
        if (host)
                parse_host(&p, host);
        append_list(&p, root, "namespaces", (void **) &c->netns, &c->n_netns, sizeof(Netns), parse_netns_v);
        append_list(&p, root, "networks", (void **) &c->networks, &c->n_networks, sizeof(Network), parse_network_v);
        return errors->oom ? -ENOMEM : 0;
}

bool sysctl_key_is_valid(const char *key) {
        if (!*key || key[0] == '/' || key[0] == '.' || strlen(key) > 512)
                return false;
        for (const char *k = key; *k; k++)
                if (*k <= ' ' || *k == '=' || *k == 0x7f)
                        return false;
        /* In the dotted form every '.' becomes '/', so no step can be "..";
         * in the slash form (sysctl(8) allows it, for names with dots)
         * no step may climb out of /proc/sys. */
        if (strchr(key, '/'))
                for (const char *step = key; *step;) {
                        size_t n = strcspn(step, "/");

                        if ((n == 1 && step[0] == '.') || (n == 2 && step[0] == '.' && step[1] == '.'))
                                return false;
                        step += n;
                        step += strspn(step, "/");
                }
        return true;
}

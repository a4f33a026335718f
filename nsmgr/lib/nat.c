/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <nftables/libnftables.h>
#include <stdarg.h>

#include "fileio.h"
#include "nat.h"
#include "desired.h"
#include "paths.h"
#include "strv.h"

#define TABLE "inet nsmgr"
#define PORTS_FILE NSMGR_RUN_DIR "/ports.json"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free);

typedef struct Buf {
        char *s;
        size_t len;
} Buf;

_printf_(2, 3) static void bprintf(Buf *b, const char *fmt, ...) {
        char *add, *ns;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        ns = realloc(b->s, b->len + (size_t) n + 1);
        if (!ns) {
                free(add);
                return;
        }
        memcpy(ns + b->len, add, (size_t) n + 1);
        b->s = ns;
        b->len += (size_t) n;
        free(add);
}

/* --- the desired table ---------------------------------------------------- */

typedef struct Chain {
        char *name;
        char **rules;          /* nft rule text, in order */
        char *what;            /* "network lab", "ports of web" */
} Chain;

typedef struct NatWant {
        Chain *chains;         /* owned chains: nw-*, fw-*, pub-* */
        size_t n;
        char **jumps[4];       /* per base chain: rule texts of the jumps */
        char **jump_targets[4];
} NatWant;

static const struct BaseChain {
        const char *name;
        const char *spec;
} base[4] = {
        { "prerouting", "type nat hook prerouting priority dstnat; policy accept;" },
        { "output", "type nat hook output priority -100; policy accept;" },
        { "postrouting", "type nat hook postrouting priority srcnat; policy accept;" },
        { "forward", "type filter hook forward priority filter; policy accept;" },
};
enum { B_PREROUTING, B_OUTPUT, B_POSTROUTING, B_FORWARD };

static uint32_t hash(const char *s) {
        uint32_t h = 2166136261u;

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

/* "nw-lab-3fa2c1": readable, safe in nft, unique by the hash. */
static char *chain_name(const char *prefix, const char *owner) {
        char clean[33] = {};
        size_t k = 0;
        char *n;

        for (const char *s = owner; *s && k < 32; s++)
                clean[k++] = ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                              *s == '-' || *s == '_') ? *s : '_';
        if (asprintf(&n, "%s-%s-%06x", prefix, clean, hash(owner) & 0xffffff) < 0)
                return NULL;
        return n;
}

static void natwant_done(NatWant *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->chains[i].name);
                strv_free(d->chains[i].rules);
                free(d->chains[i].what);
        }
        free(d->chains);
        for (int i = 0; i < 4; i++) {
                strv_free(d->jumps[i]);
                strv_free(d->jump_targets[i]);
        }
}

_printf_(2, 3) static void rule(Chain *c, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) strv_extendv(&c->rules, fmt, ap);
        va_end(ap);
}

static Chain *add_chain(NatWant *d, const char *prefix, const char *owner, const char *what) {
        Chain *v = realloc(d->chains, (d->n + 1) * sizeof(Chain));

        if (!v)
                return NULL;
        d->chains = v;
        v[d->n] = (Chain) { .name = chain_name(prefix, owner), .what = strdup(what) };
        if (!v[d->n].name || !v[d->n].what)
                return NULL;
        return &v[d->n++];
}

static void add_jump(NatWant *d, int b, const char *match, const char *target) {
        char *r;

        if (asprintf(&r, "%s%sjump %s", match ? match : "", match ? " " : "", target) < 0)
                return;
        (void) strv_push(&d->jumps[b], r);
        (void) strv_extend(&d->jump_targets[b], target);
}

static bool network_has_ports(const Config *cfg, const Network *nw) {
        for (size_t i = 0; i < cfg->n_netns; i++)
                if (cfg->netns[i].n_ports > 0 && cfg->netns[i].n_attachments > 0 &&
                    streq(cfg->netns[i].attachments[0].network, nw->name))
                        return true;
        return false;
}

static int build_desired(const Config *cfg, NatWant *d) {
        char s[CIDR_STRLEN], s6[CIDR_STRLEN], a[CIDR_STRLEN];

        for (size_t k = 0; k < cfg->n_networks; k++) {
                const Network *nw = &cfg->networks[k];
                _cleanup_free_ char *what = NULL, *oif = NULL;
                Chain *post, *fwd;

                if (nw->uplink && asprintf(&oif, " oifname \"%s\"", nw->uplink) < 0)
                        return -ENOMEM;
                if (asprintf(&what, "network %s (%s%s%s%s)", nw->name, nw->masquerade ? "masquerading" : "no masquerading",
                             nw->uplink ? " out of " : "", nw->uplink ? nw->uplink : "", ", hairpin") < 0)
                        return -ENOMEM;
                post = add_chain(d, "nw", nw->name, what);
                if (!post)
                        return -ENOMEM;
                if (nw->subnet.family) {
                        cidr_format(&nw->subnet, true, s);
                        if (nw->masquerade)
                                rule(post, "ip saddr %s ip daddr != %s%s masquerade", s, s, oif ? oif : "");
                        /* Hairpin: a published port reached from the same subnet. */
                        rule(post, "ct status dnat ip saddr %s ip daddr %s masquerade", s, s);
                }
                if (nw->subnet6.family) {
                        cidr_format(&nw->subnet6, true, s6);
                        if (nw->masquerade)
                                rule(post, "ip6 saddr %s ip6 daddr != %s%s masquerade", s6, s6, oif ? oif : "");
                        rule(post, "ct status dnat ip6 saddr %s ip6 daddr %s masquerade", s6, s6);
                }
                /* The host's own 127.0.0.1:PORT, forwarded onto the bridge. */
                if (nw->subnet.family && network_has_ports(cfg, nw))
                        rule(post, "ip saddr 127.0.0.0/8 oifname \"%s\" masquerade", nw->bridge);
                add_jump(d, B_POSTROUTING, NULL, post->name);

                free(what);
                if (asprintf(&what, "network %s (forwarding)", nw->name) < 0) {
                        what = NULL;
                        return -ENOMEM;
                }
                fwd = add_chain(d, "fw", nw->name, what);
                if (!fwd)
                        return -ENOMEM;
                if (nw->subnet.family) {
                        rule(fwd, "ip saddr %s accept", s);
                        rule(fwd, "ip daddr %s ct state established,related accept", s);
                        rule(fwd, "ip daddr %s ct status dnat accept", s);
                }
                if (nw->subnet6.family) {
                        rule(fwd, "ip6 saddr %s accept", s6);
                        rule(fwd, "ip6 daddr %s ct state established,related accept", s6);
                        rule(fwd, "ip6 daddr %s ct status dnat accept", s6);
                }
                add_jump(d, B_FORWARD, NULL, fwd->name);
        }

        for (size_t i = 0; i < cfg->n_netns; i++) {
                const Netns *ns = &cfg->netns[i];
                _cleanup_free_ char *what = NULL;
                const Cidr *a4, *a6;
                Chain *pub;

                if (ns->n_ports == 0 || ns->n_attachments == 0)
                        continue;
                a4 = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET);
                a6 = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET6);
                {
                        Buf w = {};

                        bprintf(&w, "namespace %s (published ports", ns->name);
                        for (size_t j = 0; j < ns->n_ports; j++)
                                bprintf(&w, "%s%u->%u/%s", j ? ", " : " ", ns->ports[j].host_port, ns->ports[j].port,
                                        ns->ports[j].proto == IPPROTO_UDP ? "udp" : "tcp");
                        bprintf(&w, ")");
                        what = w.s;
                        if (!what)
                                return -ENOMEM;
                }
                pub = add_chain(d, "pub", ns->name, what);
                if (!pub)
                        return -ENOMEM;
                for (size_t j = 0; j < ns->n_ports; j++) {
                        const Port *p = &ns->ports[j];
                        const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";

                        if (a4)
                                rule(pub, "meta nfproto ipv4 %s dport %u dnat ip to %s:%u", proto, p->host_port,
                                     cidr_format(a4, false, a), p->port);
                        if (a6)
                                rule(pub, "meta nfproto ipv6 %s dport %u dnat ip6 to [%s]:%u", proto, p->host_port,
                                     cidr_format(a6, false, a), p->port);
                }
                /* From outside and from other namespaces (prerouting), and from
                 * the host itself (output), to any of the host's addresses. */
                add_jump(d, B_PREROUTING, "fib daddr type local", pub->name);
                add_jump(d, B_OUTPUT, "fib daddr type local", pub->name);
        }
        return 0;
}

/* --- the table as the kernel has it ---------------------------------------- */

typedef struct SeenRule {
        uint64_t handle;
        char *expr;            /* the rule's expressions as JSON: its fingerprint */
        char *jump;            /* target if the rule is a jump */
} SeenRule;

typedef struct SeenChain {
        char *name;
        SeenRule *rules;
        size_t n;
} SeenChain;

typedef struct Seen {
        bool table;
        SeenChain *chains;
        size_t n;
} Seen;

static void seen_done(Seen *s) {
        for (size_t i = 0; i < s->n; i++) {
                for (size_t j = 0; j < s->chains[i].n; j++) {
                        free(s->chains[i].rules[j].expr);
                        free(s->chains[i].rules[j].jump);
                }
                free(s->chains[i].rules);
                free(s->chains[i].name);
        }
        free(s->chains);
        *s = (Seen) {};
}

static SeenChain *seen_chain(const Seen *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->chains[i].name, name))
                        return &s->chains[i];
        return NULL;
}

/* libnftables exits the process when it cannot open its netlink socket
 * (netlink_init_error()): find out first, and say it in a sentence. */
static int nft_available(NmError *err) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

        if (fd < 0)
                return nm_error(err, -errno == -EPROTONOSUPPORT ? -EOPNOTSUPP : negative_errno(),
                                "this kernel has no nftables (CONFIG_NF_TABLES), which networks need for NAT: %m");
        close(fd);
        return 0;
}

static int nft_run(const char *cmd, bool json, char **ret_out, char **ret_err) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        int r;

        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;
        if (json)
                nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return -ENOMEM;
        r = nft_run_cmd_from_buffer(ctx, cmd);
        if (ret_out)
                *ret_out = strdup(nft_ctx_get_output_buffer(ctx) ?: "");
        if (ret_err)
                *ret_err = strdup(nft_ctx_get_error_buffer(ctx) ?: "");
        return r == 0 ? 0 : -EIO;
}

static const char *jget_str(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : NULL;
}

static char *find_jump(json_object *expr) {
        for (size_t i = 0; i < json_object_array_length(expr); i++) {
                json_object *e = json_object_array_get_idx(expr, i), *j;

                if (json_object_object_get_ex(e, "jump", &j) && jget_str(j, "target"))
                        return strdup(jget_str(j, "target"));
        }
        return NULL;
}

static int observe(Seen *ret, NmError *err) {
        _cleanup_free_ char *out = NULL, *errs = NULL;
        json_object *root = NULL, *items;
        Seen s = {};
        int r;

        r = nft_run("list table " TABLE, true, &out, &errs);
        if (r < 0) {
                if (errs && (strstr(errs, "No such file or directory") || strstr(errs, "does not exist"))) {
                        *ret = s;
                        return 0;
                }
                if (errs && strstr(errs, "Operation not supported"))
                        return nm_error(err, -EOPNOTSUPP, "this kernel has no nftables NAT (CONFIG_NF_TABLES, CONFIG_NFT_NAT)");
                return nm_error(err, -EIO, "cannot read the nftables table %s: %s", TABLE,
                                errs && *errs ? errs : "nft failed");
        }
        root = json_tokener_parse(out);
        if (!root || !json_object_object_get_ex(root, "nftables", &items) ||
            !json_object_is_type(items, json_type_array)) {
                json_object_put(root);
                return nm_error(err, -EBADMSG, "cannot read the nftables table %s: unexpected output", TABLE);
        }
        s.table = true;
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *it = json_object_array_get_idx(items, i), *c, *rl, *expr, *h;

                if (json_object_object_get_ex(it, "chain", &c) && jget_str(c, "name")) {
                        SeenChain *nv = realloc(s.chains, (s.n + 1) * sizeof(SeenChain));
                        if (!nv)
                                break;
                        s.chains = nv;
                        nv[s.n++] = (SeenChain) { .name = strdup(jget_str(c, "name")) };
                } else if (json_object_object_get_ex(it, "rule", &rl) && jget_str(rl, "chain") &&
                           json_object_object_get_ex(rl, "expr", &expr)) {
                        SeenChain *sc = seen_chain(&s, jget_str(rl, "chain"));
                        SeenRule *nv;

                        if (!sc)
                                continue;
                        nv = realloc(sc->rules, (sc->n + 1) * sizeof(SeenRule));
                        if (!nv)
                                break;
                        sc->rules = nv;
                        nv[sc->n] = (SeenRule) {
                                .handle = json_object_object_get_ex(rl, "handle", &h) ? (uint64_t) json_object_get_int64(h) : 0,
                                .expr = strdup(json_object_to_json_string_ext(expr, JSON_C_TO_STRING_PLAIN)),
                                .jump = find_jump(expr),
                        };
                        sc->n++;
                }
        }
        json_object_put(root);
        *ret = s;
        return 0;
}

/* What the kernel lists for a chain, as one string. */
static char *fingerprint(const SeenChain *c) {
        Buf b = {};

        bprintf(&b, "%s", "");
        for (size_t i = 0; c && i < c->n; i++)
                bprintf(&b, "%s\n", c->rules[i].expr);
        return b.s;
}

/* --- the record in the state ----------------------------------------------- */

/* state.nat.chains.NAME = { "rules": [ ... ], "seen": "..." } */
static json_object *record_of(const State *state, const char *chain) {
        json_object *chains, *c;

        if (!state->nat || !json_object_object_get_ex(state->nat, "chains", &chains) ||
            !json_object_object_get_ex(chains, chain, &c))
                return NULL;
        return c;
}

static bool rules_match(json_object *rec, char **rules) {
        json_object *r;
        size_t n = strv_length(rules);

        if (!rec || !json_object_object_get_ex(rec, "rules", &r) || json_object_array_length(r) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(json_object_get_string(json_object_array_get_idx(r, i)), rules[i]))
                        return false;
        return true;
}

static bool seen_matches(json_object *rec, const char *fp) {
        json_object *s;

        return rec && json_object_object_get_ex(rec, "seen", &s) && streq(json_object_get_string(s), fp ? fp : "");
}

static bool table_recorded(const State *state) {
        return state->nat != NULL;
}

/* --- planning ---------------------------------------------------------------- */

_printf_(2, 3) static void change(NatPlan *p, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) strv_extendv(&p->changes, fmt, ap);
        va_end(ap);
}

int nat_plan(const Config *cfg, const State *state, NatPlan *ret, NmError *err) {
        _cleanup_(natwant_done) NatWant d = {};
        _cleanup_(seen_done) Seen seen = {};
        NatPlan p = {};
        Buf b = {};
        int r;

        r = build_desired(cfg, &d);
        if (r < 0)
                return r;
        /* No network, and none before: nftables is none of our business. */
        if (d.n == 0 && !table_recorded(state)) {
                *ret = p;
                return 0;
        }
        r = nft_available(err);
        if (r < 0)
                return r;
        r = observe(&seen, err);
        if (r < 0)
                return r;

        if (d.n == 0) {
                /* Nothing declared: the table goes, if it is the one we made;
                 * a record of a table that is gone already (a tear-down
                 * killed half-way) is forgotten. */
                p.forget_record = !seen.table && table_recorded(state);
                if (seen.table && table_recorded(state)) {
                        bprintf(&b, "delete table " TABLE "\n");
                        change(&p, "nat: remove table %s (no network declared)", TABLE);
                        p.remove_table = true;
                }
                p.script = b.s;
                *ret = p;
                return 0;
        }

        if (!seen.table) {
                bprintf(&b, "add table " TABLE "\n");
                if (table_recorded(state))
                        change(&p, "nat: restore table %s (it was deleted)", TABLE);
        }
        for (int i = 0; i < 4; i++)
                if (!seen_chain(&seen, base[i].name))
                        bprintf(&b, "add chain " TABLE " %s { %s }\n", base[i].name, base[i].spec);

        /* The owned chains: made, or written again when what we want or
         * what the kernel holds differs from the record. */
        for (size_t i = 0; i < d.n; i++) {
                const Chain *c = &d.chains[i];
                SeenChain *sc = seen_chain(&seen, c->name);
                _cleanup_free_ char *fp = fingerprint(sc);
                json_object *rec = record_of(state, c->name);

                if (sc && rules_match(rec, c->rules) && seen_matches(rec, fp))
                        continue;
                if (!sc)
                        bprintf(&b, "add chain " TABLE " %s\n", c->name);
                else
                        bprintf(&b, "flush chain " TABLE " %s\n", c->name);
                STRV_FOREACH(rl, c->rules)
                        bprintf(&b, "add rule " TABLE " %s %s\n", c->name, *rl);
                if (!rec)
                        change(&p, "nat: add the rules of %s", c->what);
                else if (rules_match(rec, c->rules))
                        change(&p, "nat: restore the rules of %s (changed outside nsmgr)", c->what);
                else
                        change(&p, "nat: update the rules of %s", c->what);
        }

        /* Jumps: exactly the wanted ones, each once. */
        for (int i = 0; i < 4; i++) {
                SeenChain *sc = seen_chain(&seen, base[i].name);
                _cleanup_strv_free_ char **have = NULL;

                for (size_t j = 0; sc && j < sc->n; j++) {
                        const SeenRule *sr = &sc->rules[j];

                        if (sr->jump && strv_contains(d.jump_targets[i], sr->jump) && !strv_contains(have, sr->jump)) {
                                (void) strv_extend(&have, sr->jump);
                                continue;
                        }
                        bprintf(&b, "delete rule " TABLE " %s handle %" PRIu64 "\n", base[i].name, sr->handle);
                }
                for (size_t j = 0; d.jumps[i] && d.jumps[i][j]; j++)
                        if (!strv_contains(have, d.jump_targets[i][j]))
                                bprintf(&b, "add rule " TABLE " %s %s\n", base[i].name, d.jumps[i][j]);
        }

        /* Chains of networks and namespaces that are gone. */
        for (size_t i = 0; i < seen.n; i++) {
                const char *name = seen.chains[i].name;
                bool wanted = false;

                for (int k = 0; k < 4; k++)
                        wanted = wanted || streq(name, base[k].name);
                for (size_t k = 0; k < d.n; k++)
                        wanted = wanted || streq(name, d.chains[k].name);
                if (wanted)
                        continue;
                bprintf(&b, "delete chain " TABLE " %s\n", name);
                change(&p, "nat: remove chain %s (no longer declared)", name);
        }

        /* Jump fixes alone are drift too: say so. */
        if (b.s && !p.changes)
                change(&p, "nat: restore the jumps in table %s (changed outside nsmgr)", TABLE);
        p.script = b.s;

        /* The record to keep once this is done: our rules, the ports. */
        p.record = json_object_new_object();
        {
                json_object *chains = json_object_new_object(), *ports = json_object_new_object();

                for (size_t i = 0; i < d.n; i++) {
                        json_object *c = json_object_new_object(), *rl = json_object_new_array();

                        STRV_FOREACH(x, d.chains[i].rules)
                                json_object_array_add(rl, json_object_new_string(*x));
                        json_object_object_add(c, "rules", rl);
                        json_object_object_add(chains, d.chains[i].name, c);
                }
                for (size_t i = 0; i < cfg->n_netns; i++) {
                        const Netns *ns = &cfg->netns[i];
                        const Cidr *a4;
                        json_object *l;
                        char a[CIDR_STRLEN];

                        if (ns->n_ports == 0 || ns->n_attachments == 0)
                                continue;
                        a4 = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET);
                        if (!a4)
                                a4 = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET6);
                        l = json_object_new_array();
                        for (size_t j = 0; j < ns->n_ports; j++) {
                                char *t;

                                if (asprintf(&t, "%u:%u/%s -> %s", ns->ports[j].host_port, ns->ports[j].port,
                                             ns->ports[j].proto == IPPROTO_UDP ? "udp" : "tcp",
                                             a4 ? cidr_format(a4, false, a) : "?") < 0)
                                        continue;
                                json_object_array_add(l, json_object_new_string(t));
                                free(t);
                        }
                        json_object_object_add(ports, ns->name, l);
                }
                json_object_object_add(p.record, "chains", chains);
                json_object_object_add(p.record, "ports", ports);
        }
        *ret = p;
        return 0;
}

void nat_plan_done(NatPlan *p) {
        free(p->script);
        strv_free(p->changes);
        json_object_put(p->record);
        *p = (NatPlan) {};
}

int nat_apply(const NatPlan *plan, State *state, NmError *err) {
        _cleanup_free_ char *errs = NULL;
        _cleanup_(seen_done) Seen seen = {};
        json_object *rec, *chains;
        int r;

        if (!plan->script)
                return 0;
        r = nft_run(plan->script, false, NULL, &errs);
        if (r < 0) {
                /* nft's first line says it; the rest points at the text. */
                if (errs && strchr(errs, '\n'))
                        *strchr(errs, '\n') = 0;
                return nm_error(err, r, "cannot write the nftables table %s: %s", TABLE,
                                errs && *errs ? errs : "nft failed");
        }
        if (plan->remove_table) {
                state_set_nat(state, NULL);
                (void) unlink(PORTS_FILE);
                return 0;
        }

        /* Record what we asked for and what the kernel lists for it now. */
        r = observe(&seen, err);
        if (r < 0)
                return r;
        rec = json_object_get(plan->record);
        if (json_object_object_get_ex(rec, "chains", &chains)) {
                json_object_object_foreach(chains, name, c) {
                        _cleanup_free_ char *fp = fingerprint(seen_chain(&seen, name));
                        json_object_object_add(c, "seen", json_object_new_string(fp ? fp : ""));
                }
        }
        state_set_nat(state, rec);
        {
                json_object *ports;
                const char *text;

                if (json_object_object_get_ex(rec, "ports", &ports)) {
                        text = json_object_to_json_string_ext(ports, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                        r = write_file_if_changed(PORTS_FILE, text, strlen(text), 0644);
                        if (r < 0)
                                return nm_error(err, r, "cannot write " PORTS_FILE ": %s", strerror(-r));
                }
        }
        return 0;
}

void nat_forget(State *state) {
        state_set_nat(state, NULL);
        (void) unlink(PORTS_FILE);
}

json_object *nat_ports_load(void) {
        _cleanup_free_ char *text = NULL;

        if (read_full_file(PORTS_FILE, &text, NULL) < 0)
                return NULL;
        return json_tokener_parse(text);
}

char **nat_ports_of(json_object *ports, const char *netns) {
        json_object *l;
        char **out = NULL;

        if (!ports || !json_object_object_get_ex(ports, netns, &l) || !json_object_is_type(l, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(l); i++)
                (void) strv_extend(&out, json_object_get_string(json_object_array_get_idx(l, i)));
        return out;
}

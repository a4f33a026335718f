/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "dlopen-nftables.h"
#include "fileio.h"
#include "jsonfile.h"
#include "nat-internal.h"
#include "nat.h"
#include "desired.h"
#include "nftjson.h"
#include "paths.h"
#include "strv.h"

#define TABLE NAT_FAMILY " " NAT_TABLE
#define PORTS_FILE NSMGR_RUN_DIR "/ports.json"

static const struct BaseChain {
        const char *name;
        const char *type;
        const char *hook;
        int prio;
} base[_NAT_BASE_MAX] = {
        [NAT_PREROUTING] = { "prerouting", "nat", "prerouting", -100 },  /* dstnat */
        [NAT_OUTPUT] = { "output", "nat", "output", -100 },
        [NAT_POSTROUTING] = { "postrouting", "nat", "postrouting", 100 }, /* srcnat */
        [NAT_FORWARD] = { "forward", "filter", "forward", 0 },           /* filter */
};

/* --- commands on our table --------------------------------------------------- */

static json_object *table_ref(void) {
        return nftj_obj("family", nftj_str(NAT_FAMILY), "name", nftj_str(NAT_TABLE), NULL);
}

static json_object *chain_ref(const char *name) {
        return nftj_obj("family", nftj_str(NAT_FAMILY), "table", nftj_str(NAT_TABLE), "name", nftj_str(name), NULL);
}

/* {"add": {"chain": {...}}} */
static json_object *command(const char *verb, const char *kind, json_object *o) {
        return nftj_obj(verb, nftj_obj(kind, o, NULL), NULL);
}

static json_object *base_chain(const struct BaseChain *b) {
        return nftj_obj("family", nftj_str(NAT_FAMILY), "table", nftj_str(NAT_TABLE), "name", nftj_str(b->name), "type",
                        nftj_str(b->type), "hook", nftj_str(b->hook), "prio", nftj_int(b->prio), "policy",
                        nftj_str("accept"), NULL);
}

static json_object *add_rule(const char *chain, json_object *expr) {
        return command("add", "rule",
                       nftj_obj("family", nftj_str(NAT_FAMILY), "table", nftj_str(NAT_TABLE), "chain", nftj_str(chain),
                                "expr", json_object_get(expr), NULL));
}

static json_object *delete_rule(const char *chain, uint64_t handle) {
        return command("delete", "rule",
                       nftj_obj("family", nftj_str(NAT_FAMILY), "table", nftj_str(NAT_TABLE), "chain", nftj_str(chain),
                                "handle", nftj_int((int64_t) handle), NULL));
}

/* --- the desired table ---------------------------------------------------- */

static uint32_t hash(const char *s) {
        uint32_t h = 2166136261u;

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

/* "nw-lab-3fa2c1": readable, unique by the hash. (JSON would carry any
 * name; a short, plain one is for the people who read `nft list`.) */
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

/* A chain's fingerprint: FNV-1a (64 bits) over the normal form of its
 * rules, one line each. Short enough to keep in state.json for thousands of
 * chains; a change by hand that keeps it is a 2^-64 accident. */
#define FP_INIT UINT64_C(14695981039346656037)

static uint64_t fp_add(uint64_t h, const char *s) {
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT64_C(1099511628211);
        return (h ^ (uint8_t) '\n') * UINT64_C(1099511628211);
}

static void fp_format(uint64_t h, char ret[static NAT_FP_LEN]) {
        snprintf(ret, NAT_FP_LEN, "%016" PRIx64, h);
}

void nat_desired_done(NatDesired *d) {
        for (size_t i = 0; i < d->n_chains; i++) {
                free(d->chains[i].name);
                free(d->chains[i].what);
        }
        free(d->chains);
        for (int b = 0; b < _NAT_BASE_MAX; b++) {
                for (size_t i = 0; i < d->n_jumps[b]; i++)
                        free(d->jumps[b][i].target);
                free(d->jumps[b]);
                strmap_done(&d->jump_index[b]);
        }
        json_object_put(d->ports);
        strmap_done(&d->chain_index);
        *d = (NatDesired) {};
}

/* A rule from its statements (taken over); NULL if one of them is. */
static json_object *rule_of(size_t n, json_object *const *stmts) {
        json_object *r = json_object_new_array_ext((int) n);
        bool ok = r != NULL;

        for (size_t i = 0; i < n; i++)
                ok = nftj_append(ok ? r : NULL, stmts[i]) && ok;
        if (!ok) {
                json_object_put(r);
                return NULL;
        }
        return r;
}
#define RULE(...) rule_of(ELEMENTSOF(((json_object *[]) { __VA_ARGS__ })), (json_object *[]) { __VA_ARGS__ })

static bool network_has_ports(const Config *cfg, const Network *nw) {
        for (size_t i = 0; i < cfg->n_netns; i++)
                if (cfg->netns[i].n_ports > 0 && cfg->netns[i].n_attachments > 0 &&
                    streq(cfg->netns[i].attachments[0].network, nw->name))
                        return true;
        return false;
}

static const char *proto_name(int proto) {
        return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* Masquerading of a network's subnet (ip: "ip" or "ip6"). */
static int masquerade_rules(const Network *nw, const Cidr *s, const char *ip, json_object *rules) {
        if (nw->masquerade) {
                /* What leaves the subnet (out of the uplink, if one is named). */
                json_object *r = nw->uplink
                        ? RULE(nftj_match("==", nftj_payload(ip, "saddr"), nftj_cidr(s)),
                               nftj_match("!=", nftj_payload(ip, "daddr"), nftj_cidr(s)),
                               nftj_match("==", nftj_meta("oifname"), nftj_str(nw->uplink)), nftj_masquerade())
                        : RULE(nftj_match("==", nftj_payload(ip, "saddr"), nftj_cidr(s)),
                               nftj_match("!=", nftj_payload(ip, "daddr"), nftj_cidr(s)), nftj_masquerade());

                if (!nftj_append(rules, r))
                        return -ENOMEM;
        }
        /* Hairpin: a published port reached from the same subnet. */
        return nftj_append(rules, RULE(nftj_match("in", nftj_ct("status"), nftj_str("dnat")),
                                       nftj_match("==", nftj_payload(ip, "saddr"), nftj_cidr(s)),
                                       nftj_match("==", nftj_payload(ip, "daddr"), nftj_cidr(s)), nftj_masquerade()))
                       ? 0 : -ENOMEM;
}

static int nw_rules(const Config *cfg, const Network *nw, json_object *rules) {
        int r;

        if (nw->subnet.family) {
                r = masquerade_rules(nw, &nw->subnet, "ip", rules);
                if (r < 0)
                        return r;
        }
        if (nw->subnet6.family) {
                r = masquerade_rules(nw, &nw->subnet6, "ip6", rules);
                if (r < 0)
                        return r;
        }
        /* The host's own 127.0.0.1:PORT, forwarded onto the bridge. */
        if (nw->subnet.family && network_has_ports(cfg, nw)) {
                Cidr lo;

                (void) cidr_parse("127.0.0.0/8", true, &lo);
                if (!nftj_append(rules, RULE(nftj_match("==", nftj_payload("ip", "saddr"), nftj_cidr(&lo)),
                                             nftj_match("==", nftj_meta("oifname"), nftj_str(nw->bridge)),
                                             nftj_masquerade())))
                        return -ENOMEM;
        }
        return 0;
}

/* Forwarding to and from a network's subnet (ip: "ip" or "ip6"). */
static int forward_rules(const Cidr *s, const char *ip, json_object *rules) {
        json_object *states = json_object_new_array();

        if (!nftj_append(states, nftj_str("established")) || !nftj_append(states, nftj_str("related"))) {
                json_object_put(states);
                states = NULL;
        }
        if (!nftj_append(rules, RULE(nftj_match("==", nftj_payload(ip, "saddr"), nftj_cidr(s)), nftj_verdict("accept"))) ||
            !nftj_append(rules, RULE(nftj_match("==", nftj_payload(ip, "daddr"), nftj_cidr(s)),
                                     nftj_match("in", nftj_ct("state"), states), nftj_verdict("accept"))) ||
            !nftj_append(rules, RULE(nftj_match("==", nftj_payload(ip, "daddr"), nftj_cidr(s)),
                                     nftj_match("in", nftj_ct("status"), nftj_str("dnat")), nftj_verdict("accept"))))
                return -ENOMEM;
        return 0;
}

static int fw_rules(const Network *nw, json_object *rules) {
        int r;

        if (nw->subnet.family) {
                r = forward_rules(&nw->subnet, "ip", rules);
                if (r < 0)
                        return r;
        }
        if (nw->subnet6.family)
                return forward_rules(&nw->subnet6, "ip6", rules);
        return 0;
}

static int pub_rules(const Config *cfg, const Netns *ns, json_object *rules) {
        const Cidr *a4 = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET);
        const Cidr *a6 = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET6);

        for (size_t j = 0; j < ns->n_ports; j++) {
                const Port *p = &ns->ports[j];
                const struct {
                        const Cidr *addr;
                        const char *nfproto;
                } to[] = { { a4, "ipv4" }, { a6, "ipv6" } };

                for (size_t k = 0; k < ELEMENTSOF(to); k++)
                        if (to[k].addr &&
                            !nftj_append(rules, RULE(nftj_match("==", nftj_meta("nfproto"), nftj_str(to[k].nfproto)),
                                                     nftj_match("==", nftj_payload(proto_name(p->proto), "dport"),
                                                                nftj_int(p->host_port)),
                                                     nftj_dnat(to[k].addr, p->port))))
                                return -ENOMEM;
        }
        return 0;
}

/* Rules are made when needed (for the fingerprint, for a write) and not
 * kept: json-c spends most of a KiB on each object, and thousands of
 * namespaces publishing ports would keep hundreds of MiB of them. */
json_object *nat_chain_rules(const NatDesired *d, const NatChain *c) {
        json_object *rules = json_object_new_array();
        int r;

        if (!rules)
                return NULL;
        switch (c->kind) {
        case NAT_CHAIN_NW:
                r = nw_rules(d->cfg, c->network, rules);
                break;
        case NAT_CHAIN_FW:
                r = fw_rules(c->network, rules);
                break;
        case NAT_CHAIN_PUB:
        default:
                r = pub_rules(d->cfg, c->netns, rules);
                break;
        }
        if (r < 0) {
                json_object_put(rules);
                return NULL;
        }
        return rules;
}

json_object *nat_jump_rule(const NatJump *j) {
        /* Published ports: to any of the host's own addresses. */
        if (j->local)
                return RULE(nftj_match("==", nftj_fib_daddr_type(), nftj_str("local")), nftj_jump(j->target));
        return RULE(nftj_jump(j->target));
}

static int rules_fingerprint(json_object *rules, char ret[static NAT_FP_LEN]) {
        uint64_t h = FP_INIT;

        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                _cleanup_free_ char *nf = nftj_rule_fingerprint(json_object_array_get_idx(rules, i));

                if (!nf)
                        return -ENOMEM;
                h = fp_add(h, nf);
        }
        fp_format(h, ret);
        return 0;
}

/* Takes what over. */
static int add_chain(NatDesired *d, NatChainKind kind, const char *prefix, const char *owner, char *what,
                     const Network *nw, const Netns *ns) {
        _cleanup_json_ json_object *rules = NULL;
        NatChain *c;

        if (!what)
                return -ENOMEM;
        if (GREEDY_REALLOC(d->chains, d->cap_chains, d->n_chains + 1) < 0) {
                free(what);
                return -ENOMEM;
        }
        c = &d->chains[d->n_chains];
        *c = (NatChain) { .name = chain_name(prefix, owner), .what = what, .kind = kind, .network = nw, .netns = ns };
        d->n_chains++;
        if (!c->name || strmap_put(&d->chain_index, c->name, d->n_chains - 1) < 0)
                return -ENOMEM;
        rules = nat_chain_rules(d, c);
        if (!rules)
                return -ENOMEM;
        return rules_fingerprint(rules, c->fingerprint);
}

static int add_jump(NatDesired *d, int b, const char *target, bool local) {
        NatJump *j;

        if (GREEDY_REALLOC(d->jumps[b], d->cap_jumps[b], d->n_jumps[b] + 1) < 0)
                return -ENOMEM;
        j = &d->jumps[b][d->n_jumps[b]];
        *j = (NatJump) { .target = strdup(target), .local = local };
        if (!j->target)
                return -ENOMEM;
        d->n_jumps[b]++;
        return strmap_put(&d->jump_index[b], target, d->n_jumps[b] - 1);
}

static int network_chains(const Network *nw, NatDesired *d) {
        char *what;
        int r;

        if (asprintf(&what, "network %s (%s%s%s%s)", nw->name, nw->masquerade ? "masquerading" : "no masquerading",
                     nw->uplink ? " out of " : "", nw->uplink ? nw->uplink : "", ", hairpin") < 0)
                what = NULL;
        r = add_chain(d, NAT_CHAIN_NW, "nw", nw->name, what, nw, NULL);
        if (r < 0)
                return r;
        r = add_jump(d, NAT_POSTROUTING, d->chains[d->n_chains - 1].name, false);
        if (r < 0)
                return r;
        if (asprintf(&what, "network %s (forwarding)", nw->name) < 0)
                what = NULL;
        r = add_chain(d, NAT_CHAIN_FW, "fw", nw->name, what, nw, NULL);
        if (r < 0)
                return r;
        return add_jump(d, NAT_FORWARD, d->chains[d->n_chains - 1].name, false);
}

static int append_text(char **s, const char *fmt, ...) _printf_(2, 3);
static int append_text(char **s, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        va_list ap;
        char *n;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (k < 0 || asprintf(&n, "%s%s", *s ? *s : "", add) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

static int port_chain(const Netns *ns, NatDesired *d) {
        char *what = NULL;
        int r;

        r = append_text(&what, "namespace %s (published ports", ns->name);
        for (size_t j = 0; r >= 0 && j < ns->n_ports; j++)
                r = append_text(&what, "%s%u->%u/%s", j ? ", " : " ", ns->ports[j].host_port, ns->ports[j].port,
                                proto_name(ns->ports[j].proto));
        if (r >= 0)
                r = append_text(&what, ")");
        if (r < 0) {
                free(what);
                return r;
        }
        r = add_chain(d, NAT_CHAIN_PUB, "pub", ns->name, what, NULL, ns);
        if (r < 0)
                return r;
        /* From outside and from other namespaces (prerouting), and from the
         * host itself (output). */
        r = add_jump(d, NAT_PREROUTING, d->chains[d->n_chains - 1].name, true);
        if (r < 0)
                return r;
        return add_jump(d, NAT_OUTPUT, d->chains[d->n_chains - 1].name, true);
}

/* The published ports, for show and list: "8080:80/tcp -> 198.18.20.2". */
static int ports_record(const Config *cfg, json_object **ret) {
        _cleanup_json_ json_object *ports = json_object_new_object();
        char a[CIDR_STRLEN];

        if (!ports)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_netns; i++) {
                const Netns *ns = &cfg->netns[i];
                const Cidr *addr;
                json_object *l;

                if (ns->n_ports == 0 || ns->n_attachments == 0)
                        continue;
                addr = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET);
                if (!addr)
                        addr = desired_address_of(cfg, ns->name, ns->attachments[0].network, AF_INET6);
                l = json_object_new_array();
                if (!l || json_object_object_add(ports, ns->name, l) < 0) {
                        json_object_put(l);
                        return -ENOMEM;
                }
                for (size_t j = 0; j < ns->n_ports; j++) {
                        _cleanup_free_ char *t = NULL;

                        if (asprintf(&t, "%u:%u/%s -> %s", ns->ports[j].host_port, ns->ports[j].port,
                                     proto_name(ns->ports[j].proto), addr ? cidr_format(addr, false, a) : "?") < 0 ||
                            !nftj_append(l, nftj_str(t)))
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(ports);
        return 0;
}

int nat_desired(const Config *cfg, NatDesired *ret) {
        _cleanup_(nat_desired_done) NatDesired d = { .cfg = cfg };
        int r;

        for (size_t k = 0; k < cfg->n_networks; k++) {
                r = network_chains(&cfg->networks[k], &d);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < cfg->n_netns; i++) {
                if (cfg->netns[i].n_ports == 0 || cfg->netns[i].n_attachments == 0)
                        continue;
                r = port_chain(&cfg->netns[i], &d);
                if (r < 0)
                        return r;
        }
        r = ports_record(cfg, &d.ports);
        if (r < 0)
                return r;
        *ret = d;
        d = (NatDesired) {};
        return 0;
}

/* --- the table as the kernel lists it -------------------------------------- */

void nat_seen_done(NatSeen *s) {
        for (size_t i = 0; i < s->n_chains; i++) {
                for (size_t j = 0; j < s->chains[i].n_rules; j++)
                        free(s->chains[i].rules[j].jump);
                free(s->chains[i].rules);
                free(s->chains[i].name);
        }
        free(s->chains);
        strmap_done(&s->chain_index);
        *s = (NatSeen) {};
}

static NatSeenChain *seen_chain(const NatSeen *s, const char *name) {
        size_t i;

        return strmap_get(&s->chain_index, name, &i) ? &s->chains[i] : NULL;
}

/* Whether an item of the listing belongs to our table. */
static bool ours(json_object *o) {
        return streq_ptr(json_get_string(o, "family"), NAT_FAMILY) && streq_ptr(json_get_string(o, "table"), NAT_TABLE);
}

/* The target of the rule's jump, if it has one. */
static int find_jump(json_object *expr, char **ret) {
        for (size_t i = 0; i < json_object_array_length(expr); i++) {
                json_object *j;
                const char *t;

                if (!json_object_object_get_ex(json_object_array_get_idx(expr, i), "jump", &j))
                        continue;
                t = json_get_string(j, "target");
                if (!t)
                        continue;
                *ret = strdup(t);
                return *ret ? 0 : -ENOMEM;
        }
        *ret = NULL;
        return 0;
}

static int seen_add_rule(NatSeen *s, json_object *rule) {
        _cleanup_free_ char *nf = NULL;
        json_object *expr, *h;
        NatSeenChain *c;
        NatSeenRule nr = {};

        c = seen_chain(s, json_get_string(rule, "chain") ?: "");
        if (!c || !json_object_object_get_ex(rule, "expr", &expr) || !json_object_is_type(expr, json_type_array))
                return 0;
        nr.handle = json_object_object_get_ex(rule, "handle", &h) ? (uint64_t) json_object_get_int64(h) : 0;
        nf = nftj_rule_fingerprint(expr);
        if (!nf || find_jump(expr, &nr.jump) < 0)
                return -ENOMEM;
        if (GREEDY_REALLOC(c->rules, c->cap_rules, c->n_rules + 1) < 0) {
                free(nr.jump);
                return -ENOMEM;
        }
        c->rules[c->n_rules++] = nr;
        c->hash = fp_add(c->hash, nf);
        return 0;
}

int nat_seen_parse(json_object *listing, NatSeen *ret) {
        _cleanup_(nat_seen_done) NatSeen s = {};
        json_object *items;
        int r;

        if (!listing) {
                *ret = s;
                return 0;
        }
        if (!json_object_object_get_ex(listing, "nftables", &items) || !json_object_is_type(items, json_type_array))
                return -EBADMSG;
        s.table = true;
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *it = json_object_array_get_idx(items, i), *o;

                if (json_object_object_get_ex(it, "chain", &o) && ours(o) && json_get_string(o, "name")) {
                        NatSeenChain *c;

                        if (GREEDY_REALLOC(s.chains, s.cap_chains, s.n_chains + 1) < 0)
                                return -ENOMEM;
                        c = &s.chains[s.n_chains];
                        *c = (NatSeenChain) { .name = strdup(json_get_string(o, "name")), .hash = FP_INIT };
                        if (!c->name || strmap_put(&s.chain_index, c->name, s.n_chains) < 0) {
                                free(c->name);
                                return -ENOMEM;
                        }
                        s.n_chains++;
                } else if (json_object_object_get_ex(it, "rule", &o) && ours(o)) {
                        r = seen_add_rule(&s, o);
                        if (r < 0)
                                return r;
                }
        }
        *ret = s;
        s = (NatSeen) {};
        return 0;
}

void nat_seen_fingerprint(const NatSeenChain *c, char ret[static NAT_FP_LEN]) {
        fp_format(c ? c->hash : FP_INIT, ret);
}

/* --- planning ---------------------------------------------------------------- */

/* state.nat.chains.NAME = { "want": FP, "seen": FP }: the fingerprint of
 * the rules nsmgr wrote and, only where it differs, of what the kernel
 * then listed. */
static json_object *record_of(json_object *recorded, const char *chain) {
        json_object *chains, *c;

        if (!recorded || !json_object_object_get_ex(recorded, "chains", &chains) ||
            !json_object_object_get_ex(chains, chain, &c))
                return NULL;
        return c;
}

static bool is_base(const char *name) {
        for (int b = 0; b < _NAT_BASE_MAX; b++)
                if (streq(name, base[b].name))
                        return true;
        return false;
}

static bool is_wanted(const NatDesired *d, const char *name) {
        return strmap_get(&d->chain_index, name, NULL);
}

static bool jump_wanted(const NatDesired *d, int b, const char *target) {
        return strmap_get(&d->jump_index[b], target, NULL);
}

typedef struct Planner {
        json_object *cmds;
        char **changes;
        size_t n_changes, cap_changes;
        bool oom;
} Planner;

static void cmd(Planner *p, json_object *c) {
        if (!nftj_append(p->cmds, c))
                p->oom = true;
}

static void change(Planner *p, const char *fmt, ...) _printf_(2, 3);
static void change(Planner *p, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        /* Counted here: strv_extend() would count the list each time. */
        if (GREEDY_REALLOC(p->changes, p->cap_changes, p->n_changes + 2) < 0 ||
            vasprintf(&p->changes[p->n_changes], fmt, ap) < 0) {
                if (p->changes)
                        p->changes[p->n_changes] = NULL;
                p->oom = true;
        } else
                p->changes[++p->n_changes] = NULL;
        va_end(ap);
}

/* A chain is as wanted when the record says nsmgr wrote these rules and
 * the kernel lists them, in normal form, as wanted, or as it listed them
 * right after nsmgr wrote them (should a future nft list them in a way the
 * normal form does not foresee, a re-apply still writes nothing). */
static int plan_chain(Planner *p, const NatDesired *d, const NatChain *c, const NatSeen *seen, json_object *recorded) {
        const NatSeenChain *sc = seen_chain(seen, c->name);
        json_object *rec = record_of(recorded, c->name);
        const char *rec_want = json_get_string(rec, "want"), *rec_seen = json_get_string(rec, "seen");
        _cleanup_json_ json_object *rules = NULL;
        char listed[NAT_FP_LEN];

        nat_seen_fingerprint(sc, listed);
        if (sc && streq_ptr(rec_want, c->fingerprint) &&
            (streq(listed, c->fingerprint) || streq_ptr(rec_seen, listed)))
                return 0;

        rules = nat_chain_rules(d, c);
        if (!rules)
                return -ENOMEM;
        cmd(p, command(sc ? "flush" : "add", "chain", chain_ref(c->name)));
        for (size_t i = 0; i < json_object_array_length(rules); i++)
                cmd(p, add_rule(c->name, json_object_array_get_idx(rules, i)));
        if (!rec)
                change(p, "nat: add the rules of %s", c->what);
        else if (streq_ptr(rec_want, c->fingerprint))
                change(p, "nat: restore the rules of %s (changed outside nsmgr)", c->what);
        else
                change(p, "nat: update the rules of %s", c->what);
        return 0;
}

/* Exactly the wanted jumps in each base chain, each once. */
static int plan_jumps(Planner *p, const NatDesired *d, const NatSeen *seen, int b) {
        const NatSeenChain *sc = seen_chain(seen, base[b].name);
        _cleanup_(strmap_done) StrMap have = {};

        for (size_t j = 0; sc && j < sc->n_rules; j++) {
                const NatSeenRule *sr = &sc->rules[j];

                if (sr->jump && jump_wanted(d, b, sr->jump) && !strmap_get(&have, sr->jump, NULL)) {
                        if (strmap_put(&have, sr->jump, j) < 0)
                                return -ENOMEM;
                        continue;
                }
                cmd(p, delete_rule(base[b].name, sr->handle));
        }
        for (size_t j = 0; j < d->n_jumps[b]; j++)
                if (!strmap_get(&have, d->jumps[b][j].target, NULL)) {
                        _cleanup_json_ json_object *rule = nat_jump_rule(&d->jumps[b][j]);

                        if (!rule)
                                return -ENOMEM;
                        cmd(p, add_rule(base[b].name, rule));
                }
        return 0;
}

static int plan_record(const NatDesired *d, json_object **ret) {
        _cleanup_json_ json_object *rec = NULL;
        json_object *chains = json_object_new_object();

        rec = nftj_obj("chains", chains, "ports", json_object_get(d->ports), NULL);
        if (!rec)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_chains; i++)
                if (json_object_object_add(chains, d->chains[i].name,
                                           nftj_obj("want", nftj_str(d->chains[i].fingerprint), NULL)) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(rec);
        return 0;
}

int nat_plan_compute(const NatDesired *d, const NatSeen *seen, json_object *recorded, NatPlan *ret) {
        Planner p = { .cmds = json_object_new_array() };
        NatPlan plan = {};
        int r = 0;

        if (!p.cmds)
                return -ENOMEM;

        if (d->n_chains == 0) {
                /* Nothing declared: the table goes, if it is the one we made;
                 * a record of a table that is gone already (a tear-down
                 * killed half-way) is forgotten. */
                plan.forget_record = !seen->table && recorded;
                if (seen->table && recorded) {
                        cmd(&p, command("delete", "table", table_ref()));
                        change(&p, "nat: remove table %s (no network declared)", TABLE);
                        plan.remove_table = true;
                }
                goto done;
        }

        if (!seen->table) {
                cmd(&p, command("add", "table", table_ref()));
                if (recorded)
                        change(&p, "nat: restore table %s (it was deleted)", TABLE);
        }
        for (int b = 0; b < _NAT_BASE_MAX; b++)
                if (!seen_chain(seen, base[b].name))
                        cmd(&p, command("add", "chain", base_chain(&base[b])));

        /* The owned chains: made, or written again when what we want or
         * what the kernel holds differs from the record. */
        for (size_t i = 0; r >= 0 && i < d->n_chains; i++)
                r = plan_chain(&p, d, &d->chains[i], seen, recorded);
        /* Jumps before chains are deleted: a chain jumped to cannot go. */
        for (int b = 0; r >= 0 && b < _NAT_BASE_MAX; b++)
                r = plan_jumps(&p, d, seen, b);
        if (r < 0)
                goto fail;

        /* Chains of networks and namespaces that are gone. */
        for (size_t i = 0; i < seen->n_chains; i++) {
                const char *name = seen->chains[i].name;

                if (is_base(name) || is_wanted(d, name))
                        continue;
                cmd(&p, command("delete", "chain", chain_ref(name)));
                change(&p, "nat: remove chain %s (no longer declared)", name);
        }

        /* Jump fixes alone are drift too: say so. */
        if (json_object_array_length(p.cmds) > 0 && !p.changes)
                change(&p, "nat: restore the jumps in table %s (changed outside nsmgr)", TABLE);

        r = plan_record(d, &plan.record);
        if (r < 0)
                goto fail;
done:
        if (p.oom) {
                r = -ENOMEM;
                goto fail;
        }
        if (json_object_array_length(p.cmds) > 0) {
                plan.commands = nftj_obj("nftables", TAKE_PTR(p.cmds), NULL);
                if (!plan.commands) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        json_object_put(p.cmds);
        plan.changes = TAKE_PTR(p.changes);
        *ret = plan;
        return 0;
fail:
        json_object_put(p.cmds);
        strv_free(p.changes);
        nat_plan_done(&plan);
        return r;
}

/* --- libnftables ------------------------------------------------------------- */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, sym_nft_ctx_free);

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

/* Runs commands given as JSON; the output (a JSON listing) and the error
 * text, if asked for. Call nft_available() and dlopen_nftables() first. */
static int nft_run(json_object *cmds, char **ret_out, char **ret_err) {
        _cleanup_(sym_nft_ctx_freep) struct nft_ctx *ctx = NULL;
        const char *text;
        int r;

        text = json_object_to_json_string_ext(cmds, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        ctx = sym_nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;
        /* JSON in, JSON out: before 1.0.9 the output flag is what makes
         * libnftables read JSON. */
        if (sym_nft_ctx_input_set_flags)
                (void) sym_nft_ctx_input_set_flags(ctx, NSMGR_NFT_CTX_INPUT_JSON);
        sym_nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
        if (sym_nft_ctx_buffer_output(ctx) < 0 || sym_nft_ctx_buffer_error(ctx) < 0)
                return -ENOMEM;
        r = sym_nft_run_cmd_from_buffer(ctx, text);
        if (ret_out) {
                *ret_out = strdup(sym_nft_ctx_get_output_buffer(ctx) ?: "");
                if (!*ret_out)
                        return -ENOMEM;
        }
        if (ret_err) {
                *ret_err = strdup(sym_nft_ctx_get_error_buffer(ctx) ?: "");
                if (!*ret_err)
                        return -ENOMEM;
        }
        return r == 0 ? 0 : -EIO;
}

/* nft's error text, for a sentence: its first line, from "Error:" on (the
 * location before it points into a buffer nobody sees). */
static const char *nft_error_text(char *errs) {
        char *e;

        if (!errs || !*errs)
                return "nft failed";
        errs[strcspn(errs, "\n")] = 0;
        e = strstr(errs, "Error: ");
        return e ? e + strlen("Error: ") : errs;
}

/* {"nftables": [c]} */
static json_object *one_command(json_object *c) {
        json_object *a = json_object_new_array();

        if (!nftj_append(a, c)) {
                json_object_put(a);
                return NULL;
        }
        return nftj_obj("nftables", a, NULL);
}

/* Whether inet nsmgr exists, from the names of the inet tables: to tell a
 * missing table from a listing that failed without reading nft's message. */
static int table_exists(bool *ret) {
        _cleanup_json_ json_object *cmds = NULL, *root = NULL;
        _cleanup_free_ char *out = NULL;
        json_object *items;
        int r;

        cmds = one_command(nftj_obj("list", nftj_obj("tables", nftj_obj("family", nftj_str(NAT_FAMILY), NULL), NULL),
                                    NULL));
        if (!cmds)
                return -ENOMEM;
        r = nft_run(cmds, &out, NULL);
        if (r < 0)
                return r;
        root = json_tokener_parse(out);
        if (!root || !json_object_object_get_ex(root, "nftables", &items) ||
            !json_object_is_type(items, json_type_array))
                return -EBADMSG;
        *ret = false;
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *t;

                if (json_object_object_get_ex(json_object_array_get_idx(items, i), "table", &t) &&
                    streq_ptr(json_get_string(t, "family"), NAT_FAMILY) &&
                    streq_ptr(json_get_string(t, "name"), NAT_TABLE))
                        *ret = true;
        }
        return 0;
}

/* Our table as JSON; NULL if there is none. */
static int nft_list_table(json_object **ret, NmError *err) {
        _cleanup_json_ json_object *cmds = NULL;
        _cleanup_free_ char *out = NULL, *errs = NULL;
        json_object *root;
        bool exists = true;
        int r;

        cmds = one_command(nftj_obj("list", nftj_obj("table", table_ref(), NULL), NULL));
        if (!cmds)
                return -ENOMEM;
        r = nft_run(cmds, &out, &errs);
        if (r == -EIO) {
                if (table_exists(&exists) >= 0 && !exists) {
                        *ret = NULL;
                        return 0;
                }
                return nm_error(err, r, "cannot read the nftables table %s: %s", TABLE, nft_error_text(errs));
        }
        if (r < 0)
                return r;
        root = json_tokener_parse(out);
        if (!root)
                return nm_error(err, -EBADMSG, "cannot read the nftables table %s: nft listed something that is not JSON",
                                TABLE);
        *ret = root;
        return 0;
}

static int observe(NatSeen *ret, NmError *err) {
        _cleanup_json_ json_object *listing = NULL;
        int r;

        r = nft_list_table(&listing, err);
        if (r < 0)
                return r;
        r = nat_seen_parse(listing, ret);
        if (r == -EBADMSG)
                return nm_error(err, r, "cannot read the nftables table %s: unexpected output", TABLE);
        return r;
}

static json_object *state_record(const State *state) {
        return state->nat;
}

int nat_plan(const Config *cfg, const State *state, NatPlan *ret, NmError *err) {
        _cleanup_(nat_desired_done) NatDesired d = {};
        _cleanup_(nat_seen_done) NatSeen seen = {};
        json_object *recorded = state_record(state);
        int r;

        r = nat_desired(cfg, &d);
        if (r < 0)
                return r;
        /* No network, and none before: nftables is none of our business,
         * and libnftables is not even loaded. */
        if (d.n_chains == 0 && !recorded) {
                *ret = (NatPlan) {};
                return 0;
        }
        r = nft_available(err);
        if (r < 0)
                return r;
        r = dlopen_nftables(err);
        if (r < 0)
                return r;
        r = observe(&seen, err);
        if (r < 0)
                return r;
        return nat_plan_compute(&d, &seen, recorded, ret);
}

void nat_plan_done(NatPlan *p) {
        json_object_put(p->commands);
        strv_free(p->changes);
        json_object_put(p->record);
        *p = (NatPlan) {};
}

/* What the kernel lists right after the write, where it differs from what
 * was wanted (in normal form, it should not). */
static int record_seen(json_object *rec, const NatSeen *seen) {
        json_object *chains;

        if (!json_object_object_get_ex(rec, "chains", &chains))
                return 0;
        json_object_object_foreach(chains, name, c) {
                char fp[NAT_FP_LEN];

                nat_seen_fingerprint(seen_chain(seen, name), fp);
                if (streq_ptr(json_get_string(c, "want"), fp))
                        json_object_object_del(c, "seen");
                else if (json_object_object_add(c, "seen", nftj_str(fp)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int nat_apply(const NatPlan *plan, State *state, NmError *err) {
        _cleanup_free_ char *errs = NULL;
        _cleanup_(nat_seen_done) NatSeen seen = {};
        json_object *ports;
        int r;

        if (!plan->commands)
                return 0;
        r = dlopen_nftables(err);
        if (r < 0)
                return r;
        r = nft_run(plan->commands, NULL, &errs);
        if (r == -EIO)
                return nm_error(err, r, "cannot write the nftables table %s: %s", TABLE, nft_error_text(errs));
        if (r < 0)
                return r;
        if (plan->remove_table) {
                nat_forget(state);
                return 0;
        }

        /* Record what we asked for and what the kernel lists for it now. */
        r = observe(&seen, err);
        if (r < 0)
                return r;
        r = record_seen(plan->record, &seen);
        if (r < 0)
                return r;
        state_set_nat(state, json_object_get(plan->record));
        if (json_object_object_get_ex(plan->record, "ports", &ports)) {
                const char *text = json_object_to_json_string_ext(ports, JSON_C_TO_STRING_PLAIN |
                                                                                JSON_C_TO_STRING_NOSLASHESCAPE);

                r = write_file_if_changed(PORTS_FILE, text, strlen(text), 0644);
                if (r < 0)
                        return nm_error(err, r, "cannot write " PORTS_FILE ": %s", strerror(-r));
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

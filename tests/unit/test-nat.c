/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NAT as libnftables JSON: what a config asks for, the plan against a real
 * listing (tests/unit/data/, as `nft -j list table inet nsmgr` printed it
 * for the config two_networks() builds), and the normal form that compares
 * the two. No root, no kernel, no libnftables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>

#include "config-internal.h"
#include "config.h"
#include "fileio.h"
#include "jsonfile.h"
#include "nat-internal.h"
#include "nftjson.h"
#include "strv.h"

#define LISTING "tests/unit/data/nat-listing-two-networks.json"

/* --- configs as networks_expand() leaves them ------------------------------- */

typedef struct TestNet {
        const char *name, *bridge, *subnet, *subnet6, *uplink;
        bool masquerade;
} TestNet;

typedef struct TestNs {
        const char *name, *network, *addr, *addr6;
        const char *ports[4];
} TestNs;

static Cidr C(const char *s) {
        Cidr c;

        assert_int_equal(cidr_parse(s, strchr(s, '/') != NULL, &c), 0);
        return c;
}

static Config *make_config(const TestNet *nets, size_t n_nets, const TestNs *nss, size_t n_nss) {
        Config *c = calloc(1, sizeof(Config));

        assert_non_null(c);
        c->networks = calloc(n_nets, sizeof(Network));
        c->netns = calloc(n_nss, sizeof(Netns));
        assert_true(c->networks && c->netns);
        for (size_t i = 0; i < n_nets; i++) {
                Network *nw = &c->networks[c->n_networks++];

                nw->name = strdup(nets[i].name);
                nw->bridge = strdup(nets[i].bridge);
                nw->uplink = nets[i].uplink ? strdup(nets[i].uplink) : NULL;
                nw->masquerade = nets[i].masquerade;
                if (nets[i].subnet)
                        nw->subnet = C(nets[i].subnet);
                if (nets[i].subnet6)
                        nw->subnet6 = C(nets[i].subnet6);
        }
        for (size_t i = 0; i < n_nss; i++) {
                Netns *ns = &c->netns[c->n_netns++];
                Iface *eth0;

                ns->name = strdup(nss[i].name);
                if (!nss[i].network)
                        continue;
                ns->attachments = calloc(1, sizeof(Attachment));
                ns->ifaces = calloc(1, sizeof(Iface));
                ns->ports = calloc(ELEMENTSOF(nss[i].ports), sizeof(Port));
                assert_true(ns->attachments && ns->ifaces && ns->ports);
                ns->attachments[0].network = strdup(nss[i].network);
                ns->n_attachments = 1;
                /* The veth the network's expansion adds, with its leases. */
                eth0 = &ns->ifaces[ns->n_ifaces++];
                eth0->name = strdup("eth0");
                eth0->network = strdup(nss[i].network);
                eth0->addresses = calloc(2, sizeof(Cidr));
                assert_non_null(eth0->addresses);
                if (nss[i].addr)
                        eth0->addresses[eth0->n_addresses++] = C(nss[i].addr);
                if (nss[i].addr6)
                        eth0->addresses[eth0->n_addresses++] = C(nss[i].addr6);
                for (size_t j = 0; j < ELEMENTSOF(nss[i].ports) && nss[i].ports[j]; j++)
                        assert_int_equal(port_parse(nss[i].ports[j], &ns->ports[ns->n_ports++]), 0);
        }
        return c;
}

static const TestNet LAB = { "lab", "br-lab", "198.18.20.0/24", "fd00:20::/64", "up0", true };
static const TestNet LAB2 = { "lab2", "br-lab2", "198.18.23.0/24", NULL, NULL, true };
static const TestNs WEB = { "web", "lab", "198.18.20.2/24", "fd00:20::2/64", { "8080:80/tcp", "5353:53/udp" } };
static const TestNs DB = { "db", "lab2", "198.18.23.2/24", NULL, { "5433:5432/tcp" } };

/* The config the listing in tests/unit/data/ was made from. */
static Config *two_networks(void) {
        return make_config((TestNet[]) { LAB, LAB2 }, 2, (TestNs[]) { WEB, DB }, 2);
}

static Config *one_network(void) {
        return make_config((TestNet[]) { LAB }, 1, (TestNs[]) { WEB }, 1);
}

static json_object *J(const char *text) {
        json_object *o = json_tokener_parse(text);

        if (!o)
                fail_msg("not JSON: %s", text);
        return o;
}

static void assert_json_equal(json_object *got, const char *want) {
        json_object *w = J(want);

        if (!json_object_equal(got, w))
                fail_msg("JSON differs:\n got: %s\nwant: %s", json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN),
                         json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN));
        json_object_put(w);
}

static const NatChain *find_chain(const NatDesired *d, const char *prefix) {
        for (size_t i = 0; i < d->n_chains; i++)
                if (strneq(d->chains[i].name, prefix, strlen(prefix)))
                        return &d->chains[i];
        fail_msg("no chain %s*", prefix);
        return NULL;
}

static json_object *listing(void) {
        _cleanup_free_ char *text = NULL;

        assert_int_equal(read_full_file(LISTING, &text, NULL), 0);
        return J(text);
}

/* The plan's commands, one line each: "add rule nw-lab-6092f4". */
static char **summary(const NatPlan *p) {
        json_object *cmds;
        char **out = NULL;

        if (!p->commands)
                return NULL;
        assert_true(json_object_object_get_ex(p->commands, "nftables", &cmds));
        for (size_t i = 0; i < json_object_array_length(cmds); i++) {
                json_object_object_foreach(json_object_array_get_idx(cmds, i), verb, what) {
                        json_object_object_foreach(what, kind, o) {
                                const char *name = json_get_string(o, kind[0] == 'r' ? "chain" : "name");
                                json_object *h;

                                if (json_object_object_get_ex(o, "handle", &h))
                                        assert_int_equal(strv_extendf(&out, "%s %s %s %" PRId64, verb, kind, name,
                                                                      json_object_get_int64(h)),
                                                         0);
                                else
                                        assert_int_equal(strv_extendf(&out, "%s %s%s%s", verb, kind, name ? " " : "",
                                                                      name ? name : ""),
                                                         0);
                        }
                }
        }
        return out;
}

static void assert_strv(char **got, const char *const *want) {
        size_t i;

        for (i = 0; want[i]; i++) {
                if (!got || !got[i])
                        fail_msg("line %zu: missing, want '%s'", i, want[i]);
                if (!streq(got[i], want[i]))
                        fail_msg("line %zu: got '%s', want '%s'", i, got[i], want[i]);
        }
        if (got && got[i])
                fail_msg("line %zu: got '%s', want nothing more", i, got[i]);
}

/* What the state records after a first apply of cfg. */
static json_object *record_after_apply(const Config *cfg) {
        _cleanup_(nat_desired_done) NatDesired d = {};
        NatSeen none = {};
        NatPlan p = {};
        json_object *rec;

        assert_int_equal(nat_desired(cfg, &d), 0);
        assert_int_equal(nat_plan_compute(&d, &none, NULL, &p), 0);
        rec = json_object_get(p.record);
        nat_plan_done(&p);
        return rec;
}

static void plan_against(const Config *cfg, json_object *list, json_object *recorded, NatPlan *ret) {
        _cleanup_(nat_desired_done) NatDesired d = {};
        _cleanup_(nat_seen_done) NatSeen seen = {};

        assert_int_equal(nat_desired(cfg, &d), 0);
        assert_int_equal(nat_seen_parse(list, &seen), 0);
        assert_int_equal(nat_plan_compute(&d, &seen, recorded, ret), 0);
}

/* --- what a config asks for --------------------------------------------------- */

static void desired_rules_of_a_network(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_(nat_desired_done) NatDesired d = {};
        _cleanup_json_ json_object *nw_rules = NULL, *fw_rules = NULL, *pub_rules = NULL, *jump = NULL, *jump2 = NULL;
        const NatChain *nw, *fw, *pub;

        assert_int_equal(nat_desired(cfg, &d), 0);
        assert_int_equal(d.n_chains, 6);
        nw = find_chain(&d, "nw-lab-");
        assert_string_equal(nw->name, "nw-lab-6092f4");
        assert_string_equal(nw->what, "network lab (masquerading out of up0, hairpin)");
        nw_rules = nat_chain_rules(&d, nw);
        assert_int_equal(json_object_array_length(nw_rules), 5);
        assert_json_equal(json_object_array_get_idx(nw_rules, 0),
                          "[{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"saddr\"}},"
                          "  \"right\": {\"prefix\": {\"addr\": \"198.18.20.0\", \"len\": 24}}}},"
                          " {\"match\": {\"op\": \"!=\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}},"
                          "  \"right\": {\"prefix\": {\"addr\": \"198.18.20.0\", \"len\": 24}}}},"
                          " {\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"oifname\"}}, \"right\": \"up0\"}},"
                          " {\"masquerade\": null}]");
        assert_json_equal(json_object_array_get_idx(nw_rules, 1),
                          "[{\"match\": {\"op\": \"in\", \"left\": {\"ct\": {\"key\": \"status\"}}, \"right\": \"dnat\"}},"
                          " {\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"saddr\"}},"
                          "  \"right\": {\"prefix\": {\"addr\": \"198.18.20.0\", \"len\": 24}}}},"
                          " {\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}},"
                          "  \"right\": {\"prefix\": {\"addr\": \"198.18.20.0\", \"len\": 24}}}},"
                          " {\"masquerade\": null}]");
        /* The host's 127.0.0.1:PORT onto the bridge, last. */
        assert_json_equal(json_object_array_get_idx(nw_rules, 4),
                          "[{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip\", \"field\": \"saddr\"}},"
                          "  \"right\": {\"prefix\": {\"addr\": \"127.0.0.0\", \"len\": 8}}}},"
                          " {\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"oifname\"}}, \"right\": \"br-lab\"}},"
                          " {\"masquerade\": null}]");

        fw = find_chain(&d, "fw-lab-");
        fw_rules = nat_chain_rules(&d, fw);
        assert_int_equal(json_object_array_length(fw_rules), 6);
        assert_json_equal(json_object_array_get_idx(fw_rules, 4),
                          "[{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"ip6\", \"field\": \"daddr\"}},"
                          "  \"right\": {\"prefix\": {\"addr\": \"fd00:20::\", \"len\": 64}}}},"
                          " {\"match\": {\"op\": \"in\", \"left\": {\"ct\": {\"key\": \"state\"}}, \"right\": [\"established\", \"related\"]}},"
                          " {\"accept\": null}]");

        pub = find_chain(&d, "pub-web-");
        assert_string_equal(pub->what, "namespace web (published ports 8080->80/tcp, 5353->53/udp)");
        pub_rules = nat_chain_rules(&d, pub);
        assert_int_equal(json_object_array_length(pub_rules), 4);
        assert_json_equal(json_object_array_get_idx(pub_rules, 1),
                          "[{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"nfproto\"}}, \"right\": \"ipv6\"}},"
                          " {\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"tcp\", \"field\": \"dport\"}}, \"right\": 8080}},"
                          " {\"dnat\": {\"family\": \"ip6\", \"addr\": \"fd00:20::2\", \"port\": 80}}]");
        assert_json_equal(json_object_array_get_idx(pub_rules, 2),
                          "[{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"nfproto\"}}, \"right\": \"ipv4\"}},"
                          " {\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"udp\", \"field\": \"dport\"}}, \"right\": 5353}},"
                          " {\"dnat\": {\"family\": \"ip\", \"addr\": \"198.18.20.2\", \"port\": 53}}]");

        /* Jumps: published ports from prerouting and output, the networks'
         * chains from postrouting and forward. */
        assert_int_equal(d.n_jumps[NAT_PREROUTING], 2);
        assert_int_equal(d.n_jumps[NAT_OUTPUT], 2);
        assert_int_equal(d.n_jumps[NAT_POSTROUTING], 2);
        assert_int_equal(d.n_jumps[NAT_FORWARD], 2);
        jump = nat_jump_rule(&d.jumps[NAT_OUTPUT][1]);
        assert_json_equal(jump,
                          "[{\"match\": {\"op\": \"==\", \"left\": {\"fib\": {\"result\": \"type\", \"flags\": [\"daddr\"]}},"
                          "  \"right\": \"local\"}}, {\"jump\": {\"target\": \"pub-db-1cc6c3\"}}]");
        jump2 = nat_jump_rule(&d.jumps[NAT_FORWARD][1]);
        assert_json_equal(jump2, "[{\"jump\": {\"target\": \"fw-lab2-070db2\"}}]");

        assert_json_equal(d.ports, "{\"web\": [\"8080:80/tcp -> 198.18.20.2\", \"5353:53/udp -> 198.18.20.2\"],"
                                   " \"db\": [\"5433:5432/tcp -> 198.18.23.2\"]}");
}

static void no_masquerade_keeps_the_hairpin(void **state) {
        TestNet plain = LAB;
        _cleanup_config_ Config *cfg = NULL;
        _cleanup_(nat_desired_done) NatDesired d = {};
        _cleanup_json_ json_object *rules = NULL;
        const NatChain *nw;
        const char *text;

        plain.masquerade = false;
        plain.uplink = NULL;
        plain.subnet6 = NULL;
        cfg = make_config(&plain, 1, (TestNs[]) { { "red", "lab", "198.18.20.3/24", NULL, {} } }, 1);
        assert_int_equal(nat_desired(cfg, &d), 0);
        /* No published port: no pub-* chain, no prerouting jump. */
        assert_int_equal(d.n_chains, 2);
        assert_int_equal(d.n_jumps[NAT_PREROUTING], 0);
        nw = find_chain(&d, "nw-lab-");
        assert_string_equal(nw->what, "network lab (no masquerading, hairpin)");
        rules = nat_chain_rules(&d, nw);
        assert_int_equal(json_object_array_length(rules), 1);
        text = json_object_to_json_string_ext(rules, JSON_C_TO_STRING_PLAIN);
        assert_non_null(strstr(text, "\"op\":\"in\""));
        assert_null(strstr(text, "\"!=\""));
}

/* Every name goes into a JSON string as it is: what nft syntax would have
 * needed quoted (", ;, {, $, #, spaces) needs nothing. */
static void names_that_nft_syntax_would_need_quoted(void **state) {
        static const char uplink[] = "u\"p;{$x}#0";   /* the kernel takes it: no '/', ':' or space */
        static const char bridge[] = "br\"}\\;";
        static const char netns[] = "we\"b; flush ruleset {x}";
        TestNet weird = { "lab", bridge, "198.18.20.0/24", NULL, uplink, true };
        TestNs ns = { netns, "lab", "198.18.20.2/24", NULL, { "8080:80/tcp" } };
        _cleanup_config_ Config *cfg = make_config(&weird, 1, &ns, 1);
        _cleanup_(nat_desired_done) NatDesired d = {};
        _cleanup_strv_free_ char **lines = NULL;
        _cleanup_json_ json_object *back = NULL;
        NatSeen none = {};
        NatPlan p = {};
        json_object *cmds, *right;
        const NatChain *pub;
        bool saw_uplink = false, saw_bridge = false;

        assert_int_equal(nat_desired(cfg, &d), 0);
        pub = find_chain(&d, "pub-");
        /* Chain names stay plain, for people reading `nft list`. */
        assert_true(strneq(pub->name, "pub-we_b__flush_ruleset__x_-", strlen("pub-we_b__flush_ruleset__x_-")));
        assert_int_equal(strlen(pub->name), strlen("pub-we_b__flush_ruleset__x_-") + 6);
        assert_non_null(strstr(pub->what, netns));

        assert_int_equal(nat_plan_compute(&d, &none, NULL, &p), 0);
        /* What libnftables gets, read back as JSON: the names, byte for byte. */
        back = J(json_object_to_json_string_ext(p.commands, JSON_C_TO_STRING_PLAIN));
        assert_true(json_object_object_get_ex(back, "nftables", &cmds));
        for (size_t i = 0; i < json_object_array_length(cmds); i++) {
                json_object *add, *rule, *expr;

                if (!json_object_object_get_ex(json_object_array_get_idx(cmds, i), "add", &add) ||
                    !json_object_object_get_ex(add, "rule", &rule) || !json_object_object_get_ex(rule, "expr", &expr))
                        continue;
                for (size_t j = 0; j < json_object_array_length(expr); j++) {
                        json_object *m;

                        if (!json_object_object_get_ex(json_object_array_get_idx(expr, j), "match", &m) ||
                            !json_object_object_get_ex(m, "right", &right) || !json_object_is_type(right, json_type_string))
                                continue;
                        saw_uplink = saw_uplink || streq(json_object_get_string(right), uplink);
                        saw_bridge = saw_bridge || streq(json_object_get_string(right), bridge);
                }
        }
        assert_true(saw_uplink);
        assert_true(saw_bridge);
        lines = summary(&p);
        {
                _cleanup_free_ char *add = NULL;

                assert_true(asprintf(&add, "add chain %s", pub->name) > 0);
                assert_true(strv_contains(lines, add));
        }
        assert_true(strv_contains(p.changes, "nat: add the rules of namespace we\"b; flush ruleset {x} (published ports 8080->80/tcp)"));
        nat_plan_done(&p);
}

/* --- plans ------------------------------------------------------------------- */

static void plan_of_a_fresh_apply(void **state) {
        _cleanup_config_ Config *cfg = one_network();
        _cleanup_strv_free_ char **lines = NULL;
        NatPlan p = {};

        plan_against(cfg, NULL, NULL, &p);
        lines = summary(&p);
        assert_strv(lines, (const char *const[]) {
                "add table nsmgr",        "add chain prerouting", "add chain output",     "add chain postrouting",
                "add chain forward",  "add chain nw-lab-6092f4",
                "add rule nw-lab-6092f4", "add rule nw-lab-6092f4", "add rule nw-lab-6092f4", "add rule nw-lab-6092f4",
                "add rule nw-lab-6092f4",
                "add chain fw-lab-6092f4",
                "add rule fw-lab-6092f4", "add rule fw-lab-6092f4", "add rule fw-lab-6092f4", "add rule fw-lab-6092f4",
                "add rule fw-lab-6092f4", "add rule fw-lab-6092f4",
                "add chain pub-web-d9bc91",
                "add rule pub-web-d9bc91", "add rule pub-web-d9bc91", "add rule pub-web-d9bc91", "add rule pub-web-d9bc91",
                "add rule prerouting", "add rule output", "add rule postrouting", "add rule forward",
                NULL });
        assert_strv(p.changes, (const char *const[]) {
                "nat: add the rules of network lab (masquerading out of up0, hairpin)",
                "nat: add the rules of network lab (forwarding)",
                "nat: add the rules of namespace web (published ports 8080->80/tcp, 5353->53/udp)",
                NULL });
        {
                json_object *cmds, *chain;

                /* A base chain in full: what a text rule set would spell
                 * "type nat hook prerouting priority dstnat; policy accept;". */
                assert_true(json_object_object_get_ex(p.commands, "nftables", &cmds));
                assert_true(json_object_object_get_ex(json_object_array_get_idx(cmds, 1), "add", &chain));
                assert_json_equal(chain, "{\"chain\": {\"family\": \"inet\", \"table\": \"nsmgr\", \"name\": \"prerouting\","
                                         " \"type\": \"nat\", \"hook\": \"prerouting\", \"prio\": -100, \"policy\": \"accept\"}}");
        }
        assert_false(p.remove_table);
        nat_plan_done(&p);
}

static void reapply_against_the_kernel_listing_writes_nothing(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_json_ json_object *rec = record_after_apply(cfg), *list = listing();
        NatPlan p = {};

        plan_against(cfg, list, rec, &p);
        assert_null(p.commands);
        assert_null(p.changes);
        nat_plan_done(&p);
}

static void table_without_a_record_is_written_again(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_json_ json_object *list = listing();
        _cleanup_strv_free_ char **lines = NULL;
        NatPlan p = {};

        /* state.json lost: nsmgr does not own what it finds, and takes it
         * over by writing it (the chains exist: flushed, not added). */
        plan_against(cfg, list, NULL, &p);
        lines = summary(&p);
        assert_true(strv_contains(lines, "flush chain nw-lab-6092f4"));
        assert_false(strv_contains(lines, "add table nsmgr"));
        assert_int_equal(strv_length(p.changes), 6);
        assert_string_equal(p.changes[0], "nat: add the rules of network lab (masquerading out of up0, hairpin)");
        nat_plan_done(&p);
}

/* Removes from the listing every item for which drop() says so. */
static void listing_drop(json_object *list, bool (*drop)(json_object *item, const void *arg), const void *arg) {
        json_object *items, *kept = json_object_new_array();

        assert_true(json_object_object_get_ex(list, "nftables", &items));
        for (size_t i = 0; i < json_object_array_length(items); i++)
                if (!drop(json_object_array_get_idx(items, i), arg))
                        json_object_array_add(kept, json_object_get(json_object_array_get_idx(items, i)));
        json_object_object_add(list, "nftables", kept);
}

static bool rule_of_chain(json_object *item, const void *chain) {
        json_object *r;

        return json_object_object_get_ex(item, "rule", &r) && streq_ptr(json_get_string(r, "chain"), chain);
}

static bool rule_with_handle(json_object *item, const void *handle) {
        json_object *r, *h;

        return json_object_object_get_ex(item, "rule", &r) && json_object_object_get_ex(r, "handle", &h) &&
               json_object_get_int64(h) == *(const int64_t *) handle;
}

static void flushed_chain_is_restored(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_json_ json_object *rec = record_after_apply(cfg), *list = listing();
        _cleanup_strv_free_ char **lines = NULL;
        NatPlan p = {};

        listing_drop(list, rule_of_chain, "pub-web-d9bc91");
        plan_against(cfg, list, rec, &p);
        lines = summary(&p);
        assert_strv(lines, (const char *const[]) {
                "flush chain pub-web-d9bc91", "add rule pub-web-d9bc91", "add rule pub-web-d9bc91",
                "add rule pub-web-d9bc91", "add rule pub-web-d9bc91", NULL });
        assert_strv(p.changes, (const char *const[]) {
                "nat: restore the rules of namespace web (published ports 8080->80/tcp, 5353->53/udp) (changed outside nsmgr)",
                NULL });
        nat_plan_done(&p);
}

static void rule_changed_by_hand_is_restored(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_json_ json_object *rec = record_after_apply(cfg), *list = listing();
        _cleanup_strv_free_ char **lines = NULL;
        json_object *items;
        NatPlan p = {};

        /* dport 5433 becomes 5434 in db's chain. */
        assert_true(json_object_object_get_ex(list, "nftables", &items));
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *r, *expr, *m;

                if (!json_object_object_get_ex(json_object_array_get_idx(items, i), "rule", &r) ||
                    !streq(json_get_string(r, "chain"), "pub-db-1cc6c3"))
                        continue;
                assert_true(json_object_object_get_ex(r, "expr", &expr));
                assert_true(json_object_object_get_ex(json_object_array_get_idx(expr, 1), "match", &m));
                json_object_object_add(m, "right", json_object_new_int(5434));
        }
        plan_against(cfg, list, rec, &p);
        lines = summary(&p);
        assert_strv(lines, (const char *const[]) { "flush chain pub-db-1cc6c3", "add rule pub-db-1cc6c3", NULL });
        nat_plan_done(&p);
}

static void removed_network_removes_exactly_its_chains_and_jumps(void **state) {
        _cleanup_config_ Config *two = two_networks(), *one = one_network();
        _cleanup_json_ json_object *rec = record_after_apply(two), *list = listing();
        _cleanup_strv_free_ char **lines = NULL;
        NatPlan p = {};

        plan_against(one, list, rec, &p);
        lines = summary(&p);
        /* Handles from the listing: the jumps to db's and lab2's chains. */
        assert_strv(lines, (const char *const[]) {
                "delete rule prerouting 34", "delete rule output 36", "delete rule postrouting 38",
                "delete rule forward 40", "delete chain nw-lab2-070db2", "delete chain fw-lab2-070db2",
                "delete chain pub-db-1cc6c3", NULL });
        assert_strv(p.changes, (const char *const[]) {
                "nat: remove chain nw-lab2-070db2 (no longer declared)",
                "nat: remove chain fw-lab2-070db2 (no longer declared)",
                "nat: remove chain pub-db-1cc6c3 (no longer declared)", NULL });
        nat_plan_done(&p);
}

static void stray_and_twice_made_jumps_go(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_json_ json_object *rec = record_after_apply(cfg), *list = listing();
        _cleanup_strv_free_ char **lines = NULL;
        json_object *items;
        NatPlan p = {};
        int64_t h = 34;

        /* A jump to pub-web twice in prerouting (handle 99), a rule of
         * someone else's in forward (100), and db's prerouting jump gone. */
        assert_true(json_object_object_get_ex(list, "nftables", &items));
        json_object_array_add(items, J("{\"rule\": {\"family\": \"inet\", \"table\": \"nsmgr\", \"chain\": \"prerouting\","
                                       " \"handle\": 99, \"expr\": [{\"jump\": {\"target\": \"pub-web-d9bc91\"}}]}}"));
        json_object_array_add(items, J("{\"rule\": {\"family\": \"inet\", \"table\": \"nsmgr\", \"chain\": \"forward\","
                                       " \"handle\": 100, \"expr\": [{\"drop\": null}]}}"));
        listing_drop(list, rule_with_handle, &h);
        plan_against(cfg, list, rec, &p);
        lines = summary(&p);
        assert_strv(lines, (const char *const[]) {
                "delete rule prerouting 99", "add rule prerouting", "delete rule forward 100", NULL });
        assert_strv(p.changes, (const char *const[]) {
                "nat: restore the jumps in table inet nsmgr (changed outside nsmgr)", NULL });
        nat_plan_done(&p);
}

static void edited_config_updates_the_chain(void **state) {
        TestNs web2 = WEB;
        _cleanup_config_ Config *before = two_networks(), *after = NULL;
        _cleanup_json_ json_object *rec = record_after_apply(before), *list = listing();
        _cleanup_strv_free_ char **lines = NULL;
        NatPlan p = {};

        web2.ports[1] = NULL;
        after = make_config((TestNet[]) { LAB, LAB2 }, 2, (TestNs[]) { web2, DB }, 2);
        plan_against(after, list, rec, &p);
        lines = summary(&p);
        assert_strv(lines, (const char *const[]) {
                "flush chain pub-web-d9bc91", "add rule pub-web-d9bc91", "add rule pub-web-d9bc91", NULL });
        assert_strv(p.changes, (const char *const[]) {
                "nat: update the rules of namespace web (published ports 8080->80/tcp)", NULL });
        nat_plan_done(&p);
}

static void deleted_table_is_restored(void **state) {
        _cleanup_config_ Config *cfg = one_network();
        _cleanup_json_ json_object *rec = record_after_apply(cfg);
        _cleanup_strv_free_ char **lines = NULL;
        NatPlan p = {};

        plan_against(cfg, NULL, rec, &p);
        lines = summary(&p);
        assert_string_equal(lines[0], "add table nsmgr");
        assert_string_equal(p.changes[0], "nat: restore table inet nsmgr (it was deleted)");
        assert_string_equal(p.changes[1], "nat: restore the rules of network lab (masquerading out of up0, hairpin) (changed outside nsmgr)");
        nat_plan_done(&p);
}

static void no_network_left_removes_the_table_it_made(void **state) {
        _cleanup_config_ Config *two = two_networks(), *none = make_config(NULL, 0, NULL, 0);
        _cleanup_json_ json_object *rec = record_after_apply(two), *list = listing();
        _cleanup_strv_free_ char **lines = NULL;
        NatPlan p = {};

        plan_against(none, list, rec, &p);
        lines = summary(&p);
        assert_strv(lines, (const char *const[]) { "delete table nsmgr", NULL });
        assert_true(p.remove_table);
        nat_plan_done(&p);

        /* Not recorded as ours: left alone. */
        plan_against(none, list, NULL, &p);
        assert_null(p.commands);
        assert_null(p.changes);
        nat_plan_done(&p);
}

/* What the kernel lists after the write is recorded when it differs from
 * what was wanted: an unforeseen spelling then costs no rewrite, while a
 * change after that still counts. */
static void unforeseen_listing_falls_back_on_the_record(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_json_ json_object *rec = record_after_apply(cfg), *list = listing();
        _cleanup_(nat_seen_done) NatSeen seen = {};
        char listed[NAT_FP_LEN] = "";
        json_object *items, *chains, *c;
        NatPlan p = {};

        /* A future nft that adds a field the normal form does not know. */
        assert_true(json_object_object_get_ex(list, "nftables", &items));
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                json_object *r, *expr;

                if (!json_object_object_get_ex(json_object_array_get_idx(items, i), "rule", &r) ||
                    !streq(json_get_string(r, "chain"), "pub-db-1cc6c3"))
                        continue;
                assert_true(json_object_object_get_ex(r, "expr", &expr));
                json_object_object_add(json_object_array_get_idx(expr, 2), "flags", J("[\"persistent-ish\"]"));
        }
        plan_against(cfg, list, rec, &p);
        assert_strv(p.changes, (const char *const[]) {
                "nat: restore the rules of namespace db (published ports 5433->5432/tcp) (changed outside nsmgr)", NULL });
        nat_plan_done(&p);

        /* Recorded after the write (as nat_apply() does): nothing to do. */
        assert_int_equal(nat_seen_parse(list, &seen), 0);
        for (size_t i = 0; i < seen.n_chains; i++)
                if (streq(seen.chains[i].name, "pub-db-1cc6c3"))
                        nat_seen_fingerprint(&seen.chains[i], listed);
        assert_int_equal(strlen(listed), NAT_FP_LEN - 1);
        assert_true(json_object_object_get_ex(rec, "chains", &chains));
        assert_true(json_object_object_get_ex(chains, "pub-db-1cc6c3", &c));
        json_object_object_add(c, "seen", json_object_new_string(listed));
        plan_against(cfg, list, rec, &p);
        assert_null(p.commands);
        nat_plan_done(&p);

        /* And a change by hand after that is drift again. */
        listing_drop(list, rule_of_chain, "pub-db-1cc6c3");
        plan_against(cfg, list, rec, &p);
        assert_non_null(p.commands);
        nat_plan_done(&p);
}

/* --- the normal form ------------------------------------------------------------ */

static char *fp(const char *expr) {
        _cleanup_json_ json_object *o = J(expr);
        char *s = nftj_rule_fingerprint(o);

        assert_non_null(s);
        return s;
}

static void assert_same_rule(const char *a, const char *b) {
        _cleanup_free_ char *x = fp(a), *y = fp(b);

        if (!streq(x, y))
                fail_msg("expected the same normal form:\n%s\n%s\n -> %s\n -> %s", a, b, x, y);
}

static void assert_other_rule(const char *a, const char *b) {
        _cleanup_free_ char *x = fp(a), *y = fp(b);

        if (streq(x, y))
                fail_msg("expected different normal forms:\n%s\n%s\n -> %s", a, b, x);
}

#define M(op, left, right) "{\"match\": {\"op\": \"" op "\", \"left\": " left ", \"right\": " right "}}"
#define CT_STATE "{\"ct\": {\"key\": \"state\"}}"
#define DPORT "{\"payload\": {\"protocol\": \"tcp\", \"field\": \"dport\"}}"
#define SADDR6 "{\"payload\": {\"protocol\": \"ip6\", \"field\": \"saddr\"}}"

static void normal_form_undoes_what_the_listing_changes(void **state) {
        /* Each pair: as nsmgr could write it, as nft 1.0.6 lists it. */
        assert_same_rule("[" M("==", CT_STATE, "[\"established\"]") ", {\"accept\": {}}]",
                         "[" M("==", CT_STATE, "\"established\"") ", {\"accept\": null}]");
        assert_same_rule("[" M("==", "{\"fib\": {\"result\": \"type\", \"flags\": \"daddr\"}}", "\"local\"") "]",
                         "[" M("==", "{\"fib\": {\"flags\": [\"daddr\"], \"result\": \"type\"}}", "\"local\"") "]");
        assert_same_rule("[" M("==", CT_STATE, "{\"set\": [\"related\", \"established\"]}") "]",
                         "[" M("==", CT_STATE, "{\"set\": [\"established\", \"related\"]}") "]");
        assert_same_rule("[" M("in", CT_STATE, "[\"related\", \"established\"]") "]",
                         "[" M("in", CT_STATE, "[\"established\", \"related\"]") "]");
        assert_same_rule("[" M("==", DPORT, "\"8080\"") "]", "[" M("==", DPORT, "8080") "]");
        assert_same_rule("[" M("==", SADDR6, "{\"prefix\": {\"addr\": \"fd00:20:0:0::\", \"len\": 64}}") "]",
                         "[" M("==", SADDR6, "{\"prefix\": {\"len\": 64, \"addr\": \"fd00:20::\"}}") "]");
        assert_same_rule("[" M("==", SADDR6, "{\"prefix\": {\"addr\": \"FD00::0002\", \"len\": 128}}") "]",
                         "[" M("==", SADDR6, "\"fd00::2\"") "]");
        assert_same_rule("[" M("==", "{\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}}",
                               "{\"prefix\": {\"addr\": \"198.18.20.2\", \"len\": 32}}") "]",
                         "[" M("==", "{\"payload\": {\"protocol\": \"ip\", \"field\": \"daddr\"}}", "\"198.18.20.2\"") "]");
        assert_same_rule("[{\"dnat\": {\"addr\": \"fd00:20::2\", \"family\": \"ip6\", \"port\": \"80\"}}]",
                         "[{\"dnat\": {\"family\": \"ip6\", \"addr\": \"fd00:20:0::2\", \"port\": 80}}]");
}

static void normal_form_keeps_what_changes_meaning(void **state) {
        /* The operator: an exact comparison is not a bit test. */
        assert_other_rule("[" M("in", "{\"ct\": {\"key\": \"status\"}}", "\"dnat\"") "]",
                          "[" M("==", "{\"ct\": {\"key\": \"status\"}}", "\"dnat\"") "]");
        assert_other_rule("[" M("==", DPORT, "8080") "]", "[" M("!=", DPORT, "8080") "]");
        /* A value, an address, a prefix length. */
        assert_other_rule("[" M("==", DPORT, "8080") "]", "[" M("==", DPORT, "8081") "]");
        assert_other_rule("[" M("==", SADDR6, "{\"prefix\": {\"addr\": \"fd00:20::\", \"len\": 64}}") "]",
                          "[" M("==", SADDR6, "{\"prefix\": {\"addr\": \"fd00:20::\", \"len\": 48}}") "]");
        /* A statement more, or the same ones in another order. */
        assert_other_rule("[" M("==", DPORT, "8080") ", {\"accept\": null}]",
                          "[" M("==", DPORT, "8080") ", {\"counter\": {\"packets\": 0, \"bytes\": 0}}, {\"accept\": null}]");
        assert_other_rule("[" M("==", DPORT, "8080") ", {\"accept\": null}]",
                          "[{\"accept\": null}, " M("==", DPORT, "8080") "]");
        /* A set lookup is not a list of flags; a name is not another. */
        assert_other_rule("[" M("in", CT_STATE, "[\"established\", \"related\"]") "]",
                          "[" M("in", CT_STATE, "{\"set\": [\"established\", \"related\"]}") "]");
        assert_other_rule("[" M("==", "{\"meta\": {\"key\": \"oifname\"}}", "\"up0\"") "]",
                          "[" M("==", "{\"meta\": {\"key\": \"oifname\"}}", "\"up0 \"") "]");
        /* Not a list of statements: no normal form. */
        {
                _cleanup_json_ json_object *o = J("{\"accept\": null}");

                assert_null(nftj_rule_fingerprint(o));
        }
}

static void kernel_listing_of_what_nsmgr_wrote_is_what_it_wants(void **state) {
        _cleanup_config_ Config *cfg = two_networks();
        _cleanup_(nat_desired_done) NatDesired d = {};
        _cleanup_(nat_seen_done) NatSeen seen = {};
        _cleanup_json_ json_object *list = listing();

        assert_int_equal(nat_desired(cfg, &d), 0);
        assert_int_equal(nat_seen_parse(list, &seen), 0);
        assert_true(seen.table);
        assert_int_equal(seen.n_chains, 4 + d.n_chains);
        for (size_t i = 0; i < d.n_chains; i++) {
                char listed[NAT_FP_LEN] = "";

                for (size_t j = 0; j < seen.n_chains; j++)
                        if (streq(seen.chains[j].name, d.chains[i].name))
                                nat_seen_fingerprint(&seen.chains[j], listed);
                assert_string_equal(listed, d.chains[i].fingerprint);
        }
}

static void listing_that_is_not_one(void **state) {
        _cleanup_json_ json_object *bad = J("{\"tables\": []}");
        NatSeen s = {};

        assert_int_equal(nat_seen_parse(bad, &s), -EBADMSG);
        assert_int_equal(nat_seen_parse(NULL, &s), 0);
        assert_false(s.table);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(desired_rules_of_a_network),
                cmocka_unit_test(no_masquerade_keeps_the_hairpin),
                cmocka_unit_test(names_that_nft_syntax_would_need_quoted),
                cmocka_unit_test(plan_of_a_fresh_apply),
                cmocka_unit_test(reapply_against_the_kernel_listing_writes_nothing),
                cmocka_unit_test(table_without_a_record_is_written_again),
                cmocka_unit_test(flushed_chain_is_restored),
                cmocka_unit_test(rule_changed_by_hand_is_restored),
                cmocka_unit_test(removed_network_removes_exactly_its_chains_and_jumps),
                cmocka_unit_test(stray_and_twice_made_jumps_go),
                cmocka_unit_test(edited_config_updates_the_chain),
                cmocka_unit_test(deleted_table_is_restored),
                cmocka_unit_test(no_network_left_removes_the_table_it_made),
                cmocka_unit_test(unforeseen_listing_falls_back_on_the_record),
                cmocka_unit_test(normal_form_undoes_what_the_listing_changes),
                cmocka_unit_test(normal_form_keeps_what_changes_meaning),
                cmocka_unit_test(kernel_listing_of_what_nsmgr_wrote_is_what_it_wants),
                cmocka_unit_test(listing_that_is_not_one),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

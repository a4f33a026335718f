/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner without root and without a kernel: a config, an observed
 * state built by hand, and the exact list of steps that comes out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>

#include "config.h"
#include "desired.h"
#include "marks.h"
#include "plan.h"
#include "strv.h"

#define OURS NSMGR_LINK_GROUP

static const char *const TUTORIAL =
        "host = { bridges = ( { name = \"br0\"; addresses = [ \"198.18.10.254/24\" ]; } ); };\n"
        "namespaces = ( { name = \"red\";\n"
        "  interfaces = ( { name = \"eth0\"; type = \"veth\"; bridge = \"br0\"; addresses = [ \"198.18.10.1/24\" ]; } );\n"
        "  routes = ( { to = \"default\"; via = \"198.18.10.254\"; } ); } );\n";

typedef struct World {
        Config *cfg;
        Desired *d;
        Observed o;
        State state;
        LeaseTable leases;
        Plan plan;
        char **steps;
} World;

static void load(World *w, const char *text) {
        char path[] = "/tmp/nsmgr-plan-XXXXXX";
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        char *files[] = { path, NULL };
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        if (config_load_files(files, &w->cfg, &err) < 0)
                fail_msg("config: %s", err.msg);
        unlink(path);
        assert_int_equal(desired_build(w->cfg, &w->leases, &w->d), 0);
        /* One scope per desired namespace, as observe() makes them. */
        w->o.host = (ObsScope) { .exists = true, .nsfd = -EBADF, .host_nsid = -1 };
        w->o.scopes = calloc(w->d->model.n_netns + 1, sizeof(ObsScope));
        assert_non_null(w->o.scopes);
        w->o.n_scopes = w->d->model.n_netns;
        for (size_t i = 0; i < w->o.n_scopes; i++)
                w->o.scopes[i] = (ObsScope) { .name = strdup(w->d->model.netns[i].name), .decl = &w->d->model.netns[i],
                                              .nsfd = -EBADF, .host_nsid = -1 };
}

static void world_done(World *w) {
        plan_done(&w->plan);
        observed_done(&w->o);
        desired_free(w->d);
        config_free(w->cfg);
        state_done(&w->state);
        lease_table_done(&w->leases);
        strv_free(w->steps);
}

static ObsScope *scope(World *w, const char *name) {
        return observed_scope(&w->o, &w->d->model, name);
}

static ObsLink *link_add(ObsScope *s, const char *name, const char *kind, int ifindex, unsigned flags, uint32_t group) {
        ObsLink *l;

        s->links = realloc(s->links, (s->n_links + 1) * sizeof(ObsLink));
        assert_non_null(s->links);
        l = &s->links[s->n_links++];
        *l = (ObsLink) { .ifindex = ifindex, .flags = flags, .group = group, .mtu = 1500, .link_netnsid = -1,
                         .macvlan_mode = -1, .addr_gen_mode = -1 };
        snprintf(l->name, sizeof(l->name), "%s", name);
        snprintf(l->kind, sizeof(l->kind), "%s", kind);
        return l;
}

static void addr_add(ObsScope *s, int ifindex, const char *cidr, uint8_t proto) {
        s->addrs = realloc(s->addrs, (s->n_addrs + 1) * sizeof(ObsAddr));
        assert_non_null(s->addrs);
        s->addrs[s->n_addrs] = (ObsAddr) { .ifindex = ifindex, .proto = proto };
        assert_int_equal(cidr_parse(cidr, true, &s->addrs[s->n_addrs].addr), 0);
        s->n_addrs++;
}

static void route_add_obs(ObsScope *s, const char *dst, const char *gw, int oif, uint8_t proto) {
        ObsRoute *r;

        s->routes = realloc(s->routes, (s->n_routes + 1) * sizeof(ObsRoute));
        assert_non_null(s->routes);
        r = &s->routes[s->n_routes++];
        *r = (ObsRoute) { .oif = oif, .table = RT_TABLE_MAIN, .type = RTN_UNICAST, .protocol = proto };
        assert_int_equal(cidr_parse(dst, true, &r->dst), 0);
        if (gw)
                assert_int_equal(cidr_parse(gw, false, &r->gw), 0);
}

/* The tutorial as apply leaves it: everything there, marked as nsmgr's. */
static void tutorial_applied(World *w) {
        ObsScope *h = &w->o.host, *red = scope(w, "red");
        ObsLink *outer, *inner;

        link_add(h, "lo", "", 1, IFF_UP, 0);
        link_add(h, "br0", "bridge", 2, IFF_UP, OURS);
        outer = link_add(h, "vred-xyz", "veth", 3, IFF_UP, OURS);
        addr_add(h, 2, "198.18.10.254/24", NSMGR_RTPROT);

        red->exists = true;
        link_add(red, "lo", "", 1, IFF_UP, 0);
        inner = link_add(red, "eth0", "veth", 2, IFF_UP, OURS);
        addr_add(red, 2, "198.18.10.1/24", NSMGR_RTPROT);
        route_add_obs(red, "0.0.0.0/0", "198.18.10.254", 2, NSMGR_RTPROT);
        route_add_obs(red, "198.18.10.0/24", NULL, 2, RTPROT_KERNEL);
        red->host_nsid = 0;

        /* The pair, as the kernel reports it from each side. */
        inner->link = 3;
        inner->link_netnsid = 0;
        outer->link = 2;
        outer->master = 2;
        snprintf(outer->name, sizeof(outer->name), "%s", w->d->model.netns[0].ifaces[0].peer_name);
        assert_int_equal(obs_scope_sort(h), 0);
        assert_int_equal(obs_scope_sort(red), 0);
}

static void make_plan(World *w) {
        PlanInput in = { .model = &w->d->model, .observed = &w->o, .state = &w->state, .leases = &w->leases };

        assert_int_equal(plan_build(&in, &w->plan), 0);
        plan_sort(&w->plan);
        for (size_t i = 0; i < w->plan.n; i++) {
                PlanStep s;

                assert_int_equal(action_to_step(&w->plan.v[i], false, &s), 0);
                assert_int_equal(strv_extend(&w->steps, s.text), 0);
                plan_step_done(&s);
        }
}

static void assert_steps(World *w, ...) {
        _cleanup_strv_free_ char **want = NULL;
        const char *s;
        va_list ap;

        va_start(ap, w);
        while ((s = va_arg(ap, const char *)))
                assert_int_equal(strv_extend(&want, s), 0);
        va_end(ap);
        if (!strv_equal(want, w->steps)) {
                fprintf(stderr, "planned:\n");
                STRV_FOREACH(x, w->steps)
                        fprintf(stderr, "  %s\n", *x);
                fprintf(stderr, "expected:\n");
                STRV_FOREACH(x, want)
                        fprintf(stderr, "  %s\n", *x);
                fail();
        }
}

static void fresh_system_gets_everything_in_phase_order(void **unused) {
        World w = {};

        load(&w, TUTORIAL);
        scope(&w, "red")->create = true;
        make_plan(&w);
        assert_steps(&w, "create bridge br0", "red: create namespace",
                     "red: create veth eth0, peer vred-74ca35 on bridge br0", "add address 198.18.10.254/24 to br0",
                     "red: add address 198.18.10.1/24 to eth0", "bring up br0", "red: bring up eth0",
                     "bring up vred-74ca35", "red: add route default via 198.18.10.254", NULL);
        assert_null(w.plan.conflicts);
        world_done(&w);
}

static void applied_system_needs_nothing(void **unused) {
        World w = {};

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        make_plan(&w);
        assert_steps(&w, NULL);
        world_done(&w);
}

static void each_drift_is_repaired(void **unused) {
        World w = {};
        ObsScope *red;

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        red = scope(&w, "red");
        /* Link down, address gone, route gone, loopback down. */
        ((ObsLink *) obs_link(red, "eth0"))->flags = 0;
        ((ObsLink *) obs_link(red, "lo"))->flags = 0;
        red->n_addrs = 0;
        red->n_routes = 1;
        red->routes[0] = red->routes[1];
        make_plan(&w);
        assert_steps(&w, "red: add address 198.18.10.1/24 to eth0", "red: bring up lo", "red: bring up eth0",
                     "red: add route default via 198.18.10.254", NULL);
        world_done(&w);
}

static void a_port_off_its_bridge_goes_back(void **unused) {
        World w = {};
        ObsLink *outer;

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        outer = (ObsLink *) obs_link(&w.o.host, w.d->model.netns[0].ifaces[0].peer_name);
        outer->master = 0;
        make_plan(&w);
        assert_steps(&w, "attach vred-74ca35 to bridge br0", NULL);
        world_done(&w);
}

static void a_foreign_interface_is_a_conflict_not_a_casualty(void **unused) {
        World w = {};
        ObsScope *red;

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        red = scope(&w, "red");
        /* Somebody's eth0, of another kind, not marked: left alone. */
        snprintf(((ObsLink *) obs_link(red, "eth0"))->kind, 16, "%s", "macvlan");
        ((ObsLink *) obs_link(red, "eth0"))->group = 0;
        make_plan(&w);
        assert_non_null(w.plan.conflicts);
        assert_non_null(strstr(w.plan.conflicts[0], "interface 'eth0' exists but is not the veth the config declares"));
        world_done(&w);
}

static void nsmgrs_mismatching_interface_is_made_anew(void **unused) {
        World w = {};
        ObsScope *red;

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        red = scope(&w, "red");
        snprintf(((ObsLink *) obs_link(red, "eth0"))->kind, 16, "%s", "macvlan");
        make_plan(&w);
        /* The route through it goes with it and is made again. */
        assert_steps(&w, "red: delete eth0 (it does not match the config)",
                     "red: create veth eth0, peer vred-74ca35 on bridge br0", "red: add address 198.18.10.1/24 to eth0",
                     "red: bring up eth0", "bring up vred-74ca35", "red: add route default via 198.18.10.254", NULL);
        world_done(&w);
}

static void someone_elses_route_at_the_place_is_a_conflict(void **unused) {
        World w = {};
        ObsScope *red;

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        red = scope(&w, "red");
        red->routes[0].protocol = RTPROT_STATIC;
        cidr_parse("198.18.10.9", false, &red->routes[0].gw);
        make_plan(&w);
        assert_non_null(w.plan.conflicts);
        assert_non_null(strstr(w.plan.conflicts[0], "a route to default (table 254, metric 0) already exists"));
        world_done(&w);
}

static void only_marked_leftovers_are_torn_down(void **unused) {
        World w = {};
        ObsScope *red, *h;

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        red = scope(&w, "red");
        h = &w.o.host;
        /* nsmgr's old link and address, and somebody's: only nsmgr's go. */
        link_add(red, "old0", "veth", 7, IFF_UP, OURS);
        link_add(red, "theirs0", "veth", 8, IFF_UP, 0);
        addr_add(red, 2, "198.18.10.7/24", NSMGR_RTPROT);
        addr_add(red, 2, "198.18.10.8/24", 0);
        link_add(h, "brold", "bridge", 9, IFF_UP, OURS);
        link_add(h, "docker0", "bridge", 10, IFF_UP, 0);
        assert_int_equal(obs_scope_sort(red), 0);
        assert_int_equal(obs_scope_sort(h), 0);
        make_plan(&w);
        /* Routes through a link that loses an address may go with it:
         * they are made again (a no-op when they stayed). */
        assert_steps(&w, "red: delete veth old0 (no longer declared)", "red: remove address 198.18.10.7/24 from eth0",
                     "red: add route default via 198.18.10.254", "delete bridge brold (no longer declared)", NULL);
        world_done(&w);
}

static void a_namespace_no_longer_declared_goes_unless_inhabited(void **unused) {
        World w = {};

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        w.o.gone = calloc(3, sizeof(ObsScope));
        w.o.n_gone = 2;
        w.o.gone[0] = (ObsScope) { .name = strdup("blue"), .exists = true, .created_by_config = true, .nsfd = -EBADF,
                                   .host_nsid = -1 };
        w.o.gone[1] = (ObsScope) { .name = strdup("green"), .exists = true, .created_by_config = true, .n_procs = 2,
                                   .nsfd = -EBADF, .host_nsid = -1 };
        make_plan(&w);
        assert_steps(&w, "blue: delete namespace (no longer declared)", NULL);
        assert_non_null(w.plan.warnings);
        assert_non_null(strstr(w.plan.warnings[0], "namespace 'green' is no longer declared, but 2 processes are still inside"));
        world_done(&w);
}

static void a_wired_namespace_only_loses_what_nsmgr_put_there(void **unused) {
        World w = {};
        ObsScope *g;

        load(&w, TUTORIAL);
        tutorial_applied(&w);
        w.o.gone = calloc(2, sizeof(ObsScope));
        w.o.n_gone = 1;
        g = &w.o.gone[0];
        *g = (ObsScope) { .name = strdup("shared"), .exists = true, .nsfd = -EBADF, .host_nsid = -1 };
        link_add(g, "lo", "", 1, IFF_UP, 0);
        link_add(g, "eth0", "veth", 2, IFF_UP, OURS);
        link_add(g, "eth9", "veth", 3, IFF_UP, 0);
        addr_add(g, 3, "198.18.11.1/24", NSMGR_RTPROT);
        route_add_obs(g, "198.18.99.0/24", "198.18.11.9", 3, NSMGR_RTPROT);
        g->dns[DNS_RESOLV_CONF] = strdup(NSMGR_DNS_MARK " for namespace shared\nnameserver 198.18.0.53\n");
        g->dns[DNS_HOSTS] = strdup("127.0.0.1 localhost\n");
        assert_int_equal(obs_scope_sort(g), 0);
        make_plan(&w);
        assert_steps(&w, "shared: remove /etc/netns/shared/resolv.conf", "shared: delete veth eth0 (no longer declared)",
                     "shared: remove address 198.18.11.1/24 from eth9",
                     "shared: remove route 198.18.99.0/24 via 198.18.11.9 dev eth9", NULL);
        world_done(&w);
}

static const char *const VRF =
        "namespaces = ( { name = \"pe\";\n"
        "  interfaces = ( { name = \"blue\"; type = \"vrf\"; table = 10; members = [ \"e1\" ]; },\n"
        "                 { name = \"e1\"; type = \"veth\"; addresses = [ \"198.18.30.1/24\" ]; } ); } );\n";

static void vrf_membership_is_kept(void **unused) {
        World w = {};
        ObsScope *pe, *h;
        ObsLink *e1, *out;

        load(&w, VRF);
        pe = scope(&w, "pe");
        h = &w.o.host;
        pe->exists = true;
        pe->host_nsid = 0;
        link_add(pe, "lo", "", 1, IFF_UP, 0);
        link_add(pe, "blue", "vrf", 2, IFF_UP, OURS)->vrf_table = 10;
        e1 = link_add(pe, "e1", "veth", 3, IFF_UP, OURS);
        e1->link = 5;
        e1->link_netnsid = 0;
        addr_add(pe, 3, "198.18.30.1/24", NSMGR_RTPROT);
        out = link_add(h, w.d->model.netns[0].ifaces[1].peer_name, "veth", 5, IFF_UP, OURS);
        out->link = 3;
        assert_int_equal(obs_scope_sort(pe), 0);
        assert_int_equal(obs_scope_sort(h), 0);
        make_plan(&w);
        /* Not in the VRF yet. */
        assert_steps(&w, "pe: enslave e1 to VRF blue", NULL);
        world_done(&w);
}

static void replacing_a_parent_takes_its_vxlan_along(void **unused) {
        World w = {};
        ObsScope *ov, *h;
        ObsLink *u, *out;

        load(&w, "namespaces = ( { name = \"ov\";\n"
                 "  interfaces = ( { name = \"u0\"; type = \"veth\"; addresses = [ \"198.18.40.1/24\" ]; },\n"
                 "                 { name = \"vx\"; type = \"vxlan\"; vni = 7; parent = \"u0\"; remote = \"198.18.40.2\"; } ); } );\n");
        ov = scope(&w, "ov");
        h = &w.o.host;
        ov->exists = true;
        ov->host_nsid = 0;
        link_add(ov, "lo", "", 1, IFF_UP, 0);
        /* u0 is nsmgr's, but its other end is not where the config puts
         * it (the host end points elsewhere); vx stands on it. */
        u = link_add(ov, "u0", "veth", 2, IFF_UP, OURS);
        u->link = 5;
        u->link_netnsid = 3;
        link_add(ov, "vx", "vxlan", 3, IFF_UP, OURS)->vxlan_id = 7;
        out = link_add(h, w.d->model.netns[0].ifaces[0].peer_name, "veth", 5, IFF_UP, OURS);
        out->link = 2;
        assert_int_equal(obs_scope_sort(ov), 0);
        assert_int_equal(obs_scope_sort(h), 0);
        make_plan(&w);
        /* The vxlan is not deleted: the kernel takes it along with u0. */
        assert_steps(&w, "ov: delete u0 (it does not match the config)", "ov: create veth u0, peer vov-b9b7f5 in the host",
                     "ov: create vxlan vx, vni 7", "ov: add address 198.18.40.1/24 to u0", "ov: bring up u0",
                     "bring up vov-b9b7f5", "ov: bring up vx", NULL);
        world_done(&w);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fresh_system_gets_everything_in_phase_order),
                cmocka_unit_test(applied_system_needs_nothing),
                cmocka_unit_test(each_drift_is_repaired),
                cmocka_unit_test(a_port_off_its_bridge_goes_back),
                cmocka_unit_test(a_foreign_interface_is_a_conflict_not_a_casualty),
                cmocka_unit_test(nsmgrs_mismatching_interface_is_made_anew),
                cmocka_unit_test(someone_elses_route_at_the_place_is_a_conflict),
                cmocka_unit_test(only_marked_leftovers_are_torn_down),
                cmocka_unit_test(a_namespace_no_longer_declared_goes_unless_inhabited),
                cmocka_unit_test(a_wired_namespace_only_loses_what_nsmgr_put_there),
                cmocka_unit_test(vrf_membership_is_kept),
                cmocka_unit_test(replacing_a_parent_takes_its_vxlan_along),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

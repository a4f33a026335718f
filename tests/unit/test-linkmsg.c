/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linkmsg.c against libnl: every link message the kernel sent for the fuzz
 * corpus (tests/fuzz/corpus/linkmsg/: a bridge, a veth pair on it, VXLANs
 * over IPv4 and IPv6, a macvlan, loopback, as a 6.18 kernel dumped them)
 * reads the same through obs_link_from_msg() as through libnl's own link
 * object -- what observe.c compared before it parsed links itself -- and
 * the values the links were made with are there. */
#include <dirent.h>
#include <linux/netlink.h>
#include <linux/if_link.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/vxlan.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fileio.h"
#include "ipaddr.h"
#include "linkmsg.h"
#include "macro.h"

#define CORPUS "tests/fuzz/corpus/linkmsg"

static void expect_cidr(struct nl_addr *a, const Cidr *got) {
        Cidr want = {};

        if (a)
                assert_int_equal(cidr_from_nl(a, &want), 0);
        assert_int_equal(got->family, want.family);
        assert_int_equal(got->prefixlen, want.prefixlen);
        assert_memory_equal(got->addr, want.addr, sizeof(want.addr));
}

static unsigned compared;

static void on_object(struct nl_object *obj, void *arg) {
        struct rtnl_link *l = (struct rtnl_link *) obj;
        const ObsLink *o = arg;
        const char *kind = rtnl_link_get_type(l);
        struct nl_addr *mac = rtnl_link_get_addr(l);
        int32_t nsid = -1;
        uint8_t mode;

        assert_string_equal(o->name, rtnl_link_get_name(l));
        assert_string_equal(o->kind, kind ? kind : "");
        assert_int_equal(o->ifindex, rtnl_link_get_ifindex(l));
        assert_int_equal(o->master, rtnl_link_get_master(l));
        assert_int_equal(o->link, rtnl_link_get_link(l));
        assert_int_equal(o->mtu, rtnl_link_get_mtu(l));
        assert_int_equal(o->flags, rtnl_link_get_flags(l));
        assert_int_equal(o->group, rtnl_link_get_group(l));
        (void) rtnl_link_get_link_netnsid(l, &nsid);
        assert_int_equal(o->link_netnsid, nsid);
        assert_int_equal(o->addr_gen_mode, rtnl_link_inet6_get_addr_gen_mode(l, &mode) >= 0 ? mode : -1);
        assert_int_equal(o->has_mac, mac && nl_addr_get_len(mac) == 6);
        if (o->has_mac)
                assert_memory_equal(o->mac, nl_addr_get_binary_addr(mac), 6);
        if (kind && streq(kind, "vxlan")) {
                struct nl_addr *a = NULL;
                uint32_t id = 0, port = 0;

                (void) rtnl_link_vxlan_get_id(l, &id);
                assert_int_equal(o->vxlan_id, id);
                (void) rtnl_link_vxlan_get_port(l, &port);
                assert_int_equal(o->vxlan_port, port);
                (void) rtnl_link_vxlan_get_group(l, &a);
                expect_cidr(a, &o->vxlan_group);
                nl_addr_put(a);
                a = NULL;
                (void) rtnl_link_vxlan_get_local(l, &a);
                expect_cidr(a, &o->vxlan_local);
                nl_addr_put(a);
        }
        assert_int_equal(o->macvlan_mode, kind && streq(kind, "macvlan") ? (int) rtnl_link_macvlan_get_mode(l) : -1);
        compared++;
}

static int load(const char *name, struct nlmsghdr **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;
        char *data = NULL;
        size_t len = 0;
        int r;

        assert_true(asprintf(&path, CORPUS "/%s", name) > 0);
        r = read_full_file(path, &data, &len);
        if (r < 0)
                return r;
        *ret = (struct nlmsghdr *) data;
        *ret_len = len;
        return 0;
}

static void same_as_libnl(void **state) {
        DIR *d = opendir(CORPUS);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ struct nlmsghdr *h = NULL;
                struct nl_msg *msg;
                ObsLink o;
                size_t len;

                if (de->d_name[0] == '.')
                        continue;
                assert_int_equal(load(de->d_name, &h, &len), 0);
                assert_int_equal(h->nlmsg_len, len);
                assert_int_equal(obs_link_from_msg(h, &o), 0);
                msg = nlmsg_convert(h);
                assert_non_null(msg);
                nlmsg_set_proto(msg, NETLINK_ROUTE);
                assert_int_equal(nl_msg_parse(msg, on_object, &o), 0);
                nlmsg_free(msg);
                n++;
        }
        closedir(d);
        assert_true(n >= 8);
        assert_int_equal(compared, n);
}

static ObsLink link_named(const char *name) {
        _cleanup_free_ struct nlmsghdr *h = NULL;
        ObsLink o;
        size_t len;

        assert_int_equal(load(name, &h, &len), 0);
        assert_int_equal(obs_link_from_msg(h, &o), 0);
        return o;
}

static void what_they_were_made_with(void **state) {
        ObsLink br = link_named("br0"), vh = link_named("vh0"), eth = link_named("eth0"), vx = link_named("vx0"),
                vx6 = link_named("vx6"), mv = link_named("mv0"), dummy = link_named("dummy0");
        Cidr c;

        assert_string_equal(br.kind, "bridge");
        assert_int_equal(br.addr_gen_mode, 1);   /* ip link set br0 addrgenmode none */
        assert_int_equal(vh.master, br.ifindex);
        assert_int_equal(eth.link, vh.ifindex);
        assert_int_equal(vh.link, eth.ifindex);
        assert_int_equal(eth.link_netnsid, -1);  /* both ends in one namespace */
        assert_int_equal(vx.vxlan_id, 42);
        assert_int_equal(vx.vxlan_port, 4789);
        assert_int_equal(cidr_parse("198.18.0.9/32", true, &c), 0);
        assert_memory_equal(&vx.vxlan_group, &c, sizeof(c));
        assert_int_equal(cidr_parse("198.18.0.1/32", true, &c), 0);
        assert_memory_equal(&vx.vxlan_local, &c, sizeof(c));
        assert_int_equal(vx6.vxlan_id, 7);
        assert_int_equal(vx6.vxlan_port, 8472);
        assert_int_equal(cidr_parse("ff05::9/128", true, &c), 0);
        assert_memory_equal(&vx6.vxlan_group, &c, sizeof(c));
        assert_int_equal(vx6.vxlan_local.family, 0);
        assert_int_equal(mv.macvlan_mode, MACVLAN_MODE_BRIDGE);
        assert_int_equal(mv.link, dummy.ifindex);
        assert_int_equal(dummy.group, 0x6e736d67);
        assert_int_equal(dummy.mtu, 9000);
        assert_int_equal(link_named("lo").flags & IFF_LOOPBACK, IFF_LOOPBACK);
}

/* Cut anywhere, a message is refused or read; never read past its end
 * (ASan, in make check-asan). */
static void cut_short(void **state) {
        _cleanup_free_ struct nlmsghdr *h = NULL;
        size_t len;

        assert_int_equal(load("vx0", &h, &len), 0);
        for (size_t cut = sizeof(*h); cut <= len; cut++) {
                _cleanup_free_ struct nlmsghdr *c = malloc(cut);
                ObsLink o;

                assert_non_null(c);
                memcpy(c, h, cut);
                c->nlmsg_len = (uint32_t) cut;
                if (obs_link_from_msg(c, &o) == 0)
                        assert_true(strnlen(o.name, sizeof(o.name)) < sizeof(o.name));
        }
        h->nlmsg_type = RTM_NEWADDR;
        {
                ObsLink o;
                assert_int_equal(obs_link_from_msg(h, &o), -EINVAL);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(same_as_libnl),
                cmocka_unit_test(what_they_were_made_with),
                cmocka_unit_test(cut_short),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

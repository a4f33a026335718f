/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "config.h"
#include "config-text.h"
#include "strv.h"

/* Loads text as a config file; returns the error text (or NULL). */
static char *load(const char *text, Config **ret) {
        char path[] = "/tmp/nsmgr-unit-XXXXXX";
        _cleanup_error_ NmError err = NM_ERROR_INIT;
        char *files[] = { path, NULL };
        int fd, r;
        char *msg = NULL;

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        r = config_load_files(files, ret, &err);
        if (r < 0)
                msg = strdup(err.msg);
        unlink(path);
        return msg;
}

static void assert_error(const char *text, const char *needle) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(text, &c);

        if (!msg || !strstr(msg, needle))
                fail_msg("config:\n%s\nexpected an error with '%s', got: %s", text, needle, msg ? msg : "(none)");
        assert_null(c);
}

static void parses_the_tutorial(void **state) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(
                "host = { bridges = ( { name = \"br0\"; addresses = [ \"198.18.10.254/24\" ]; } );\n"
                "         sysctls = [ \"net.ipv4.ip_forward = 1\" ]; };\n"
                "namespaces = ( { name = \"red\";\n"
                "  interfaces = ( { name = \"eth0\"; type = \"veth\"; bridge = \"br0\"; addresses = [ \"198.18.10.1/24\", \"fd00::1/64\" ]; mtu = 1400; } );\n"
                "  routes = ( { to = \"default\"; via = \"198.18.10.254\"; }, { to = \"fd00:1::/64\"; via = \"fd00::2\"; metric = 5; table = 7; } );\n"
                "  dns = { nameservers = [ \"198.18.0.53\" ]; search = [ \"lab\" ]; hosts = ( { address = \"198.18.10.2\"; names = [ \"blue\" ]; } ); };\n"
                "} );\n",
                &c);
        const Netns *red;
        const Iface *eth0;
        char buf[CIDR_STRLEN];

        assert_null(msg);
        assert_non_null(c);
        assert_int_equal(c->n_bridges, 1);
        assert_string_equal(c->host_sysctls[0].key, "net.ipv4.ip_forward");
        assert_string_equal(c->host_sysctls[0].value, "1");
        red = config_find_netns(c, "red");
        assert_non_null(red);
        eth0 = netns_find_iface(red, "eth0");
        assert_int_equal(eth0->kind, IFACE_VETH);
        assert_int_equal(eth0->mtu, 1400);
        assert_int_equal(eth0->n_addresses, 2);
        assert_string_equal(cidr_format(&eth0->addresses[1], true, buf), "fd00::1/64");
        /* The host end gets a derived, stable name of at most 15 bytes. */
        assert_true(eth0->peer_name_derived);
        assert_true(strlen(eth0->peer_name) <= 15);
        {
                _cleanup_free_ char *derived = veth_peer_name_derive("red", "eth0");
                assert_string_equal(eth0->peer_name, derived);
        }
        assert_int_equal(red->n_routes, 2);
        assert_int_equal(red->routes[0].dst.prefixlen, 0);
        assert_int_equal(red->routes[0].table, 254);
        assert_int_equal(red->routes[1].table, 7);
        assert_int_equal(red->routes[1].metric, 5);
        assert_true(red->dns.declared);
        assert_string_equal(red->dns.hosts[0].names[0], "blue");
        config_free(c);
}

static void derived_names_are_unique_and_short(void **state) {
        _cleanup_free_ char *a = veth_peer_name_derive("a-very-long-namespace-name", "eth0");
        _cleanup_free_ char *b = veth_peer_name_derive("a-very-long-namespace-name", "eth1");
        _cleanup_free_ char *c = veth_peer_name_derive("weird name/with:chars", "eth0");

        assert_true(strlen(a) <= 15 && strlen(c) <= 15);
        assert_string_not_equal(a, b);
        assert_null(strpbrk(c, " /:"));
}

static void reports_every_error_with_file_and_line(void **state) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load("namespaces = (\n { name = \"x\"; colour = 1; },\n { name = \"x\"; } );\n", &c);

        assert_null(c);
        assert_non_null(strstr(msg, ":2: namespace 'x': unknown setting 'colour'"));
        assert_non_null(strstr(msg, ":3: namespace 'x' is declared twice (also at "));
}

static void refuses_bad_configs(void **state) {
        assert_error("namespaces = ( { name = \"x\" } ", "syntax error");
        assert_error("x = 1;", "top level: unknown setting 'x'");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; mtu = 1.5; } ); } );",
                     "'mtu' must be an integer, not a number with a fraction");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; up = \"yes\"; } ); } );",
                     "'up' must be a boolean, not a string");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"macvlan\"; } ); } );",
                     "missing setting 'parent'");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"macvlan\"; parent = \"p\"; mode = \"odd\"; } ); } );",
                     "macvlan mode \"odd\" is not one of");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vxlan\"; vni = 1; group = \"239.0.0.1\"; } ); } );",
                     "a multicast 'group' needs 'parent'");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vrf\"; } ); } );",
                     "missing setting 'table'");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"lo\"; type = \"veth\"; } ); } );",
                     "'lo' is the namespace's loopback");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"a\"; type = \"veth\"; }, { name = \"a\"; type = \"veth\"; } ); } );",
                     "interface 'a': declared twice");
        assert_error("namespaces = ( { name = \"x\"; routes = ( { to = \"default\"; via = \"fd00::1\"; dev = \"lo\"; table = 255; } ); } );",
                     "table 255 is reserved");
        assert_error("namespaces = ( { name = \"x\"; routes = ( { to = \"198.18.0.0/16\"; via = \"fd00::1\"; } ); } );",
                     "gateway and destination are of different families");
        assert_error("namespaces = ( { name = \"x\"; routes = ( { to = \"198.18.0.0/16\"; } ); } );",
                     "needs 'via' or 'dev'");
        assert_error("namespaces = ( { name = \"x\"; sysctls = [ \"net/../../etc=1\" ]; } );", "is not a valid sysctl name");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; peer = { namespace = \"x\"; }; } ); } );",
                     "the peer cannot be in the same namespace");
        assert_error("host = { bridges = ( { name = \"br\"; } ); };\n"
                     "namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; bridge = \"br\"; peer = { addresses = [ \"198.18.0.1/24\" ]; }; } ); } );",
                     "cannot have addresses; put them on the bridge");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; peer = { name = \"br0\"; }; } ); } );\n"
                     "host = { bridges = ( { name = \"br0\"; } ); };",
                     "host interface name 'br0'");
        /* Every name that reaches the kernel or nftables is checked. */
        assert_error("networks = ( { name = \"n\"; bridge = \"br-n\"; subnet = \"198.18.2.0/24\"; uplink = \"e*th0\"; } );",
                     "network 'n', uplink: invalid interface name 'e*th0': it contains '*'");
        assert_error("networks = ( { name = \"n\"; bridge = \"udp\"; subnet = \"198.18.2.0/24\"; } );",
                     "network 'n', bridge: invalid interface name 'udp': nftables reads 'udp' as a protocol");
        assert_error("host = { bridges = ( { name = \"br*\"; } ); };", "bridge: invalid interface name 'br*'");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vrf\"; table = 10; members = [ \"a:b\" ]; } ); } );",
                     "interface 'v', member: invalid interface name 'a:b'");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vxlan\"; vni = 1; parent = \"p%d\"; } ); } );",
                     "interface 'v', parent: invalid interface name 'p%d'");
        assert_error("namespaces = ( { name = \"x\"; routes = ( { to = \"198.18.9.0/24\"; dev = \"all\"; } ); } );",
                     "route to 198.18.9.0/24, dev: invalid interface name 'all'");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; peer = { name = \"default\"; }; } ); } );",
                     "interface 'e', peer: invalid interface name 'default'");
        assert_error("namespaces = ( { name = \"x\"; networks = ( { network = \"n\"; interface = \"e@1\"; } ); } );\n"
                     "networks = ( { name = \"n\"; bridge = \"br-n\"; subnet = \"198.18.2.0/24\"; } );",
                     "network 'n': invalid interface name 'e@1'");
        assert_error("networks = ( { name = \"n/1\"; bridge = \"br-n\"; subnet = \"198.18.2.0/24\"; } );",
                     "invalid network name 'n/1'");
}

static void networks_get_gateways_and_interface_names(void **state) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(
                "networks = ( { name = \"lab\"; bridge = \"br-lab\"; subnet = \"198.18.20.0/24\"; subnet6 = \"fd00:20::/64\"; } );\n"
                "namespaces = ( { name = \"web\"; interfaces = ( { name = \"eth0\"; type = \"veth\"; } );\n"
                "                 networks = ( { network = \"lab\"; } ); ports = [ \"8080:80/tcp\", \"53:53/udp\" ]; } );\n",
                &c);
        char buf[CIDR_STRLEN];

        assert_null(msg);
        assert_string_equal(cidr_format(&c->networks[0].gateway, false, buf), "198.18.20.1");
        assert_string_equal(cidr_format(&c->networks[0].gateway6, false, buf), "fd00:20::1");
        assert_true(c->networks[0].masquerade);
        /* eth0 is taken by a declared interface: the attachment gets eth1. */
        assert_string_equal(c->netns[0].attachments[0].ifname, "eth1");
        assert_int_equal(c->netns[0].n_ports, 2);
        assert_int_equal(c->netns[0].ports[1].proto, 17);
        assert_int_equal(c->netns[0].ports[0].host_port, 8080);
        config_free(c);
}

/* A VRF member may be an interface the namespace gets from elsewhere: the
 * peer of another namespace's veth, or a network attachment's interface.
 * Validation used to look such a member up among the declared interfaces
 * only and then read the result without checking it (SIGSEGV). */
static void vrf_members_from_peers_and_attachments(void **state) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(
                "networks = ( { name = \"lab\"; bridge = \"br-lab\"; subnet = \"198.18.20.0/24\"; } );\n"
                "namespaces = (\n"
                "  { name = \"a\"; interfaces = ( { name = \"v\"; type = \"veth\"; peer = { namespace = \"b\"; name = \"pb\"; }; } ); },\n"
                "  { name = \"b\"; networks = ( { network = \"lab\"; interface = \"eth5\"; } );\n"
                "    interfaces = ( { name = \"vrf0\"; type = \"vrf\"; table = 10; members = [ \"pb\", \"eth5\" ]; } ); }\n"
                ");\n",
                &c);

        assert_null(msg);
        assert_non_null(c);
        config_free(c);
        /* A member that is nowhere is still an error. */
        assert_error("namespaces = ( { name = \"b\"; interfaces = ( { name = \"vrf0\"; type = \"vrf\"; table = 10; members = [ \"pb\" ]; } ); } );",
                     "member 'pb' is not declared in namespace 'b'");
}

/* libconfig 1.5 keeps an integer without the L suffix as 32 bits, cut:
 * every integer is taken from the text as written instead. */
static void integers_are_read_exactly(void **state) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(
                "namespaces = ( { name = \"x\";\n"
                "  interfaces = ( { name = \"v\"; type = \"vrf\"; table = 3000000000; },\n"
                "                 { name = \"w\"; type = \"vrf\"; table = 0xFFFFFFFF; } );\n"
                "  routes = ( { to = \"198.18.0.0/16\"; dev = \"v\"; metric = 4294967295; table = 2147483648L; } ); } );\n",
                &c);

        assert_null(msg);
        assert_int_equal(c->netns[0].ifaces[0].table, 3000000000u);
        assert_int_equal(c->netns[0].ifaces[1].table, 4294967295u);
        assert_int_equal(c->netns[0].routes[0].metric, 4294967295u);
        assert_int_equal(c->netns[0].routes[0].table, 2147483648u);
        config_free(c);

        /* 4294968796 is 2^32 + 1500: libconfig alone makes it 1500. */
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; mtu = 4294968796; } ); } );",
                     "'mtu' must be an integer from 68 to 65535, not 4294968796");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; mtu = 0x1000005DC; } ); } );",
                     "'mtu' must be an integer from 68 to 65535, not 0x1000005DC");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; mtu = -4294965796; } ); } );",
                     "not -4294965796");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; mtu = 999999999999999999999999999999; } ); } );",
                     "not 99999999999999999999...");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vxlan\"; vni = 4294967297; } ); } );",
                     "'vni' must be an integer from 0 to 16777215, not 4294967297");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vrf\"; table = 4294967296; } ); } );",
                     "not 4294967296");
        /* Integers in strings and comments are not integers. */
        {
                Config *d = NULL;
                _cleanup_free_ char *m2 = load(
                        "# mtu = 1;\n/* 12 0x5 1L */ namespaces = ( { name = \"x\"; // 7\n"
                        "  interfaces = ( { name = \"e\"; type = \"veth\"; mtu = +1400; addresses = [ \"198.18.0.1/24\" ]; } );\n"
                        "  sysctls = [ \"net.ipv4.conf.all.forwarding = 1\", \"a\\\"9\" ]; } );\n",
                        &d);
                assert_non_null(m2); /* "a\"9" is no sysctl */
                assert_null(strstr(m2, "integers"));
        }
}

static void the_text_is_checked_before_libconfig_parses_it(void **state) {
        char group[4096] = "namespaces = ( { name = \"x\"; ";
        char deep[512] = "x = ";

        assert_error("a = 1;\n@include \"/etc/passwd\"\n", ":2: @include is not supported");
        assert_error("a = 1; /*\n@include \"x\" */\n", "top level: unknown setting 'a'"); /* in a comment: text */
        assert_error("namespaces = ( { name = \"x\" } ",
                     ":1: syntax error in 'namespaces = ( { name = \"x\" }': look for a missing ';'");
        assert_error("namespaces = (\n", ":2: syntax error at the end of the file");
        assert_error("a = { b = 1;\n b = 2; };", ":2: a setting is given twice in one group, in 'b = 2; };'");
        for (int i = 0; i < CONFIG_GROUP_MAX; i++)
                snprintf(group + strlen(group), sizeof(group) - strlen(group), "k%d = 1; ", i);
        strcat(group, "} );");
        assert_error(group, "a group { ... } holds more than 64 settings");
        for (int i = 0; i < CONFIG_DEPTH_MAX + 1; i++)
                strcat(deep, "(");
        assert_error(deep, "brackets are nested more than 32 deep");
}

/* Every number in the range the kernel takes, for what it is. */
static void numbers_are_range_checked(void **state) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(
                "namespaces = ( { name = \"x\";\n"
                "  interfaces = ( { name = \"v\"; type = \"vxlan\"; vni = 0; port = 65535; mtu = 65535; },\n"
                "                 { name = \"u\"; type = \"veth\"; mtu = 68; addresses = [ \"198.18.0.1/24\" ]; },\n"
                "                 { name = \"w\"; type = \"veth\"; mtu = 1280; addresses = [ \"fd00::1/64\" ]; },\n"
                "                 { name = \"r\"; type = \"vrf\"; table = 4294967295; mtu = 1280; } );\n"
                "  routes = ( { to = \"198.18.9.0/24\"; dev = \"u\"; table = 253; metric = 0; } );\n"
                "  networks = ( { network = \"n\"; } ); ports = [ \"1:65535/udp\", \"65535:1\" ]; } );\n"
                "networks = ( { name = \"n\"; bridge = \"br-n\"; subnet = \"198.18.2.0/24\"; } );\n",
                &c);

        assert_null(msg);
        assert_int_equal(c->netns[0].ifaces[0].vni, 0);
        assert_int_equal(c->netns[0].routes[0].table, 253);
        config_free(c);

#define IFACE(x) "namespaces = ( { name = \"x\"; interfaces = ( { " x " } ); } );"
        assert_error(IFACE("name = \"e\"; type = \"veth\"; mtu = 67;"), "'mtu' must be an integer from 68 to 65535, not 67");
        assert_error(IFACE("name = \"e\"; type = \"veth\"; mtu = 65536;"), "not 65536");
        assert_error(IFACE("name = \"e\"; type = \"vrf\"; table = 10; mtu = 1279;"),
                     "'mtu' must be an integer from 1280 to 65535, not 1279");
        assert_error(IFACE("name = \"e\"; type = \"veth\"; mtu = 1279; addresses = [ \"fd00::1/64\" ];"),
                     "IPv6 needs an MTU of 1280 at least");
        assert_error(IFACE("name = \"e\"; type = \"veth\"; mtu = 1000; ipv6 = true;"), "IPv6 needs an MTU of 1280 at least");
        assert_error(IFACE("name = \"e\"; type = \"veth\"; mtu = 1000; peer = { addresses = [ \"fd00::1/64\" ]; };"),
                     "IPv6 needs an MTU of 1280 at least");
        assert_error("host = { bridges = ( { name = \"br0\"; mtu = 1000; addresses = [ \"fd00::1/64\" ]; } ); };",
                     "bridge 'br0': IPv6 needs an MTU of 1280 at least");
        assert_error(IFACE("name = \"v\"; type = \"vxlan\"; vni = 16777216;"), "'vni' must be an integer from 0 to 16777215, not 16777216");
        assert_error(IFACE("name = \"v\"; type = \"vxlan\"; vni = 1; port = 0;"), "'port' must be an integer from 1 to 65535, not 0");
        assert_error(IFACE("name = \"v\"; type = \"vxlan\"; vni = 1; port = 65536;"), "not 65536");
        assert_error(IFACE("name = \"p\"; type = \"veth\"; mtu = 1400; }, { name = \"v\"; type = \"vxlan\"; vni = 1; parent = \"p\"; mtu = 1351;"),
                     "'mtu' 1351 leaves no room for the VXLAN headers on parent 'p' (MTU 1400); it can be 1350 at most");
        assert_error(IFACE("name = \"p\"; type = \"veth\"; }, { name = \"v\"; type = \"vxlan\"; vni = 1; parent = \"p\"; remote = \"fd00::2\"; mtu = 1431;"),
                     "it can be 1430 at most");
        assert_error(IFACE("name = \"v\"; type = \"vxlan\"; vni = 7; }, { name = \"w\"; type = \"vxlan\"; vni = 7;"),
                     "interface 'w': VNI 7 on port 4789 is taken by interface 'v' already");
        assert_error(IFACE("name = \"e\"; type = \"veth\"; mtu = 1400; peer = { name = \"host-e\"; }; }, "
                           "{ name = \"m\"; type = \"macvlan\"; parent = \"host-e\"; mtu = 1500;"),
                     "'mtu' 1500 is more than the 1400 of its parent 'host-e'");
        assert_error(IFACE("name = \"r\"; type = \"vrf\"; table = 0;"), "a VRF needs a table of its own, not 0 (no table)");
        assert_error(IFACE("name = \"r\"; type = \"vrf\"; table = 254;"), "not 254 (main)");
        assert_error(IFACE("name = \"r\"; type = \"vrf\"; table = 255;"), "not 255 (local)");
#undef IFACE
#define ROUTE(x) "namespaces = ( { name = \"x\"; routes = ( { to = \"198.18.9.0/24\"; dev = \"lo\"; " x " } ); } );"
        assert_error(ROUTE("table = 0;"), "table 0 means no table, and the kernel puts such a route in main; leave 'table' out");
        assert_error(ROUTE("table = 255;"), "table 255 is reserved for the kernel's local routes");
        assert_error(ROUTE("table = 4294967296;"), "'table' must be an integer from 0 to 4294967295, not 4294967296");
        assert_error(ROUTE("metric = -1;"), "'metric' must be an integer from 0 to 4294967295, not -1");
        assert_error(ROUTE("metric = 4294967296;"), "not 4294967296");
#undef ROUTE
#define PORTS(x) "namespaces = ( { name = \"x\"; ports = [ \"" x "\" ]; } );"
        assert_error(PORTS("0:80"), "port \"0:80\" must look like");
        assert_error(PORTS("65536:80"), "each from 1 to 65535");
        assert_error(PORTS("80:0"), "must look like");
        assert_error(PORTS("-1:80"), "must look like");
        assert_error(PORTS("+80:80"), "must look like");
        assert_error(PORTS(" 80:80"), "must look like");
        assert_error(PORTS("80:80/sctp"), "must look like");
        assert_error(PORTS("4294967376:80"), "must look like");
#undef PORTS
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; addresses = [ \"198.18.0.1/33\" ]; } ); } );",
                     "'198.18.0.1/33' is not an address with a prefix length");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; addresses = [ \"fd00::1/129\" ]; } ); } );",
                     "'fd00::1/129' is not an address");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; addresses = [ \"198.18.0.1/-1\" ]; } ); } );",
                     "is not an address");
        assert_error("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; addresses = [ \"198.18.0.1/ 24\" ]; } ); } );",
                     "is not an address");
        assert_error("networks = ( { name = \"n\"; bridge = \"br-n\"; subnet = \"198.18.2.0/31\"; } );", "is too small");
}

/* Counts the problems of a config (lines of the message). */
static size_t problems(const char *text) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(text, &c);
        size_t n = 0;

        config_free(c);
        if (!msg)
                return 0;
        for (const char *p = msg; p; p = strchr(p, '\n'))
                n++, p = *p == '\n' ? p + 1 : p + 1;
        return n;
}

/* A route's gateway is on a link of the namespace, or apply would fail
 * half-way when the kernel refuses the route. */
static void gateways_must_be_reachable(void **state) {
        Config *c = NULL;
        _cleanup_free_ char *msg = load(
                "networks = ( { name = \"n\"; bridge = \"br-n\"; subnet = \"198.18.2.0/24\"; subnet6 = \"fd00:2::/64\"; } );\n"
                "namespaces = ( { name = \"x\"; networks = ( { network = \"n\"; } );\n"
                "  interfaces = ( { name = \"e0\"; type = \"veth\"; addresses = [ \"198.18.1.2/24\", \"fd00:1::2/64\" ]; },\n"
                "                 { name = \"e1\"; type = \"veth\"; peer = { namespace = \"y\"; addresses = [ \"198.18.3.1/30\" ]; }; } );\n"
                "  routes = ( { to = \"default\"; via = \"198.18.1.1\"; },\n"
                "             { to = \"default\"; via = \"fd00:1::1\"; dev = \"e0\"; },\n"
                "             { to = \"198.18.9.0/24\"; via = \"198.18.2.7\"; },\n"
                "             { to = \"fd00:9::/64\"; via = \"fd00:2::7\"; dev = \"eth0\"; },\n"
                "             { to = \"198.18.5.0/24\"; dev = \"e1\"; },\n"
                "             { to = \"198.18.6.0/24\"; via = \"198.18.5.9\"; dev = \"e1\"; },\n"
                "             { to = \"fd00:7::/64\"; via = \"fe80::1\"; dev = \"e0\"; } ); },\n"
                "  { name = \"y\"; routes = ( { to = \"default\"; via = \"198.18.3.2\"; } ); } );\n",
                &c);

        assert_null(msg);
        config_free(c);

#define NS(routes) "namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; addresses = [ \"198.18.1.2/24\", \"fd00:1::2/64\" ]; }, " \
                   "{ name = \"e1\"; type = \"veth\"; } ); routes = ( " routes " ); } );"
        assert_error(NS("{ to = \"default\"; via = \"198.18.5.1\"; }"),
                     "namespace 'x', route to default: gateway 198.18.5.1 is on no subnet of the namespace; give an interface an address");
        assert_error(NS("{ to = \"default\"; via = \"198.18.1.1\"; dev = \"e1\"; }"),
                     "gateway 198.18.1.1 is on no subnet of 'e1'");
        assert_error(NS("{ to = \"fd00:9::/64\"; via = \"fe80::1\"; }"), "gateway fe80::1 is a link-local address, which needs 'dev'");
        assert_error(NS("{ to = \"fd00:9::/64\"; via = \"fd00:1::2\"; }"), "gateway fd00:1::2 is an address of the namespace itself");
        /* Through another gateway is not on the link either. */
        assert_error(NS("{ to = \"198.18.5.0/24\"; via = \"198.18.1.1\"; }, { to = \"default\"; via = \"198.18.5.1\"; }"),
                     "route to default: gateway 198.18.5.1 is on no subnet");
        /* One problem, one sentence: an invalid gateway is not also a
         * missing one, and a gateway is not unreachable because the
         * address that would reach it was refused. */
        assert_int_equal(problems(NS("{ to = \"default\"; via = \"gateway\"; }")), 1);
        assert_error(NS("{ to = \"default\"; via = \"gateway\"; }"), "'via' = \"gateway\" is not an IP address");
        assert_int_equal(problems("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; addresses = [ \"198.18.1.300/24\" ]; } );\n"
                                  "  routes = ( { to = \"default\"; via = \"198.18.1.1\"; } ); } );"),
                         1);
        assert_int_equal(problems("networks = ( { name = \"n\"; bridge = \"br-n\"; subnet = \"198.18.2.0/33\"; } );\n"
                                  "namespaces = ( { name = \"x\"; networks = ( { network = \"n\"; } ); routes = ( { to = \"default\"; via = \"198.18.2.1\"; } ); } );"),
                         1);
        /* An interface whose name is refused still has its prefixes
         * looked at: found by fuzz-config, an over-long name overran the
         * key of the on-link index. */
        assert_int_equal(problems("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"; type = \"veth\";\n"
                                  "  addresses = [ \"198.18.1.2/24\" ]; } ); routes = ( { to = \"default\"; via = \"198.18.1.1\"; } ); } );"),
                         1);
#undef NS
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_the_tutorial),
                cmocka_unit_test(derived_names_are_unique_and_short),
                cmocka_unit_test(reports_every_error_with_file_and_line),
                cmocka_unit_test(refuses_bad_configs),
                cmocka_unit_test(networks_get_gateways_and_interface_names),
                cmocka_unit_test(vrf_members_from_peers_and_attachments),
                cmocka_unit_test(integers_are_read_exactly),
                cmocka_unit_test(the_text_is_checked_before_libconfig_parses_it),
                cmocka_unit_test(numbers_are_range_checked),
                cmocka_unit_test(gateways_must_be_reachable),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

"""Issue 3: declarative config and `nsmgrctl apply`.

Checked with ip -j (links, addresses, routes, ifindexes), ping, and the
files under /etc/netns; never with nsmgr's own output alone."""

import json
import os
import re
import textwrap
import time

import pytest

from conftest import ROOT, ip_json, run

CONF = os.path.join(ROOT, "conf")


def netns_list():
    return sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []


def snapshot():
    """Everything a user could see of the network, to compare before/after."""
    snap = {"host": {"links": ip_json("-d", "link", "show"), "addrs": ip_json("addr", "show"),
                     "routes": ip_json("route", "show", "table", "all")},
            "netns": netns_list(), "etc": sorted(os.walk("/etc/netns"))}
    for ns in netns_list():
        try:
            snap[ns] = {"links": ip_json("-d", "link", "show", netns=ns), "addrs": ip_json("addr", "show", netns=ns),
                        "routes": ip_json("route", "show", "table", "all", netns=ns)}
        except AssertionError:
            snap[ns] = "broken"
    return _scrub(snap)


VOLATILE = {"valid_life_time", "preferred_life_time", "operstate", "flags"}


def _scrub(x, parent=None):
    """Counters and timers move by themselves, and a new bridge port goes
    from disabled to forwarding when the kernel notices its carrier; what a
    user would call a change does not."""
    if isinstance(x, dict):
        return {k: _scrub(v, k) for k, v in x.items()
                if k not in VOLATILE and not k.endswith("_timer") and not (parent == "info_slave_data" and k == "state")}
    if isinstance(x, list):
        return [_scrub(v, parent) for v in x]
    return x


def diff(a, b, path=""):
    """Where two snapshots differ, as readable lines."""
    if type(a) != type(b):
        return [f"{path}: {a!r} -> {b!r}"]
    if isinstance(a, dict):
        return [d for k in sorted(set(a) | set(b), key=str) for d in diff(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} -> {len(b)} items: {a!r} -> {b!r}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def assert_unchanged(before):
    changes = diff(before, snapshot())
    assert not changes, "the system changed:\n" + "\n".join(changes[:20])


def conf(tmp_path, text, name="nsmgr.conf"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def ifindexes(ns=None):
    return {l["ifname"]: l["ifindex"] for l in ip_json("link", "show", netns=ns)}


def addrs_of(ns, dev):
    return sorted(f'{a["local"]}/{a["prefixlen"]}' for l in ip_json("addr", "show", "dev", dev, netns=ns)
                  for a in l["addr_info"])


def routes_of(ns, table="main"):
    return sorted((r["dst"], r.get("gateway"), r.get("dev")) for r in ip_json("route", "show", "table", table,
                                                                               netns=ns))


def ping(ns, addr):
    return run(["ip", "netns", "exec", ns, "ping", "-c1", "-W2", addr]).returncode == 0


TUTORIAL = os.path.join(CONF, "bridge-tutorial.conf")


# --- the bridge tutorial ----------------------------------------------------

def test_bridge_tutorial_applies_and_pings(nsmgr):
    p = nsmgr.ok("apply", "-c", TUTORIAL)
    assert "applied" in p.stdout
    assert netns_list() == ["blue", "red"]
    assert ping("red", "198.18.10.2")
    assert ping("red", "198.18.10.254")
    assert ping("blue", "198.18.10.1")

    # Exactly what was declared: no IPv6 link-local on an IPv4-only wire.
    assert addrs_of("red", "eth0") == ["198.18.10.1/24"]
    assert addrs_of("blue", "eth0") == ["198.18.10.2/24"]
    assert addrs_of(None, "br-study") == ["198.18.10.254/24"]
    assert routes_of("red") == [("198.18.10.0/24", None, "eth0"), ("default", "198.18.10.254", "eth0")]
    assert routes_of("blue") == [("198.18.10.0/24", None, "eth0"), ("default", "198.18.10.254", "eth0")]
    # The host ends are ports of the bridge.
    ports = [l["ifname"] for l in ip_json("link", "show", "master", "br-study")]
    assert len(ports) == 2
    # Namespaces made by apply are listed as such.
    assert {e["name"]: e["origin"] for e in nsmgr.json("list")} == {"blue": "config", "red": "config"}


def test_second_apply_changes_nothing(nsmgr):
    nsmgr.ok("apply", "-c", TUTORIAL)
    before = (ifindexes(), ifindexes("red"), ifindexes("blue"))
    snap = snapshot()
    p = nsmgr.ok("apply", "-c", TUTORIAL)
    assert p.stdout.strip() == "nothing to change"
    assert (ifindexes(), ifindexes("red"), ifindexes("blue")) == before
    assert_unchanged(snap)
    assert nsmgr.json("apply", "-c", TUTORIAL)["changed"] is False


def test_dry_run_prints_the_plan_and_changes_nothing(nsmgr):
    snap = snapshot()
    p = nsmgr("apply", "-c", TUTORIAL, "--dry-run")
    # 4: there are changes to make (0 would mean nothing to change).
    assert p.returncode == 4, p.stderr
    assert "dry run" in p.stdout
    assert "red: create namespace" in p.stdout
    assert "red: add route default via 198.18.10.254" in p.stdout
    assert_unchanged(snap)
    assert not os.path.exists("/run/nsmgr/state.json")
    # The plan is the same as the list of what apply then does.
    planned = [l.strip() for l in p.stdout.splitlines()[1:]]
    done = nsmgr.ok("apply", "-c", TUTORIAL).stdout.splitlines()[:-1]
    assert planned == done
    # Once applied, the plan is empty, and says so with 0.
    p = nsmgr("apply", "-c", TUTORIAL, "--dry-run")
    assert (p.returncode, p.stdout.strip()) == (0, "nothing to change")


def test_edit_changes_exactly_that(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", TUTORIAL)
    red_idx = ifindexes("red")
    host_idx = ifindexes()
    blue_host_end = [l["ifname"] for l in ip_json("link", "show", "master", "br-study")
                     if l["ifname"].startswith("vblue")][0]

    text = open(TUTORIAL).read().replace("198.18.10.1/24", "198.18.10.11/24")
    text = text[:text.index("  {\n    name = \"blue\";")].rstrip().rstrip(",") + "\n);\n"
    edited = conf(tmp_path, text)
    p = nsmgr.ok("apply", "-c", edited)
    lines = p.stdout.splitlines()
    # The kernel drops the gateway route with the old address; it is made again.
    assert lines[:-1] == ["red: remove address 198.18.10.1/24 from eth0",
                          "red: add address 198.18.10.11/24 to eth0",
                          "red: add route default via 198.18.10.254",
                          "blue: delete namespace (no longer declared)"]
    assert routes_of("red") == [("198.18.10.0/24", None, "eth0"), ("default", "198.18.10.254", "eth0")]
    assert netns_list() == ["red"]
    assert addrs_of("red", "eth0") == ["198.18.10.11/24"]
    assert ifindexes("red") == red_idx
    now = ifindexes()
    assert blue_host_end not in now
    assert {k: v for k, v in host_idx.items() if k != blue_host_end} == now
    assert ping("red", "198.18.10.254")
    assert nsmgr.ok("apply", "-c", edited).stdout.strip() == "nothing to change"


def test_drift_is_repaired_on_apply(nsmgr):
    nsmgr.ok("apply", "-c", TUTORIAL)
    run(["ip", "-n", "red", "link", "del", "eth0"], check=True)
    run(["ip", "-n", "blue", "route", "del", "default"], check=True)
    run(["ip", "-n", "blue", "addr", "del", "198.18.10.2/24", "dev", "eth0"], check=True)
    p = nsmgr.ok("apply", "-c", TUTORIAL)
    assert "red: create veth eth0" in p.stdout
    assert "blue: add address 198.18.10.2/24 to eth0" in p.stdout
    assert "blue: add route default via 198.18.10.254" in p.stdout
    assert ping("red", "198.18.10.2")


def test_what_nsmgr_did_not_make_is_never_touched(nsmgr, tmp_path):
    run(["ip", "netns", "add", "byhand"], check=True)
    nsmgr.ok("create", "bycreate")
    run(["ip", "link", "add", "hand0", "type", "veth", "peer", "name", "hand1"], check=True)
    nsmgr.ok("apply", "-c", TUTORIAL)
    # An address added by hand to a managed link is not nsmgr's either.
    run(["ip", "-n", "red", "addr", "add", "198.18.11.1/24", "dev", "eth0"], check=True)

    empty = conf(tmp_path, "# nothing\n")
    p = nsmgr.ok("apply", "-c", empty)
    assert "red: delete namespace" in p.stdout and "delete bridge br-study" in p.stdout
    assert netns_list() == ["bycreate", "byhand"]
    host = ifindexes()
    assert "hand0" in host and "hand1" in host and "br-study" not in host
    assert nsmgr.ok("apply", "-c", empty).stdout.strip() == "nothing to change"


def test_adopted_namespace_is_wired_but_never_deleted(nsmgr, tmp_path):
    nsmgr.ok("create", "red")
    ino = os.stat("/run/netns/red").st_ino
    cfg = conf(tmp_path, """
        namespaces = ( { name = "red";
                         interfaces = ( { name = "v0"; type = "veth"; addresses = [ "198.18.12.2/24" ];
                                          peer = { name = "v0-host"; addresses = [ "198.18.12.1/24" ]; }; } ); } );
        """)
    p = nsmgr.ok("apply", "-c", cfg)
    assert "red: create namespace" not in p.stdout
    assert os.stat("/run/netns/red").st_ino == ino
    assert ping("red", "198.18.12.1")
    p = nsmgr.ok("apply", "-c", conf(tmp_path, "", "empty.conf"))
    assert "red: delete veth v0" in p.stdout
    assert netns_list() == ["red"] and os.stat("/run/netns/red").st_ino == ino
    assert [l["ifname"] for l in ip_json("link", "show", netns="red")] == ["lo"]
    assert nsmgr.json("list")[0]["origin"] == "create"


def test_teardown_keeps_a_namespace_with_processes(nsmgr, sandbox, tmp_path):
    nsmgr.ok("apply", "-c", TUTORIAL)
    inside = sandbox.spawn(["ip", "netns", "exec", "blue", "sleep", "600"])
    time.sleep(0.3)
    text = open(TUTORIAL).read()
    text = text[:text.index("  {\n    name = \"blue\";")].rstrip().rstrip(",") + "\n);\n"
    p = nsmgr.ok("apply", "-c", conf(tmp_path, text))
    assert "namespace 'blue' is no longer declared, but 1 process is still inside" in p.stderr
    assert "blue" in netns_list() and ping("blue", "198.18.10.254")
    inside.kill()
    inside.wait()
    p = nsmgr.ok("apply", "-c", conf(tmp_path, text))
    assert "blue: delete namespace" in p.stdout
    assert netns_list() == ["red"]


# --- the other examples -----------------------------------------------------

def kernel_has_vrf():
    p = run(["unshare", "--net", "ip", "link", "add", "v", "type", "vrf", "table", "1"])
    return p.returncode == 0


@pytest.mark.parametrize("example", sorted(f for f in os.listdir(CONF) if f.endswith(".conf")))
def test_every_example_applies_in_an_empty_namespace(nsmgr, example):
    path = os.path.join(CONF, example)
    if example == "vrf.conf" and not kernel_has_vrf():
        before = snapshot()
        p = nsmgr("apply", "-c", path)
        assert p.returncode == 1
        assert "CONFIG_NET_VRF" in p.stderr and "nothing was changed" in p.stderr
        assert p.stderr.count("\n") == 1
        assert_unchanged(before)
        return
    nsmgr.ok("apply", "-c", path)
    assert nsmgr.ok("apply", "-c", path).stdout.strip() == "nothing to change"


def test_vrf_member_from_elsewhere_plans_without_crashing(nsmgr, tmp_path):
    """A VRF member that is another namespace's veth peer or an attachment's
    interface once crashed validation (SIGSEGV), in apply and in nsmgrd."""
    path = conf(tmp_path, """
        networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; } );
        namespaces = (
          { name = "a"; interfaces = ( { name = "v"; type = "veth"; peer = { namespace = "b"; name = "pb"; }; } ); },
          { name = "b"; networks = ( { network = "lab"; interface = "eth5"; } );
            interfaces = ( { name = "vrf0"; type = "vrf"; table = 10; members = [ "pb", "eth5" ]; } ); }
        );
        """)
    before = snapshot()
    p = nsmgr("apply", "-c", path, "--dry-run")
    assert p.returncode >= 0, f"killed by signal {-p.returncode}"
    if kernel_has_vrf():
        assert p.returncode == 0, p.stderr
        assert "b: create vrf vrf0" in p.stdout
    else:
        assert p.returncode == 1 and "CONFIG_NET_VRF" in p.stderr, p.stderr
    assert_unchanged(before)


def test_shared_pod_dns_files_and_exec(nsmgr):
    nsmgr.ok("apply", "-c", os.path.join(CONF, "shared-pod.conf"))
    resolv = open("/etc/netns/pod/resolv.conf").read()
    assert "nameserver 198.18.30.1\nnameserver fd00:30::1\nsearch pod.example\noptions ndots:2 timeout:2\n" in resolv
    hosts = open("/etc/netns/pod/hosts").read()
    assert "127.0.0.1\tlocalhost" in hosts and "198.18.30.2\tpod pod.pod.example" in hosts
    out = nsmgr.ok("exec", "pod", "--", "sh", "-c", "cat /etc/resolv.conf; getent hosts gateway").stdout
    assert "search pod.example" in out and "198.18.30.1" in out.splitlines()[-1]
    assert ping("pod", "198.18.30.1")
    assert run(["ip", "netns", "exec", "pod", "ping", "-6", "-c1", "-W2", "fd00:30::1"]).returncode == 0
    # Re-apply leaves the files byte for byte (and their mtime).
    mtime = os.stat("/etc/netns/pod/hosts").st_mtime_ns
    assert nsmgr.ok("apply", "-c", os.path.join(CONF, "shared-pod.conf")).stdout.strip() == "nothing to change"
    assert os.stat("/etc/netns/pod/hosts").st_mtime_ns == mtime


def test_overlay_link_kinds(nsmgr):
    nsmgr.ok("apply", "-c", os.path.join(CONF, "overlay.conf"))
    a = {l["ifname"]: l for l in ip_json("-d", "link", "show", netns="site-a")}
    b = {l["ifname"]: l for l in ip_json("-d", "link", "show", netns="site-b")}
    assert a["under0"]["linkinfo"]["info_kind"] == "veth" and a["under0"]["mtu"] == 1550
    assert b["under0"]["linkinfo"]["info_kind"] == "veth" and b["under0"]["mtu"] == 1550
    vx = a["vx0"]["linkinfo"]["info_data"]
    assert a["vx0"]["linkinfo"]["info_kind"] == "vxlan" and vx["id"] == 61 and vx["remote"] == "198.18.60.2"
    assert vx["port"] == 4789 and vx["local"] == "198.18.60.1"
    assert b["mv0"]["linkinfo"]["info_kind"] == "macvlan"
    assert b["mv0"]["linkinfo"]["info_data"]["mode"] == "bridge"
    # Through the overlay, and from the macvlan to the other namespace.
    assert ping("site-a", "198.18.61.2")
    assert ping("site-b", "198.18.62.2")
    assert run(["ip", "netns", "exec", "site-a", "sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"
    assert routes_of("site-b")[-1] == ("198.18.63.0/24", "198.18.61.1", "vx0")


def test_a_parent_made_anew_takes_its_dependents_along(nsmgr, tmp_path):
    text = open(os.path.join(CONF, "overlay.conf")).read()
    nsmgr.ok("apply", "-c", os.path.join(CONF, "overlay.conf"))
    changed = conf(tmp_path, text.replace('mtu = 1550;', 'mtu = 1550; ipv6 = true;').replace(
        'peer = { namespace = "site-b"; name = "under0";', 'peer = { namespace = "site-b"; name = "under1";')
        .replace('parent = "under0"; port = 4789; addresses = [ "198.18.61.2/24" ]',
                 'parent = "under1"; port = 4789; addresses = [ "198.18.61.2/24" ]'))
    nsmgr.ok("apply", "-c", changed)
    assert nsmgr.ok("apply", "-c", changed).stdout.strip() == "nothing to change"
    assert ping("site-a", "198.18.61.2")


def test_ipv6_link_local_only_where_ipv6_is_declared(nsmgr):
    nsmgr.ok("apply", "-c", os.path.join(CONF, "shared-pod.conf"))
    fams = {a["family"] for a in ip_json("addr", "show", "dev", "eth0", netns="pod")[0]["addr_info"]}
    assert fams == {"inet", "inet6"}
    ll = [a for a in ip_json("addr", "show", "dev", "eth0", netns="pod")[0]["addr_info"]
          if a["local"].startswith("fe80")]
    assert ll, "an interface with IPv6 declared keeps its link-local address"


# --- config files and errors ------------------------------------------------

def test_config_dir_is_read_in_name_order(nsmgr):
    os.makedirs("/etc/nsmgr/conf.d", exist_ok=True)
    with open("/etc/nsmgr/nsmgr.conf", "w") as f:
        f.write('host = { bridges = ( { name = "br0"; addresses = [ "198.18.13.1/24" ]; } ); };\n')
    with open("/etc/nsmgr/conf.d/20-b.conf", "w") as f:
        f.write('namespaces = ( { name = "b"; interfaces = ( { name = "e0"; type = "veth"; bridge = "br0"; '
                'addresses = [ "198.18.13.3/24" ]; } ); } );\n')
    with open("/etc/nsmgr/conf.d/10-a.conf", "w") as f:
        f.write('namespaces = ( { name = "a"; interfaces = ( { name = "e0"; type = "veth"; bridge = "br0"; '
                'addresses = [ "198.18.13.2/24" ]; } ); } );\n')
    with open("/etc/nsmgr/conf.d/README", "w") as f:
        f.write("not a .conf file\n")
    p = nsmgr.ok("apply")
    assert p.stdout.index("a: create namespace") < p.stdout.index("b: create namespace")
    assert ping("a", "198.18.13.3")

    with open("/etc/nsmgr/conf.d/30-dup.conf", "w") as f:
        f.write('namespaces = ( { name = "a"; } );\n')
    p = nsmgr("apply")
    assert p.returncode == 1
    assert "/etc/nsmgr/conf.d/30-dup.conf:1: namespace 'a' is declared twice (also at /etc/nsmgr/conf.d/10-a.conf:1)" \
        in p.stderr


BAD = [
    ("namespaces = ( { name = \"x\" } ", ":1: syntax error"),
    ("frobnicate = 1;", ":1: top level: unknown setting 'frobnicate'"),
    ("namespaces = ( { name = \"x\"; colour = \"red\"; } );", "namespace 'x': unknown setting 'colour'"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; mtu = \"big\"; } ); } );",
     "'mtu' must be an integer, not a string"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; mtu = 20; } ); } );",
     "'mtu' must be an integer from 68 to 65535, not 20"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; "
     "addresses = [ \"198.18.1.300/24\" ]; } ); } );", "'198.18.1.300/24' is not an address with a prefix length"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; "
     "addresses = [ \"198.18.1.3\" ]; } ); } );", "'198.18.1.3' is not an address with a prefix length"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"tunnel\"; } ); } );",
     "unknown interface type \"tunnel\""),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; table = 5; } ); } );",
     "setting 'table' does not apply to a veth interface"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"eth0-far-too-long\"; type = \"veth\"; } ); } );",
     "'eth0-far-too-long': it is 17 bytes long, the kernel's limit is 15"),
    ("namespaces = ( { name = \"x\"; }, { name = \"x\"; } );", "namespace 'x' is declared twice"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; bridge = \"nobr\"; } ); } );",
     "bridge 'nobr' is not declared"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"e0\"; type = \"veth\"; "
     "peer = { namespace = \"ghost\"; }; } ); } );", "peer namespace 'ghost' is not declared"),
    ("namespaces = ( { name = \"x\"; routes = ( { to = \"198.18.9.0/24\"; dev = \"nodev\"; } ); } );",
     "device 'nodev' is not declared"),
    ("namespaces = ( { name = \"x\"; routes = ( { to = \"198.18.9.1/24\"; dev = \"lo\"; } ); } );",
     "has host bits set; did you mean 198.18.9.0/24?"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"a\"; type = \"veth\"; addresses = [ \"198.18.1.1/24\" ]; },"
     " { name = \"b\"; type = \"veth\"; addresses = [ \"198.18.1.1/25\" ]; } ); } );",
     "address 198.18.1.1 conflicts with namespace 'x', interface 'a'"),
    ("host = { bridges = ( { name = \"br\"; } ); };\nnamespaces = ( "
     "{ name = \"x\"; interfaces = ( { name = \"e\"; type = \"veth\"; bridge = \"br\"; addresses = [ \"198.18.1.5/24\" ]; } ); },"
     "{ name = \"y\"; interfaces = ( { name = \"e\"; type = \"veth\"; bridge = \"br\"; addresses = [ \"198.18.1.5/24\" ]; } ); } );",
     "on bridge 'br'"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vrf\"; table = 10; members = [ \"ghost\" ]; } ); } );",
     "member 'ghost' is not declared"),
    ("namespaces = ( { name = \"x\"; interfaces = ( { name = \"v\"; type = \"vxlan\"; vni = 5; remote = \"198.18.1.1\"; "
     "group = \"239.1.1.1\"; } ); } );", "'remote' and 'group' exclude each other"),
    ("namespaces = ( { name = \"x\"; sysctls = [ \"kernel.hostname=y\" ]; } );",
     "sysctl 'kernel.hostname' is not per network namespace"),
    ("namespaces = ( { name = \"x\"; sysctls = [ \"net.ipv4.ip_forward\" ]; } );", "must have the form \"key=value\""),
    ("namespaces = ( { name = \"a/b\"; } );", "must not contain '/'"),
    ("namespaces = ( { name = \"x\"; dns = { nameservers = [ \"dns.example\" ]; }; } );",
     "nameserver \"dns.example\" is not an IP address"),
    ("namespaces = ( { interfaces = (); } );", "namespace: missing setting 'name'"),
]


@pytest.mark.parametrize("text,msg", BAD)
def test_bad_config_is_refused_and_changes_nothing(nsmgr, tmp_path, text, msg):
    nsmgr.ok("apply", "-c", TUTORIAL)
    before = snapshot()
    state = open("/run/nsmgr/state.json").read()
    path = conf(tmp_path, text, "bad.conf")
    p = nsmgr("apply", "-c", path)
    assert p.returncode == 1, p.stdout
    assert msg in p.stderr, p.stderr
    assert re.search(re.escape(path) + r":\d+: ", p.stderr), "the error names file:line"
    assert p.stdout == ""
    assert_unchanged(before)
    assert open("/run/nsmgr/state.json").read() == state


def test_all_errors_are_reported_at_once(nsmgr, tmp_path):
    path = conf(tmp_path, """
        namespaces = (
          { name = "x"; colour = "red"; },
          { name = "y"; interfaces = ( { name = "e0"; type = "veth"; mtu = 1; } ); }
        );
        """)
    p = nsmgr("apply", "-c", path)
    assert p.returncode == 1
    assert f"{path}:3: namespace 'x': unknown setting 'colour'" in p.stderr
    assert f"{path}:4: namespace 'y', interface 'e0': 'mtu' must be an integer from 68 to 65535, not 1" in p.stderr


def test_names_taken_by_others_are_refused_before_any_change(nsmgr, tmp_path):
    run(["ip", "link", "add", "br-study", "type", "veth", "peer", "name", "other"], check=True)
    before = snapshot()
    p = nsmgr("apply", "-c", TUTORIAL)
    assert p.returncode == 1
    assert "bridge 'br-study': a host interface of that name exists and is a veth, not a bridge" in p.stderr
    assert_unchanged(before)


def test_missing_config_file(nsmgr, tmp_path):
    p = nsmgr("apply", "-c", str(tmp_path / "nope.conf"))
    assert p.returncode == 1 and "cannot read config" in p.stderr and "nope.conf" in p.stderr


def test_no_config_at_all_is_an_empty_config(nsmgr):
    assert nsmgr.ok("apply").stdout.strip() == "nothing to change"


def test_apply_usage(nsmgr):
    assert nsmgr("apply", "extra").returncode == 2
    assert nsmgr("apply", "-c").returncode == 2


def test_reference_config_examples_are_valid(nsmgr, tmp_path):
    """conf/nsmgr.conf declares nothing, but every setting it shows in a
    comment is real: uncommented, the file passes validation and plans."""
    text = open(os.path.join(CONF, "nsmgr.conf")).read()
    body = text[text.index("# --- The host"):]
    code = "\n".join(re.sub(r"^# ?", "", l) for l in body.splitlines() if not l.startswith("# ---"))
    path = conf(tmp_path, code, "reference.conf")
    run(["ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"], check=True)
    p = nsmgr("apply", "-c", path, "--dry-run")
    if p.returncode != 4:
        assert p.returncode == 1 and "CONFIG_NET_VRF" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    else:
        assert "red: create vrf vrf-blue" in p.stdout
    # As installed, the file itself asks for nothing.
    assert nsmgr.ok("apply", "-c", os.path.join(CONF, "nsmgr.conf")).stdout.strip() == "nothing to change"

"""Issue 4: networks with IPAM, attach/detach, NAT and published ports.

The sandbox plays the host; a `wan` namespace behind an uplink veth plays
the outside world. Results are checked with ip -j, nft -j, the lease files,
and real connections made by processes inside the namespaces."""

import concurrent.futures
import json
import os
import re
import stat
import textwrap
import time

import pytest

from conftest import BUILD, ROOT, ip_json, run

LAB = os.path.join(ROOT, "conf", "lab.conf")
LEASES = "/var/lib/nsmgr/ipam"

# A TCP server that answers every connection with the address it came from.
PEER_SERVER = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(64)
    print("ready", flush=True)
    while True:
        c, peer = s.accept()
        c.sendall((sys.argv[3] + " " + peer[0] + "\\n").encode())
        c.close()
    """)

CLIENT = textwrap.dedent("""
    import socket, sys
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    print(c.recv(200).decode().strip())
    """)


def serve(sandbox, netns, addr, port, name):
    cmd = ["/usr/bin/python3", "-c", PEER_SERVER, addr, str(port), name]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = sandbox.spawn(cmd, stdout=__import__("subprocess").PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def connect(netns, addr, port):
    cmd = ["/usr/bin/python3", "-c", CLIENT, addr, str(port)]
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    p = run(cmd, timeout=10)
    return p.stdout.strip() if p.returncode == 0 else None


def ping(ns, addr, six=False):
    return run(["ip", "netns", "exec", ns, "ping"] + (["-6"] if six else []) + ["-c1", "-W2", addr]).returncode == 0


def nft_table(name="inet nsmgr"):
    p = run(["nft", "-j", "list", "table"] + name.split())
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)["nftables"][1:]


def nft_chains():
    return {i["chain"]["name"] for i in (nft_table() or []) if "chain" in i}


def leases(network="lab"):
    d = os.path.join(LEASES, network)
    if not os.path.isdir(d):
        return {}
    return {f: open(os.path.join(d, f)).read() for f in sorted(os.listdir(d)) if not f.startswith(".")}


def make_wan():
    """The outside world: namespace wan (198.19.0.2) behind the host's uplink0 (198.19.0.1)."""
    run(["ip", "netns", "add", "wan"], check=True)
    run(["ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "eth0", "netns", "wan"], check=True)
    run(["ip", "addr", "add", "198.19.0.1/24", "dev", "uplink0"], check=True)
    run(["ip", "link", "set", "uplink0", "up"], check=True)
    run(["ip", "-n", "wan", "addr", "add", "198.19.0.2/24", "dev", "eth0"], check=True)
    run(["ip", "-n", "wan", "link", "set", "eth0", "up"], check=True)
    run(["ip", "-n", "wan", "link", "set", "lo", "up"], check=True)


def write(tmp_path, text, name="net.conf"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def with_red(tmp_path, extra_net="", extra_ns=""):
    return write(tmp_path, f"""
        networks = (
          {{ name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; masquerade = true; {extra_net} }}
        );
        namespaces = (
          {{ name = "web"; networks = ( {{ network = "lab"; }} ); ports = [ "8080:80/tcp" ]; }},
          {{ name = "red"; networks = ( {{ network = "lab"; }} ); {extra_ns} }}
        );
        """)


# --- the lab example, NAT and ports -----------------------------------------

def test_lab_example_masquerade_and_published_port(nsmgr, sandbox, tmp_path):
    make_wan()
    cfg = with_red(tmp_path)
    nsmgr.ok("apply", "-c", cfg)

    web = nsmgr.json("show", "web")
    assert web["networks"][0]["network"] == "lab" and web["networks"][0]["interface"] == "eth0"
    web_ip = web["networks"][0]["addresses"][0]
    red_ip = nsmgr.json("show", "red")["networks"][0]["addresses"][0]
    assert web_ip == "198.18.20.2" and red_ip == "198.18.20.3"
    assert web["ports"] == ["8080:80/tcp -> 198.18.20.2"]
    assert run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"

    # red reaches wan through masquerade: wan sees the uplink address.
    serve(sandbox, "wan", "198.19.0.2", 9000, "wan")
    assert connect("red", "198.19.0.2", 9000) == "wan 198.19.0.1"

    # web's port 80 as the host's 8080: from wan, from red, from the host.
    serve(sandbox, "web", "0.0.0.0", 80, "web")
    assert connect("wan", "198.19.0.1", 8080) == "web 198.19.0.2"
    assert connect("red", "198.18.20.1", 8080) == "web 198.18.20.1"   # hairpin: masqueraded
    assert connect(None, "198.19.0.1", 8080).startswith("web ")
    assert connect(None, "127.0.0.1", 8080).startswith("web ")
    # Not published: nothing answers on another port.
    assert connect("wan", "198.19.0.1", 8081) is None


def test_no_masquerade_without_it(nsmgr, sandbox, tmp_path):
    make_wan()
    cfg = with_red(tmp_path).replace("masquerade = true", "masquerade = false")
    open(tmp_path / "nomasq.conf", "w").write(open(cfg).read().replace("masquerade = true", "masquerade = false"))
    nsmgr.ok("apply", "-c", str(tmp_path / "nomasq.conf"))
    rules = json.dumps(nft_table())
    assert "masquerade" in rules  # the hairpin for published ports stays
    assert '"op": "!="' not in rules  # but nothing masquerades what leaves the subnet
    serve(sandbox, "wan", "198.19.0.2", 9000, "wan")
    assert connect("red", "198.19.0.2", 9000) is None  # wan has no route back to 198.18.20.0/24


def test_uplink_narrows_masquerade(nsmgr, sandbox, tmp_path):
    make_wan()
    nsmgr.ok("apply", "-c", with_red(tmp_path, extra_net='uplink = "uplink0";'))
    post = [i["rule"] for i in nft_table() if "rule" in i and i["rule"]["chain"].startswith("nw-lab")]
    masq = [r for r in post if '"!="' in json.dumps(r)]
    assert len(masq) == 1 and '"oifname"' in json.dumps(masq[0]) and "uplink0" in json.dumps(masq[0])
    serve(sandbox, "wan", "198.19.0.2", 9000, "wan")
    assert connect("red", "198.19.0.2", 9000) == "wan 198.19.0.1"


def test_ipv6_subnet_works_fully(nsmgr, sandbox, tmp_path):
    cfg = write(tmp_path, """
        networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; subnet6 = "fd00:20::/64"; } );
        namespaces = ( { name = "red"; networks = ( { network = "lab"; } ); },
                       { name = "blue"; networks = ( { network = "lab"; } ); } );
        """)
    nsmgr.ok("apply", "-c", cfg)
    addrs = {a["local"] for a in ip_json("addr", "show", "dev", "eth0", netns="red")[0]["addr_info"]}
    assert {"198.18.20.2", "fd00:20::2"} <= addrs
    routes6 = ip_json("-6", "route", "show", "default", netns="red")
    assert routes6[0]["gateway"] == "fd00:20::1"
    assert run(["sysctl", "-n", "net.ipv6.conf.all.forwarding"]).stdout.strip() == "1"
    assert ping("red", "fd00:20::1", six=True)
    assert ping("red", "fd00:20::3", six=True)


def test_ipv4_only_network_pays_nothing_for_ipv6(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", with_red(tmp_path))
    assert [a["family"] for a in ip_json("addr", "show", "dev", "eth0", netns="red")[0]["addr_info"]] == ["inet"]
    assert not [a for l in ip_json("addr", "show", "dev", "br-lab") for a in l["addr_info"] if a["family"] == "inet6"]


# --- attach / detach and IPAM -----------------------------------------------

def test_32_parallel_attaches_get_32_distinct_reachable_addresses(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", LAB)
    names = [f"c{i}" for i in range(32)]
    for n in names:
        nsmgr.ok("create", n)

    def attach(n):
        return nsmgr("attach", n, "lab", "-c", LAB, "--json")

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(attach, names))
    for p in results:
        assert p.returncode == 0, p.stderr
    addrs = [json.loads(p.stdout)["address"] for p in results]
    assert len(set(addrs)) == 32
    assert all(a.startswith("198.18.20.") for a in addrs)
    assert "198.18.20.1/24" not in addrs and "198.18.20.2/24" not in addrs  # gateway, web
    assert len(leases()) == 33
    for n, a in zip(names, addrs):
        got = ip_json("addr", "show", "dev", "eth0", netns=n)[0]["addr_info"][0]
        assert f'{got["local"]}/{got["prefixlen"]}' == a
        assert ping("web", a.split("/")[0])
    # A re-apply keeps every run-time attachment as it is.
    assert nsmgr.ok("apply", "-c", LAB).stdout.strip() == "nothing to change"


def test_attach_detach_and_address_reuse(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", LAB)
    nsmgr.ok("create", "c1")
    p = nsmgr.ok("attach", "c1", "lab", "-c", LAB)
    assert p.stdout.strip() == "attached c1 to lab: eth0 198.18.20.3/24"
    assert ip_json("route", "show", "default", netns="c1")[0]["gateway"] == "198.18.20.1"
    assert "198.18.20.3" in leases()
    host_end = [l["ifname"] for l in ip_json("link", "show", "master", "br-lab") if l["ifname"].startswith("vc1")]
    assert len(host_end) == 1

    nsmgr.ok("detach", "c1", "lab", "-c", LAB)
    assert "198.18.20.3" not in leases()
    assert [l["ifname"] for l in ip_json("link", "show", netns="c1")] == ["lo"]
    assert host_end[0] not in [l["ifname"] for l in ip_json("link", "show")]
    # The freed address is handed out again.
    nsmgr.ok("create", "c2")
    assert "198.18.20.3/24" in nsmgr.ok("attach", "c2", "lab", "-c", LAB).stdout


def test_attach_keeps_an_existing_default_route(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", LAB)
    nsmgr.ok("create", "c1")
    run(["ip", "-n", "c1", "link", "add", "up0", "type", "veth", "peer", "name", "up1"], check=True)
    run(["ip", "-n", "c1", "addr", "add", "198.18.21.2/24", "dev", "up0"], check=True)
    run(["ip", "-n", "c1", "link", "set", "up0", "up"], check=True)
    run(["ip", "-n", "c1", "route", "add", "default", "via", "198.18.21.1"], check=True)
    nsmgr.ok("attach", "c1", "lab", "-c", LAB)
    assert [r["gateway"] for r in ip_json("route", "show", "default", netns="c1")] == ["198.18.21.1"]


def test_attach_with_ip_and_ifname(nsmgr):
    nsmgr.ok("apply", "-c", LAB)
    for n in ("c1", "c2"):
        nsmgr.ok("create", n)
    p = nsmgr.ok("attach", "c1", "lab", "--ip", "198.18.20.77", "--ifname", "lab0", "-c", LAB)
    assert "lab0 198.18.20.77/24" in p.stdout
    assert ip_json("addr", "show", "dev", "lab0", netns="c1")[0]["addr_info"][0]["local"] == "198.18.20.77"
    before = leases()
    for ip, msg in (("198.18.20.77", "already leased to namespace 'c1'"),
                    ("198.18.20.1", "the gateway"),
                    ("198.18.20.255", "the network or broadcast address"),
                    ("198.18.99.5", "outside")):
        p = nsmgr("attach", "c2", "lab", "--ip", ip, "-c", LAB)
        assert p.returncode == 1 and msg in p.stderr, p.stderr
        assert [l["ifname"] for l in ip_json("link", "show", netns="c2")] == ["lo"]
    assert leases() == before


def test_attach_refusals(nsmgr):
    nsmgr.ok("apply", "-c", LAB)
    p = nsmgr("attach", "ghost", "lab", "-c", LAB)
    assert p.returncode == 1 and "namespace 'ghost' does not exist" in p.stderr
    nsmgr.ok("create", "c1")
    p = nsmgr("attach", "c1", "nonet", "-c", LAB)
    assert p.returncode == 1 and "network 'nonet' is not declared" in p.stderr
    p = nsmgr("detach", "c1", "lab", "-c", LAB)
    assert p.returncode == 1 and "'c1' is not attached to network 'lab'" in p.stderr
    p = nsmgr("detach", "web", "lab", "-c", LAB)
    assert p.returncode == 1 and f"{LAB}:23 attaches it; remove it from {LAB} and apply the config again" in p.stderr
    assert nsmgr("attach", "c1", "-c", LAB).returncode == 2


def test_full_subnet_is_a_clear_error(nsmgr, tmp_path):
    cfg = write(tmp_path, """
        networks = ( { name = "tiny"; bridge = "br-tiny"; subnet = "198.18.22.0/29"; } );
        """)
    nsmgr.ok("apply", "-c", cfg)
    for i in range(6):
        nsmgr.ok("create", f"t{i}")
    got = [nsmgr.ok("attach", f"t{i}", "tiny", "-c", cfg).stdout.split()[-1] for i in range(5)]
    assert got == [f"198.18.22.{i}/29" for i in range(2, 7)]   # .0 network, .1 gateway, .7 broadcast
    p = nsmgr("attach", "t5", "tiny", "-c", cfg)
    assert p.returncode == 1
    assert "network 'tiny' (198.18.22.0/29) has no free address left: all 5 are leased" in p.stderr
    assert [l["ifname"] for l in ip_json("link", "show", netns="t5")] == ["lo"]


def test_lease_of_a_vanished_namespace_is_reclaimed_and_reported(nsmgr):
    nsmgr.ok("apply", "-c", LAB)
    nsmgr.ok("create", "c1")
    nsmgr.ok("attach", "c1", "lab", "-c", LAB)
    nsmgr.ok("delete", "c1", "--force")
    p = nsmgr.ok("apply", "-c", LAB)
    assert "released lease 198.18.20.3 of c1:eth0 on network 'lab' (its namespace no longer exists)" in p.stdout
    assert list(leases()) == ["198.18.20.2"]


def test_reapply_keeps_leases_and_rules_byte_for_byte(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", LAB)
    nsmgr.ok("create", "c1")
    nsmgr.ok("attach", "c1", "lab", "-c", LAB)
    d = os.path.join(LEASES, "lab")
    stat = {f: os.stat(os.path.join(d, f)).st_mtime_ns for f in os.listdir(d)}
    before = (leases(), nft_table())
    for _ in range(2):
        assert nsmgr.ok("apply", "-c", LAB).stdout.strip() == "nothing to change"
    assert (leases(), nft_table()) == before
    assert {f: os.stat(os.path.join(d, f)).st_mtime_ns for f in os.listdir(d)} == stat


def test_leases_survive_a_restart_of_everything(nsmgr, tmp_path):
    """After a reboot the namespaces are gone but /var/lib/nsmgr is not:
    the declared attachments get their addresses back."""
    nsmgr.ok("apply", "-c", with_red(tmp_path))
    before = leases()
    for ns in ("web", "red"):
        nsmgr.ok("delete", ns)
    run(["ip", "link", "del", "br-lab"], check=True)
    # The kernel frees unpinned namespaces (and their veths) a moment later.
    for _ in range(500):
        if not [l for l in ip_json("link", "show") if l["ifname"].startswith("v")]:
            break
        time.sleep(0.01)
    os.unlink("/run/nsmgr/state.json")
    nsmgr.ok("apply", "-c", with_red(tmp_path))
    assert leases() == before
    assert nsmgr.json("show", "red")["networks"][0]["addresses"] == ["198.18.20.3"]


# --- nftables: only our own table, exactly our rules --------------------------

def test_other_tables_are_never_touched(nsmgr, tmp_path):
    run(["nft", "add", "table", "inet", "userfw"], check=True)
    run(["nft", "add", "chain", "inet", "userfw", "input",
         "{ type filter hook input priority 0; policy accept; }"], check=True)
    run(["nft", "add", "rule", "inet", "userfw", "input", "tcp", "dport", "22", "counter", "accept"], check=True)
    run(["nft", "add", "table", "ip", "nat"], check=True)
    mine = (nft_table("inet userfw"), nft_table("ip nat"))

    nsmgr.ok("apply", "-c", with_red(tmp_path))
    nsmgr.ok("create", "c1")
    nsmgr.ok("attach", "c1", "lab", "-c", with_red(tmp_path))
    nsmgr.ok("detach", "c1", "lab", "-c", with_red(tmp_path))
    nsmgr.ok("apply", "-c", write(tmp_path, "", "empty.conf"))
    assert nft_table() is None
    assert (nft_table("inet userfw"), nft_table("ip nat")) == mine


def test_removing_a_network_removes_exactly_its_rules(nsmgr, tmp_path):
    two = write(tmp_path, """
        networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; },
                     { name = "lab2"; bridge = "br-lab2"; subnet = "198.18.23.0/24"; } );
        namespaces = ( { name = "web"; networks = ( { network = "lab"; } ); ports = [ "8080:80/tcp" ]; },
                       { name = "db"; networks = ( { network = "lab2"; } ); ports = [ "5433:5432/tcp" ]; } );
        """, "two.conf")
    one = write(tmp_path, """
        networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; } );
        namespaces = ( { name = "web"; networks = ( { network = "lab"; } ); ports = [ "8080:80/tcp" ]; } );
        """, "one.conf")
    nsmgr.ok("apply", "-c", two)
    table = nft_table()
    kept = [i for i in table if "lab2" not in json.dumps(i) and "db-" not in json.dumps(i)
            and "5433" not in json.dumps(i) and "198.18.23" not in json.dumps(i)]
    p = nsmgr.ok("apply", "-c", one)
    assert "nat: remove chain" in p.stdout
    after = nft_table()
    assert not [i for i in after if "lab2" in json.dumps(i) or "198.18.23" in json.dumps(i) or "5433" in json.dumps(i)]
    # Everything else is as it was, handles included.
    assert [i for i in after if "table" not in i] == [i for i in kept if "table" not in i]


def test_nat_drift_is_repaired_on_apply(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", with_red(tmp_path))
    pub = [c for c in nft_chains() if c.startswith("pub-web")][0]
    run(["nft", "flush", "chain", "inet", "nsmgr", pub], check=True)
    p = nsmgr.ok("apply", "-c", with_red(tmp_path))
    assert "nat: restore the rules of namespace web" in p.stdout
    assert len([i for i in nft_table() if "rule" in i and i["rule"]["chain"] == pub]) == 1
    run(["nft", "delete", "table", "inet", "nsmgr"], check=True)
    p = nsmgr.ok("apply", "-c", with_red(tmp_path))
    assert "nat:" in p.stdout and pub in nft_chains()


def test_names_nft_syntax_would_need_quoted(nsmgr, sandbox, tmp_path):
    """Names reach libnftables as JSON strings: a quote, a semicolon or
    braces in them, which the kernel allows, are characters like others."""
    uplink, bridge, web = 'u"p;{0}', 'br"l;{b}', 'we"b; {x}'
    run(["ip", "netns", "add", "wan"], check=True)
    run(["ip", "link", "add", uplink, "type", "veth", "peer", "name", "eth0", "netns", "wan"], check=True)
    run(["ip", "addr", "add", "198.19.0.1/24", "dev", uplink], check=True)
    run(["ip", "link", "set", uplink, "up"], check=True)
    run(["ip", "-n", "wan", "addr", "add", "198.19.0.2/24", "dev", "eth0"], check=True)
    run(["ip", "-n", "wan", "link", "set", "eth0", "up"], check=True)
    q = lambda s: s.replace('"', '\\"')
    cfg = write(tmp_path, f"""
        networks = ( {{ name = "lab"; bridge = "{q(bridge)}"; subnet = "198.18.20.0/24"; masquerade = true;
                       uplink = "{q(uplink)}"; }} );
        namespaces = ( {{ name = "{q(web)}"; networks = ( {{ network = "lab"; }} ); ports = [ "8080:80/tcp" ]; }},
                       {{ name = "red"; networks = ( {{ network = "lab"; }} ); }} );
        """)
    nsmgr.ok("apply", "-c", cfg)
    assert nsmgr.ok("apply", "-c", cfg).stdout.strip() == "nothing to change"
    rights = [e["match"]["right"] for i in nft_table() if "rule" in i
              for e in i["rule"]["expr"] if "match" in e and isinstance(e["match"]["right"], str)]
    assert uplink in rights and bridge in rights
    # And the rules do what they say: masquerading out of that uplink, the
    # port published from the namespace with that name.
    serve(sandbox, "wan", "198.19.0.2", 9000, "wan")
    assert connect("red", "198.19.0.2", 9000) == "wan 198.19.0.1"
    serve(sandbox, web, "0.0.0.0", 80, "web")
    assert connect("wan", "198.19.0.1", 8080) == "web 198.19.0.2"
    assert nsmgr.json("show", web)["ports"] == ["8080:80/tcp -> 198.18.20.2"]


# --- libnftables: loaded when NAT needs it, and only then --------------------

def libnftables_dir():
    """The folder of libnftables.so.1, as the dynamic loader finds it."""
    for line in run(["ldconfig", "-p"], check=True).stdout.splitlines():
        if line.strip().startswith("libnftables.so.1 "):
            return os.path.dirname(os.path.realpath(line.split("=>")[1].strip()))
    pytest.skip("libnftables.so.1 is not installed (package libnftables1)")


def without_libnftables(tmp_path, argv):
    """Runs argv as on a machine without the libnftables1 package: in a
    mount namespace of its own, an overlay on the library's folder whites
    out its files. /run/netns is made a shared mount first (as ip netns
    does), so pins made there reach the test; the overlay stays private."""
    lib = libnftables_dir()
    run(["ip", "netns", "add", "prepare"], check=True)
    run(["ip", "netns", "del", "prepare"], check=True)
    upper, work = tmp_path / "upper", tmp_path / "work"
    if not upper.exists():
        upper.mkdir()
        work.mkdir()
        for f in os.listdir(lib):
            if f.startswith("libnftables.so"):
                os.mknod(upper / f, stat.S_IFCHR, os.makedev(0, 0))   # an overlayfs whiteout
    script = (f'mount -t overlay overlay -o lowerdir={lib},upperdir={upper},workdir={work} {lib} && '
              f'test ! -e {lib}/libnftables.so.1 && exec "$@"')
    return run(["unshare", "--mount", "--propagation", "unchanged", "sh", "-c", script, "sh", *argv])


def test_without_libnftables_nat_fails_in_one_sentence_and_the_rest_works(nsmgr, tmp_path):
    ctl = nsmgr.ctl_path
    p = without_libnftables(tmp_path, [ctl, "apply", "-c", LAB])
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        "nsmgrctl: cannot load libnftables.so.1, which networks need for NAT "
        "(cannot open shared object file: No such file or directory); install the package libnftables1"]
    # Refused as a whole: no namespace, no bridge, no lease, no table.
    assert run(["ip", "netns", "list"]).stdout == ""
    assert not [l for l in ip_json("link", "show") if l["ifname"] == "br-lab"]
    assert leases() == {} and nft_table() is None

    plain = write(tmp_path, 'namespaces = ( { name = "declared"; } );', "plain.conf")
    for argv in (["create", "c1"], ["list"], ["show", "c1"], ["path", "c1"], ["apply", "-c", plain],
                 ["list", "--json"], ["delete", "c1"]):
        p = without_libnftables(tmp_path, [ctl, *argv])
        assert p.returncode == 0, f"{argv}: {p.stderr}"
    assert run(["ip", "netns", "list"], check=True).stdout.split() == ["declared"]


def needed(binary):
    """The shared libraries a binary names (DT_NEEDED), as readelf shows them."""
    out = run(["readelf", "-d", os.path.join(BUILD, binary)], check=True).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out))


def test_libnftables_is_loaded_only_when_nat_needs_it(nsmgr):
    assert "libnl-3.so.200" in needed("nsmgrd")
    # nsmgrctl starts once per container: libnl, libconfig and json-c are
    # linked in (CTL_STATIC=1, the default), so the loader maps libc alone.
    # Not counted: the loader itself, and the sanitizers' run-time (make asan).
    not_counted = ("ld-", "libasan.", "libubsan.", "liblsan.")
    assert {n for n in needed("nsmgrctl") if not n.startswith(not_counted)} == {"libc.so.6"}
    for binary in ("nsmgrctl", "nsmgrd"):
        for lib in ("libnftables", "libnftnl", "libmnl", "libxtables", "libjansson", "libgmp"):
            assert not [n for n in needed(binary) if lib in n], f"{binary} links {lib}"
    # What the dynamic loader opens, as it tells with LD_DEBUG=files.
    env = dict(os.environ, LD_DEBUG="files")
    p = run([nsmgr.ctl_path, "create", "c1"], env=env)
    assert p.returncode == 0 and "file=libc.so.6" in p.stderr
    assert "libnftables" not in p.stderr and "libnl" not in p.stderr
    p = run([nsmgr.ctl_path, "apply", "-c", LAB], env=env)
    assert p.returncode == 0 and "file=libnftables.so.1" in p.stderr


# --- show and list -----------------------------------------------------------

def test_show_and_list_name_networks_and_ports(nsmgr):
    nsmgr.ok("apply", "-c", LAB)
    nsmgr.ok("create", "c1")
    nsmgr.ok("attach", "c1", "lab", "-c", LAB)
    entries = {e["name"]: e for e in nsmgr.json("list")}
    assert entries["web"]["networks"] == [{"network": "lab", "interface": "eth0", "addresses": ["198.18.20.2"],
                                          "origin": "config"}]
    assert entries["web"]["ports"] == ["8080:80/tcp -> 198.18.20.2"]
    assert entries["c1"]["networks"][0]["origin"] == "attach" and entries["c1"]["ports"] == []
    text = nsmgr.ok("show", "web").stdout
    assert "eth0 on lab: 198.18.20.2 (config)" in text and "8080:80/tcp -> 198.18.20.2" in text
    assert "lab:198.18.20.3" in nsmgr.ok("list").stdout


def test_list_text_names_every_network_once_with_its_first_address(nsmgr, tmp_path):
    """The table is printed from the leases themselves (not from the JSON
    of --json): one NETWORK:ADDRESS a network, the IPv4 address of a
    dual-stack one first, as --json lists them."""
    conf = write(tmp_path, """
networks = (
  { name = "a"; bridge = "br-a"; subnet = "198.18.30.0/24"; subnet6 = "fd00:30::/64"; },
  { name = "b"; bridge = "br-b"; subnet = "198.18.31.0/24"; }
);
namespaces = (
  { name = "p1"; networks = ( { network = "a"; }, { network = "b"; } ); },
  { name = "p2"; networks = ( { network = "b"; } ); },
  { name = "p3"; }
);
""")
    nsmgr.ok("apply", "-c", conf)
    rows = {l.split()[0]: l.split() for l in nsmgr.ok("list", "--no-legend").stdout.splitlines()}
    entries = {e["name"]: e for e in nsmgr.json("list")}
    for name, row in rows.items():
        nets = ",".join(f"{n['network']}:{n['addresses'][0]}" for n in entries[name]["networks"]) or "-"
        assert row[5] == nets, (name, row)
    assert rows["p1"][5] == "a:198.18.30.2,b:198.18.31.2"
    assert entries["p1"]["networks"][0]["addresses"] == ["198.18.30.2", "fd00:30::2"]
    assert rows["p3"][5] == "-" and rows["p2"][4] == "config"


# --- config errors -----------------------------------------------------------

NET_BAD = [
    ('networks = ( { name = "n"; bridge = "br0"; } );', "needs 'subnet' or 'subnet6'"),
    ('networks = ( { name = "n"; bridge = "br0"; subnet = "198.18.20.1/24"; } );', "has host bits set"),
    ('networks = ( { name = "n"; bridge = "br0"; subnet = "198.18.20.0/24"; gateway = "198.18.21.1"; } );',
     "gateway 198.18.21.1 is not a host address of subnet 198.18.20.0/24"),
    ('networks = ( { name = "n"; bridge = "br0"; subnet = "198.18.20.0/31"; } );', "is too small"),
    ('networks = ( { name = "a"; bridge = "br0"; subnet = "198.18.20.0/24"; },'
     ' { name = "b"; bridge = "br1"; subnet = "198.18.20.128/25"; } );', "overlaps network 'a'"),
    ('networks = ( { name = "a b"; bridge = "br0"; subnet = "198.18.20.0/24"; } );', "a network name is"),
    ('namespaces = ( { name = "x"; networks = ( { network = "nope"; } ); } );', "network 'nope' is not declared"),
    ('namespaces = ( { name = "x"; ports = [ "8080:80/tcp" ]; } );', "publishes ports but is attached to no network"),
    ('namespaces = ( { name = "x"; ports = [ "80/tcp" ]; } );', "must look like \"8080:80/tcp\""),
    ('networks = ( { name = "n"; bridge = "br0"; subnet = "198.18.20.0/24"; } );\n'
     'namespaces = ( { name = "x"; networks = ( { network = "n"; address = "198.18.30.5"; } ); } );',
     "address 198.18.30.5 is not free for a namespace in 198.18.20.0/24"),
    ('networks = ( { name = "n"; bridge = "br0"; subnet = "198.18.20.0/24"; } );\n'
     'namespaces = ( { name = "x"; networks = ( { network = "n"; address = "198.18.20.9"; } ); },'
     ' { name = "y"; networks = ( { network = "n"; address = "198.18.20.9"; } ); } );', "on network 'n'"),
    ('networks = ( { name = "n"; bridge = "br0"; subnet = "198.18.20.0/24"; } );\n'
     'namespaces = ( { name = "x"; networks = ( { network = "n"; } ); ports = [ "80:80/tcp" ]; },'
     ' { name = "y"; networks = ( { network = "n"; } ); ports = [ "80:8080/tcp" ]; } );',
     "host port 80/tcp is published by namespace"),
    ('networks = ( { name = "n"; bridge = "br0"; subnet = "198.18.20.0/24"; } );\n'
     'host = { bridges = ( { name = "br0"; } ); };', "also declared in host.bridges"),
]


@pytest.mark.parametrize("text,msg", NET_BAD)
def test_bad_network_config(nsmgr, tmp_path, text, msg):
    path = write(tmp_path, text, "bad.conf")
    p = nsmgr("apply", "-c", path)
    assert p.returncode == 1 and msg in p.stderr, p.stderr
    assert nft_table() is None and leases() == {}


def test_a_refused_apply_leaves_no_lease(nsmgr):
    # Someone else holds the name of web's host end: apply refuses...
    run(["ip", "link", "add", "vweb-d8b55a", "type", "veth", "peer", "name", "other0"], check=True)
    p = nsmgr("apply", "-c", LAB)
    assert p.returncode == 1 and "the peer name 'vweb-d8b55a' is taken in the host" in p.stderr
    # ...and gives back the address it had picked.
    assert leases() == {}
    assert nft_table() is None

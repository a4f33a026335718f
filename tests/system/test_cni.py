"""Issue 14: the nsmgr CNI plugin, called as the CNI spec (1.1.0) says: the
environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS,
CNI_PATH) and the network configuration on stdin; a result or an error
object on stdout. Every verb, every error path, a conformance table per
cniVersion, IPAM mode under Debian's bridge, macvlan and ipvlan plugins,
GC, leases of vanished pods, and nsmgrd repairing a pod's drift.

Results are checked with tools nsmgr did not write: ip -j, nft -j, the
lease files, /proc/PID/ns/net inodes, ping, a TCP client, strace."""

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BUILD, ip_json, run, start_in_own_netns

PLUGIN = os.path.join(BUILD, "cni", "nsmgr")
CNI_DIR = "/usr/lib/cni"
LEASES = "/var/lib/nsmgr/ipam/lab"
INDEX = "/var/lib/nsmgr/cni"
SUBNET = "198.18.20"
GATEWAY = "198.18.20.1"
CONF_FILE = "/etc/nsmgr/nsmgr.conf"
LAB = f'networks = ( {{ name = "lab"; bridge = "br-lab"; subnet = "{SUBNET}.0/24"; masquerade = true; }} );\n'
VERSIONS = ["0.4.0", "1.0.0", "1.1.0"]


def conf(version="1.1.0", **extra):
    c = {"cniVersion": version, "name": "nsmgr-lab", "type": "nsmgr", "network": "lab"}
    c.update(extra)
    return c


class Call:
    def __init__(self, p):
        self.rc = p.returncode
        self.stdout = p.stdout
        self.stderr = p.stderr
        self.json = json.loads(p.stdout) if p.stdout.strip() else None

    def __repr__(self):
        return f"rc={self.rc} stdout={self.stdout!r} stderr={self.stderr!r}"


def cni(command, config, cid="ctr1", netns=None, ifname="eth0", env=None, plugin=PLUGIN, path=None,
        raw=None, drop=()):
    """Runs a plugin as a runtime does: environment and stdin."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
    e.update({"CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_IFNAME": ifname,
              "CNI_PATH": path or f"{os.path.dirname(PLUGIN)}:{CNI_DIR}"})
    if netns is not None:
        e["CNI_NETNS"] = netns
    if env:
        e.update(env)
    for k in drop:
        e.pop(k, None)
    data = raw if raw is not None else json.dumps(config)
    p = subprocess.run([plugin], input=data, capture_output=True, text=True, env=e, timeout=120)
    return Call(p)


def assert_error(call, code, *words):
    """An error as the spec says: exit status non-zero, the error object on
    stdout with cniVersion, code, msg and details."""
    assert call.rc != 0, call
    o = call.json
    assert o is not None, call
    assert set(o) <= {"cniVersion", "code", "msg", "details"}, o
    assert isinstance(o["code"], int) and isinstance(o["msg"], str) and o["msg"], o
    assert o["code"] == code, call
    text = o["msg"] + " " + o.get("details", "")
    for w in words:
        assert w in text, (w, o)
    return o


def leases():
    out = {}
    if not os.path.isdir(LEASES):
        return out
    for name in os.listdir(LEASES):
        if name.startswith("."):
            continue
        with open(os.path.join(LEASES, name)) as f:
            out[name] = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
    return out


def addrs(netns, dev="eth0"):
    links = ip_json("addr", "show", "dev", dev, netns=netns)
    return [f"{a['local']}/{a['prefixlen']}" for a in links[0]["addr_info"] if a["family"] == "inet"]


def link_exists(dev, netns=None):
    return run(["ip"] + (["-n", netns] if netns else []) + ["link", "show", dev]).returncode == 0


@pytest.fixture
def lab(nsmgr):
    """nsmgr's config with network lab, applied (its bridge exists), and a
    pod namespace pinned as containerd pins one."""
    with open(CONF_FILE, "w") as f:
        f.write(LAB)
    nsmgr.ok("apply")
    run(["ip", "netns", "add", "cni-pod1"], check=True)
    return "/var/run/netns/cni-pod1"


def pod(name):
    run(["ip", "netns", "add", name], check=True)
    return f"/var/run/netns/{name}"


# --- a conformance table per cniVersion ---------------------------------------

# What each version's answers look like (SPEC.md and the libcni types of
# the version): "ip_version" -- ips[].version is there (0.4.0 only);
# "mtu" -- interfaces[].mtu (1.1.0); STATUS and GC exist from 1.1.0.
CONFORMANCE = {
    "0.4.0": {"ip_version": True, "mtu": False, "status": False, "gc": False},
    "1.0.0": {"ip_version": False, "mtu": False, "status": False, "gc": False},
    "1.1.0": {"ip_version": False, "mtu": True, "status": True, "gc": True},
}


@pytest.mark.parametrize("version", VERSIONS)
def test_conformance_per_version(lab, version):
    want = CONFORMANCE[version]

    v = cni("VERSION", None, raw=json.dumps({"cniVersion": version}), drop=("CNI_CONTAINERID", "CNI_IFNAME"))
    assert v.rc == 0, v
    assert v.json == {"cniVersion": version, "supportedVersions": VERSIONS}

    add = cni("ADD", conf(version), netns=lab)
    assert add.rc == 0, add
    r = add.json
    assert r["cniVersion"] == version
    assert set(r) <= {"cniVersion", "interfaces", "ips", "routes", "dns"}
    inside = [i for i in r["interfaces"] if i.get("sandbox")]
    assert [i["name"] for i in inside] == ["eth0"] and inside[0]["sandbox"] == lab
    host = [i for i in r["interfaces"] if not i.get("sandbox")]
    assert len(host) == 1 and link_exists(host[0]["name"])
    for i in r["interfaces"]:
        assert ("mtu" in i) == want["mtu"], i
        assert len(i["mac"].split(":")) == 6
    ip = r["ips"][0]
    assert ("version" in ip) == want["ip_version"], ip
    if want["ip_version"]:
        assert ip["version"] == "4"
    assert ip["interface"] == r["interfaces"].index(inside[0])
    assert ip["gateway"] == GATEWAY and ip["address"].startswith(SUBNET + ".")
    assert r["routes"] == [{"dst": "0.0.0.0/0", "gw": GATEWAY}]
    # What the result says is what the namespace has.
    assert addrs("cni-pod1") == [ip["address"]]
    mac = ip_json("link", "show", "eth0", netns="cni-pod1")[0]["address"]
    assert inside[0]["mac"] == mac
    routes = ip_json("route", "show", "default", netns="cni-pod1")
    assert routes[0]["gateway"] == GATEWAY and routes[0]["dev"] == "eth0"
    assert "UP" in ip_json("link", "show", "lo", netns="cni-pod1")[0]["flags"]
    run(["ip", "netns", "exec", "cni-pod1", "ping", "-c1", "-W2", GATEWAY], check=True)

    chk = cni("CHECK", conf(version, prevResult=r), netns=lab)
    assert chk.rc == 0 and chk.stdout == "", chk

    st = cni("STATUS", conf(version), drop=("CNI_CONTAINERID", "CNI_IFNAME"))
    if want["status"]:
        assert st.rc == 0 and st.stdout == "", st
    else:
        assert_error(st, 1, "STATUS", version)

    gc = cni("GC", conf(version, **{"cni.dev/valid-attachments": [{"containerID": "ctr1", "ifname": "eth0"}]}),
             drop=("CNI_CONTAINERID", "CNI_IFNAME"))
    if want["gc"]:
        assert gc.rc == 0 and gc.stdout == "", gc
    else:
        assert_error(gc, 1, "GC", version)
    assert len(leases()) == 1

    d = cni("DEL", conf(version, prevResult=r), netns=lab)
    assert d.rc == 0 and d.stdout == "", d
    assert not link_exists("eth0", "cni-pod1") and not link_exists(host[0]["name"])
    assert leases() == {}
    d = cni("DEL", conf(version, prevResult=r), netns=lab)
    assert d.rc == 0, d


def test_version_never_looks_at_the_namespace_or_stdin(lab):
    # No stdin at all, and a CNI_NETNS that is nothing.
    e = dict(os.environ, CNI_COMMAND="VERSION", CNI_NETNS="/nonexistent/ns")
    p = subprocess.run([PLUGIN], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=e, timeout=30)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"cniVersion": "1.1.0", "supportedVersions": VERSIONS}
    assert_error(cni("VERSION", None, raw="{nope"), 6)


# --- the result and leases ------------------------------------------------------

def test_lease_records_container_interface_and_namespace(lab):
    add = cni("ADD", conf(), cid="c0ffee", netns=lab)
    assert add.rc == 0, add
    (addr, lease), = leases().items()
    assert add.json["ips"][0]["address"] == f"{addr}/24"
    ino = os.stat(lab).st_ino
    assert lease == {"netns": "cni-pod1", "interface": "eth0", "origin": "cni", "path": lab,
                     "inode": str(ino), "container": "c0ffee", "cni_network": "nsmgr-lab"}
    # The plugin's index of attachments names it (nsmgr-cni(8)).
    assert os.readlink(f"{INDEX}/nsmgr-lab/c0ffee:eth0") == f"lab {addr}/24 -"
    assert cni("DEL", conf(), cid="c0ffee").rc == 0
    assert not os.path.lexists(f"{INDEX}/nsmgr-lab/c0ffee:eth0")


def test_add_is_idempotent(lab):
    first = cni("ADD", conf(), netns=lab)
    assert first.rc == 0, first
    ifindex = ip_json("link", "show", "eth0", netns="cni-pod1")[0]["ifindex"]
    again = cni("ADD", conf(), netns=lab)
    assert again.rc == 0, again
    assert again.json == first.json
    assert ip_json("link", "show", "eth0", netns="cni-pod1")[0]["ifindex"] == ifindex
    assert len(leases()) == 1


def test_add_for_the_same_attachment_in_another_namespace_replaces_a_stale_lease(lab):
    first = cni("ADD", conf(), netns=lab)
    assert first.rc == 0, first
    other = pod("cni-pod2")
    again = cni("ADD", conf(), netns=other)
    assert again.rc == 0, again
    assert not link_exists("eth0", "cni-pod1")
    assert [v["path"] for v in leases().values()] == [other]


def test_two_pods_reach_each_other(lab):
    a = cni("ADD", conf(), cid="a", netns=lab).json
    b = cni("ADD", conf(), cid="b", netns=pod("cni-pod2")).json
    assert a["ips"][0]["address"] != b["ips"][0]["address"]
    run(["ip", "netns", "exec", "cni-pod1", "ping", "-c1", "-W2", b["ips"][0]["address"].split("/")[0]], check=True)


def test_runtime_config_ips_and_cni_args(lab):
    r = cni("ADD", conf(runtimeConfig={"ips": [f"{SUBNET}.77/24"]}), netns=lab)
    assert r.rc == 0, r
    assert r.json["ips"][0]["address"] == f"{SUBNET}.77/24"
    r = cni("ADD", conf(), cid="c2", netns=pod("cni-pod2"), env={"CNI_ARGS": f"IgnoreUnknown=1;IP={SUBNET}.78"})
    assert r.rc == 0, r
    assert r.json["ips"][0]["address"] == f"{SUBNET}.78/24"
    # args.cni.ips goes before CNI_ARGS IP.
    r = cni("ADD", conf(args={"cni": {"ips": [f"{SUBNET}.79"]}}), cid="c3", netns=pod("cni-pod3"),
            env={"CNI_ARGS": f"IP={SUBNET}.80"})
    assert r.rc == 0, r
    assert r.json["ips"][0]["address"] == f"{SUBNET}.79/24"
    # Taken, outside the subnet, or the wrong prefix: refused, nothing made.
    assert_error(cni("ADD", conf(runtimeConfig={"ips": [f"{SUBNET}.77"]}), cid="c4", netns=pod("cni-pod4")), 100,
                 f"{SUBNET}.77")
    assert_error(cni("ADD", conf(runtimeConfig={"ips": ["198.19.0.5"]}), cid="c4", netns="/var/run/netns/cni-pod4"),
                 100, "outside")
    assert_error(cni("ADD", conf(runtimeConfig={"ips": [f"{SUBNET}.90/16"]}), cid="c4",
                     netns="/var/run/netns/cni-pod4"), 7, "/24")
    assert_error(cni("ADD", conf(runtimeConfig={"ips": ["fd00:20::5"]}), cid="c4", netns="/var/run/netns/cni-pod4"),
                 7, "no IPv6 subnet")
    assert not link_exists("eth0", "cni-pod4")
    assert len(leases()) == 3


def test_chained_after_a_previous_plugin_the_result_is_passed_on(lab):
    prev = {"cniVersion": "1.1.0",
            "interfaces": [{"name": "dummy0", "mac": "02:00:00:00:00:01"}],
            "ips": [{"address": "198.19.5.5/24", "interface": 0}],
            "dns": {"nameservers": ["198.19.5.53"]}}
    r = cni("ADD", conf(prevResult=prev), netns=lab)
    assert r.rc == 0, r
    o = r.json
    assert o["interfaces"][0] == prev["interfaces"][0]
    assert o["ips"][0] == prev["ips"][0]
    assert o["ips"][1]["interface"] == 2 and o["interfaces"][2]["name"] == "eth0"
    assert o["dns"] == prev["dns"]


def test_dns_of_the_configuration_is_in_the_result(lab):
    dns = {"nameservers": ["198.18.20.53"], "search": ["pods.test"], "options": ["ndots:2"]}
    r = cni("ADD", conf(dns=dns), netns=lab)
    assert r.rc == 0, r
    assert r.json["dns"] == dns


# --- DEL -------------------------------------------------------------------------

def test_del_without_the_namespace_releases_the_lease(lab):
    add = cni("ADD", conf(), netns=lab)
    assert add.rc == 0, add
    host_end = [i["name"] for i in add.json["interfaces"] if not i.get("sandbox")][0]
    # The runtime removed the namespace first; then DEL, as CRI does a
    # second time, with CNI_NETNS empty.
    run(["ip", "netns", "delete", "cni-pod1"], check=True)
    d = cni("DEL", conf(), env={"CNI_NETNS": ""})
    assert d.rc == 0, d
    assert leases() == {}
    assert not link_exists(host_end)
    assert cni("DEL", conf()).rc == 0


def test_del_removes_the_link_before_it_releases_the_lease(lab, tmp_path):
    """strace, a tool we did not write, sees the order: RTM_DELLINK goes to
    the kernel before the lease file is unlinked."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    assert cni("ADD", conf(), netns=lab).rc == 0
    (addr,) = leases()
    log = tmp_path / "strace"
    # LeakSanitizer (make check-asan) cannot run under ptrace.
    e = dict(os.environ, CNI_COMMAND="DEL", CNI_CONTAINERID="ctr1", CNI_IFNAME="eth0", CNI_NETNS=lab,
             CNI_PATH=CNI_DIR, ASAN_OPTIONS="detect_leaks=0")
    p = subprocess.run(["strace", "-f", "-o", str(log), "-e", "trace=sendmsg,unlink,unlinkat", "-s", "64", PLUGIN],
                       input=json.dumps(conf()), capture_output=True, text=True, env=e, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = log.read_text().splitlines()
    dellink = [i for i, l in enumerate(lines) if "RTM_DELLINK" in l]
    release = [i for i, l in enumerate(lines) if "unlink" in l and addr in l]
    assert dellink and release and dellink[0] < release[0], "\n".join(lines)


# --- errors: the environment -------------------------------------------------------

@pytest.mark.parametrize("drop,words", [
    (("CNI_COMMAND",), ["CNI_COMMAND"]),
    (("CNI_CONTAINERID",), ["CNI_CONTAINERID"]),
    (("CNI_NETNS",), ["CNI_NETNS"]),
    (("CNI_IFNAME",), ["CNI_IFNAME"]),
    (("CNI_CONTAINERID", "CNI_IFNAME"), ["CNI_CONTAINERID", "CNI_IFNAME"]),
])
def test_add_needs_its_environment(lab, drop, words):
    assert_error(cni("ADD", conf(), netns=lab, drop=drop), 4, *words)
    assert leases() == {}


@pytest.mark.parametrize("env,words", [
    ({"CNI_COMMAND": "REMOVE"}, ["CNI_COMMAND", "REMOVE"]),
    ({"CNI_CONTAINERID": "-bad id"}, ["CNI_CONTAINERID"]),
    ({"CNI_IFNAME": "a-very-long-ifname"}, ["CNI_IFNAME"]),
    ({"CNI_IFNAME": "eth/0"}, ["CNI_IFNAME"]),
    ({"CNI_NETNS": "relative/ns"}, ["CNI_NETNS"]),
    ({"CNI_ARGS": "IP"}, ["CNI_ARGS"]),
])
def test_invalid_environment_is_code_4(lab, env, words):
    assert_error(cni("ADD", conf(), netns=lab, env=env), 4, *words)
    assert leases() == {}


def test_namespace_that_is_not_there_is_code_3(lab):
    assert_error(cni("ADD", conf(), netns="/var/run/netns/cni-gone"), 3, "cni-gone")
    assert_error(cni("CHECK", conf(prevResult={}), netns="/var/run/netns/cni-gone"), 3)


def test_namespace_that_is_not_a_namespace_or_is_the_plugins_own_is_code_4(lab, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    assert_error(cni("ADD", conf(), netns=str(f)), 4, "CNI_NETNS", "not a namespace")
    assert_error(cni("ADD", conf(), netns="/proc/self/ns/net"), 4, "CNI_NETNS")
    assert_error(cni("ADD", conf(), netns=f"/proc/{os.getpid()}/ns/net"), 4, "CNI_NETNS")
    assert leases() == {}


def test_gc_needs_cni_path_status_does_not(lab):
    gc = conf(**{"cni.dev/valid-attachments": []})
    assert_error(cni("GC", gc, drop=("CNI_PATH",)), 4, "CNI_PATH")
    assert cni("STATUS", conf(), drop=("CNI_PATH", "CNI_CONTAINERID", "CNI_IFNAME")).rc == 0


# --- errors: the configuration -----------------------------------------------------

@pytest.mark.parametrize("raw,code,words", [
    ("", 6, ["stdin is empty"]),
    ("{\"cniVersion\": ", 6, ["not valid JSON"]),
    ("[1, 2]", 6, ["JSON object"]),
    ("{\"cniVersion\": \"1.1.0\", \"type\": \"nsmgr\", \"network\": \"lab\"}", 7, ["name"]),
    ("{\"cniVersion\": \"1.1.0\", \"name\": \"bad name!\", \"type\": \"nsmgr\", \"network\": \"lab\"}", 7,
     ["bad name!"]),
    ("{\"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"lab\"}", 1, ["0.1.0", "cniVersion"]),
    ("{\"cniVersion\": \"0.3.1\", \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"lab\"}", 1, ["0.3.1"]),
    ("{\"cniVersion\": \"2.0.0\", \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"lab\"}", 1, ["2.0.0"]),
    ("{\"cniVersion\": 1, \"name\": \"n\", \"type\": \"nsmgr\", \"network\": \"lab\"}", 6, ["cniVersion"]),
])
def test_bad_stdin(lab, raw, code, words):
    assert_error(cni("ADD", None, netns=lab, raw=raw), code, *words)
    assert leases() == {}


@pytest.mark.parametrize("extra,code,words", [
    ({"network": None}, 7, ["network"]),
    ({"network": "nolab"}, 7, ["nolab", "not declared"]),
    ({"netwrok": "lab"}, 2, ["netwrok", "\"lab\""]),
    ({"ipam": {"type": "host-local"}}, 2, ["ipam", "host-local"]),
    ({"type": "bridge"}, 7, ["bridge"]),
    ({"requireDaemon": "yes"}, 7, ["requireDaemon"]),
    ({"config": "relative.conf"}, 7, ["config"]),
    ({"runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 80, "protocol": "sctp"}]}}, 2,
     ["protocol", "sctp"]),
    ({"runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 80, "hostIP": "198.18.0.9"}]}}, 2,
     ["hostIP", "198.18.0.9"]),
    ({"runtimeConfig": {"portMappings": [{"hostPort": 0, "containerPort": 80}]}}, 7, ["hostPort"]),
    ({"runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 80},
                                         {"hostPort": 80, "containerPort": 81}]}}, 7, ["80/tcp", "twice"]),
    ({"runtimeConfig": {"bandwidth": {"ingressRate": 1}}}, 2, ["bandwidth"]),
    ({"runtimeConfig": {"ips": ["nonsense"]}}, 7, ["nonsense"]),
    ({"runtimeConfig": {"ips": [f"{SUBNET}.5", f"{SUBNET}.6"]}}, 7, ["more than one"]),
    ({"dns": {"nameservers": "198.18.0.53"}}, 7, ["dns.nameservers"]),
    ({"prevResult": {"ips": [{"address": "nonsense"}]}}, 6, ["prevResult.ips[0]"]),
    ({"prevResult": {"interfaces": [], "ips": [{"address": "198.19.0.1/24", "interface": 3}]}}, 6,
     ["interface"]),
])
def test_bad_configuration(lab, extra, code, words):
    c = conf()
    for k, v in extra.items():
        if v is None:
            c.pop(k)
        else:
            c[k] = v
    assert_error(cni("ADD", c, netns=lab), code, *words)
    assert leases() == {}
    assert not link_exists("eth0", "cni-pod1")


def test_interface_name_taken_in_the_container_is_refused(lab):
    run(["ip", "-n", "cni-pod1", "link", "add", "eth0", "type", "veth", "peer", "name", "other"], check=True)
    ifindex = ip_json("link", "show", "eth0", netns="cni-pod1")[0]["ifindex"]
    assert_error(cni("ADD", conf(), netns=lab), 102, "eth0")
    assert leases() == {}
    assert ip_json("link", "show", "eth0", netns="cni-pod1")[0]["ifindex"] == ifindex
    assert ip_json("link", "show", "master", "br-lab") == []


def test_host_end_name_taken_in_the_host_is_refused(lab):
    # The plugin makes the pair first and looks at the names only when the
    # kernel says one is taken: here the host end's, by a bridge.
    add = cni("ADD", conf(), netns=lab)
    assert add.rc == 0, add
    host_end = [i["name"] for i in add.json["interfaces"] if not i.get("sandbox")][0]
    assert cni("DEL", conf()).rc == 0
    run(["ip", "link", "add", host_end, "type", "bridge"], check=True)
    try:
        assert_error(cni("ADD", conf(), netns=lab), 102, host_end, "taken")
        assert leases() == {}
        assert not link_exists("eth0", "cni-pod1")
        assert link_exists(host_end)
    finally:
        run(["ip", "link", "delete", host_end])


def test_a_full_network_is_code_101_and_status_50(nsmgr):
    with open(CONF_FILE, "w") as f:
        f.write('networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/30"; } );\n')
    nsmgr.ok("apply")
    assert cni("STATUS", conf(), drop=("CNI_CONTAINERID", "CNI_IFNAME")).rc == 0
    assert cni("ADD", conf(), cid="a", netns=pod("cni-a")).rc == 0
    assert_error(cni("STATUS", conf(), drop=("CNI_CONTAINERID", "CNI_IFNAME")), 50, "no free address")
    assert_error(cni("ADD", conf(), cid="b", netns=pod("cni-b")), 101, "no free address")
    assert not link_exists("eth0", "cni-b")


# --- STATUS ------------------------------------------------------------------------

def test_status(nsmgr, tmp_path):
    noenv = ("CNI_CONTAINERID", "CNI_IFNAME")
    # No nsmgr config at all: the network is not declared.
    assert_error(cni("STATUS", conf(), drop=noenv), 50, "lab", "not declared")
    with open(CONF_FILE, "w") as f:
        f.write("networks = ( { name = \"lab\"; bridge = ; } );\n")
    assert_error(cni("STATUS", conf(), drop=noenv), 50, "does not load", CONF_FILE)
    with open(CONF_FILE, "w") as f:
        f.write(LAB)
    assert cni("STATUS", conf(), drop=noenv).rc == 0
    # A config of its own.
    other = tmp_path / "other.conf"
    other.write_text(LAB.replace('"lab"', '"lab2"'))
    assert cni("STATUS", conf(network="lab2", config=str(other)), drop=noenv).rc == 0
    # nsmgrd required and not running.
    assert_error(cni("STATUS", conf(requireDaemon=True), drop=noenv), 50, "nsmgrd")


# --- CHECK -------------------------------------------------------------------------

def test_check_finds_what_is_missing(lab):
    add = cni("ADD", conf(), netns=lab)
    r = add.json
    assert cni("CHECK", conf(prevResult=r), netns=lab).rc == 0
    assert_error(cni("CHECK", conf(), netns=lab), 7, "prevResult")
    assert_error(cni("CHECK", conf(prevResult=r), cid="other", netns=lab), 3, "other")
    # A prevResult that lacks our address.
    bad = dict(r, ips=[])
    assert_error(cni("CHECK", conf(prevResult=bad), netns=lab), 103, "prevResult", r["ips"][0]["address"])
    # The address removed by hand, then the interface.
    run(["ip", "-n", "cni-pod1", "addr", "flush", "dev", "eth0"], check=True)
    assert_error(cni("CHECK", conf(prevResult=r), netns=lab), 103, "lacks its address")
    run(["ip", "-n", "cni-pod1", "link", "del", "eth0"], check=True)
    assert_error(cni("CHECK", conf(prevResult=r), netns=lab), 103, "eth0 is missing")
    # requireDaemon, and nsmgrd is not running.
    assert "nsmgrd" in assert_error(cni("CHECK", conf(prevResult=r, requireDaemon=True), netns=lab), 103)["details"]


# --- GC ------------------------------------------------------------------------------

def test_gc_releases_every_lease_not_in_valid_attachments(nsmgr, lab):
    for cid, name in (("keep", "cni-pod1"), ("gone1", "cni-g1"), ("gone2", "cni-g2")):
        ns = lab if name == "cni-pod1" else pod(name)
        assert cni("ADD", conf(), cid=cid, netns=ns).rc == 0
    # Another CNI network on the same nsmgr network, and nsmgrctl attach:
    # not this GC's.
    other = conf(name="other-net")
    assert cni("ADD", other, cid="elsewhere", netns=pod("cni-o")).rc == 0
    run(["ip", "netns", "add", "byhand"], check=True)
    nsmgr.ok("attach", "byhand", "lab")
    gone_ends = [i for i in ip_json("link", "show", "master", "br-lab")]
    assert len(gone_ends) == 5

    # libcni's key; the spec's cni.dev/attachments works as well.
    g = cni("GC", conf(**{"cni.dev/valid-attachments": [{"containerID": "keep", "ifname": "eth0"}]}),
            drop=("CNI_CONTAINERID", "CNI_IFNAME"))
    assert g.rc == 0 and g.stdout == "", g
    kept = sorted(v.get("container", v["netns"]) for v in leases().values())
    assert kept == ["byhand", "elsewhere", "keep"]
    assert sorted(os.listdir(f"{INDEX}/nsmgr-lab")) == ["keep:eth0"]
    assert not link_exists("eth0", "cni-g1") and not link_exists("eth0", "cni-g2")
    assert link_exists("eth0", "cni-pod1")
    assert len(ip_json("link", "show", "master", "br-lab")) == 3

    g = cni("GC", other | {"cni.dev/attachments": None}, drop=("CNI_CONTAINERID", "CNI_IFNAME"))
    assert g.rc == 0, g
    assert sorted(v.get("container", v["netns"]) for v in leases().values()) == ["byhand", "keep"]
    # Without the list nothing can be told stale: refused, nothing released.
    assert_error(cni("GC", conf(), drop=("CNI_CONTAINERID", "CNI_IFNAME")), 7, "valid-attachments")
    assert len(leases()) == 2


def test_apply_releases_leases_of_pods_that_vanished_without_del(nsmgr, lab):
    assert cni("ADD", conf(), cid="a", netns=lab).rc == 0
    assert cni("ADD", conf(), cid="b", netns=pod("cni-pod2")).rc == 0
    (gone_addr,) = [a for a, v in leases().items() if v["container"] == "a"]
    # The runtime died and its namespace went without DEL.
    run(["ip", "netns", "delete", "cni-pod1"], check=True)
    p = nsmgr.ok("apply")
    assert f"released lease {gone_addr}" in p.stdout + p.stderr
    assert [v["container"] for v in leases().values()] == ["b"]
    assert sorted(os.listdir(f"{INDEX}/nsmgr-lab")) == ["b:eth0"]
    # DEL of the vanished pod, late, is fine.
    assert cni("DEL", conf(), cid="a").rc == 0
    # The other pod is wired as before.
    assert addrs("cni-pod2")


def test_apply_releases_a_lease_whose_path_leads_to_another_namespace(nsmgr, sandbox):
    """A /proc/PID/ns/net path is the namespace's only while the process
    lives: once another namespace is there, the lease is stale."""
    with open(CONF_FILE, "w") as f:
        f.write(LAB)
    nsmgr.ok("apply")
    a = start_in_own_netns(sandbox)
    path = f"/proc/{a.pid}/ns/net"
    add = cni("ADD", conf(), netns=path)
    assert add.rc == 0, add
    (lease,) = leases().values()
    assert lease["netns"] == f"proc:{a.pid}:ns:net" and lease["path"] == path
    host_end = [i["name"] for i in add.json["interfaces"] if not i.get("sandbox")][0]
    a.kill()
    a.wait()
    nsmgr.ok("apply")
    assert leases() == {}
    assert not link_exists(host_end)


# --- published ports ---------------------------------------------------------------

def serve_once(netns, port):
    """A TCP server in the namespace that answers "pong" once."""
    code = ("import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', {port})); s.listen(1); print('ready', flush=True)\n"
            "c, _ = s.accept(); c.sendall(b'pong'); c.close()\n")
    p = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def fetch(addr, port):
    with socket.create_connection((addr, port), timeout=5) as s:
        return s.recv(16)


def test_published_ports_through_nsmgrs_nat(lab, sandbox):
    c = conf(capabilities={"portMappings": True},
             runtimeConfig={"portMappings": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]})
    add = cni("ADD", c, netns=lab)
    assert add.rc == 0, add
    addr = add.json["ips"][0]["address"].split("/")[0]
    assert leases()[addr]["ports"] == "18080:80/tcp"
    rules = json.dumps(json.loads(run(["nft", "-j", "list", "table", "inet", "nsmgr"], check=True).stdout))
    assert f'"addr": "{addr}", "port": 80' in rules.replace("\n", "")
    srv = serve_once("cni-pod1", 80)
    try:
        assert fetch("127.0.0.1", 18080) == b"pong"
    finally:
        srv.kill()
        srv.wait()
    # Another pod cannot take the port.
    assert_error(cni("ADD", c, cid="c2", netns=pod("cni-pod2")), 100, "18080/tcp")
    d = cni("DEL", c, netns=lab)
    assert d.rc == 0, d
    rules = run(["nft", "-j", "list", "table", "inet", "nsmgr"], check=True).stdout
    assert addr not in rules
    assert leases() == {}


# --- the first pod of a network that is not made yet -----------------------------------

def test_first_pod_makes_the_network(nsmgr):
    with open(CONF_FILE, "w") as f:
        f.write(LAB)
    assert not link_exists("br-lab")
    add = cni("ADD", conf(), netns=pod("cni-first"))
    assert add.rc == 0, add
    br = ip_json("addr", "show", "br-lab")[0]
    assert [f"{a['local']}/{a['prefixlen']}" for a in br["addr_info"] if a["family"] == "inet"] == [f"{GATEWAY}/24"]
    run(["ip", "netns", "exec", "cni-first", "ping", "-c1", "-W2", GATEWAY], check=True)
    assert cni("DEL", conf(), netns="/var/run/netns/cni-first").rc == 0


# --- IPAM mode: the reference plugins on nsmgr's leases ---------------------------------

@pytest.fixture
def ref_plugins():
    for p in ("bridge", "macvlan", "ipvlan"):
        if not os.access(os.path.join(CNI_DIR, p), os.X_OK):
            pytest.skip(f"{CNI_DIR}/{p} is missing: install containernetworking-plugins (tests/deps.sh does)")


def test_ipam_mode_under_the_bridge_plugin(lab, ref_plugins):
    c = {"cniVersion": "1.0.0", "name": "ref-bridge", "type": "bridge", "bridge": "br-lab", "isGateway": False,
         "isDefaultGateway": False, "ipam": {"type": "nsmgr", "network": "lab"}}
    add = cni("ADD", c, netns=lab, plugin=os.path.join(CNI_DIR, "bridge"))
    assert add.rc == 0, add
    addr = add.json["ips"][0]["address"]
    assert addr.startswith(SUBNET + ".")
    (lease,) = leases().values()
    assert lease["origin"] == "cni-ipam" and lease["container"] == "ctr1" and lease["cni_network"] == "ref-bridge"
    assert addrs("cni-pod1") == [addr]
    run(["ip", "netns", "exec", "cni-pod1", "ping", "-c1", "-W2", GATEWAY], check=True)
    chk = cni("CHECK", dict(c, prevResult=add.json), netns=lab, plugin=os.path.join(CNI_DIR, "bridge"))
    assert chk.rc == 0, chk
    assert cni("DEL", c, netns=lab, plugin=os.path.join(CNI_DIR, "bridge")).rc == 0
    assert leases() == {}


@pytest.mark.parametrize("kind", ["macvlan", "ipvlan"])
def test_ipam_mode_under_macvlan_and_ipvlan(lab, ref_plugins, kind):
    # A parent of their own (this kernel has no dummy links): a veth end.
    run(["ip", "link", "add", "nsm-up0", "type", "veth", "peer", "name", "nsm-up1"], check=True)
    run(["ip", "link", "set", "nsm-up0", "up"], check=True)
    run(["ip", "link", "set", "nsm-up1", "up"], check=True)
    probe = run(["ip", "link", "add", "link", "nsm-up0", "name", "nsm-probe", "type", kind])
    if probe.returncode != 0:
        pytest.skip(f"this kernel cannot make a {kind} link ({probe.stderr.strip()}): CONFIG_{kind.upper()} is missing")
    run(["ip", "link", "del", "nsm-probe"], check=True)
    c = {"cniVersion": "1.0.0", "name": f"ref-{kind}", "type": kind, "master": "nsm-up0",
         "ipam": {"type": "nsmgr", "network": "lab"}}
    plugin = os.path.join(CNI_DIR, kind)
    a = cni("ADD", c, cid="a", netns=lab, plugin=plugin)
    b = cni("ADD", c, cid="b", netns=pod("cni-pod2"), plugin=plugin)
    assert a.rc == 0 and b.rc == 0, (a, b)
    aa, ba = a.json["ips"][0]["address"], b.json["ips"][0]["address"]
    assert aa != ba and addrs("cni-pod1") == [aa] and addrs("cni-pod2") == [ba]
    assert ip_json("-d", "link", "show", "eth0", netns="cni-pod1")[0]["linkinfo"]["info_kind"] == kind
    run(["ip", "netns", "exec", "cni-pod1", "ping", "-c1", "-W2", ba.split("/")[0]], check=True)
    assert sorted(v["container"] for v in leases().values()) == ["a", "b"]
    assert cni("DEL", c, cid="a", netns=lab, plugin=plugin).rc == 0
    assert cni("DEL", c, cid="b", netns="/var/run/netns/cni-pod2", plugin=plugin).rc == 0
    assert leases() == {}


# --- nsmgrctl attach/detach by path ----------------------------------------------------

def test_nsmgrctl_attach_and_detach_by_path(nsmgr, sandbox, tmp_path):
    with open(CONF_FILE, "w") as f:
        f.write(LAB)
    nsmgr.ok("apply")
    a = start_in_own_netns(sandbox)
    path = f"/proc/{a.pid}/ns/net"
    p = nsmgr.ok("attach", path, "lab")
    assert p.stdout.startswith(f"attached {path} to lab: eth0 {SUBNET}.")
    inside = json.loads(run(["nsenter", "--net=" + path, "ip", "-j", "addr", "show", "eth0"], check=True).stdout)
    assert inside[0]["addr_info"][0]["local"].startswith(SUBNET + ".")
    (lease,) = leases().values()
    assert lease["path"] == path and lease["origin"] == "attach"
    nsmgr.ok("detach", path, "lab")
    assert leases() == {}
    assert run(["nsenter", "--net=" + path, "ip", "link", "show", "eth0"]).returncode != 0
    # Not a namespace, the host's own: refused with one sentence.
    f = tmp_path / "file"
    f.write_text("")
    p = nsmgr("attach", str(f), "lab")
    assert p.returncode == 1 and "not a namespace handle" in p.stderr
    p = nsmgr("attach", "/proc/1/ns/net", "lab")
    assert p.returncode == 1, p.stderr
    assert leases() == {}


# --- nsmgrd: drift of a CNI attachment, and never keeping a pod alive --------------------

def wait_for(what, pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status(nsmgr):
    p = nsmgr("status", "--json")
    return json.loads(p.stdout) if p.stdout.strip() else {}


def test_nsmgrd_repairs_a_cni_attachment_and_lets_the_pod_go(nsmgr, sandbox, lab, tmp_path):
    log = open(tmp_path / "log", "w")
    sandbox.spawn([nsmgr.daemon_path, "-c", CONF_FILE], stdout=log, stderr=log)
    wait_for("nsmgrd to be running", lambda: status(nsmgr).get("running") and status(nsmgr).get("state") == "running")
    add = cni("ADD", conf(), netns=lab)
    assert add.rc == 0, add
    addr = add.json["ips"][0]["address"]
    # nsmgrd learns of the pod from the lease (a new port of br-lab made it look).
    wait_for("nsmgrd to watch the pod", lambda: status(nsmgr).get("watched") == 1)
    run(["ip", "-n", "cni-pod1", "link", "del", "eth0"], check=True)
    wait_for("nsmgrd to put eth0 back", lambda: link_exists("eth0", "cni-pod1") and addrs("cni-pod1") == [addr])
    assert cni("CHECK", conf(prevResult=add.json, requireDaemon=True), netns=lab).rc == 0

    # A veth of our own into the pod: its host end lives exactly as long as
    # the pod's namespace does.
    run(["ip", "link", "add", "nsm-probe", "type", "veth", "peer", "name", "probe", "netns", "cni-pod1"], check=True)
    assert cni("DEL", conf(), netns=lab).rc == 0
    run(["ip", "netns", "delete", "cni-pod1"], check=True)
    wait_for("the pod's namespace to be freed (nothing holds it)", lambda: not link_exists("nsm-probe"))
    wait_for("nsmgrd to stop watching the pod", lambda: status(nsmgr).get("watched") == 0)
    assert leases() == {}
    assert ip_json("link", "show", "master", "br-lab") == []


# --- make install ------------------------------------------------------------------------

def test_make_install_puts_the_plugin_where_runtimes_look(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    dest = str(tmp_path / "dest")
    run(["make", "-C", root, "--no-print-directory", f"BUILD={os.path.relpath(BUILD, root)}", f"DESTDIR={dest}",
         "install"], check=True)
    for d in ("/usr/lib/cni", "/opt/cni/bin"):
        f = f"{dest}{d}/nsmgr"
        assert os.access(f, os.X_OK), f
        p = subprocess.run([f], input="", capture_output=True, text=True, env={"CNI_COMMAND": "VERSION"})
        assert json.loads(p.stdout)["supportedVersions"] == VERSIONS
    assert os.path.isfile(f"{dest}/usr/local/share/man/man8/nsmgr-cni.8")
    # The plugin loads no libnftables: requests that need the engine go to
    # nsmgrctl, which is where make install put it.
    assert "libnftables" not in run(["ldd", f"{dest}/usr/lib/cni/nsmgr"]).stdout


# --- IPv6 -----------------------------------------------------------------------------------

def test_dual_stack(nsmgr):
    with open(CONF_FILE, "w") as f:
        f.write('networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; '
                'subnet6 = "fd00:20::/64"; } );\n')
    nsmgr.ok("apply")
    ns = pod("cni-v6")
    for version in VERSIONS:
        add = cni("ADD", conf(version), netns=ns)
        assert add.rc == 0, add
        r = add.json
        got = sorted((ip.get("version"), ip["address"], ip["gateway"]) for ip in r["ips"])
        v4, v6 = (("4", "6") if version == "0.4.0" else (None, None))
        assert got == sorted([(v4, f"{SUBNET}.2/24", GATEWAY), (v6, "fd00:20::2/64", "fd00:20::1")]), got
        assert sorted(x["dst"] for x in r["routes"]) == ["0.0.0.0/0", "::/0"]
        a6 = [a for a in ip_json("addr", "show", "dev", "eth0", netns="cni-v6")[0]["addr_info"]
              if a["family"] == "inet6" and a["scope"] == "global"]
        assert [f"{a['local']}/{a['prefixlen']}" for a in a6] == ["fd00:20::2/64"]
        assert ip_json("-6", "route", "show", "default", netns="cni-v6")[0]["gateway"] == "fd00:20::1"
        run(["ip", "netns", "exec", "cni-v6", "ping", "-6", "-c1", "-W2", "fd00:20::1"], check=True)
        assert len(leases()) == 2
        assert cni("CHECK", conf(version, prevResult=r), netns=ns).rc == 0
        assert cni("DEL", conf(version), netns=ns).rc == 0
        assert leases() == {}

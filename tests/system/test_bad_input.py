"""Bad input of every kind, as a table.

Each case runs one nsmgrctl command on a system where an earlier apply
made a network with NAT, a namespace and a lease. It must exit 1 (2 for a
usage error), print exactly one sentence per problem, each naming the
object and saying what to do, not die of a signal, not hang, and change
nothing: the links and addresses of the host and every namespace,
/run/netns, the nftables ruleset, the files under /var/lib/nsmgr and
/run/nsmgr, and the sysctls apply sets are compared before and after.

Adding a case is one line in CASES: Case(id, kind, input, expect), where
kind says how the input is given (see RUNNERS), expect is a text each
problem's sentence must hold (a tuple: one text per problem, in the
order printed), status the exit status, and many=True for an input with
more problems than nsmgr shows (the first 50, each holding expect, and a
line that says how many more)."""

import json
import os
import re
import stat
from typing import Callable, NamedTuple, Union

import pytest

from conftest import ROOT, run

CONF = os.path.join(ROOT, "conf")
BASELINE = os.path.join(CONF, "lab.conf")
TIMEOUT = 20
BIG_TIMEOUT = 60  # a 4 MiB config: 1 to 3 s on an idle machine


class Case(NamedTuple):
    id: str
    kind: str                 # a key of RUNNERS
    input: Union[str, bytes, list, Callable]
    expect: Union[str, tuple]
    status: int = 1
    many: bool = False


SHOWN = 50  # problems shown at most, then "... and N more problems"


def ns(extra):
    """A config of one namespace "x", with what the case adds."""
    return 'namespaces = ( { name = "x"; ' + extra + ' } );'


def veth(settings, extra=""):
    """Namespace "x" with one veth, e0, and what the case adds to it."""
    return ns('interfaces = ( { name = "e0"; type = "veth"; addresses = [ "198.18.1.2/24" ]; ' + settings + ' } ); '
              + extra)


def network(settings):
    return 'networks = ( { name = "n"; bridge = "br-n"; subnet = "198.18.2.0/24"; ' + settings + ' } );'


def route(settings):
    return veth("", 'routes = ( { to = "198.18.9.0/24"; ' + settings + ' } );')


def big(unit, head, tail, size=(4 << 20) - 4096):
    """A config of almost the largest size nsmgr reads: unit repeated (with
    {i} its number), one on each line (the same problem on one line is said
    once)."""
    units, used = [], len(head) + len(tail)
    while True:
        u = unit.replace("{i}", str(len(units)))
        if used + len(u) + 2 > size:
            return head + ",\n".join(units) + tail
        units.append(u)
        used += len(u) + 2


def state(**fields):
    """A container state as runc hands it to a hook."""
    s = {"ociVersion": "1.0.2-dev", "id": "c1", "status": "creating", "pid": 4242, "bundle": "/b"}
    s.update(fields)
    return json.dumps({k: v for k, v in s.items() if v is not None})


CASES = [
    # --- names that reach the kernel or nftables ------------------------------
    Case("uplink-backslash", "conf", network('uplink = "e\\\\th0";'),
         "network 'n', uplink: invalid interface name 'e\\x5cth0': it contains '\\', which nftables reads as an escape"),
    Case("ifname-too-long", "conf", veth('name = "eth0-far-too-long";').replace('name = "e0"; ', ''),
         "invalid interface name 'eth0-far-too-long': it is 17 bytes long, the kernel's limit is 15"),
    Case("ifname-colon", "conf", ns('interfaces = ( { name = "e:0"; type = "veth"; } );'),
         "invalid interface name 'e:0': the kernel refuses ':'"),
    Case("ifname-space", "conf", ns('interfaces = ( { name = "e 0"; type = "veth"; } );'),
         "the kernel refuses white space (0x20)"),
    Case("ifname-nbsp", "conf", ns('interfaces = ( { name = "e\\xa00"; type = "veth"; } );'),
         "invalid interface name 'e\\xa00': the kernel refuses white space (0xa0)"),
    Case("ifname-all", "conf", ns('interfaces = ( { name = "all"; type = "veth"; } );'),
         "the kernel keeps 'all' and 'default' for /proc/sys/net/ipv4/conf/all"),
    Case("ifname-percent", "conf", ns('interfaces = ( { name = "e%d"; type = "veth"; } );'),
         "it contains '%', which the kernel takes as a pattern"),
    Case("ifname-star", "conf", ns('interfaces = ( { name = "eth*"; type = "veth"; } );'),
         "it contains '*', which nftables reads as a wildcard"),
    Case("ifname-at", "conf", ns('interfaces = ( { name = "@e0"; type = "veth"; } );'),
         "it contains '@', which nftables reads as a set reference"),
    Case("ifname-utf8", "conf", ns('interfaces = ( { name = "caf\u00e9"; type = "veth"; } );').encode(),
         "invalid interface name 'caf\\xc3\\xa9': it contains the byte 0xc3, which is not ASCII"),
    Case("ifname-control", "conf", ns('interfaces = ( { name = "e\\x01"; type = "veth"; } );'),
         "invalid interface name 'e\\x01': it contains the control character 0x01"),
    Case("bridge-nft-word", "conf", 'networks = ( { name = "n"; bridge = "tcp"; subnet = "198.18.2.0/24"; } );',
         "network 'n', bridge: invalid interface name 'tcp': nftables reads 'tcp' as a protocol"),
    Case("peer-name", "conf", veth('peer = { name = "p/1"; };'),
         "interface 'e0', peer: invalid interface name 'p/1': the kernel refuses '/'"),
    Case("vrf-member", "conf", ns('interfaces = ( { name = "v"; type = "vrf"; table = 10; members = [ "a:b" ]; } );'),
         "interface 'v', member: invalid interface name 'a:b'"),
    Case("macvlan-parent", "conf", ns('interfaces = ( { name = "m"; type = "macvlan"; parent = "eth 1"; } );'),
         "interface 'm', parent: invalid interface name 'eth 1'"),
    Case("route-dev", "conf", route('dev = "default";'),
         "route to 198.18.9.0/24, dev: invalid interface name 'default'"),
    Case("attachment-ifname", "conf",
         'networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; } );\n'
         + ns('networks = ( { network = "lab"; interface = "x*y"; } );'),
         "namespace 'x', network 'lab': invalid interface name 'x*y'"),
    Case("netns-slash", "conf", 'namespaces = ( { name = "a/b"; } );', "invalid namespace name 'a/b': it must not contain '/'"),
    Case("netns-dotdot", "conf", 'namespaces = ( { name = ".."; } );', "invalid namespace name '..': '.' and '..' are not names"),
    Case("network-name", "conf", 'networks = ( { name = "lab/1"; bridge = "br-x"; subnet = "198.18.2.0/24"; } );',
         "invalid network name 'lab/1': a network name is 1 to 64 letters"),

    # --- numbers, as the kernel takes them --------------------------------------
    Case("mtu-2^32+1500", "conf", veth("mtu = 4294968796;"), "'mtu' must be an integer from 68 to 65535, not 4294968796"),
    Case("mtu-hex-wraps", "conf", veth("mtu = 0x1000005DC;"), "'mtu' must be an integer from 68 to 65535, not 0x1000005DC"),
    Case("mtu-low", "conf", veth("mtu = 67;"), "not 67"),
    Case("mtu-ipv6", "conf", veth('mtu = 1000; ipv6 = true;'), "IPv6 needs an MTU of 1280 at least"),
    Case("mtu-vrf", "conf", ns('interfaces = ( { name = "v"; type = "vrf"; table = 10; mtu = 1279; } );'),
         "'mtu' must be an integer from 1280 to 65535, not 1279"),
    Case("mtu-vxlan-parent", "conf",
         ns('interfaces = ( { name = "p"; type = "veth"; mtu = 1400; }, '
            '{ name = "v"; type = "vxlan"; vni = 5; parent = "p"; mtu = 1400; } );'),
         "'mtu' 1400 leaves no room for the VXLAN headers on parent 'p' (MTU 1400); it can be 1350 at most"),
    Case("vni-2^24", "conf", ns('interfaces = ( { name = "v"; type = "vxlan"; vni = 16777216; } );'),
         "'vni' must be an integer from 0 to 16777215, not 16777216"),
    Case("vni-2^32+1", "conf", ns('interfaces = ( { name = "v"; type = "vxlan"; vni = 4294967297; } );'),
         "not 4294967297"),
    Case("vxlan-port-0", "conf", ns('interfaces = ( { name = "v"; type = "vxlan"; vni = 5; port = 0; } );'),
         "'port' must be an integer from 1 to 65535, not 0"),
    Case("vrf-table-main", "conf", ns('interfaces = ( { name = "v"; type = "vrf"; table = 254; } );'),
         "a VRF needs a table of its own, not 254 (main)"),
    Case("table-0", "conf", route('dev = "e0"; table = 0;'), "table 0 means no table"),
    Case("table-255", "conf", route('dev = "e0"; table = 255;'), "table 255 is reserved for the kernel's local routes"),
    Case("table-2^32", "conf", route('dev = "e0"; table = 4294967296;'),
         "'table' must be an integer from 0 to 4294967295, not 4294967296"),
    Case("metric-negative", "conf", route('dev = "e0"; metric = -1;'), "'metric' must be an integer from 0 to 4294967295, not -1"),
    Case("host-port-0", "conf", ns('ports = [ "0:80" ];'), "port \"0:80\" must look like \"8080:80/tcp\""),
    Case("port-70000", "conf", ns('ports = [ "70000:80/tcp" ];'), "each from 1 to 65535"),
    Case("prefix-33", "conf", veth('addresses = [ "198.18.1.2/33" ];').replace('addresses = [ "198.18.1.2/24" ]; ', ''),
         "'198.18.1.2/33' is not an address with a prefix length"),

    # --- gateways ---------------------------------------------------------------
    Case("gateway-unreachable", "conf", veth("", 'routes = ( { to = "default"; via = "198.18.9.1"; } );'),
         "route to default: gateway 198.18.9.1 is on no subnet of the namespace"),
    Case("gateway-other-dev", "conf",
         ns('interfaces = ( { name = "e0"; type = "veth"; addresses = [ "198.18.1.2/24" ]; }, { name = "e1"; type = "veth"; } ); '
            'routes = ( { to = "default"; via = "198.18.1.1"; dev = "e1"; } );'),
         "gateway 198.18.1.1 is on no subnet of 'e1'"),
    Case("gateway-link-local", "conf",
         ns('interfaces = ( { name = "e0"; type = "veth"; addresses = [ "fd00:1::2/64" ]; } ); '
            'routes = ( { to = "default"; via = "fe80::1"; } );'),
         "gateway fe80::1 is a link-local address, which needs 'dev'"),
    Case("gateway-invalid-once", "conf", veth("", 'routes = ( { to = "default"; via = "198.18.1.999"; } );'),
         "'via' = \"198.18.1.999\" is not an IP address"),

    # --- the config file as text ------------------------------------------------
    Case("syntax", "conf", 'namespaces = ( { name = "x" } ',
         "syntax error in 'namespaces = ( { name = \"x\" }': look for a missing ';', quote or bracket"),
    Case("binary", "conf", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", ":3: the file holds a NUL byte, so it is not a text file"),
    Case("string-not-closed", "conf", 'namespaces = ( { name = "x; } );\n\n', ":1: a string that starts on this line is not closed"),
    Case("include", "conf", 'namespaces = ( );\n@include "/etc/passwd"\n', ":2: @include is not supported"),
    Case("group-too-big", "conf", ns(" ".join(f"k{i} = 1;" for i in range(65))), "a group { ... } holds more than 64 settings"),
    Case("duplicate-setting", "conf", ns('name = "y";'), "a setting is given twice in one group"),
    Case("unknown-setting", "conf", ns('colour = "red";'), "namespace 'x': unknown setting 'colour'"),
    Case("sorted-by-line", "conf",
         ns('routes = ( { to = "198.18.9.0/24"; dev = "nodev"; } );') + "\nfrobnicate = 1;\n",
         (":1: namespace 'x', route to 198.18.9.0/24: device 'nodev' is not declared",
          ":2: top level: unknown setting 'frobnicate'")),

    # --- many problems, in a config of almost the largest size: each check is
    # O(N log N), so none of these takes more than seconds (and none hangs)
    Case("4MB-routes-twice", "conf", big('{to="198.18.9.0/24";dev="lo";}', ns('routes = ( ')[:-4], ' ); } );'),
         "route to 198.18.9.0/24 (table 254, metric 0) is declared twice", many=True),
    Case("4MB-ports-twice", "conf",
         big('"80:80"', network("") + "\n" + ns('networks = ( { network = "n"; } ); ports = [ ')[:-4], ' ]; } );'),
         "host port 80/tcp is published twice", many=True),
    Case("4MB-attached-twice", "conf",
         big('{network="n";}', network("") + '\n' + ns('networks = ( ')[:-4], ' ); } );'),
         "network 'n'", many=True),
    Case("4MB-vrf-members", "conf",
         big('"m{i}"', ns('interfaces = ( { name = "v"; type = "vrf"; table = 10; members = [ ')[:-4], ' ]; } ); } );'),
         "interface 'v': member 'm", many=True),
    Case("4MB-networks-overlap", "conf",
         big('{name="n";bridge="br-n";subnet="198.18.2.0/24";}', 'networks = ( ', ' );'), "network 'n'", many=True),

    # --- the config file as a file ----------------------------------------------
    Case("file-fifo", "file", lambda d: fifo(d), "cannot read config: it is a FIFO; a config is a regular file"),
    Case("file-directory", "file", lambda d: d, "cannot read config: it is a directory"),
    Case("file-8MB", "file", lambda d: write(d, b"#" * (8 << 20), "big.conf"),
         "cannot read config: it is 8388608 bytes, over the limit of 4194304 (4 MiB)"),
    Case("file-dev-zero", "file", lambda d: "/dev/zero", "cannot read config: it is a character device"),
    Case("file-missing", "file", lambda d: os.path.join(d, "nope.conf"), "cannot read config: No such file or directory"),
    Case("file-loop", "file", lambda d: symlink_loop(d), "cannot read config: Too many levels of symbolic links"),
    Case("file-empty-name", "argv", ["apply", "-c", ""], "apply: option '--config' needs a file name", status=2),
    Case("apply-extra-argument", "argv", ["apply", "extra"], "apply: unexpected argument 'extra'", status=2),

    # --- run-time attachments -----------------------------------------------------
    Case("attach-bad-ifname", "argv", lambda d: ["attach", "web", "lab", "--ifname", "e@0", "-c", BASELINE],
         "invalid interface name 'e@0'"),
    Case("attach-unknown-network", "argv", lambda d: ["attach", "web", "nonet", "-c", BASELINE], "nonet"),

    # --- what an OCI runtime hands the hook -------------------------------------
    Case("hook-not-json", "hook", "not json", "the container state on stdin is not valid JSON"),
    Case("hook-empty", "hook", "", "the container state on stdin is empty"),
    Case("hook-no-pid", "hook", state(pid=None, annotations={"org.nsmgr.pin": "p"}), "has no process ('pid')"),
    Case("hook-pid-0", "hook", state(pid=0), "has no process ('pid')"),
    Case("hook-2MB", "hook", " " * (2 << 20), "the container state on stdin is over 1048576 bytes (1 MiB)"),
    Case("hook-long-pin", "hook", state(annotations={"org.nsmgr.pin": "p" * 300}),
         "annotation org.nsmgr.pin: invalid namespace name 'pppp"),
    Case("hook-bad-network", "hook", state(annotations={"org.nsmgr.pin": "p", "org.nsmgr.network": "n" * 65}),
         "annotation org.nsmgr.network: invalid network name"),
    Case("hook-unknown-annotation", "hook", state(annotations={"org.nsmgr.pinn": "p"}),
         "has the annotation org.nsmgr.pinn, which this nsmgr does not know"),
    Case("hook-network-without-pin", "hook", state(annotations={"org.nsmgr.network": "lab"}),
         "annotation org.nsmgr.network needs org.nsmgr.pin too"),
    Case("hook-id-newline", "hook", state(id="c\n1", pid=None), "container 'c\\x0a1' has no process"),
]


# --- how each kind of input is given ----------------------------------------

def write(tmp, content, name="bad.conf"):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    return path


def fifo(tmp):
    path = os.path.join(tmp, "fifo.conf")
    os.mkfifo(path)
    return path


def symlink_loop(tmp):
    path = os.path.join(tmp, "loop.conf")
    os.symlink(path, path)
    return path


def run_conf(nsmgr, tmp, case):
    """The input is the text of a config file, given to apply -c."""
    path = write(tmp, case.input)
    return nsmgr("apply", "-c", path, timeout=BIG_TIMEOUT if case.many else TIMEOUT), path


def sanitized(binary):
    """Built with AddressSanitizer (make asan): it needs libasan."""
    with open(binary, "rb") as f:
        return b"libasan.so" in f.read()


def run_file(nsmgr, tmp, case):
    """The input makes a file (or names one) in tmp that apply -c is given."""
    path = case.input(tmp)
    return nsmgr("apply", "-c", path, timeout=TIMEOUT), path


def run_argv(nsmgr, tmp, case):
    """The input is nsmgrctl's arguments (or makes them from tmp)."""
    args = case.input(tmp) if callable(case.input) else case.input
    return nsmgr(*args, timeout=TIMEOUT), None


def run_hook(nsmgr, tmp, case):
    """The input is what a runtime writes to the hook's stdin."""
    return nsmgr("oci-hook", input=case.input, timeout=TIMEOUT), None


RUNNERS = {
    "conf": run_conf,
    "file": run_file,
    "argv": run_argv,
    "hook": run_hook,
}


# --- what must stay the same -------------------------------------------------

VOLATILE = {"valid_life_time", "preferred_life_time", "operstate", "flags", "stats", "stats64"}


def _scrub(x, parent=None):
    if isinstance(x, dict):
        return {k: _scrub(v, k) for k, v in x.items()
                if k not in VOLATILE and not k.endswith("_timer") and not (parent == "info_slave_data" and k == "state")}
    if isinstance(x, list):
        return [_scrub(v, parent) for v in x]
    return x


def _ip(*args, netns=None):
    p = run(["ip"] + (["-n", netns] if netns else []) + ["-j", "-d"] + list(args), check=True)
    return json.loads(p.stdout) if p.stdout.strip() else []


def _tree(top):
    out = {}
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(d, f)
            st = os.lstat(path)
            out[path] = open(path, "rb").read() if stat.S_ISREG(st.st_mode) else stat.S_IFMT(st.st_mode)
        for sub in dirs:
            out[os.path.join(d, sub) + "/"] = "dir"
    return out


def snapshot():
    netns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    snap = {"netns": netns,
            "host": [_ip("link", "show"), _ip("addr", "show"), _ip("route", "show", "table", "all")],
            "nft": json.loads(run(["nft", "-j", "list", "ruleset"], check=True).stdout),
            "state": _tree("/var/lib/nsmgr"), "run": _tree("/run/nsmgr"),
            "sysctl": [open(f"/proc/sys/net/ipv4/{k}").read() for k in ("ip_forward", "conf/all/route_localnet")]}
    for ns in netns:
        snap["netns:" + ns] = [_ip("link", "show", netns=ns), _ip("addr", "show", netns=ns),
                               _ip("route", "show", "table", "all", netns=ns)]
    return _scrub(snap)


def diff(a, b, path=""):
    if type(a) != type(b):
        return [f"{path}: {a!r} -> {b!r}"]
    if isinstance(a, dict):
        return [d for k in sorted(set(a) | set(b), key=str) for d in diff(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} -> {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


# --- the test ----------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(nsmgr, tmp_path, case):
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    if case.many and sanitized(nsmgr.ctl_path):
        pytest.skip("4 MiB configs take minutes under AddressSanitizer, whose realloc() copies every time "
                    "libconfig grows a list by 16 elements; the build without it runs these cases")
    nsmgr.ok("apply", "-c", BASELINE)
    before = snapshot()

    p, where = RUNNERS[case.kind](nsmgr, str(tmp_path), case)

    assert p.returncode >= 0, f"killed by signal {-p.returncode}:\n{p.stderr}"
    assert p.returncode == case.status, f"exit status {p.returncode}, not {case.status}:\n{p.stdout}\n{p.stderr}"
    assert p.stdout == "", "bad input prints nothing on stdout"
    lines = p.stderr.splitlines()
    expect = case.expect if isinstance(case.expect, tuple) else (case.expect,)
    if case.status == 2:
        # A usage error: one line, and where to read more.
        assert lines[1:] == ["Try 'nsmgrctl --help' for more information."], p.stderr
        lines = lines[:1]
    if case.many:
        assert re.fullmatch(rf"nsmgrctl: \.\.\. and \d+ more problems; the first {SHOWN} are shown", lines[-1]), lines[-1]
        lines = lines[:-1]
        expect = expect * SHOWN
    assert len(lines) == len(expect), f"{len(expect)} problem(s) expected, one line each:\n{p.stderr}"
    for line, text in zip(lines, expect):
        assert line.startswith("nsmgrctl: "), line
        assert text in line, f"expected {text!r} in:\n{line}"
        # One sentence: no second one glued on, no doubled words.
        body = line[len("nsmgrctl: "):]
        assert not re.search(r"\. [A-Z]", body), f"more than one sentence: {body}"
        assert not re.search(r"\b([\w ]{4,}): \1\b", body), f"a doubled word: {body}"
        if where:
            assert body.startswith(where + ":"), f"the problem names the file (and line): {body}"
    changes = diff(before, snapshot())
    assert not changes, "the system changed:\n" + "\n".join(changes[:20])

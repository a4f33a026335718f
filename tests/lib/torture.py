"""Torture for nsmgr: kill -9 at chosen points of an operation, many workers
at once, the daemon killed while it repairs. Used by tests/system/test_trust.py
with a handful of rounds (make check) and by tests/torture/run with many
(make torture). Everything runs in sandboxes of its own (sandbox.py).

What a user would notice is compared, with tools nsmgr did not write: ip -j
(names, kinds, masters, state, addresses, routes, link groups), nft -j, the
pins under /run/netns, the lease files, the owner records."""

import json
import os
import random
import signal
import subprocess
import time

from sandbox import Sandbox

LINK_GROUP = str(0x6e736d67)

# The syscalls by which nsmgrctl changes something: netlink requests, pins,
# files, leases. A kill point is "just before the Nth of them".
MUTATING = "sendmsg,mount,umount2,link,linkat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,symlink,symlinkat,write,ftruncate"

TORTURE_CONF = """
networks = (
  { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; subnet6 = "fd00:20::/64"; masquerade = true; }
);
host = { bridges = ( { name = "br-x"; addresses = [ "198.18.30.1/24" ]; } ); };
namespaces = (
  { name = "web"; networks = ( { network = "lab"; } ); ports = [ "8080:80/tcp" ];
    dns = { nameservers = [ "198.18.0.53" ]; search = [ "lab" ]; }; },
  { name = "db"; networks = ( { network = "lab"; } );
    interfaces = ( { name = "x0"; type = "veth"; bridge = "br-x"; addresses = [ "198.18.30.2/24" ]; } );
    routes = ( { to = "198.18.99.0/24"; via = "198.18.30.1"; } );
    sysctls = [ "net.ipv4.ip_forward = 1" ]; },
  { name = "bare"; }
);
"""


def run(args, check=False, timeout=60, input=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed with {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def ipj(*args, netns=None):
    p = run(["ip"] + (["-n", netns] if netns else []) + ["-j"] + list(args))
    return json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else []


def pins():
    try:
        return sorted(n for n in os.listdir("/run/netns") if not n.startswith("."))
    except FileNotFoundError:
        return []


def links(netns=None):
    """Links as a user sees them, without what changes each time they are
    made (ifindex, MAC, statistics)."""
    out = {}
    by_index = {}
    raw = ipj("-d", "link", "show", netns=netns)
    for l in raw:
        by_index[l["ifindex"]] = l["ifname"]
    for l in raw:
        info = l.get("linkinfo", {})
        out[l["ifname"]] = {
            "kind": info.get("info_kind", ""),
            "master": l.get("master"),
            "up": "UP" in l.get("flags", []),
            "group": l.get("group"),
            "mtu": l.get("mtu"),
            "addrgenmode": l.get("inet6_addr_gen_mode"),
        }
    return out


def addrs(netns=None):
    out = {}
    for l in ipj("addr", "show", netns=netns):
        a = sorted(f'{x["local"]}/{x["prefixlen"]}' for x in l.get("addr_info", [])
                   if x.get("scope") != "link" or x["family"] == "inet")
        if a:
            out[l["ifname"]] = a
    return out


def routes(netns=None):
    out = []
    for fam in ("-4", "-6"):
        for r in ipj(fam, "route", "show", "table", "all", netns=netns):
            if r.get("protocol") in ("kernel",) or r.get("type") in ("local", "broadcast", "multicast"):
                continue
            out.append((r.get("dst"), r.get("gateway"), r.get("dev"), r.get("table", "main"), r.get("protocol")))
    return sorted(out, key=str)


def nft_table():
    p = run(["nft", "-j", "list", "table", "inet", "nsmgr"])
    if p.returncode != 0:
        return None
    items = json.loads(p.stdout)["nftables"]
    chains = sorted(i["chain"]["name"] for i in items if "chain" in i)
    rules = sorted(json.dumps(i["rule"]["expr"], sort_keys=True) for i in items if "rule" in i)
    return {"chains": chains, "rules": rules}


def lease_files():
    out = {}
    base = "/var/lib/nsmgr/ipam"
    if not os.path.isdir(base):
        return out
    for nw in sorted(os.listdir(base)):
        for f in sorted(os.listdir(os.path.join(base, nw))):
            with open(os.path.join(base, nw, f)) as fh:
                fields = dict(l.split("=", 1) for l in fh.read().splitlines() if "=" in l)
            out[f"{nw}/{f}"] = (fields.get("netns"), fields.get("interface"), fields.get("state", ""))
    return out


def owner_records():
    d = "/run/nsmgr/netns"
    if not os.path.isdir(d):
        return {}
    return {n: os.readlink(os.path.join(d, n)).split(":")[-1] for n in os.listdir(d) if not n.startswith(".")}


def dns_files():
    out = {}
    if os.path.isdir("/etc/netns"):
        for ns in sorted(os.listdir("/etc/netns")):
            for f in sorted(os.listdir(os.path.join("/etc/netns", ns))):
                with open(os.path.join("/etc/netns", ns, f)) as fh:
                    out[f"{ns}/{f}"] = fh.read()
    return out


def snapshot():
    """Everything nsmgr's work shows, in the host and in every pinned namespace."""
    snap = {"pins": pins(), "host": {"links": links(), "addrs": addrs(), "routes": routes()},
            "nft": nft_table(), "leases": lease_files(), "owners": owner_records(), "dns": dns_files()}
    for n in snap["pins"]:
        snap[n] = {"links": links(n), "addrs": addrs(n), "routes": routes(n)}
    return snap


def diff(a, b, path=""):
    """Where two snapshots differ, one line each."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += diff(a.get(k), b.get(k), f"{path}/{k}")
        return out
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def nothing_of_nsmgrs_left():
    """What an empty config must leave: no pin nsmgr made, no marked link, no
    NAT table, no lease, no owner record, no namespace record."""
    left = []
    marked = [n for n, l in links().items() if l["group"] == LINK_GROUP]
    if marked:
        left.append(f"marked links in the host: {marked}")
    for n in pins():
        m = [x for x, l in links(n).items() if l["group"] == LINK_GROUP]
        if m:
            left.append(f"marked links in {n}: {m}")
    if nft_table() is not None:
        left.append("the NAT table")
    if lease_files():
        left.append(f"leases: {lease_files()}")
    if owner_records():
        left.append(f"owner records: {owner_records()}")
    try:
        state = json.load(open("/run/nsmgr/state.json"))
        if state.get("namespaces"):
            left.append(f"state records: {list(state['namespaces'])}")
        if state.get("nat"):
            left.append("a NAT record")
    except FileNotFoundError:
        pass
    return left


def untraced_leaks_env():
    """LeakSanitizer cannot work under ptrace: a build with it (make asan)
    runs under strace without the leak check (the rest of ASan stays)."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    return env


class Killer:
    """Runs a command with every mutating syscall held back a little, and
    kills it (and its threads) with SIGKILL just before the Nth of them."""

    DELAY_US = 20000

    def __init__(self, args):
        self.args = args

    def count(self):
        """How many mutating syscalls the command makes when left alone."""
        p = subprocess.run(["strace", "-f", "-qq", "-c", "-e", f"trace={MUTATING}", "-o", "/run/strace.count",
                            *self.args], capture_output=True, text=True, timeout=120, env=untraced_leaks_env())
        total = 0
        with open("/run/strace.count") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and parts[-1] in MUTATING.split(","):
                    total += int(parts[3])
        return p, total

    def kill_at(self, n):
        """Starts the command, kills it at about the nth mutation. Returns
        True if it was killed before it finished."""
        delay = self.DELAY_US
        p = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={MUTATING}",
                              "-e", f"inject={MUTATING}:delay_enter={delay}", *self.args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                             env=untraced_leaks_env())
        try:
            p.wait(timeout=(n * delay + delay / 2) / 1e6)
            return False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return True


def wait_for(check, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


class Trial:
    """One kill-9 round in a fresh sandbox: prepare, kill the operation at
    point n, recover with a plain re-apply, compare, tear down."""

    def __init__(self, ctl, tmpdir):
        self.ctl = ctl
        self.tmpdir = tmpdir
        self.conf = os.path.join(tmpdir, "torture.conf")
        self.empty = os.path.join(tmpdir, "empty.conf")
        with open(self.conf, "w") as f:
            f.write(TORTURE_CONF)
        with open(self.empty, "w") as f:
            f.write("")

    def nsmgr(self, *args, check=True):
        return run([self.ctl, *args], check=check, timeout=120)

    def clean_apply(self):
        """What a plain apply leaves, the reference of every recovery."""
        with Sandbox():
            self.nsmgr("apply", "-c", self.conf)
            self.reference = snapshot()
        return self.reference

    def round(self, op, n):
        """Returns a list of problems (empty: the round held)."""
        problems = []
        with Sandbox():
            prepare, args, after = self.ops()[op]
            prepare()
            killed = Killer([self.ctl, *args]).kill_at(n)
            problems += after(killed)
            # Nothing of nsmgr's stays after an empty config (and the
            # namespace a user made with `create`, after its `delete`).
            p = self.nsmgr("apply", "-c", self.empty, check=False)
            if p.returncode != 0:
                problems.append(f"the empty apply after a kill failed: {p.stderr.strip()}")
            if op in ("attach", "detach"):
                self.nsmgr("delete", "c1", "--force")
            if not wait_for(lambda: not nothing_of_nsmgrs_left(), timeout=5):
                problems += nothing_of_nsmgrs_left()
        return [f"{op} killed at mutation {n}: {p}" for p in problems]

    # --- the operations ---------------------------------------------------------

    def ops(self):
        return {
            "apply": (lambda: None, ["apply", "-c", self.conf], self.after_apply),
            "teardown": (lambda: self.nsmgr("apply", "-c", self.conf), ["apply", "-c", self.empty],
                         self.after_teardown),
            "attach": (self.prepare_attach, ["attach", "c1", "lab", "-c", self.conf], self.after_attach),
            "detach": (self.prepare_detach, ["detach", "c1", "lab", "-c", self.conf], self.after_attach),
        }

    def after_apply(self, killed):
        p = self.nsmgr("apply", "-c", self.conf, check=False)
        if p.returncode != 0:
            return [f"the re-apply failed: {p.stderr.strip()}"]
        d = diff(self.reference, snapshot())
        return [f"differs from a clean apply: {'; '.join(d[:6])}"] if d else []

    def after_teardown(self, killed):
        return []

    def prepare_attach(self):
        self.nsmgr("apply", "-c", self.conf)
        self.nsmgr("create", "c1")

    def prepare_detach(self):
        self.prepare_attach()
        self.nsmgr("attach", "c1", "lab", "-c", self.conf)

    def after_attach(self, killed):
        """Attached or not, whichever the kill left, but consistent: every
        lease has its interface with its address and the other way round,
        and no address is held twice."""
        p = self.nsmgr("apply", "-c", self.conf, check=False)
        if p.returncode != 0:
            return [f"the re-apply failed: {p.stderr.strip()}"]
        return leases_match_interfaces()


def lab_addresses():
    """IPv4 addresses in 198.18.20.0/24 held by interfaces of any pinned
    namespace: (namespace, interface, address)."""
    held = []
    for n in pins():
        for ifname, a in addrs(n).items():
            held += [(n, ifname, x.split("/")[0]) for x in a if x.startswith("198.18.20.")]
    return held


def leases_match_interfaces():
    problems = []
    held = lab_addresses()
    seen = {}
    for n, i, a in held:
        if a in seen:
            problems.append(f"address {a} is held by {seen[a]} and {n}:{i}")
        seen[a] = f"{n}:{i}"
    leased = {f.split("/", 1)[1]: (ns, i) for f, (ns, i, st) in lease_files().items()
              if f.startswith("lab/") and "." in f and ":" not in f}
    for a, (ns, i) in leased.items():
        if seen.get(a) != f"{ns}:{i}":
            problems.append(f"lease {a} of {ns}:{i}, but the address is on {seen.get(a, 'no interface')}")
    for a, where in seen.items():
        if a not in leased:
            problems.append(f"{where} holds {a} without a lease")
    return problems


def random_points(total, count, rng):
    """count kill points over 1..total: the first and the last, then others
    at random; every point at least once when there are fewer points than
    rounds (then some twice: the threads of a run interleave differently)."""
    if total <= 0:
        return []
    pts = {1, total}
    while len(pts) < min(count, total):
        pts.add(rng.randint(1, total))
    out = sorted(pts)
    while len(out) < count:
        out.append(rng.randint(1, total))
    return out

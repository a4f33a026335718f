"""Issue 12: nsmgrd's D-Bus API (org.nsmgr1), polkit, nsmgrctl through the
daemon, `nsmgrctl monitor`, the structured journal.

Each test boots a real systemd in a container (tests/lib/systemd_sandbox.py)
with what `make install` installs, Debian's dbus-daemon (dbus.socket, as at
boot) and polkitd (activated through the bus, as on a host). Users and
polkit rules are made inside the container's overlay. Results are checked
with busctl, gdbus, journalctl, ip, stat and /proc, never through nsmgr's
own reading of them alone."""

import json
import os
import re
import select
import signal
import subprocess
import textwrap
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, ip_json, run
from systemd_sandbox import wait_for
from test_daemon import CTL, ETC_CONF, TUTORIAL, Installed, staged  # noqa: F401 -- staged is a fixture

LAB = os.path.join(ROOT, "conf", "lab.conf")
XML = os.path.join(ROOT, "nsmgr", "daemon", "org.nsmgr1.Manager.xml")
DEST, PATH, IFACE = "org.nsmgr1", "/org/nsmgr1", "org.nsmgr1.Manager"
DRIFT_REPAIRED = "e8afbeea42ec437a9ccc77a01c970b92"
RELOADED = "0336004646ea4519b06d1891559b1cca"
APPLY_REFUSED = "136844d58bba4ce1a23fda90015a3d15"
# busctl (252) and gdbus cannot pass a file descriptor: dbus-python can.
PIN_CLIENT = """\
import dbus, os, select, sys
method, name, kind, what = sys.argv[1:5]
if kind == "exited":
    # A process that has exited (and is not reaped yet) behind the pidfd.
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    fd = os.pidfd_open(pid)
    select.select([fd], [], [])
else:
    fd = os.pidfd_open(int(what)) if kind == "pidfd" else os.open(what, os.O_RDONLY)
manager = dbus.Interface(dbus.SystemBus().get_object("org.nsmgr1", "/org/nsmgr1"), "org.nsmgr1.Manager")
try:
    path, inode = getattr(manager, method)(name, dbus.types.UnixFd(fd), dbus.UInt64(0))
except dbus.exceptions.DBusException as e:
    sys.exit(f"{e.get_dbus_name()}: {e.get_dbus_message()}")
print(path, inode)
"""
RULE = """\
polkit.addRule(function(action, subject) {
        if (action.id == "org.nsmgr1.manage" && subject.isInGroup("netadmin"))
                return polkit.Result.YES;
});
"""


class Bus(Installed):
    """nsmgr installed in a booted container with its bus policy and polkit
    actions, and nsmgrd started from /etc/nsmgr/nsmgr.conf."""

    def __init__(self, systemd, staged):
        super().__init__(systemd, staged)
        # dbus-daemon reads the policy that was just installed.
        self.sd.run(["busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                     "ReloadConfig"], check=True)

    def start(self):
        self.sd.systemctl("start", "nsmgrd.service")

    def busctl(self, *args, user=None):
        cmd = ["busctl", "--json=short", *map(str, args)]
        return self.sd.run_as(user, cmd) if user else self.sd.run(cmd)

    def call(self, method, sig="", *args, user=None):
        """A method through busctl; returns its output values."""
        p = self.busctl("call", DEST, PATH, IFACE, method, *([sig] if sig else []), *args, user=user)
        assert p.returncode == 0, f"{method} failed: {p.stderr}"
        return json.loads(p.stdout)["data"] if p.stdout.strip() else []

    def gdbus_error(self, method, *args, user=None):
        """A method through gdbus, which shows the error's name: (name,
        message) of the refusal."""
        cmd = ["gdbus", "call", "--system", "--dest", DEST, "--object-path", PATH, "--method",
               f"{IFACE}.{method}", *map(str, args)]
        p = self.sd.run_as(user, cmd) if user else self.sd.run(cmd)
        assert p.returncode != 0, f"{method} was not refused: {p.stdout}"
        m = re.search(r"GDBus\.Error:([\w.]+): (.*)", p.stderr)
        assert m, p.stderr
        return m.group(1), m.group(2).strip()

    def ctl_as(self, user, *args):
        return self.sd.run_as(user, [CTL, *map(str, args)])

    def journal_json(self, *matches):
        p = self.sd.run(["journalctl", "-b", "-o", "json", "--no-pager", *matches], check=True)
        return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


@pytest.fixture
def bus(systemd, staged):  # noqa: F811 -- the fixture imported above
    return Bus(systemd, staged)


def with_extra(path, name="extra"):
    """The config at path with one more (empty) namespace."""
    return open(path).read().replace("namespaces = (", f'namespaces = (\n  {{ name = "{name}"; }},', 1)


def inode(name):
    return os.stat(f"/run/netns/{name}").st_ino


def netns_names():
    return sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []


class Lines:
    """A process's output, line by line, with a deadline."""

    def __init__(self, stream):
        self.stream = stream
        self.buf = b""

    def next(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.stream], [], [], left)[0]:
                raise AssertionError(f"no line within {timeout}s (so far: {self.buf!r})")
            chunk = os.read(self.stream.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"the stream ended (so far: {self.buf!r})")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def until(self, pred, timeout=10, what="the line"):
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout}s; saw {seen}")
            line = self.next(left)
            seen.append(line)
            if pred(line):
                return line


def monitor(bus, *args, user=None):
    """nsmgrctl monitor in the container, once it says it is listening."""
    p = bus.sd.spawn([CTL, "monitor", *args], user=user, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = Lines(p.stderr)
    ready = err.next(timeout=15)
    assert "monitoring" in ready, ready
    return p, Lines(p.stdout), ready


# --- the interface ---------------------------------------------------------------

def interface_shape(root):
    """Methods, signals and properties of org.nsmgr1.Manager, with their
    argument names, types and directions: what must not differ."""
    iface = next(i for i in root.iter("interface") if i.get("name") == IFACE)
    shape = {}
    for el in iface:
        args = tuple((a.get("name"), a.get("type"), a.get("direction")) for a in el.iter("arg"))
        shape[(el.tag, el.get("name"))] = (args, el.get("type"), el.get("access"))
    return shape


def test_interface_is_the_checked_in_xml_and_introspectable(bus):
    bus.start()
    assert bus.sd.show("nsmgrd.service", "BusName") == DEST
    assert bus.sd.show("nsmgrd.service", "Type") == "notify"
    p = bus.sd.run(["busctl", "introspect", "--xml-interface", DEST, PATH], check=True)
    live = interface_shape(ET.fromstring(p.stdout))
    assert live == interface_shape(ET.parse(XML).getroot())
    for name in ("CreateNamespace", "PinNamespace", "PinNamespaceHandle", "DeleteNamespace", "Attach", "Detach",
                 "Apply", "Reload", "ListNamespaces", "DescribeNamespace", "Describe", "Status"):
        assert ("method", name) in live, name
    for name in ("NamespaceAdded", "NamespaceRemoved", "DriftRepaired", "Reloaded"):
        assert ("signal", name) in live, name
    # What gdbus shows a user.
    g = bus.sd.run(["gdbus", "introspect", "--system", "--dest", DEST, "--object-path", PATH], check=True).stdout
    assert "interface org.nsmgr1.Manager {" in g
    assert re.search(r"CreateNamespace\(in\s+s name,\s+in\s+t flags,\s+out s path,\s+out t inode,\s+out b created\);", g), g
    assert re.search(r"DriftRepaired\(a\(ssssss\) steps\);", g), g
    # The installed copies.
    assert bus.sd.run(["test", "-f", "/usr/share/dbus-1/system.d/org.nsmgr1.conf"]).returncode == 0
    assert bus.sd.run(["test", "-f", "/usr/share/dbus-1/interfaces/org.nsmgr1.Manager.xml"]).returncode == 0
    actions = bus.sd.run(["pkaction", "--verbose", "--action-id", "org.nsmgr1.manage"], check=True).stdout
    assert re.search(r"implicit any:\s+auth_admin\n", actions) and re.search(r"implicit active:\s+auth_admin_keep", actions)
    actions = bus.sd.run(["pkaction", "--verbose", "--action-id", "org.nsmgr1.read"], check=True).stdout
    assert re.search(r"implicit any:\s+yes\n", actions)


# --- every method and signal through busctl --------------------------------------------

def test_every_method_through_busctl(bus):
    bus.config(open(LAB).read())
    bus.start()
    sd = bus.sd

    # Properties.
    for prop, value in (("Version", "0.1.0"), ("State", "running"), ("ConfigFiles", [ETC_CONF]), ("Namespaces", 1),
                        ("Networks", 1)):
        out = json.loads(bus.busctl("get-property", DEST, PATH, IFACE, prop).stdout)
        assert out["data"] == value, prop

    # CreateNamespace: path, inode, created; then exist-ok; then taken.
    path, ino, created = bus.call("CreateNamespace", "st", "c1", 0)
    assert (path, ino, created) == ("/run/netns/c1", inode("c1"), True)
    assert bus.call("CreateNamespace", "st", "c1", 1) == ["/run/netns/c1", ino, False]
    name, msg = bus.gdbus_error("CreateNamespace", "c1", 0)
    assert name == "org.nsmgr1.Error.AlreadyExists" and "c1" in msg
    name, msg = bus.gdbus_error("CreateNamespace", "c2", 64)
    assert name == "org.freedesktop.DBus.Error.InvalidArgs" and "unknown flags" in msg
    name, msg = bus.gdbus_error("CreateNamespace", "bad/name", 0)
    assert name == "org.freedesktop.DBus.Error.InvalidArgs"
    assert not os.path.exists("/run/netns/c2")

    # PinNamespace with a pidfd, PinNamespaceHandle with a handle, both
    # opened by the client (dbus-python).
    holder = sd.spawn(["unshare", "--net", "sleep", "600"])
    hpid = wait_for(lambda: next((int(p) for p in sd.run(["pgrep", "-x", "sleep"]).stdout.split()), None),
                    what="the process in its own namespace")
    hns = sd.run(["stat", "-L", "-c", "%i", f"/proc/{hpid}/ns/net"], check=True).stdout.strip()
    p = sd.run(["python3", "-c", PIN_CLIENT, "PinNamespace", "held", "pidfd", hpid])
    assert (p.returncode, p.stdout) == (0, f"/run/netns/held {hns}\n"), p.stderr
    p = sd.run(["python3", "-c", PIN_CLIENT, "PinNamespaceHandle", "held2", "handle", f"/proc/{hpid}/ns/net"])
    assert (p.returncode, p.stdout) == (0, f"/run/netns/held2 {hns}\n"), p.stderr
    assert inode("held") == inode("held2") == int(hns)
    # A pidfd is a pidfd; a handle is a network namespace.
    p = sd.run(["python3", "-c", PIN_CLIENT, "PinNamespace", "other", "handle", f"/proc/{hpid}/ns/net"])
    assert p.returncode == 1 and "org.freedesktop.DBus.Error.InvalidArgs: cannot pin 'other': the descriptor given is not a pidfd" in p.stderr
    p = sd.run(["python3", "-c", PIN_CLIENT, "PinNamespaceHandle", "other", "handle", f"/proc/{hpid}/ns/pid"])
    assert p.returncode == 1 and "cannot pin 'other'" in p.stderr, p.stderr
    p = sd.run(["python3", "-c", PIN_CLIENT, "PinNamespace", "other", "exited", "-"])
    assert p.returncode == 1 and re.search(r"org.nsmgr1.Error.ProcessGone: cannot pin 'other': pid \d+ has exited", p.stderr), p.stderr
    assert not os.path.exists("/run/netns/other")
    bus.call("DeleteNamespace", "st", "held2", 4)

    # ListNamespaces: what /run/netns holds, with who made it.
    rows = {r[0]: r for r in bus.call("ListNamespaces")[0]}
    assert sorted(rows) == ["c1", "held", "web"]
    assert rows["c1"][1:4] == ["/run/netns/c1", inode("c1"), -1] and rows["c1"][7] == "create"
    assert rows["held"][4] == 1 and rows["held"][7] == "pin"           # the sleep is inside
    assert rows["web"][7] == "config"

    # DescribeNamespace, Describe, Status: JSON.
    d = json.loads(bus.call("DescribeNamespace", "s", "web")[0])
    assert d["name"] == "web" and d["inode"] == inode("web") and d["origin"] == "config"
    eth0 = next(i for i in d["interfaces"] if i["name"] == "eth0")
    assert [a["address"] for a in eth0["addresses"]] == [a["local"] for l in ip_json("addr", "show", "dev", "eth0", netns="web")
                                                         for a in l["addr_info"]]
    lease = d["networks"][0]
    assert lease["network"] == "lab" and lease["address"] == eth0["addresses"][0]["address"]
    assert d["ports"] == [f"8080:80/tcp -> {lease['address']}"]
    name, _ = bus.gdbus_error("DescribeNamespace", "ghost")
    assert name == "org.nsmgr1.Error.NotFound"
    d = json.loads(bus.call("Describe")[0])
    assert {n["name"] for n in d["namespaces"]} == {"c1", "held", "web"}
    assert d["networks"][0]["name"] == "lab" and d["networks"][0]["subnet"] == "198.18.20.0/24"
    st = json.loads(bus.call("Status")[0])
    assert st["running"] is True and st["pid"] == int(bus.sd.show("nsmgrd.service", "MainPID"))

    # Attach and Detach.
    ifname, addr, addr6 = bus.call("Attach", "ssss", "c1", "lab", "", "")
    assert ifname == "eth0" and addr.startswith("198.18.20.") and addr6 == ""
    assert [f'{a["local"]}/{a["prefixlen"]}' for l in ip_json("addr", "show", "dev", "eth0", netns="c1")
            for a in l["addr_info"]] == [addr]
    name, msg = bus.gdbus_error("Attach", "c1", "nonet", "", "")
    assert name == "org.nsmgr1.Error.NotFound" and "network 'nonet' is not declared" in msg
    assert bus.call("Detach", "ss", "c1", "lab") == []
    assert run(["ip", "-n", "c1", "link", "show", "eth0"]).returncode != 0
    name, msg = bus.gdbus_error("Detach", "web", "lab")
    assert name == "org.nsmgr1.Error.DeclaredByConfig" and f"remove it from {ETC_CONF}" in msg

    # Apply: a dry run plans (records with the text), a real one applies.
    steps, warnings = bus.call("Apply", "t", 16)
    assert steps == [] and warnings == []
    bus.config(with_extra(LAB))
    steps, _ = bus.call("Apply", "t", 16)
    assert [s[5] for s in steps] == ["extra: create namespace"]
    assert all(len(s) == 6 for s in steps)
    assert not os.path.exists("/run/netns/extra")
    steps, _ = bus.call("Apply", "t", 0)
    assert [s[5] for s in steps] == ["extra: create namespace"] and os.path.exists("/run/netns/extra")
    # Reload: the number of changes.
    bus.config(open(LAB).read())
    assert bus.call("Reload") == [1]
    assert not os.path.exists("/run/netns/extra")
    bus.config("namespaces = ( { name = \"x\"; colour = \"red\"; } );\n")
    name, msg = bus.gdbus_error("Reload")
    assert name == "org.nsmgr1.Error.InvalidConfig" and f"{ETC_CONF}:1: namespace 'x': unknown setting 'colour'" in msg
    bus.config(open(LAB).read())

    # DeleteNamespace: busy, forced, missing, declared.
    run(["ip", "netns", "exec", "held", "true"], check=True)
    name, msg = bus.gdbus_error("DeleteNamespace", "held", 0)
    assert name == "org.nsmgr1.Error.NamespaceBusy" and "1 process is still inside" in msg
    assert inode("held") == int(hns)
    assert bus.call("DeleteNamespace", "st", "held", 4) == []
    assert not os.path.exists("/run/netns/held")
    assert bus.call("DeleteNamespace", "st", "c1", 0) == []
    name, _ = bus.gdbus_error("DeleteNamespace", "c1", 0)
    assert name == "org.nsmgr1.Error.NotFound"
    assert bus.call("DeleteNamespace", "st", "c1", 8) == []
    name, msg = bus.gdbus_error("DeleteNamespace", "web", 0)
    assert name == "org.nsmgr1.Error.DeclaredByConfig"
    assert netns_names() == ["web"]
    holder.kill()


def test_signals_through_gdbus_monitor(bus):
    bus.config(open(TUTORIAL).read())
    bus.start()
    bus.settled()
    mon = bus.sd.spawn(["gdbus", "monitor", "--system", "--dest", DEST], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    out = Lines(mon.stdout)
    out.until(lambda l: "is owned by" in l, what="gdbus monitor to be listening")

    bus.call("CreateNamespace", "st", "c1", 0)
    added = out.until(lambda l: "NamespaceAdded" in l)
    assert f"('c1', '/run/netns/c1', uint64 {inode('c1')}, 'create')" in added
    ino = inode("c1")
    bus.call("DeleteNamespace", "st", "c1", 0)
    assert f"NamespaceRemoved ('c1', uint64 {ino})" in out.until(lambda l: "NamespaceRemoved" in l)

    # A drift: an address deleted by hand, put back.
    run(["ip", "-n", "red", "addr", "del", "198.18.10.1/24", "dev", "eth0"], check=True)
    repaired = out.until(lambda l: "DriftRepaired" in l)
    assert "red: add address 198.18.10.1/24 to eth0" in repaired
    # A pin removed by hand: restored, as a step of its own.
    red = inode("red")
    run(["umount", "/run/netns/red"], check=True)
    repaired = out.until(lambda l: "DriftRepaired" in l)
    assert f"('restore', 'pin', 'red', '', 'inode {red}', 'red: pin /run/netns/red restored (same namespace, inode {red})')" in repaired
    assert inode("red") == red
    assert "DriftsRepaired" in out.until(lambda l: "PropertiesChanged" in l and "DriftsRepaired" in l)

    # A reload: its result.
    bus.call("Reload")
    assert "Reloaded (true, uint32 0, '')" in out.until(lambda l: "Reloaded" in l)
    mon.kill()


# --- nsmgrctl through nsmgrd ----------------------------------------------------------

def test_nsmgrctl_asks_nsmgrd_for_every_change(bus):
    bus.config(open(LAB).read())
    bus.start()
    sd = bus.sd
    holder = sd.spawn(["unshare", "--net", "sleep", "600"])
    hpid = wait_for(lambda: next((int(p) for p in sd.run(["pgrep", "-x", "sleep"]).stdout.split()), None),
                    what="the process in its own namespace")
    hns = int(sd.run(["stat", "-L", "-c", "%i", f"/proc/{hpid}/ns/net"], check=True).stdout)

    assert bus.ctl("create", "c1", check=True).stdout == "/run/netns/c1\n"
    bus.ctl("pin", "bypid", "--pid", hpid, check=True)
    bus.ctl("pin", "bypath", "--path", f"/proc/{hpid}/ns/net", check=True)
    assert inode("bypid") == inode("bypath") == hns
    out = bus.ctl("attach", "c1", "lab", check=True).stdout
    assert out.startswith("attached c1 to lab: eth0 198.18.20.")
    bus.ctl("detach", "c1", "lab", check=True)
    p = bus.ctl("apply", "--dry-run")
    assert (p.returncode, p.stdout) == (0, "nothing to change\n")
    bus.config(with_extra(LAB))
    p = bus.ctl("apply", "--dry-run")
    assert p.returncode == 4 and "extra: create namespace" in p.stdout and not os.path.exists("/run/netns/extra")
    assert bus.ctl("apply", check=True).stdout == "extra: create namespace\napplied 1 change\n"
    bus.config(open(LAB).read())
    assert bus.ctl("reload", check=True).stdout == "reloaded: 1 change\n"
    assert bus.ctl("apply", "--json", check=True).stdout.count('"changed": false') == 1
    for n in ("c1", "bypid", "bypath"):
        bus.ctl("delete", n, "--force", check=True)
    assert netns_names() == ["web"]

    # Each of them was done by nsmgrd, for uid 0, as its journal says.
    journal = bus.journal()
    for what in ("created namespace 'c1'", "pinned namespace 'bypid'", "pinned namespace 'bypath'",
                 "attached 'c1' to network 'lab'", "detached 'c1' from network 'lab'", "applied the config: 1 change",
                 "deleted namespace 'c1'", "deleted namespace 'bypid'"):
        assert f"{what}" in journal and "(asked over D-Bus by uid 0)" in journal, what
    assert bus.journal().count("reloaded: 1 change") >= 1
    holder.kill()


def test_apply_of_another_config_is_refused_and_forcing_it_leaks_nothing(bus, tmp_path):
    bus.config(open(TUTORIAL).read())
    bus.start()
    bus.settled()
    before = {n: inode(n) for n in ("red", "blue")}
    other = "/run/nsmgr-other.conf"
    with open(bus.sd.path(other), "w") as f:
        f.write('namespaces = ( { name = "green"; } );\n')

    p = bus.ctl("apply", "-c", other)
    assert p.returncode == 1
    assert p.stderr == (f"nsmgrctl: cannot apply {other}: nsmgrd keeps {ETC_CONF} in force and would undo what this "
                        f"changes; edit {ETC_CONF} and run 'nsmgrctl reload', or use --force to apply it anyway\n")
    assert p.stdout == ""
    assert {n: inode(n) for n in ("red", "blue")} == before and netns_names() == ["blue", "red"]
    # A plan of it changes nothing either, and says whose config is in force.
    p = bus.ctl("apply", "-c", other, "--dry-run")
    assert p.returncode == 4 and f"nsmgrd keeps {ETC_CONF} in force" in p.stderr and netns_names() == ["blue", "red"]

    # Forced: it is applied, and nsmgrd puts its namespaces back as they
    # were (the same namespaces), nsmgr's again.
    p = bus.ctl("apply", "-c", other, "--force")
    assert p.returncode == 0 and "red: delete namespace" in p.stdout and "warning: applying" in p.stderr
    wait_for(lambda: netns_names() == ["blue", "red"] and
             {r["name"]: r["origin"] for r in json.loads(bus.ctl("list", "--json").stdout)} == {"blue": "config", "red": "config"},
             timeout=10, what="nsmgrd to put red and blue back, as its own")
    assert {n: inode(n) for n in ("red", "blue")} == before

    # What the config stops declaring goes: nothing leaks.
    bus.config("")
    assert bus.ctl("reload", check=True).stdout.startswith("reloaded: ")
    assert netns_names() == []
    assert not [l for l in ip_json("link", "show") if l["ifname"] == "br-study"]


def test_deleting_or_detaching_what_the_config_declares_is_refused(bus):
    bus.config(with_extra(LAB, "blue"))
    bus.start()
    bus.settled()
    blue, web = inode("blue"), inode("web")
    for args in (("delete", "blue"), ("delete", "blue", "--force")):
        p = bus.ctl(*args)
        assert p.returncode == 1
        assert re.fullmatch(rf"nsmgrctl: cannot delete 'blue': {ETC_CONF}:\d+ declares it and nsmgrd keeps what its "
                            rf"config declares; remove it from {ETC_CONF} and run 'nsmgrctl reload'\n", p.stderr), p.stderr
    p = bus.ctl("detach", "web", "lab")
    assert p.returncode == 1 and re.search(rf"cannot detach 'web' from 'lab': {ETC_CONF}:\d+ attaches it; remove it from "
                                           rf"{ETC_CONF}", p.stderr), p.stderr
    time.sleep(0.2)
    assert (inode("blue"), inode("web")) == (blue, web)
    rows = {r["name"]: r for r in json.loads(bus.ctl("list", "--json").stdout)}
    assert rows["blue"]["origin"] == "config" and rows["web"]["networks"][0]["network"] == "lab"
    # The refusal is in the journal with its MESSAGE_ID and the namespace.
    refused = bus.journal_json(f"MESSAGE_ID={APPLY_REFUSED}", "NSMGR_NAMESPACE=blue")
    assert refused and "cannot delete 'blue'" in refused[0]["MESSAGE"]


# --- polkit ---------------------------------------------------------------------------

def test_an_admin_group_may_change_a_plain_user_may_only_read(bus):
    sd = bus.sd
    sd.add_user("alice")
    sd.add_user("bob", groups=("netadmin",))
    sd.run(["sh", "-c", "umask 022; mkdir -p /etc/polkit-1/rules.d; cat > /etc/polkit-1/rules.d/50-nsmgr-test.rules"],
           input=RULE, check=True)
    bus.config(open(TUTORIAL).read())
    bus.start()
    bus.settled()

    # bob, in netadmin: create and delete, through nsmgrctl and busctl.
    p = bus.ctl_as("bob", "create", "b1")
    assert p.returncode == 0 and p.stdout == "/run/netns/b1\n", p.stderr
    assert bus.call("CreateNamespace", "st", "b2", 0, user="bob")[0] == "/run/netns/b2"
    assert bus.ctl_as("bob", "delete", "b1").returncode == 0
    assert bus.call("DeleteNamespace", "st", "b2", 0, user="bob") == []
    assert netns_names() == ["blue", "red"]
    assert "created namespace 'b1' (asked over D-Bus by uid" in bus.journal()

    # alice: reading works...
    mon, out, _ = monitor(bus, user="alice")
    assert bus.ctl_as("alice", "list").returncode == 0
    assert {r[0] for r in bus.call("ListNamespaces", user="alice")[0]} == {"blue", "red"}
    assert json.loads(bus.call("Status", user="alice")[0])["running"] is True
    p = bus.ctl_as("alice", "apply", "--dry-run")
    assert (p.returncode, p.stdout) == (0, "nothing to change\n"), p.stderr
    # ...changing does not, each refusal one sentence, and nothing changes.
    red, blue = inode("red"), inode("blue")
    ip_before = run(["ip", "-j", "addr"], check=True).stdout
    for args, what in ((("create", "a1"), "create namespace 'a1'"), (("delete", "red", "--force"), "delete namespace 'red'"),
                       (("apply",), "apply the config"), (("reload",), "reload the config"),
                       (("pin", "a2", "--path", "/run/netns/red"), "pin namespace 'a2'")):
        p = bus.ctl_as("alice", *args)
        assert p.returncode == 1, args
        assert p.stderr.startswith(f"nsmgrctl: not allowed to {what} without authenticating as an administrator "
                                   "(polkit action org.nsmgr1.manage)"), p.stderr
        assert p.stderr.count("\n") == 1
    name, msg = bus.gdbus_error("DeleteNamespace", "red", 0, user="alice")
    assert name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", name
    assert netns_names() == ["blue", "red"] and (inode("red"), inode("blue")) == (red, blue)
    assert run(["ip", "-j", "addr"], check=True).stdout == ip_before
    # alice's monitor sees what bob does.
    bus.ctl_as("bob", "create", "b3")
    assert out.until(lambda l: "b3" in l).startswith("created b3 (inode ")
    mon.kill()


def test_without_polkit_only_root_may_change(bus):
    sd = bus.sd
    sd.add_user("bob", groups=("netadmin",))
    sd.run(["sh", "-c", "umask 022; mkdir -p /etc/polkit-1/rules.d; cat > /etc/polkit-1/rules.d/50-nsmgr-test.rules"],
           input=RULE, check=True)
    sd.systemctl("mask", "polkit.service")
    bus.config(open(TUTORIAL).read())
    bus.start()
    p = bus.ctl_as("bob", "create", "b1")
    assert p.returncode == 1
    assert p.stderr.startswith("nsmgrctl: not allowed to create namespace 'b1': polkit is not running, and without it "
                               "only root may change anything"), p.stderr
    assert not os.path.exists("/run/netns/b1")
    # Reading stays open; root may change.
    assert bus.ctl_as("bob", "list").returncode == 0
    assert {r[0] for r in bus.call("ListNamespaces", user="bob")[0]} == {"blue", "red"}
    bus.ctl("create", "r1", check=True)
    assert os.path.exists("/run/netns/r1")


# --- journal, monitor ----------------------------------------------------------------

def test_journal_has_message_ids_and_fields(bus):
    bus.config(open(TUTORIAL).read())
    bus.start()
    bus.settled()
    red = inode("red")
    run(["umount", "/run/netns/red"], check=True)
    wait_for(lambda: os.path.exists("/run/netns/red") and inode("red") == red, what="the pin back")
    wait_for(lambda: bus.journal_json(f"MESSAGE_ID={DRIFT_REPAIRED}"), what="the repair in the journal")
    e = bus.journal_json(f"MESSAGE_ID={DRIFT_REPAIRED}")[0]
    assert e["NSMGR_NAMESPACE"] == "red" and e["_SYSTEMD_UNIT"] == "nsmgrd.service" and e["PRIORITY"] == "4"
    assert "the pin /run/netns/red was removed; pinned the same namespace again" in e["MESSAGE"]

    bus.ctl("reload", check=True)
    e = bus.journal_json(f"MESSAGE_ID={RELOADED}")
    assert e and e[-1]["MESSAGE"] == "reloaded: 0 changes"

    bus.ctl("delete", "blue")
    e = bus.journal_json(f"MESSAGE_ID={APPLY_REFUSED}")
    assert e and e[-1]["NSMGR_NAMESPACE"] == "blue"

    # A network over an address the host has: refused, naming the interface.
    run(["ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0p"], check=True)
    run(["ip", "addr", "add", "198.18.20.7/24", "dev", "uplink0"], check=True)
    bus.config(open(LAB).read())
    p = bus.ctl("reload")
    assert p.returncode == 1 and "overlaps 198.18.20.7/24 on the host's interface uplink0" in p.stderr
    e = bus.journal_json(f"MESSAGE_ID={APPLY_REFUSED}", "NSMGR_INTERFACE=uplink0")
    assert e and "network 'lab': its subnet 198.18.20.0/24 overlaps" in e[-1]["MESSAGE"]
    assert not os.path.exists("/run/netns/web")


def test_monitor_prints_create_repair_and_reload_in_order(bus):
    bus.config(open(TUTORIAL).read())
    bus.start()
    bus.settled()
    text, out, ready = monitor(bus)
    assert "nsmgrd's events on the system bus" in ready
    js, jout, _ = monitor(bus, "--json")

    bus.ctl("create", "c1", check=True)
    run(["ip", "-n", "red", "addr", "del", "198.18.10.1/24", "dev", "eth0"], check=True)
    wait_for(lambda: bus.status()["drifts_repaired"] >= 1, what="the repair")
    bus.ctl("reload", check=True)

    c1 = inode("c1")
    assert out.next() == f"created c1 (inode {c1}, origin create)"
    assert out.next().startswith("repaired: red: add address 198.18.10.1/24 to eth0")
    assert out.next() == "reloaded: 0 changes"
    events = [json.loads(jout.next()) for _ in range(3)]
    assert [e["event"] for e in events] == ["created", "repaired", "reloaded"]
    assert events[0]["name"] == "c1" and events[0]["inode"] == c1 and events[0]["origin"] == "create"
    assert events[1]["steps"][0]["text"] == "red: add address 198.18.10.1/24 to eth0"
    assert events[2]["ok"] is True and events[2]["changes"] == 0

    # nsmgrd stopping: the monitor says so and watches /run/netns itself.
    bus.sd.systemctl("stop", "nsmgrd.service")
    assert out.next() == "nsmgrd left the bus: watching /run/netns directly"
    run(["ip", "netns", "add", "by-ip"], check=True)
    assert out.until(lambda l: "by-ip" in l) == f"added by-ip (inode {inode('by-ip')})"
    text.kill()
    js.kill()

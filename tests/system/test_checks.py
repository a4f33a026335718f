"""Issue 12, without a bus: `nsmgrctl check`, apply --dry-run's exit status,
the subnet check, `nsmgrctl monitor` on /run/netns, and nsmgrctl refusing
what an nsmgrd that cannot be asked (no bus) keeps in force."""

import json
import os
import select
import shutil
import subprocess
import sys
import time

from conftest import BUILD, ROOT, ip_json, run
from test_daemon import foreground  # noqa: F401 -- a fixture

CTL = os.path.join(BUILD, "nsmgrctl")
TUTORIAL = os.path.join(ROOT, "conf", "bridge-tutorial.conf")
LAB = os.path.join(ROOT, "conf", "lab.conf")
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


def world_readable_copy(src, name):
    """A copy of a config that an unprivileged user can read."""
    os.makedirs("/run/cfg", exist_ok=True)
    os.chmod("/run/cfg", 0o755)
    dest = f"/run/cfg/{name}"
    shutil.copy(src, dest)
    os.chmod(dest, 0o644)
    return dest


def test_check_validates_without_root_and_touches_nothing(sandbox):
    good = world_readable_copy(TUTORIAL, "good.conf")
    bad = "/run/cfg/bad.conf"
    with open(bad, "w") as f:
        f.write('namespaces = (\n  { name = "x"; colour = "red"; }\n);\n')
    os.chmod(bad, 0o644)
    before = sorted(os.listdir("/run"))

    p = run([*NOBODY, CTL, "check", "-c", good])
    assert (p.returncode, p.stdout, p.stderr) == (0, f"valid: 2 namespaces, 0 networks, 1 bridge ({good})\n", "")
    p = run([*NOBODY, CTL, "check", "--config", bad])
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == f"nsmgrctl: {bad}:2: namespace 'x': unknown setting 'colour'\n"
    # The default config: none here, an empty one.
    p = run([*NOBODY, CTL, "check"])
    assert (p.returncode, p.stdout) == (0, "valid: /etc/nsmgr/nsmgr.conf does not exist, an empty config\n")
    assert run([*NOBODY, CTL, "check", "extra"]).returncode == 2
    # Nothing was made: no /run/netns, no /run/nsmgr, no lease folder.
    assert sorted(os.listdir("/run")) == before
    assert os.listdir("/var/lib/nsmgr") == []


def test_dry_run_exit_status_says_whether_there_is_something_to_do(sandbox):
    p = run([CTL, "apply", "-c", TUTORIAL, "--dry-run", "--json"])
    assert p.returncode == 4
    plan = json.loads(p.stdout)
    assert plan["dry_run"] is True and "red: create namespace" in plan["changes"]
    assert not os.path.exists("/run/netns/red")
    assert run([CTL, "apply", "-c", TUTORIAL]).returncode == 0
    p = run([CTL, "apply", "-c", TUTORIAL, "--dry-run"])
    assert (p.returncode, p.stdout) == (0, "nothing to change\n")
    bad = "/run/bad.conf"
    with open(bad, "w") as f:
        f.write("namespaces = ( { name = 1; } );\n")
    assert run([CTL, "apply", "-c", bad, "--dry-run"]).returncode == 1


def test_a_network_over_an_address_of_the_host_is_refused(sandbox):
    run(["ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0p"], check=True)
    run(["ip", "addr", "add", "198.18.20.7/24", "dev", "uplink0"], check=True)
    sentence = (f"nsmgrctl: {LAB}:12: network 'lab': its subnet 198.18.20.0/24 overlaps 198.18.20.7/24 on the host's "
                "interface uplink0; choose another subnet or remove that address (nothing was changed)\n")
    for args in ((), ("--dry-run",)):
        p = run([CTL, "apply", "-c", LAB, *args])
        assert (p.returncode, p.stdout, p.stderr) == (1, "", sentence), args
    assert not os.path.exists("/run/netns/web")
    assert sorted(l["ifname"] for l in ip_json("link", "show")) == ["lo", "uplink0", "uplink0p"]
    assert not os.path.exists("/run/nsmgr/state.json")

    # Without it, the network is made; its own gateway on its own bridge
    # is no conflict, and neither is an address that comes afterwards.
    run(["ip", "addr", "del", "198.18.20.7/24", "dev", "uplink0"], check=True)
    assert run([CTL, "apply", "-c", LAB]).returncode == 0
    assert os.path.exists("/run/netns/web")
    run(["ip", "addr", "add", "198.18.20.7/24", "dev", "uplink0"], check=True)
    p = run([CTL, "apply", "-c", LAB])
    assert (p.returncode, p.stdout) == (0, "nothing to change\n"), p.stderr


def lines_until(p, n, timeout=10):
    out, deadline = b"", time.monotonic() + timeout
    while out.count(b"\n") < n:
        left = deadline - time.monotonic()
        assert left > 0 and select.select([p.stdout], [], [], left)[0], f"only {out!r}"
        chunk = os.read(p.stdout.fileno(), 4096)
        assert chunk, f"monitor ended: {out!r}"
        out += chunk
    return out.decode().splitlines()


def test_monitor_without_a_daemon_watches_run_netns(sandbox):
    # /run/netns does not exist yet: the monitor waits for it, as nobody.
    assert not os.path.exists("/run/netns")
    os.chmod("/run", 0o755)
    mon = sandbox.spawn([*NOBODY, CTL, "monitor", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert select.select([mon.stderr], [], [], 10)[0]
    assert b"monitoring /run/netns (nsmgrd is not on the bus)" in os.read(mon.stderr.fileno(), 4096)
    text = sandbox.spawn([CTL, "monitor"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert select.select([text.stderr], [], [], 10)[0] and os.read(text.stderr.fileno(), 4096)

    run(["ip", "netns", "add", "a"], check=True)
    a = os.stat("/run/netns/a").st_ino
    assert run([CTL, "create", "b"]).returncode == 0
    b = os.stat("/run/netns/b").st_ino
    assert run([CTL, "delete", "b"]).returncode == 0
    run(["ip", "netns", "delete", "a"], check=True)

    events = [json.loads(l) for l in lines_until(mon, 4)]
    assert [(e["event"], e["name"], e["inode"], e["source"]) for e in events] == [
        ("added", "a", a, "/run/netns"), ("added", "b", b, "/run/netns"), ("deleted", "b", b, "/run/netns"),
        ("deleted", "a", a, "/run/netns")]
    assert lines_until(text, 4) == [f"added a (inode {a})", f"added b (inode {b})", f"deleted b (inode {b})",
                                    f"deleted a (inode {a})"]


def test_what_an_nsmgrd_without_a_bus_keeps_is_refused_here_too(foreground):
    start, notify = foreground
    start("-c", TUTORIAL)
    notify.until("READY")
    blue = os.stat("/run/netns/blue").st_ino
    p = run([CTL, "delete", "blue"])
    assert p.returncode == 1
    assert p.stderr.startswith(f"nsmgrctl: cannot delete 'blue': {TUTORIAL}:")
    assert f"declares it and nsmgrd keeps what its config declares; remove it from {TUTORIAL} and run 'nsmgrctl reload'" in p.stderr
    other = "/run/other.conf"
    with open(other, "w") as f:
        f.write('namespaces = ( { name = "green"; } );\n')
    p = run([CTL, "apply", "-c", other])
    assert p.returncode == 1 and f"cannot apply {other}: nsmgrd keeps {TUTORIAL} in force" in p.stderr
    assert not os.path.exists("/run/netns/green") and os.stat("/run/netns/blue").st_ino == blue
    # nsmgrd's own config goes through, done here.
    p = run([CTL, "apply", "-c", TUTORIAL])
    assert (p.returncode, p.stdout) == (0, "nothing to change\n"), p.stderr
    # What it does not declare is anyone's to delete.
    assert run([CTL, "create", "mine"]).returncode == 0
    assert run([CTL, "delete", "mine"]).returncode == 0


BUS_CONF = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


def start_bus(sandbox):
    if os.path.exists("/run/dbus/system_bus_socket"):
        os.unlink("/run/dbus/system_bus_socket")
    bus = sandbox.spawn(["dbus-daemon", "--config-file=/run/dbus-test.conf", "--nofork", "--nopidfile"])
    deadline = time.monotonic() + 10
    while not os.path.exists("/run/dbus/system_bus_socket"):
        assert time.monotonic() < deadline, "dbus-daemon did not start"
        time.sleep(0.01)
    return bus


def test_nsmgrd_on_a_bus_of_its_own_serves_and_leaks_nothing(sandbox, foreground):
    """The API without systemd: Debian's dbus-daemon with the system bus's
    default policy and nsmgr's own policy file, no polkit (so only root may
    change), nsmgrd in the foreground. Under `make check-asan` this is where
    the daemon's bus code is checked for leaks (the unit turns LeakSanitizer
    off)."""
    os.makedirs("/run/dbus")
    with open("/run/dbus-test.conf", "w") as f:
        f.write(BUS_CONF.format(policy=os.path.join(ROOT, "nsmgr", "daemon", "org.nsmgr1.conf")))
    bus = start_bus(sandbox)
    os.chmod("/run", 0o755)

    start, notify = foreground
    log = "/run/nsmgrd.log"
    d = start("-c", LAB, stderr=open(log, "w"))
    notify.until("READY")
    # Read what nsmgrd tells its NOTIFY_SOCKET from now on, as systemd does:
    # a full queue (net.unix.max_dgram_qlen, often 10) would block it. A
    # process of its own: the sandbox needs this one single-threaded.
    fd = notify.sock.fileno()
    sandbox.spawn([sys.executable, "-c", f"import os\nos.set_blocking({fd}, True)\nwhile os.read({fd}, 4096): pass"],
                  pass_fds=[fd])
    assert "on the system bus as org.nsmgr1" in open(log).read()
    busctl = ["busctl", "--json=short", "call", "org.nsmgr1", "/org/nsmgr1", "org.nsmgr1.Manager"]

    mon = sandbox.spawn([*NOBODY, CTL, "monitor", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert select.select([mon.stderr], [], [], 10)[0]
    assert b"nsmgrd's events on the system bus" in os.read(mon.stderr.fileno(), 4096)

    holder = sandbox.spawn(["unshare", "--net", "sleep", "600"])
    deadline = time.monotonic() + 10
    while os.stat(f"/proc/{holder.pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for args in (("create", "c1"), ("pin", "p1", "--pid", holder.pid), ("pin", "p2", "--path", f"/proc/{holder.pid}/ns/net"),
                 ("attach", "c1", "lab"), ("detach", "c1", "lab"), ("delete", "p1", "--force"), ("delete", "p2", "--force")):
        p = run([CTL, *map(str, args)])
        assert p.returncode == 0, (args, p.stderr)
    p = run([CTL, "apply", "--dry-run", "-c", LAB])
    assert (p.returncode, p.stdout) == (0, "nothing to change\n"), p.stderr
    assert run([CTL, "reload"]).stdout == "reloaded: 0 changes\n"
    rows = json.loads(run(busctl + ["ListNamespaces"], check=True).stdout)["data"][0]
    assert sorted(r[0] for r in rows) == ["c1", "web"]
    assert json.loads(json.loads(run(busctl + ["DescribeNamespace", "s", "web"], check=True).stdout)["data"][0])["name"] == "web"
    assert json.loads(json.loads(run(busctl + ["Describe"], check=True).stdout)["data"][0])["networks"][0]["name"] == "lab"
    assert json.loads(json.loads(run(busctl + ["Status"], check=True).stdout)["data"][0])["pid"] == d.pid
    text = open(log).read()
    for what in ("created namespace 'c1'", "pinned namespace 'p1'", "attached 'c1' to network 'lab'", "deleted namespace 'p2'"):
        assert f"{what}" in text, what
    assert "(asked over D-Bus by uid 0)" in text

    # No polkit here: reading is open, changing is root's; the parked call
    # is answered once the bus has said there is no polkit.
    p = run([*NOBODY, CTL, "create", "x"])
    assert p.returncode == 1 and "polkit is not running, and without it only root may change anything" in p.stderr
    assert not os.path.exists("/run/netns/x")
    assert run([*NOBODY, *busctl, "ListNamespaces"]).returncode == 0
    p = run([CTL, "delete", "web"])
    assert p.returncode == 1 and "declares it and nsmgrd keeps what its config declares" in p.stderr

    events = [json.loads(l)["event"] for l in lines_until(mon, 6)]
    assert events[:2] == ["created", "pinned"], events

    # The bus goes away and comes back: nsmgrd is on it again by itself.
    bus.kill()
    bus.wait()
    bus = start_bus(sandbox)
    deadline = time.monotonic() + 15
    while run(busctl + ["ListNamespaces"]).returncode != 0:
        assert time.monotonic() < deadline, open(log).read()
        time.sleep(0.1)
    text = open(log).read()
    assert "lost the connection to the system bus" in text
    assert text.count("on the system bus as org.nsmgr1") == 2
    assert run([CTL, "create", "after"]).returncode == 0
    assert "created namespace 'after' (asked over D-Bus by uid 0)" in open(log).read()

    d.send_signal(15)
    assert d.wait(timeout=20) == 0, open(log).read()
    text = open(log).read()
    assert "Sanitizer" not in text and "runtime error" not in text, text

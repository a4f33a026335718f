"""Issue 5: nsmgrd, in the foreground and under a real systemd.

The systemd tests install what `make install` installs (binaries, units,
reference config) into a container booted by tests/lib/systemd_sandbox.py
and drive it with systemctl, as an administrator would. Results are checked
from the sandbox's side with ip -j, stat, nsenter and /proc, and from the
journal."""

import fcntl
import json
import os
import stat
import shutil
import signal
import socket
import subprocess
import textwrap
import time

import pytest

from conftest import BUILD, ROOT, ip_json, pin_mount_ids, pins_held_by, run
from systemd_sandbox import wait_for

CONF = os.path.join(ROOT, "conf")
TUTORIAL = os.path.join(CONF, "bridge-tutorial.conf")
SBIN = "/usr/local/sbin/nsmgrd"
CTL = "/usr/local/bin/nsmgrctl"
ETC_CONF = "/etc/nsmgr/nsmgr.conf"


def ifindexes(ns=None):
    return {l["ifname"]: l["ifindex"] for l in ip_json("link", "show", netns=ns)}


def inode(name):
    return os.stat(f"/run/netns/{name}").st_ino


def addrs_of(ns, dev):
    return sorted(f'{a["local"]}/{a["prefixlen"]}' for l in ip_json("addr", "show", "dev", dev, netns=ns)
                  for a in l["addr_info"])


def has_link(ns, dev):
    return run(["ip", "-n", ns, "link", "show", "dev", dev]).returncode == 0 if ns else \
        run(["ip", "link", "show", "dev", dev]).returncode == 0


def ping(ns, addr):
    return run(["ip", "netns", "exec", ns, "ping", "-c1", "-W2", addr]).returncode == 0


def host_end(ns):
    """The host end of namespace ns's veth on br-study."""
    return [l["ifname"] for l in ip_json("link", "show", "master", "br-study") if l["ifname"].startswith("v" + ns)][0]


def wiring():
    """What must not change when nsmgrd restarts or stops: namespace inodes
    and every ifindex, in the host and in each namespace."""
    return {"inodes": {n: inode(n) for n in sorted(os.listdir("/run/netns"))},
            "host": ifindexes(), "red": ifindexes("red"), "blue": ifindexes("blue")}


def drift_lines(log):
    """The "drift: ..." lines of nsmgrd's log: what the events said."""
    return [l.split("drift: ", 1)[1] for l in log.splitlines() if "drift: " in l]


def wait_back(check, timeout=20.0):
    """Polls check() every 10 ms until it holds. The deadline only ends a
    test whose repair never comes (a loaded or sanitized run is slow); how
    fast repairs are is measured in bench/ (make bench-scale), not here."""
    wait_for(check, timeout=timeout, what="the repair", interval=0.01)


# --- nsmgrd in the foreground (no systemd) ------------------------------------

class Notify:
    """A NOTIFY_SOCKET, as systemd gives a Type=notify service."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(path)

    def next(self, timeout=10):
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096).decode()
        return dict(l.split("=", 1) for l in data.splitlines() if "=" in l)

    def until(self, key, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next(max(0.1, deadline - time.monotonic()))
            if key in msg:
                return msg


def settled(nsmgr):
    """Waits for the check nsmgrd runs after making namespaces (for what
    happened before their watches were open), so that a change the test
    makes next is seen as a drift of its own."""
    wait_for(lambda: json.loads(nsmgr("status", "--json").stdout).get("last_reconcile", {}).get("trigger") == "drift",
             what="nsmgrd's check after start")


@pytest.fixture
def foreground(sandbox, tmp_path):
    """Starts build/nsmgrd with a NOTIFY_SOCKET; returns (start, notify)."""
    notify = Notify(str(tmp_path / "notify"))
    procs = []

    def start(*args, env=None, stderr=None):
        e = dict(os.environ, NOTIFY_SOCKET=notify.path, **(env or {}))
        p = sandbox.spawn([os.path.join(BUILD, "nsmgrd"), *args], env=e,
                          stderr=stderr if stderr is not None else subprocess.PIPE, text=True)
        procs.append(p)
        return p

    yield start, notify
    notify.sock.close()


def test_ready_only_after_the_config_is_applied(foreground):
    start, notify = foreground
    p = start("-c", TUTORIAL)
    msg = notify.until("READY")
    # At the moment READY=1 arrives, the namespaces are there and wired.
    assert sorted(os.listdir("/run/netns")) == ["blue", "red"]
    assert addrs_of("red", "eth0") == ["198.18.10.1/24"]
    assert ping("red", "198.18.10.2")
    assert msg["STATUS"] == "2 namespaces, 0 networks, 0 drifts repaired"
    assert p.poll() is None

    # SIGHUP: RELOADING=1 (with the clock systemd 253 asks for), then READY=1.
    p.send_signal(signal.SIGHUP)
    msg = notify.until("RELOADING")
    assert int(msg["MONOTONIC_USEC"]) > 0
    assert "READY" in notify.until("READY")

    p.send_signal(signal.SIGTERM)
    assert "STOPPING" in notify.until("STOPPING")
    _, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert "nsmgrd: ready: 2 namespaces" in err
    # Stopping tore nothing down.
    assert sorted(os.listdir("/run/netns")) == ["blue", "red"]
    assert ping("red", "198.18.10.2")


def test_start_waits_for_an_apply_and_reads_the_host_after_it(foreground, nsmgr):
    """nsmgrd reads the host ahead, in a thread of its own while it reads
    its config, only once it holds the appliers' lock: what an apply that
    held the lock changed is what its first reconcile sees, and READY=1
    comes with the config applied to that."""
    nsmgr.ok("apply", "-c", TUTORIAL)
    start, notify = foreground
    with open("/run/nsmgr/lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = start("-c", TUTORIAL)
        with pytest.raises(TimeoutError):
            notify.until("READY", timeout=1)
        # What an apply holding the lock might do: the bridge goes.
        run(["ip", "link", "del", "br-study"], check=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
    notify.until("READY")
    assert has_link(None, "br-study")
    assert ping("red", "198.18.10.2")
    assert p.poll() is None


def test_watching_holds_no_pin_while_it_opens_the_others(foreground, nsmgr, tmp_path):
    """Regression: making its watches, nsmgrd opened up to 256 pins in its
    main thread before threads opened the namespaces from inside and the
    pins' handles were closed; meanwhile a plain `umount /run/netns/NAME`
    of any of them failed with "target is busy". Now each pin is opened by
    the thread that enters it and closed at once: at most one per CPU is
    ever held."""
    n = 400
    cfg = tmp_path / "many.conf"
    cfg.write_text("namespaces = (" + ", ".join(f'{{ name = "p{i}"; }}' for i in range(n)) + ");\n")
    nsmgr.ok("apply", "-c", str(cfg))
    pins = pin_mount_ids()
    assert len(pins) == n
    start, notify = foreground
    most, samples = 0, 0
    for _ in range(3):
        p = start("-c", str(cfg))
        deadline = time.monotonic() + 60
        while True:
            most = max(most, pins_held_by(p.pid, pins))
            samples += 1
            try:
                if "READY" in notify.next(0.001):
                    break
            except TimeoutError:
                pass
            assert p.poll() is None and time.monotonic() < deadline, "nsmgrd did not get ready"
        p.send_signal(signal.SIGTERM)
        assert "STOPPING" in notify.until("STOPPING")
        assert p.wait(timeout=30) == 0
    assert samples >= 10
    assert most <= (os.cpu_count() or 1), f"{most} pins held at once"


def test_a_second_nsmgrd_refuses_to_start(foreground, nsmgr):
    start, notify = foreground
    first = start("-c", TUTORIAL)
    notify.until("READY")
    second = start("-c", TUTORIAL)
    _, err = second.communicate(timeout=10)
    assert second.returncode == 1
    assert f"another nsmgrd is running (pid {first.pid})" in err
    # The first one's record is untouched.
    assert json.loads(nsmgr.ok("status", "--json").stdout)["pid"] == first.pid


def test_broken_config_at_start_exits_78_with_file_and_line(foreground, tmp_path):
    start, _ = foreground
    bad = tmp_path / "bad.conf"
    bad.write_text('namespaces = (\n  { name = "x"; colour = "red"; }\n);\n')
    p = start("-c", str(bad))
    _, err = p.communicate(timeout=10)
    assert p.returncode == 78
    assert f"nsmgrd: error: {bad}:2: namespace 'x': unknown setting 'colour'" in err
    assert not os.path.exists("/run/netns/x")


def test_log_lines_carry_priorities_when_stderr_is_the_journal(foreground, tmp_path):
    start, notify = foreground
    log = open(tmp_path / "log", "w+")
    st = os.fstat(log.fileno())
    # What systemd sets when stderr is a stream to the journal.
    p = start("-c", TUTORIAL, env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, stderr=log)
    notify.until("READY")
    run(["ip", "-n", "red", "addr", "del", "198.18.10.1/24", "dev", "eth0"], check=True)
    wait_back(lambda: "repaired" in open(tmp_path / "log").read())
    p.terminate()
    p.wait(timeout=10)
    lines = open(tmp_path / "log").read().splitlines()
    assert "<6>applied: red: create namespace" in lines
    assert "<4>repaired: red: add address 198.18.10.1/24 to eth0" in lines
    assert any(l.startswith("<5>ready: ") for l in lines)
    assert all(l[0] == "<" and l[2] == ">" for l in lines), lines


def test_nftables_changes_are_a_trigger(foreground, nsmgr, tmp_path):
    start, notify = foreground
    log = tmp_path / "log"
    p = start("-c", TUTORIAL, "--log-level", "debug", stderr=open(log, "w"))
    notify.until("READY")
    settled(nsmgr)
    run(["nft", "add", "table", "inet", "nsmgr_test"], check=True)
    wait_back(lambda: "nftables ruleset changed: nothing to repair" in log.read_text())
    p.terminate()
    p.wait(timeout=10)


def test_nat_rules_deleted_by_hand_are_put_back(foreground, nsmgr, tmp_path):
    start, notify = foreground
    log = tmp_path / "log"
    p = start("-c", os.path.join(CONF, "lab.conf"), stderr=open(log, "w"))
    notify.until("READY")
    settled(nsmgr)
    rules = run(["nft", "list", "table", "inet", "nsmgr"], check=True).stdout
    assert "masquerade" in rules and "dnat ip to 198.18.20.2:80" in rules
    run(["nft", "delete", "table", "inet", "nsmgr"], check=True)
    wait_back(lambda: run(["nft", "list", "table", "inet", "nsmgr"]).stdout == rules)
    wait_back(lambda: "drift repaired" in log.read_text())
    assert "repaired: nat: restore table inet nsmgr (it was deleted)" in log.read_text()
    p.terminate()
    p.wait(timeout=10)


# --- scoped repair (issue 15) ----------------------------------------------------

SCOPED = """
host = { bridges = ( { name = "br-sc"; addresses = [ "198.18.40.254/24" ]; } ); };
namespaces = (
%s
);
"""


def scoped_conf(tmp_path, names):
    """Namespaces on one bridge, each with a sysctl: a change to a sysctl
    sends no notification, so only a repair that looks at that namespace
    puts it back."""
    body = ",\n".join(
        f'  {{ name = "{n}"; interfaces = ( {{ name = "eth0"; type = "veth"; bridge = "br-sc"; '
        f'addresses = [ "198.18.40.{i + 1}/24" ]; }} ); '
        f'routes = ( {{ to = "default"; via = "198.18.40.254"; }} ); '
        f'sysctls = [ "net.ipv4.conf.all.forwarding = 1" ]; }}' for i, n in enumerate(names))
    conf = tmp_path / "scoped.conf"
    conf.write_text(SCOPED % body)
    return str(conf)


def sysctl_in(ns, key):
    return run(["ip", "netns", "exec", ns, "sysctl", "-n", key], check=True).stdout.strip()


def test_a_drift_in_one_namespace_is_repaired_without_looking_at_the_others(foreground, nsmgr, tmp_path):
    start, notify = foreground
    log = tmp_path / "log"
    names = ["sa", "sb", "sc", "sd"]
    p = start("-c", scoped_conf(tmp_path, names), stderr=open(log, "w"))
    notify.until("READY")
    settled(nsmgr)
    # Drift no event tells of, in sb: a full reconcile would put it back.
    run(["ip", "netns", "exec", "sb", "sysctl", "-qw", "net.ipv4.conf.all.forwarding=0"], check=True)
    before = {n: ifindexes(n) for n in names}
    host_before = ifindexes()
    mark = len(log.read_text())
    # Then sa loses the host end of its veth.
    owner = "sa"
    peer = [l["ifname"] for l in ip_json("link", "show", "master", "br-sc") if l["ifname"].startswith("vsa-")][0]
    run(["ip", "link", "del", peer], check=True)
    wait_back(lambda: has_link(None, peer) and addrs_of(owner, "eth0") == [f"198.18.40.{names.index(owner) + 1}/24"])
    wait_back(lambda: "drift repaired in " in log.read_text()[mark:])
    said = log.read_text()[mark:]
    # The repair looked at the namespace whose veth it was, and only there.
    assert f"drift repaired in namespace {owner} (" in said, said
    repaired = [l.split("repaired: ", 1)[1] for l in said.splitlines() if "repaired: " in l]
    assert repaired and not any(l.startswith(f"{n}:") for l in repaired for n in names if n != owner), repaired
    # The others were not even read: sb's sysctl is still as the user left it.
    assert sysctl_in("sb", "net.ipv4.conf.all.forwarding") == "0"
    # And nothing of theirs was touched.
    for n in names:
        if n != owner:
            assert ifindexes(n) == before[n], n
    assert {k: v for k, v in ifindexes().items() if k != peer} == {k: v for k, v in host_before.items() if k != peer}
    assert ping(owner, "198.18.40.254")
    p.terminate()
    p.wait(timeout=10)


def test_the_periodic_sweep_repairs_what_no_event_told_of(foreground, nsmgr, tmp_path):
    start, notify = foreground
    log = tmp_path / "log"
    p = start("-c", scoped_conf(tmp_path, ["sa", "sb"]), "--sweep", "2", stderr=open(log, "w"))
    notify.until("READY")
    settled(nsmgr)
    run(["ip", "netns", "exec", "sb", "sysctl", "-qw", "net.ipv4.conf.all.forwarding=0"], check=True)
    wait_for(lambda: sysctl_in("sb", "net.ipv4.conf.all.forwarding") == "1", timeout=15,
             what="the sweep to put sb's sysctl back")
    wait_back(lambda: "drift repaired in everything" in log.read_text())
    text = log.read_text()
    assert "drift: found by the periodic sweep" in text
    assert "repaired: sb: set sysctl net.ipv4.conf.all.forwarding = 1" in text
    assert json.loads(nsmgr("status", "--json").stdout)["last_reconcile"]["trigger"] == "sweep"
    p.terminate()
    p.wait(timeout=10)


def test_a_deleted_bridge_is_made_again_with_every_port(foreground, nsmgr, tmp_path):
    start, notify = foreground
    names = ["sa", "sb", "sc"]
    p = start("-c", scoped_conf(tmp_path, names))
    notify.until("READY")
    settled(nsmgr)
    inner = {n: ifindexes(n) for n in names}
    run(["ip", "link", "del", "br-sc"], check=True)
    wait_back(lambda: has_link(None, "br-sc") and
              len(ip_json("link", "show", "master", "br-sc")) == len(names), timeout=10)
    for n in names:
        assert ifindexes(n) == inner[n], n
        wait_for(lambda: ping(n, "198.18.40.254"), timeout=5, what=f"{n} reaching the bridge")
    p.terminate()
    p.wait(timeout=10)


def test_a_veth_between_namespaces_is_repaired_from_either_end(foreground, nsmgr):
    """The pair is declared by site-a; deleting its end in site-b fires
    site-b's watch alone, and the repair must take site-a along."""
    start, notify = foreground
    p = start("-c", os.path.join(CONF, "overlay.conf"))
    notify.until("READY")
    settled(nsmgr)
    run(["ip", "-n", "site-b", "link", "del", "under0"], check=True)
    wait_back(lambda: has_link("site-b", "under0") and has_link("site-a", "under0") and
              addrs_of("site-b", "under0") == ["198.18.60.2/30"], timeout=5)
    wait_for(lambda: ping("site-a", "198.18.61.2"), timeout=10, what="the vxlan over it")
    p.terminate()
    p.wait(timeout=10)


def test_run_time_attachments_are_watched_but_never_kept_alive(foreground, nsmgr, tmp_path):
    start, notify = foreground
    log = tmp_path / "log"
    lab = os.path.join(CONF, "lab.conf")
    p = start("-c", lab, stderr=open(log, "w"))
    notify.until("READY")
    settled(nsmgr)
    nsmgr.ok("create", "extra")
    out = nsmgr.ok("attach", "extra", "lab", "-c", lab).stdout
    addr = out.split()[-1]
    assert addr.startswith("198.18.20.")
    # nsmgrd learns of it from the new port of br-lab, then watches inside.
    wait_for(lambda: json.loads(nsmgr("status", "--json").stdout)["watched"] == 2, what="extra to be watched")
    run(["ip", "-n", "extra", "addr", "del", addr, "dev", "eth0"], check=True)
    try:
        wait_back(lambda: addrs_of("extra", "eth0") == [addr])
    except AssertionError as e:
        raise AssertionError(f"{e}; nsmgrd said:\n{log.read_text()}") from None
    # It is not nsmgr's namespace: deleted by its owner, it stays deleted.
    nsmgr.ok("delete", "extra")
    wait_back(lambda: "namespace 'extra', attached to a network at run time, was deleted" in log.read_text())
    wait_for(lambda: json.loads(nsmgr("status", "--json").stdout)["watched"] == 1, what="its watch to go")
    assert not os.path.exists("/run/netns/extra")
    p.terminate()
    p.wait(timeout=10)


def test_a_run_time_namespace_deleted_during_a_repair_is_still_reported(foreground, nsmgr, tmp_path):
    """Regression: a namespace deleted while nsmgrd was in the middle of a
    repair lost its watch silently at the repair's end (its pin and its
    lease were gone by then), so the deletion was never reported."""
    import fcntl
    start, notify = foreground
    log = tmp_path / "log"
    lab = os.path.join(CONF, "lab.conf")
    p = start("-c", lab, stderr=open(log, "w"))
    notify.until("READY")
    settled(nsmgr)
    nsmgr.ok("create", "extra")
    addr = nsmgr.ok("attach", "extra", "lab", "-c", lab).stdout.split()[-1]
    wait_for(lambda: json.loads(nsmgr("status", "--json").stdout)["watched"] == 2, what="extra to be watched")
    # Hold the lock every reconcile takes, and make a drift: nsmgrd's
    # repair waits for the lock (seen as a waiter in /proc/locks).
    with open("/run/nsmgr/lock", "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            run(["ip", "-n", "extra", "addr", "del", addr, "dev", "eth0"], check=True)
            wait_for(lambda: any("->" in l and f" {p.pid} " in l for l in open("/proc/locks")),
                     what="nsmgrd to wait for the lock")
            # Its owner deletes it meanwhile, as ip netns does.
            run(["ip", "netns", "delete", "extra"], check=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        wait_back(lambda: "namespace 'extra', attached to a network at run time, was deleted" in log.read_text())
    except AssertionError as e:
        raise AssertionError(f"{e}; nsmgrd said:\n{log.read_text()}") from None
    wait_for(lambda: json.loads(nsmgr("status", "--json").stdout)["watched"] == 1, what="its watch to go")
    assert not os.path.exists("/run/netns/extra")
    p.terminate()
    p.wait(timeout=10)


def test_host_links_it_does_not_manage_are_not_its_business(foreground, nsmgr, tmp_path):
    start, notify = foreground
    log = tmp_path / "log"
    p = start("-c", TUTORIAL, "--log-level", "debug", stderr=open(log, "w"))
    notify.until("READY")
    settled(nsmgr)
    # A container runtime's veth, an address on it: no repair, no check.
    run(["ip", "link", "add", "other0", "type", "veth", "peer", "name", "other1"], check=True)
    run(["ip", "addr", "add", "198.19.0.1/24", "dev", "other0"], check=True)
    run(["ip", "link", "set", "other0", "up"], check=True)
    run(["ip", "link", "del", "other0"], check=True)
    # Then drift on a managed host link, which must be seen.
    run(["ip", "addr", "del", "198.18.10.254/24", "dev", "br-study"], check=True)
    wait_back(lambda: "repaired: add address 198.18.10.254/24 to br-study" in log.read_text())
    p.terminate()
    p.wait(timeout=10)
    text = log.read_text()
    assert any("the host: address 198.18.10.254/24 removed from br-study" in l for l in drift_lines(text)), text
    assert "other" not in text


def test_nsmgrd_usage(nsmgr):
    d = os.path.join(BUILD, "nsmgrd")
    p = run([d, "--help"])
    assert p.returncode == 0 and "Usage: nsmgrd" in p.stdout and "nsmgrd(8)" in p.stdout
    for args, msg in ((["--bogus"], "unknown option '--bogus'"), (["extra"], "unexpected argument 'extra'"),
                      (["--debounce", "x"], "--debounce: 'x' is not a number"),
                      (["--log-level", "loud"], "unknown level 'loud'"), (["-c"], "option '-c' needs an argument")):
        p = run([d, *args])
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)


def test_status_and_reload_without_a_daemon_exit_3(nsmgr):
    p = nsmgr("status")
    assert p.returncode == 3 and "nsmgrd is not running" in p.stdout
    assert nsmgr("status", "--json").returncode == 3
    st = json.loads(nsmgr("status", "--json").stdout)
    assert st["running"] is False and st["pid"] == 0 and st["last_reconcile"]["time_usec"] == 0
    p = nsmgr("reload")
    assert p.returncode == 3 and "nsmgrd is not running" in p.stderr
    assert nsmgr("reload", "--timeout", "0").returncode == 2


def test_status_of_a_dead_daemon_is_not_running(foreground, nsmgr):
    start, notify = foreground
    p = start("-c", TUTORIAL)
    notify.until("READY")
    assert nsmgr("status").returncode == 0
    p.kill()
    p.wait()
    # The record still names the PID; it is gone, so status says so.
    s = nsmgr("status")
    assert s.returncode == 3 and "is gone without stopping" in s.stdout
    assert json.loads(nsmgr("status", "--json").stdout)["running"] is False


def shape(o):
    """The keys of a JSON value, nested, with the type of each leaf that is
    not null: what a script reading it relies on."""
    if isinstance(o, dict):
        return {k: shape(v) for k, v in o.items()}
    return None if o is None else type(o).__name__


def test_status_json_has_one_shape_before_during_and_after(foreground, nsmgr):
    """Issue 16: before nsmgrd ever ran it was {"running": false}, another
    shape than once it had run."""
    never = json.loads(nsmgr("status", "--json").stdout)
    start, notify = foreground
    p = start("-c", TUTORIAL)
    notify.until("READY")
    running = json.loads(nsmgr.ok("status", "--json").stdout)
    p.send_signal(signal.SIGTERM)
    p.wait()
    stopped = json.loads(nsmgr("status", "--json").stdout)
    assert (never["running"], running["running"], stopped["running"]) == (False, True, False)
    assert never.keys() == running.keys() == stopped.keys()
    assert never["last_reconcile"].keys() == running["last_reconcile"].keys()
    # Where never has a value, it is of the same type as a running daemon's.
    for k, v in shape(never).items():
        if v is not None and not isinstance(v, dict):
            assert v == shape(running)[k], k


# --- make install ---------------------------------------------------------------

@pytest.fixture(scope="session")
def staged(tmp_path_factory):
    """What `make install` installs, in a DESTDIR of its own (PREFIX default)."""
    dest = str(tmp_path_factory.mktemp("destdir"))
    build = os.path.relpath(BUILD, ROOT)
    run(["make", "-C", ROOT, "--no-print-directory", f"BUILD={build}", f"DESTDIR={dest}", "install"], check=True)
    return dest


def unitdir():
    p = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
    return p.stdout.strip() or "/lib/systemd/system"


def test_make_install(staged, tmp_path):
    ud = unitdir()
    for f in (SBIN, CTL, f"{ud}/nsmgrd.service", f"{ud}/netns@.service", "/usr/local/share/man/man8/nsmgrd.8",
              "/usr/local/share/man/man8/nsmgrctl.8", ETC_CONF):
        assert os.path.isfile(staged + f), f
    assert os.access(staged + SBIN, os.X_OK) and os.access(staged + CTL, os.X_OK)
    unit = open(f"{staged}{ud}/nsmgrd.service").read()
    assert f"ExecStart={SBIN}\n" in unit and f"ExecReload={CTL} reload\n" in unit
    assert f"ExecStart={CTL} create %i --exist-ok\n" in open(f"{staged}{ud}/netns@.service").read()
    assert "@BINDIR@" not in unit and "@SBINDIR@" not in unit

    # An existing config is never overwritten.
    dest = str(tmp_path / "dest")
    os.makedirs(dest + "/etc/nsmgr")
    with open(dest + ETC_CONF, "w") as f:
        f.write("# mine\n")
    run(["make", "-C", ROOT, "--no-print-directory", f"BUILD={os.path.relpath(BUILD, ROOT)}", f"DESTDIR={dest}",
         "install"], check=True)
    assert open(dest + ETC_CONF).read() == "# mine\n"
    assert os.path.isfile(f"{dest}{ud}/nsmgrd.service")


def tmpfilesdir():
    p = run(["pkg-config", "--variable=tmpfilesdir", "systemd"])
    return p.stdout.strip() or "/usr/lib/tmpfiles.d"


def test_make_install_for_packagers(staged, tmp_path):
    """Issue 16: what a package needs besides the programs, where the tools
    look for it (PREFIX /usr/local here)."""
    for f in ("/usr/local/share/bash-completion/completions/nsmgrctl",
              "/usr/local/share/zsh/site-functions/_nsmgrctl",
              "/usr/local/share/man/man5/nsmgr.conf.5",
              f"{tmpfilesdir()}/nsmgr.conf"):
        assert os.path.isfile(staged + f), f
    # The examples nsmgr.conf(5) points to, every one of conf/.
    ex = staged + "/usr/local/share/doc/nsmgr/examples"
    assert sorted(os.listdir(ex)) == sorted(f for f in os.listdir(CONF) if f.endswith(".conf"))
    assert "/usr/share/doc/nsmgr/examples" in open(os.path.join(ROOT, "man", "nsmgr.conf.5")).read()
    # systemd-tmpfiles makes /var/lib/nsmgr from the entry (in a root of
    # the test's own).
    r = tmp_path / "root"
    r.mkdir()
    run(["systemd-tmpfiles", f"--root={r}", "--create", f"{staged}{tmpfilesdir()}/nsmgr.conf"], check=True)
    st = os.stat(r / "var/lib/nsmgr")
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755
    assert "StateDirectory=nsmgr\n" in open(f"{staged}{unitdir()}/nsmgrd.service").read()


def make_in(dest, *targets):
    run(["make", "-C", ROOT, "--no-print-directory", f"BUILD={os.path.relpath(BUILD, ROOT)}", f"DESTDIR={dest}",
         *targets], check=True)


def test_make_uninstall_removes_what_install_installed(tmp_path):
    dest = str(tmp_path / "dest")
    make_in(dest, "install")
    make_in(dest, "uninstall")
    # Nothing left but empty folders install made.
    left = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files]
    assert left == []

    # An edited config is the administrator's: kept.
    make_in(dest, "install")
    with open(dest + ETC_CONF, "a") as f:
        f.write("# mine\n")
    make_in(dest, "uninstall")
    left = [os.path.relpath(os.path.join(d, f), dest) for d, _, files in os.walk(dest) for f in files]
    assert left == ["etc/nsmgr/nsmgr.conf"]


# --- under systemd ---------------------------------------------------------------

class Installed:
    """nsmgr installed in a booted container, as `make install` lays it out."""

    def __init__(self, systemd, staged):
        self.sd = systemd
        for dirpath, _, files in os.walk(staged):
            for f in files:
                src = os.path.join(dirpath, f)
                dest = "/" + os.path.relpath(src, staged)
                if dest.startswith("/etc/nsmgr/"):
                    continue  # /etc/nsmgr is shared with the sandbox: see config()
                systemd.copy_in(src, dest)
        if "libasan" in run(["ldd", os.path.join(BUILD, "nsmgrd")]).stdout:
            # LeakSanitizer stops the world with ptrace, which the unit's
            # system call filter forbids; the foreground tests check leaks.
            systemd.install_unit("nsmgrd.service.d/asan.conf",
                                 "[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0:halt_on_error=1\n",
                                 reload=False)
        systemd.systemctl("daemon-reload")

    def config(self, text):
        """Writes /etc/nsmgr/nsmgr.conf (shared with the container)."""
        with open(ETC_CONF, "w") as f:
            f.write(textwrap.dedent(text))

    def ctl(self, *args, check=False):
        return self.sd.run([CTL, *args], check=check)

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def journal(self):
        return self.sd.journal("nsmgrd.service")

    def main_pid(self):
        return self.sd.main_pid("nsmgrd.service")

    def settled(self):
        """As settled(): the check after a start that made namespaces."""
        wait_for(lambda: self.status().get("last_reconcile", {}).get("trigger") == "drift",
                 what="nsmgrd's check after start")


@pytest.fixture
def nsmgrd(systemd, staged):
    inst = Installed(systemd, staged)
    shutil.copy(TUTORIAL, ETC_CONF)
    return inst


def start(nsmgrd):
    nsmgrd.sd.systemctl("start", "nsmgrd.service")
    assert nsmgrd.sd.show("nsmgrd.service", "ActiveState") == "active"


def test_start_returns_after_ready_with_namespaces_wired(nsmgrd):
    sd = nsmgrd.sd
    assert not os.path.exists("/run/netns/red")
    start(nsmgrd)
    # systemctl start of a Type=notify unit returns on READY=1: by then
    # everything is there.
    assert sorted(os.listdir("/run/netns")) == ["blue", "red"]
    assert addrs_of("red", "eth0") == ["198.18.10.1/24"]
    assert addrs_of(None, "br-study") == ["198.18.10.254/24"]
    assert ping("red", "198.18.10.2") and ping("blue", "198.18.10.254")
    assert sd.show("nsmgrd.service", "StatusText") == "2 namespaces, 0 networks, 0 drifts repaired"
    assert sd.show("nsmgrd.service", "WatchdogUSec") == "30s"
    journal = nsmgrd.journal()
    assert journal.index("applied: red: create namespace") < journal.index("ready: 2 namespaces")
    st = nsmgrd.ctl("status", check=True).stdout
    assert "nsmgrd is running" in st and ETC_CONF in st and "2 namespaces" in st


def test_pin_made_by_nsmgrd_is_usable_outside_the_unit(nsmgrd):
    start(nsmgrd)
    assert run(["stat", "-f", "-c", "%T", "/run/netns/red"], check=True).stdout.strip() == "nsfs"
    # Open the pin and setns() into it, from the sandbox (the host side).
    p = run(["nsenter", "--net=/run/netns/red", "ip", "-j", "addr", "show", "dev", "eth0"], check=True)
    assert json.loads(p.stdout)[0]["addr_info"][0]["local"] == "198.18.10.1"
    fd = os.open("/run/netns/blue", os.O_RDONLY | os.O_CLOEXEC)
    try:
        assert os.fstat(fd).st_ino != os.stat("/proc/self/ns/net").st_ino
    finally:
        os.close(fd)


PROBE = """\
[Unit]
Requires=netns@{ns}.service
After=netns@{ns}.service

[Service]
Type=oneshot
RemainAfterExit=yes
NetworkNamespacePath=/run/netns/{ns}
ExecStart=/bin/sh -c 'ip -j link show > /run/nsmgr/probe-{ns}.json'
"""


def test_a_unit_requiring_netns_template_runs_in_it(nsmgrd):
    sd = nsmgrd.sd
    sd.install_unit("probe-blue.service", PROBE.format(ns="blue"))
    sd.install_unit("probe-green.service", PROBE.format(ns="green"))
    # nsmgrd is not started by hand: netns@blue pulls it in and waits for it.
    sd.systemctl("start", "probe-blue.service")
    assert sd.show("nsmgrd.service", "ActiveState") == "active"
    seen = json.load(open("/run/nsmgr/probe-blue.json"))
    assert sorted(l["ifname"] for l in seen) == ["eth0", "lo"]       # blue's, not the host's
    assert [a for l in ip_json("addr", "show", "dev", "eth0", netns="blue") for a in l["addr_info"]]

    # A name the config does not declare gets an empty namespace.
    sd.systemctl("start", "probe-green.service")
    assert [l["ifname"] for l in json.load(open("/run/nsmgr/probe-green.json"))] == ["lo"]
    assert inode("green") != os.stat("/proc/self/ns/net").st_ino

    # Stopping the template unit leaves the namespace (and what is inside).
    ino = inode("blue")
    sd.systemctl("stop", "probe-blue.service", "netns@blue.service")
    assert inode("blue") == ino and has_link("blue", "eth0")


SLEEPER = """\
[Unit]
Requires=netns@red.service
After=netns@red.service

[Service]
NetworkNamespacePath=/run/netns/red
ExecStart=/bin/sleep infinity
"""


def test_kill_9_restart_adopts_everything(nsmgrd):
    sd = nsmgrd.sd
    sd.install_unit("sleeper.service", SLEEPER)
    sd.systemctl("start", "sleeper.service")
    sleeper = sd.main_pid("sleeper.service")
    before = wiring()
    old = nsmgrd.main_pid()

    os.kill(old, signal.SIGKILL)
    wait_for(lambda: (p := nsmgrd.main_pid()) not in (None, old) and
             sd.show("nsmgrd.service", "ActiveState") == "active", timeout=15,
             what="nsmgrd restarted by systemd")
    assert sd.show("nsmgrd.service", "NRestarts") == "1"
    # Same namespaces, same links: adopted, nothing made anew.
    assert wiring() == before
    assert os.path.exists(f"/proc/{sleeper}")
    assert os.stat(f"/proc/{sleeper}/ns/net").st_ino == before["inodes"]["red"]
    assert sd.show("sleeper.service", "ActiveState") == "active"
    journal = nsmgrd.journal()
    after_restart = journal[journal.rindex("nsmgrd 0.1.0 starting"):]
    assert "applied:" not in after_restart
    assert "adopted as it is, nothing changed" in after_restart
    assert str(nsmgrd.status()["pid"]) == sd.show("nsmgrd.service", "MainPID") and nsmgrd.status()["running"]


def test_managed_veth_deleted_by_hand_is_put_back(nsmgrd):
    start(nsmgrd)
    nsmgrd.settled()
    peer = host_end("red")
    run(["ip", "link", "del", peer], check=True)
    wait_back(lambda: has_link("red", "eth0") and addrs_of("red", "eth0") == ["198.18.10.1/24"]
                     and has_link(None, peer))
    wait_for(lambda: ping("red", "198.18.10.2"), timeout=5, what="red reaching blue again")
    wait_for(lambda: nsmgrd.status()["drifts_repaired"] >= 1, what="the repair to be counted")
    journal = nsmgrd.journal()
    assert any(f"the host: link {peer} deleted" in l for l in drift_lines(journal)), journal
    assert "repaired: red: create veth eth0" in journal
    st = nsmgrd.status()
    assert st["drifts_repaired"] == 1
    assert any("red: create veth eth0" in l for l in st["last_repair"])


@pytest.mark.parametrize("what", ["address", "route", "link down", "pin"])
def test_other_drift_is_repaired(nsmgrd, what):
    start(nsmgrd)
    nsmgrd.settled()
    ino = inode("blue")
    idx = ifindexes("blue")
    if what == "address":
        run(["ip", "-n", "blue", "addr", "del", "198.18.10.2/24", "dev", "eth0"], check=True)
        check = lambda: addrs_of("blue", "eth0") == ["198.18.10.2/24"]  # noqa: E731
    elif what == "route":
        run(["ip", "-n", "blue", "route", "del", "default"], check=True)
        check = lambda: any(r["dst"] == "default" for r in ip_json("route", netns="blue"))  # noqa: E731
    elif what == "link down":
        run(["ip", "-n", "blue", "link", "set", "eth0", "down"], check=True)
        check = lambda: "UP" in ip_json("link", "show", "eth0", netns="blue")[0]["flags"]  # noqa: E731
    else:
        # The pin is unmounted while the namespace lives on: the same
        # namespace is pinned again. (Unlinking the file too, as `ip netns
        # delete` does, would race with the repair: EBUSY once it is back.)
        run(["umount", "--lazy", "/run/netns/blue"], check=True)  # as ip netns delete does
        check = lambda: inode("blue") == ino  # noqa: E731
    wait_back(check)
    assert inode("blue") == ino and ifindexes("blue") == idx
    wait_for(lambda: ping("blue", "198.18.10.1"), timeout=5, what="blue reaching red")
    assert "drift" in nsmgrd.journal()


def test_reload_applies_exactly_the_change(nsmgrd):
    start(nsmgrd)
    before = wiring()
    text = open(TUTORIAL).read().rstrip().rstrip(");").rstrip() + """,
  {
    name = "green";
    interfaces = (
      { name = "eth0"; type = "veth"; bridge = "br-study"; addresses = [ "198.18.10.3/24" ]; }
    );
  }
);
"""
    nsmgrd.config(text)
    mark = len(nsmgrd.journal())
    nsmgrd.sd.systemctl("reload", "nsmgrd.service")
    # `systemctl reload` returned after the reload was done.
    assert has_link("green", "eth0") and ping("green", "198.18.10.1")
    applied = [l.split("applied: ", 1)[1] for l in nsmgrd.journal()[mark:].splitlines() if "applied: " in l]
    assert applied and all("green" in l for l in applied), applied
    now = wiring()
    assert {k: v for k, v in now["inodes"].items() if k != "green"} == before["inodes"]
    assert now["red"] == before["red"] and now["blue"] == before["blue"]
    assert {k: v for k, v in now["host"].items() if k in before["host"]} == before["host"]
    assert nsmgrd.sd.show("nsmgrd.service", "StatusText").startswith("3 namespaces")
    assert nsmgrd.ctl("reload", check=True).stdout.strip() == "reloaded: 0 changes"


def test_broken_edit_on_reload_keeps_everything_and_is_logged(nsmgrd):
    sd = nsmgrd.sd
    start(nsmgrd)
    before = wiring()
    pid = nsmgrd.main_pid()
    nsmgrd.config('namespaces = (\n  { name = "red";\n    colour = "blue"; }\n);\n')

    p = sd.systemctl("reload", "nsmgrd.service", check=False)
    assert p.returncode != 0
    assert sd.show("nsmgrd.service", "ActiveState") == "active" and nsmgrd.main_pid() == pid
    assert wiring() == before
    errors = sd.run(["journalctl", "-b", "--no-pager", "-u", "nsmgrd.service", "-p", "err", "-o", "cat"],
                    check=True).stdout
    assert f"reload failed: {ETC_CONF}:3: namespace 'red': unknown setting 'colour'" in errors
    p = nsmgrd.ctl("reload")
    assert p.returncode == 1 and f"{ETC_CONF}:3:" in p.stderr and "nothing was changed" in p.stderr
    st = nsmgrd.status()
    assert st["last_reload"]["ok"] is False and f"{ETC_CONF}:3:" in st["last_reload"]["error"]

    # The running config is still the one kept: blue is repaired as before.
    run(["ip", "link", "del", host_end("blue")], check=True)
    wait_back(lambda: has_link("blue", "eth0") and addrs_of("blue", "eth0") == ["198.18.10.2/24"])


def test_stop_leaves_every_namespace_in_place(nsmgrd):
    sd = nsmgrd.sd
    sd.install_unit("sleeper.service", SLEEPER)
    sd.systemctl("start", "sleeper.service")
    sleeper = sd.main_pid("sleeper.service")
    before = wiring()

    sd.systemctl("stop", "nsmgrd.service")
    assert sd.show("nsmgrd.service", "ActiveState") == "inactive"
    assert wiring() == before
    assert ping("red", "198.18.10.2")
    assert os.path.exists(f"/proc/{sleeper}") and sd.show("sleeper.service", "ActiveState") == "active"
    assert "stopping on Terminated; namespaces, links and the processes in them stay" in nsmgrd.journal()
    p = nsmgrd.ctl("status")
    assert p.returncode == 3 and "nsmgrd is not running: it stopped at" in p.stdout


def test_namespace_that_died_while_stopped_is_made_anew_loudly(nsmgrd):
    sd = nsmgrd.sd
    # A process in red, seen by nsmgrd (in the container's PID namespace).
    sd.install_unit("sleeper.service", SLEEPER)
    sd.systemctl("start", "sleeper.service")
    sleeper = sd.show("sleeper.service", "MainPID")
    red = inode("red")
    blue_end = host_end("blue")
    # A mark only the old blue has (an inode number can be handed out again
    # to the next namespace, so it cannot tell old from new).
    run(["ip", "-n", "blue", "link", "add", "mark0", "type", "veth", "peer", "name", "mark1"], check=True)
    sd.systemctl("stop", "nsmgrd.service")
    # blue dies: its pin goes and nothing is inside. red only loses its
    # pin: the sleeper is still in it.
    run(["ip", "netns", "delete", "blue"], check=True)
    run(["ip", "netns", "delete", "red"], check=True)
    # The kernel frees a dead namespace, and its veths, a moment later.
    wait_for(lambda: not has_link(None, blue_end), what="blue's veth to go with it")

    start(nsmgrd)
    assert not has_link("blue", "mark0") and addrs_of("blue", "eth0") == ["198.18.10.2/24"]
    assert inode("red") == red and addrs_of("red", "eth0") == ["198.18.10.1/24"]
    errors = sd.run(["journalctl", "-b", "--no-pager", "-u", "nsmgrd.service", "-p", "err", "-o", "cat"],
                    check=True).stdout
    assert "NAMESPACE 'blue' HAD DIED" in errors and "'red'" not in errors
    assert f"pinned the namespace again from process {sleeper} (sleep)" in nsmgrd.journal()
    assert ping("red", "198.18.10.2")


def test_watchdog_pings_keep_it_alive_and_a_hung_daemon_is_restarted(nsmgrd):
    sd = nsmgrd.sd
    sd.install_unit("nsmgrd.service.d/watchdog.conf", "[Service]\nWatchdogSec=1s\n")
    start(nsmgrd)
    pid = nsmgrd.main_pid()
    time.sleep(3)
    assert nsmgrd.main_pid() == pid and sd.show("nsmgrd.service", "NRestarts") == "0"

    # The control: a daemon that stops answering is killed by the watchdog.
    os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: sd.show("nsmgrd.service", "NRestarts") == "1", timeout=15,
             what="systemd's watchdog to restart nsmgrd")
    assert "Watchdog timeout" in sd.journal()


# --- the README's first command ---------------------------------------------------

def test_demo_runs_nsmgrd_and_leaves_nothing(sandbox):
    before = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    p = run([os.path.join(ROOT, "tests", "demo"), BUILD], timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    for said in ("nsmgrd| ready: 2 namespaces", "1 received", "nsmgrd| drift repaired", "nsmgrd is running",
                 "nsmgrd| stopping on Terminated"):
        assert said in p.stdout, (said, p.stdout)
    # After the stop, both namespaces were still listed.
    assert p.stdout.rsplit("nsmgrctl list", 1)[1].count("config") == 2
    # Its own sandbox: nothing of it is left here.
    assert (sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []) == before
    assert "br-study" not in ifindexes()


def test_pins_come_back_after_run_netns_itself_is_removed(foreground, nsmgr):
    """Regression: nsmgrd made /run/netns ready once per process, so after
    /run/netns was removed it could not pin anything until restarted."""
    start, notify = foreground
    p = start("-c", TUTORIAL)
    notify.until("READY")
    settled(nsmgr)
    before = {n: inode(n) for n in ("red", "blue")}
    # Stopped meanwhile, or it would pin again before the folder is gone.
    p.send_signal(signal.SIGSTOP)
    try:
        run(["umount", "--recursive", "/run/netns"], check=True)
        shutil.rmtree("/run/netns")
    finally:
        p.send_signal(signal.SIGCONT)
    wait_back(lambda: os.path.exists("/run/netns/red") and os.path.exists("/run/netns/blue") and
              run(["stat", "-f", "-c", "%T", "/run/netns/red"]).stdout.strip() == "nsfs")
    # The same namespaces, with their links: pinned again, not made anew.
    assert {n: inode(n) for n in ("red", "blue")} == before
    assert ping("red", "198.18.10.2")
    p.terminate()
    p.wait(timeout=10)

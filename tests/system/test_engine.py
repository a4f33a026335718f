"""Issue 10: the engine in stages -- regressions of the bugs a review found,
and what the stages promise (marks in the kernel, one step list for a plan
and its execution)."""

import fcntl
import json
import os
import re
import subprocess
import time

from conftest import ip_json, pin_mount_ids, pins_held_by, run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TUTORIAL = os.path.join(ROOT, "conf", "bridge-tutorial.conf")
LINK_GROUP = 0x6e736d67


def write(tmp_path, text, name="nsmgr.conf"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_symlinked_pin_fails_without_closing_fd_0(nsmgr, tmp_path):
    """Regression: observing stopped at the first namespace it could not
    open and left later scopes zeroed, whose clean-up closed fd 0 twice."""
    os.makedirs("/run/netns", exist_ok=True)
    os.symlink("/proc/self/ns/net", "/run/netns/a")
    cfg = write(tmp_path, 'namespaces = ( { name = "a"; }, { name = "b"; }, { name = "c"; } );\n')
    trace = tmp_path / "trace"
    # LeakSanitizer (make asan) cannot work under ptrace.
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    p = run(["strace", "-f", "-qq", "-e", "trace=close", "-o", str(trace), nsmgr.ctl_path, "apply", "-c", cfg], env=env)
    assert p.returncode == 1
    assert "/run/netns/a is a symbolic link, not a namespace handle" in p.stderr
    assert not re.search(r"close\(0\)", trace.read_text()), "fd 0 was closed"
    assert sorted(os.listdir("/run/netns")) == ["a"]


def test_what_nsmgr_makes_carries_its_mark(nsmgr):
    nsmgr.ok("apply", "-c", TUTORIAL)
    host = {l["ifname"]: l for l in ip_json("-d", "link", "show")}
    red = {l["ifname"]: l for l in ip_json("-d", "link", "show", netns="red")}
    # Both ends of a veth and the bridge: link group 0x6e736d67.
    marked = sorted(n for n, l in host.items() if l.get("group") == str(LINK_GROUP))
    assert marked == sorted(["br-study"] + [n for n in host if n.startswith("vred") or n.startswith("vblue")])
    assert red["eth0"]["group"] == str(LINK_GROUP) and red["lo"]["group"] == "default"
    # Routes: protocol 110.
    default = ip_json("route", "show", "default", netns="red")[0]
    assert default["protocol"] in ("110", "nsmgr")
    # The namespace: an owner record, with its inode and cookie, made by apply.
    target = os.readlink("/run/nsmgr/netns/red")
    ino, cookie, origin = target.split(":")
    assert int(ino) == os.stat("/run/netns/red").st_ino and int(cookie) > 0 and origin == "config"


def test_a_bridge_keeps_its_own_address_when_ports_come_and_go(nsmgr):
    """A bridge borrows its lowest port's MAC address unless it has one of
    its own: when that port left, every namespace lost the gateway's MAC."""
    nsmgr.ok("apply", "-c", TUTORIAL)
    mac = ip_json("link", "show", "br-study")[0]["address"]
    assert int(mac.split(":")[0], 16) & 2, "locally administered"
    run(["ip", "link", "add", "low0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "low1"],
        check=True)
    run(["ip", "link", "set", "low0", "master", "br-study"], check=True)
    run(["ip", "link", "del", "low0"], check=True)
    assert ip_json("link", "show", "br-study")[0]["address"] == mac
    # Made anew (a reboot), it gets the same one again.
    nsmgr.ok("apply", "-c", write_empty())
    nsmgr.ok("apply", "-c", TUTORIAL)
    assert ip_json("link", "show", "br-study")[0]["address"] == mac


def write_empty():
    path = "/run/empty.conf"
    with open(path, "w") as f:
        f.write("")
    return path


def test_dry_run_json_gives_structured_steps(nsmgr):
    p = nsmgr("apply", "-c", TUTORIAL, "--dry-run", "--json")
    assert p.returncode == 4, p.stderr  # changes pending
    out = json.loads(p.stdout)
    steps = out["steps"]
    assert {"action": "create", "kind": "namespace", "namespace": "red", "interface": None, "detail": ""} in \
        [{k: s[k] for k in ("action", "kind", "namespace", "interface", "detail")} for s in steps]
    route = [s for s in steps if s["kind"] == "route"][0]
    assert route["action"] == "add" and route["namespace"] == "red" and route["detail"] == "default via 198.18.10.254"
    assert all(s["text"] for s in steps)
    assert not os.path.exists("/run/netns/red")


def test_a_pin_is_held_only_while_a_thread_enters_its_namespace(nsmgr, tmp_path):
    """Regression: looking into namespaces, apply (and nsmgrd's repairs)
    opened 256 pins at a time and kept each open until its batch had been
    visited. An open handle keeps its mount busy, so a plain `umount
    /run/netns/NAME` failed now and then with "target is busy" while
    nsmgrd checked that namespace. Now each visiting thread opens one pin,
    enters its namespace and closes the handle before looking inside."""
    n = 400
    cfg = write(tmp_path, "namespaces = (" + ", ".join(f'{{ name = "p{i}"; }}' for i in range(n)) + ");\n")
    nsmgr.ok("apply", "-c", cfg)
    pins = pin_mount_ids()
    assert len(pins) == n
    most, samples = 0, 0
    for _ in range(10):
        p = subprocess.Popen([nsmgr.ctl_path, "apply", "-c", cfg], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        while p.poll() is None:
            most = max(most, pins_held_by(p.pid, pins))
            samples += 1
        assert p.wait() == 0, p.stderr.read()
    assert samples >= 10
    assert most <= (os.cpu_count() or 1), f"{most} pins held at once"


def test_apply_reads_the_host_only_once_it_holds_the_appliers_lock(nsmgr):
    """`nsmgrctl apply` reads the host in a thread of its own while it loads
    the config -- but only once it holds the appliers' lock: what another
    applier changed while holding it is what the apply sees and repairs.
    A read begun before the lock would find br-study still there."""
    nsmgr.ok("apply", "-c", TUTORIAL)
    with open("/run/nsmgr/lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = subprocess.Popen([nsmgr.ctl_path, "apply", "-c", TUTORIAL], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            # It waits for the lock (a waiter in /proc/locks) ...
            deadline = time.monotonic() + 10
            while not any("->" in l and f" {p.pid} " in l for l in open("/proc/locks")):
                assert p.poll() is None, p.communicate()
                assert time.monotonic() < deadline, "nsmgrctl apply did not wait for the lock"
                time.sleep(0.02)
            # ... while the holder takes the bridge away.
            run(["ip", "link", "del", "br-study"], check=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "br-study" in out
    assert [l["ifname"] for l in ip_json("link", "show", "br-study")] == ["br-study"]
    # And red reaches blue across it again.
    assert run(["ip", "netns", "exec", "red", "ping", "-c1", "-W2", "198.18.10.2"]).returncode == 0

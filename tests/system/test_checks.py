"""Issue 12, without a bus: `nsmgrctl check`, apply --dry-run's exit status,
the subnet check, `nsmgrctl monitor` on /run/netns, and nsmgrctl refusing
what an nsmgrd that cannot be asked (no bus) keeps in force."""

import json
import os
import select
import shutil
import subprocess
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

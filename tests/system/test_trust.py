"""Issue 11: what nsmgr records stays true after a kill -9 at any instruction
and under concurrent callers, damaged records are checked and never
trusted, and no foreign file is touched.

The kill-9 and concurrency tests run a handful of rounds here; `make
torture` runs the same code with many (TORTURE_ROUNDS, TORTURE_SECONDS)."""

import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest

from conftest import BUILD, ROOT, ip_json, run
import torture
from torture import Killer, Trial, leases_match_interfaces, lab_addresses, nothing_of_nsmgrs_left, pins

ROUNDS = int(os.environ.get("TORTURE_ROUNDS", "4"))
SECONDS = float(os.environ.get("TORTURE_SECONDS", "8"))
DAEMON_KILLS = int(os.environ.get("TORTURE_DAEMON_KILLS", "3"))
SEED = int(os.environ.get("TORTURE_SEED", str(int(time.time()))))
CTL = os.path.join(BUILD, "nsmgrctl")
TUTORIAL = os.path.join(ROOT, "conf", "bridge-tutorial.conf")
LAB = os.path.join(ROOT, "conf", "lab.conf")


def report(name, rounds, problems):
    """One line per test for the README's reliability figures."""
    path = os.environ.get("TORTURE_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"test": name, "rounds": rounds, "problems": len(problems), "seed": SEED}) + "\n")


# --- kill -9 at chosen points ----------------------------------------------------------

@pytest.fixture
def trial(tmp_path):
    t = Trial(CTL, str(tmp_path))
    t.clean_apply()
    return t


def mutations(trial, op):
    """How many changes op makes when nobody kills it."""
    from sandbox import Sandbox
    with Sandbox():
        prepare, args, _ = trial.ops()[op]
        prepare()
        p, total = Killer([CTL, *args]).count()
        assert p.returncode == 0, p.stderr
    return total


@pytest.mark.parametrize("op", ["apply", "teardown", "attach", "detach"])
def test_kill_9_at_any_point_leaves_nothing_a_reapply_cannot_fix(trial, op):
    rng = random.Random(f"{SEED}-{op}")
    total = mutations(trial, op)
    assert total > 0
    points = torture.random_points(total, ROUNDS, rng)
    problems = []
    for n in points:
        problems += trial.round(op, n)
    report(f"kill-9 {op}", len(points), problems)
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems)


# --- concurrency --------------------------------------------------------------------------

def test_concurrent_workers_never_hand_out_an_address_twice(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", LAB)
    names = [f"c{i}" for i in range(6)]
    stop = time.monotonic() + SECONDS
    rng = random.Random(SEED)
    errors, samples, dups = [], [0], []

    def worker(k):
        r = random.Random(f"{SEED}-{k}")
        while time.monotonic() < stop:
            n = r.choice(names)
            op = r.choice(["create", "attach", "attach", "detach", "detach", "apply", "delete"])
            args = {"create": ["create", n, "--exist-ok"], "attach": ["attach", n, "lab", "-c", LAB],
                    "detach": ["detach", n, "lab", "-c", LAB], "apply": ["apply", "-c", LAB],
                    "delete": ["delete", n, "--force", "--missing-ok"]}[op]
            p = run([CTL, *args], timeout=120)
            # Refusals are fine (attached already, not attached, gone);
            # crashes and signals are not.
            if p.returncode not in (0, 1) or "Assertion" in p.stderr:
                errors.append(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")

    def holds(ns, a):
        return any(x.split("/")[0] == a for v in torture.addrs(ns).values() for x in v)

    def sampler():
        """A sample reads one namespace after the other; a duplicate counts
        when both hold the address at once: the first still holds it after
        the second was seen holding it."""
        while time.monotonic() < stop:
            held = lab_addresses()
            seen = {}
            for ns, i, a in held:
                if a in seen and seen[a] != ns and holds(seen[a], a) and holds(ns, a) and holds(seen[a], a):
                    dups.append(f"{a} on {seen[a]} and {ns}:{i} at once")
                seen[a] = ns
            samples[0] += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)] + [threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nsmgr.ok("apply", "-c", LAB)
    problems = errors + dups + leases_match_interfaces()
    report("8 concurrent workers", samples[0], problems)
    assert samples[0] > 10
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems[:20])


# --- nsmgrd killed while it repairs ---------------------------------------------------------

def test_nsmgrd_killed_during_repairs_keeps_every_namespace(nsmgr, sandbox, tmp_path):
    inside = {}

    def start():
        p = sandbox.spawn([os.path.join(BUILD, "nsmgrd"), "-c", TUTORIAL], stderr=subprocess.DEVNULL)
        assert torture.wait_for(lambda: json.loads(nsmgr("status", "--json").stdout).get("state") == "running",
                                timeout=20), "nsmgrd did not come up"
        return p

    d = start()
    for ns in ("red", "blue"):
        p = sandbox.spawn(["ip", "netns", "exec", ns, "sleep", "600"])
        assert torture.wait_for(lambda: os.path.exists(f"/proc/{p.pid}/ns/net") and
                                os.stat(f"/proc/{p.pid}/ns/net").st_ino == os.stat(f"/run/netns/{ns}").st_ino)
        inside[ns] = (p, os.stat(f"/run/netns/{ns}").st_ino)
    rng = random.Random(SEED)
    problems = []
    for k in range(DAEMON_KILLS):
        # Drift, then a kill somewhere in the repair.
        host_end = [l["ifname"] for l in ip_json("link", "show", "master", "br-study")][0]
        run(["ip", "link", "del", host_end], check=True)
        time.sleep(rng.uniform(0.0, 0.12))
        d.kill()
        d.wait()
        d = start()
        converged = torture.wait_for(lambda: nsmgr("apply", "-c", TUTORIAL, "--dry-run").stdout.strip()
                                     == "nothing to change", timeout=10)
        if not converged:
            problems.append(f"kill {k}: not converged: {nsmgr('apply', '-c', TUTORIAL, '--dry-run').stdout}")
        for ns, (p, ino) in inside.items():
            if p.poll() is not None or os.stat(f"/run/netns/{ns}").st_ino != ino or \
                    os.stat(f"/proc/{p.pid}/ns/net").st_ino != ino:
                problems.append(f"kill {k}: namespace {ns} or its process was not kept")
        # A veth made anew has a new MAC address: neighbours learn it anew.
        if not torture.wait_for(lambda: run(["ip", "netns", "exec", "red", "ping", "-c1", "-W1", "198.18.10.2"])
                                .returncode == 0, timeout=15):
            problems.append(f"kill {k}: red cannot reach blue")
    d.kill()
    report("nsmgrd killed during repairs", DAEMON_KILLS, problems)
    assert not problems, "\n".join(problems)


# --- damaged records ---------------------------------------------------------------------------

DAMAGE = {
    "truncated": '{"version":2,"namespa',
    "garbage": "\x00\xff\xfe garbage",
    "wrong shape": '{"version":2,"namespaces":[1,2]}',
    "unknown version": '{"version":99,"namespaces":{}}',
    "wrong types": '{"version":2,"namespaces":{"red":{"inode":"x"}},"nat":7}',
    "empty": "",
}


@pytest.mark.parametrize("what", sorted(DAMAGE))
def test_a_damaged_state_is_moved_aside_and_teardown_still_finds_everything(nsmgr, tmp_path, what):
    nsmgr.ok("apply", "-c", LAB)
    with open("/run/nsmgr/state.json", "w") as f:
        f.write(DAMAGE[what])
    p = nsmgr("apply", "-c", LAB)
    assert p.returncode == 0, p.stderr
    assert "/run/nsmgr/state.json is damaged" in p.stderr and "it was moved to /run/nsmgr/state.json.damaged-" in p.stderr
    moved = [f for f in os.listdir("/run/nsmgr") if f.startswith("state.json.damaged-")]
    assert len(moved) == 1 and open(f"/run/nsmgr/{moved[0]}").read() == DAMAGE[what]
    # nsmgr still knows what it made, from its marks.
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    nsmgr.ok("apply", "-c", str(empty))
    assert not nothing_of_nsmgrs_left(), nothing_of_nsmgrs_left()
    assert pins() == []


def test_a_damaged_lease_keeps_its_address_out_of_use(nsmgr):
    os.makedirs("/var/lib/nsmgr/ipam/lab")
    with open("/var/lib/nsmgr/ipam/lab/198.18.20.2", "w") as f:
        f.write("garbage\n")
    p = nsmgr.ok("apply", "-c", LAB)
    assert "the lease file /var/lib/nsmgr/ipam/lab/198.18.20.2 cannot be read; address 198.18.20.2 stays out of use" \
        in p.stderr
    addr = ip_json("addr", "show", "dev", "eth0", netns="web")[0]["addr_info"][0]["local"]
    assert addr == "198.18.20.3"
    assert open("/var/lib/nsmgr/ipam/lab/198.18.20.2").read() == "garbage\n"


def test_a_namespace_by_a_recycled_inode_is_not_taken_for_nsmgrs(nsmgr, tmp_path):
    """Inode numbers of dead namespaces are reused by the kernel: a record
    that matches by inode but not by cookie is somebody else's namespace."""
    run(["ip", "netns", "add", "other"], check=True)
    ino = os.stat("/run/netns/other").st_ino
    os.makedirs("/run/nsmgr/netns", exist_ok=True)
    os.symlink(f"{ino}:12345:config", "/run/nsmgr/netns/other")
    with open("/run/nsmgr/state.json", "w") as f:
        json.dump({"version": 2, "namespaces": {"other": {"inode": ino, "cookie": 12345, "routes": []}}}, f)
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    nsmgr.ok("apply", "-c", str(empty))
    assert pins() == ["other"]


# --- foreign files -------------------------------------------------------------------------------

def test_a_file_with_content_in_run_netns_is_never_taken_for_a_placeholder(nsmgr):
    os.makedirs("/run/netns", exist_ok=True)
    with open("/run/netns/mine", "w") as f:
        f.write("somebody's notes\n")
    p = nsmgr("create", "mine")
    assert p.returncode == 1 and "exists and is neither a namespace handle nor an empty placeholder" in p.stderr
    p = nsmgr("delete", "mine")
    assert p.returncode == 1 and "is a file with content" in p.stderr
    assert open("/run/netns/mine").read() == "somebody's notes\n"
    assert run(["stat", "-f", "-c", "%T", "/run/netns/mine"]).stdout.strip() != "nsfs"


def test_a_symlinked_run_netns_is_refused(nsmgr, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    os.symlink(str(target), "/run/netns")
    p = nsmgr("create", "x")
    assert p.returncode == 1 and "/run/netns is a symbolic link" in p.stderr
    assert os.listdir(target) == []


def test_loopback_left_down_is_brought_up(nsmgr):
    nsmgr.ok("apply", "-c", TUTORIAL)
    run(["ip", "-n", "red", "link", "set", "lo", "down"], check=True)
    p = nsmgr.ok("apply", "-c", TUTORIAL)
    assert "red: bring up lo" in p.stdout
    assert "UP" in ip_json("link", "show", "lo", netns="red")[0]["flags"]


def test_teardown_gives_the_leases_back(nsmgr, tmp_path):
    nsmgr.ok("apply", "-c", LAB)
    nsmgr.ok("create", "c1")
    nsmgr.ok("attach", "c1", "lab", "-c", LAB)
    assert len(os.listdir("/var/lib/nsmgr/ipam/lab")) == 2
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    p = nsmgr.ok("apply", "-c", str(empty))
    assert "released lease 198.18.20.2 of web:eth0 on network 'lab' (the network is no longer declared)" in p.stdout
    assert not os.path.exists("/var/lib/nsmgr/ipam/lab"), os.listdir("/var/lib/nsmgr/ipam/lab")
    # c1 was not nsmgr's: it stays, without what nsmgr put into it.
    assert pins() == ["c1"]
    assert [l["ifname"] for l in ip_json("link", "show", netns="c1")] == ["lo"]


def test_a_refused_apply_leaves_no_lease_folder(nsmgr, tmp_path):
    run(["ip", "link", "add", "vweb-d8b55a", "type", "veth", "peer", "name", "other0"], check=True)
    p = nsmgr("apply", "-c", LAB)
    assert p.returncode == 1
    assert not os.path.exists("/var/lib/nsmgr/ipam/lab")

"""Issue 2: named, pinned namespaces and the nsmgrctl commands on them.

Every result is checked with tools nsmgr did not write: ip, stat, nsenter,
findmnt, lsns and /proc/PID/ns/net inodes."""

import json
import os
import subprocess
import time

import pytest

from conftest import ip_json, run, start_in_own_netns


def netns_entries():
    return sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []


def fs_type(path):
    return run(["stat", "-f", "-c", "%T", path], check=True).stdout.strip()


def inode_of(path):
    return os.stat(path).st_ino


def ip_netns_list():
    out = run(["ip", "netns", "list"], check=True).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


# --- create -----------------------------------------------------------------

def test_create_pins_a_namespace_ip_netns_sees(nsmgr):
    p = nsmgr.ok("create", "red")
    assert p.stdout.strip() == "/run/netns/red"
    assert fs_type("/run/netns/red") == "nsfs"
    assert "red" in ip_netns_list()
    links = ip_json("link", "show", netns="red")
    assert [l["ifname"] for l in links] == ["lo"]
    assert "UP" in links[0]["flags"]
    # A new namespace, not ours.
    assert inode_of("/run/netns/red") != inode_of("/proc/self/ns/net")


def test_run_dir_is_a_shared_mount_of_its_own(nsmgr):
    nsmgr.ok("create", "red")
    out = run(["findmnt", "-n", "-o", "PROPAGATION", "/run/netns"], check=True).stdout
    assert out.split()[0] == "shared"


def test_pins_reach_mount_namespaces_made_earlier(nsmgr, sandbox):
    nsmgr.ok("create", "first")
    # A service that got its own mount namespace before the next pin.
    svc = sandbox.spawn(["unshare", "--mount", "--propagation", "unchanged", "sleep", "600"])
    time.sleep(0.2)
    nsmgr.ok("create", "later")
    out = run(["nsenter", "-t", str(svc.pid), "-m", "stat", "-f", "-c", "%T", "/run/netns/later"], check=True)
    assert out.stdout.strip() == "nsfs"


def test_ip_netns_and_nsmgr_see_each_other(nsmgr):
    run(["ip", "netns", "add", "byip"], check=True)
    nsmgr.ok("create", "bynsmgr")
    listed = {e["name"]: e for e in nsmgr.json("list")}
    assert set(listed) == {"byip", "bynsmgr"}
    assert listed["byip"]["managed"] is False
    assert listed["bynsmgr"]["managed"] is True and listed["bynsmgr"]["origin"] == "create"
    assert ip_netns_list() == ["byip", "bynsmgr"]
    # ip can use what nsmgr made, and nsmgr can remove what ip made.
    run(["ip", "-n", "bynsmgr", "link", "add", "d0", "type", "veth", "peer", "name", "d1"], check=True)
    nsmgr.ok("delete", "byip")
    assert ip_netns_list() == ["bynsmgr"]


def test_create_existing_name_fails_unless_exist_ok(nsmgr):
    nsmgr.ok("create", "red")
    ino = inode_of("/run/netns/red")
    p = nsmgr("create", "red")
    assert p.returncode == 1
    assert "namespace 'red' already exists" in p.stderr and "--exist-ok" in p.stderr
    p = nsmgr.ok("create", "red", "--exist-ok")
    assert p.stdout.strip() == "/run/netns/red"
    assert inode_of("/run/netns/red") == ino


def test_options_may_stand_before_the_name(nsmgr):
    nsmgr.ok("create", "red")
    nsmgr.ok("create", "--exist-ok", "red")


def test_placeholder_left_by_a_crash_is_listed_broken_then_replaced(nsmgr):
    os.makedirs("/run/netns", exist_ok=True)
    open("/run/netns/crashed", "w").close()
    entry = [e for e in nsmgr.json("list") if e["name"] == "crashed"][0]
    assert entry["broken"] is True and "placeholder" in entry["reason"]
    text = nsmgr.ok("list").stdout
    assert any(l.startswith("crashed") and "broken" in l for l in text.splitlines())
    nsmgr.ok("create", "crashed")
    assert fs_type("/run/netns/crashed") == "nsfs"
    assert [e for e in nsmgr.json("list") if e["name"] == "crashed"][0]["broken"] is False


def test_broken_placeholder_can_be_deleted(nsmgr):
    os.makedirs("/run/netns", exist_ok=True)
    open("/run/netns/crashed", "w").close()
    p = nsmgr("path", "crashed")
    assert p.returncode == 1 and "broken" in p.stderr
    nsmgr.ok("delete", "crashed")
    assert netns_entries() == []


BAD_NAMES = [
    ("", "must not be empty"),
    (".", "'.' and '..' are not names"),
    ("..", "'.' and '..' are not names"),
    ("a/b", "must not contain '/'"),
    ("../../etc/x", "must not contain '/'"),
    ("tab\tname", "control character"),
    ("x" * 256, "NAME_MAX"),
]


@pytest.mark.parametrize("name,rule", BAD_NAMES)
def test_bad_names_are_refused_and_change_nothing(nsmgr, name, rule):
    nsmgr.ok("create", "keep")
    before = netns_entries()
    for verb in (["create", name], ["pin", name, "--pid", str(os.getpid())], ["delete", name], ["path", name]):
        p = nsmgr(*verb)
        assert p.returncode == 1, (verb, p.stderr)
        assert rule in p.stderr, (verb, p.stderr)
        assert p.stderr.count("\n") == 1
    assert netns_entries() == before
    assert not os.path.exists("/etc/x")


def test_longest_valid_name_works(nsmgr):
    name = "n" * 255
    nsmgr.ok("create", name)
    assert fs_type(f"/run/netns/{name}") == "nsfs"
    nsmgr.ok("delete", name)
    assert netns_entries() == []


# --- pin --------------------------------------------------------------------

def test_seed_scenario_pinned_namespace_outlives_its_first_process(nsmgr, sandbox):
    """The seed: container A's namespace is shared by path; A dies."""
    a = start_in_own_netns(sandbox)
    a_ns = f"/proc/{a.pid}/ns/net"
    ino = inode_of(a_ns)
    run(["ip", "link", "add", "veth-host", "type", "veth", "peer", "name", "eth0", "netns", str(a.pid)], check=True)
    run(["ip", "addr", "add", "198.18.0.1/24", "dev", "veth-host"], check=True)
    run(["ip", "link", "set", "veth-host", "up"], check=True)
    run(["nsenter", "--net=" + a_ns, "ip", "addr", "add", "198.18.0.2/24", "dev", "eth0"], check=True)
    run(["nsenter", "--net=" + a_ns, "ip", "link", "set", "eth0", "up"], check=True)

    nsmgr.ok("pin", "shared", "--pid", a.pid)
    assert inode_of("/run/netns/shared") == ino

    a.kill()
    a.wait()
    # The control: what docker's config.json holds no longer works.
    control = run(["nsenter", "--net=" + a_ns, "true"])
    assert control.returncode != 0

    # A new process joined through the pin sees the same namespace.
    out = run(["nsenter", "--net=/run/netns/shared", "readlink", "/proc/self/ns/net"], check=True).stdout
    assert out.strip() == f"net:[{ino}]"
    addrs = ip_json("addr", "show", "dev", "eth0", netns="shared")
    assert [a["local"] for a in addrs[0]["addr_info"] if a["family"] == "inet"] == ["198.18.0.2"]
    run(["nsenter", "--net=/run/netns/shared", "ping", "-c1", "-W2", "198.18.0.1"], check=True)


def test_pin_by_path_of_a_thread_handle(nsmgr, sandbox):
    a = start_in_own_netns(sandbox)
    path = f"/proc/{a.pid}/task/{a.pid}/ns/net"
    nsmgr.ok("pin", "bythread", "--path", path)
    assert inode_of("/run/netns/bythread") == inode_of(path)
    # Another bind mount is a handle too.
    nsmgr.ok("pin", "again", "--path", "/run/netns/bythread")
    assert inode_of("/run/netns/again") == inode_of(path)
    assert nsmgr.json("list")[0]["origin"] == "pin"


def test_pin_refusals_change_nothing(nsmgr, sandbox, tmp_path):
    nsmgr.ok("create", "taken")
    a = start_in_own_netns(sandbox)
    before = netns_entries()
    plain = tmp_path / "plain"
    plain.write_text("")
    cases = [
        (["pin", "x", "--path", str(plain)], "not a namespace handle"),
        (["pin", "x", "--path", "/proc/self/ns/mnt"], "not of a network namespace"),
        (["pin", "x", "--path", str(tmp_path / "missing")], "does not exist"),
        (["pin", "x", "--pid", "2147483647"], "no process with pid 2147483647"),
        (["pin", "x", "--pid", "abc"], "not a valid PID"),
        (["pin", "x", "--pid", "-5"], "not a valid PID"),
        (["pin", "taken", "--pid", str(a.pid)], "already exists"),
    ]
    for args, msg in cases:
        p = nsmgr(*args)
        assert p.returncode == 1, (args, p.stderr)
        assert msg in p.stderr, (args, p.stderr)
    assert netns_entries() == before


def test_pin_of_an_exited_process_is_refused(nsmgr, sandbox):
    # A zombie: its PID still exists, its namespaces are gone.
    z = subprocess.Popen(["unshare", "--net", "true"])
    sandbox.procs.append(z)
    for _ in range(500):
        with open(f"/proc/{z.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    p = nsmgr("pin", "gone", "--pid", z.pid)
    assert p.returncode == 1
    assert f"pid {z.pid} has exited" in p.stderr
    assert netns_entries() == []


def test_pin_of_the_host_namespace_needs_allow_host(nsmgr):
    with open("/proc/2/comm") as f:
        if f.read().strip() != "kthreadd":
            pytest.skip("PID 2 is not kthreadd here: cannot name the machine's initial namespace")
    p = nsmgr("pin", "host", "--path", "/proc/2/ns/net")
    assert p.returncode == 1 and "--allow-host" in p.stderr
    assert netns_entries() == []
    # Pinned into the sandbox's own /run/netns: the machine sees nothing.
    nsmgr.ok("pin", "host", "--path", "/proc/2/ns/net", "--allow-host")
    assert inode_of("/run/netns/host") == inode_of("/proc/2/ns/net")
    nsmgr.ok("delete", "host", "--force")


# --- delete -----------------------------------------------------------------

def test_delete_refuses_while_processes_are_inside(nsmgr, sandbox):
    nsmgr.ok("create", "busy")
    inside = sandbox.spawn(["nsenter", "--net=/run/netns/busy", "sleep", "600"])
    for _ in range(200):
        if open(f"/proc/{inside.pid}/comm").read().strip() == "sleep":
            break
        time.sleep(0.01)
    ino = inode_of("/run/netns/busy")
    p = nsmgr("delete", "busy")
    assert p.returncode == 1
    assert f"{inside.pid} sleep" in p.stderr and "--force" in p.stderr
    assert fs_type("/run/netns/busy") == "nsfs"

    nsmgr.ok("delete", "busy", "--force")
    assert netns_entries() == []
    assert "busy" not in ip_netns_list()
    # Unpinned, not killed: the process is still in the namespace.
    assert inside.poll() is None
    assert inode_of(f"/proc/{inside.pid}/ns/net") == ino


def test_delete_leaves_no_file_and_missing_ok(nsmgr):
    nsmgr.ok("create", "red")
    nsmgr.ok("delete", "red")
    assert netns_entries() == []
    p = nsmgr("delete", "red")
    assert p.returncode == 1 and "namespace 'red' does not exist" in p.stderr
    nsmgr.ok("delete", "red", "--missing-ok")


def test_delete_of_a_handle_whose_mount_is_gone(nsmgr):
    nsmgr.ok("create", "red")
    run(["umount", "/run/netns/red"], check=True)
    nsmgr.ok("delete", "red")
    assert netns_entries() == []


# --- list / show / path -----------------------------------------------------

def test_list_json_has_stable_keys_and_counts_processes(nsmgr, sandbox):
    nsmgr.ok("create", "a")
    nsmgr.ok("create", "b")
    sandbox.spawn(["nsenter", "--net=/run/netns/b", "sleep", "600"])
    time.sleep(0.2)
    entries = nsmgr.json("list")
    assert [e["name"] for e in entries] == ["a", "b"]
    for e in entries:
        assert {"name", "path", "inode", "nsid", "processes", "managed", "origin", "broken", "reason"} <= set(e)
        assert e["inode"] == inode_of(e["path"])
    assert entries[0]["processes"] == 0
    assert entries[1]["processes"] == 1


def test_list_shows_nsid_when_assigned(nsmgr):
    nsmgr.ok("create", "a")
    run(["ip", "netns", "set", "a", "7"], check=True)
    assert nsmgr.json("list")[0]["nsid"] == 7


def test_list_empty(nsmgr):
    assert nsmgr.json("list") == []
    assert nsmgr.ok("list").stdout == ""


def test_show_matches_ip(nsmgr, sandbox):
    nsmgr.ok("create", "red")
    run(["ip", "-n", "red", "link", "add", "v0", "type", "veth", "peer", "name", "v1"], check=True)
    run(["ip", "-n", "red", "addr", "add", "198.18.1.1/24", "dev", "v0"], check=True)
    run(["ip", "-n", "red", "addr", "add", "fd00:1::1/64", "dev", "v0", "nodad"], check=True)
    run(["ip", "-n", "red", "link", "set", "v0", "up"], check=True)
    run(["ip", "-n", "red", "link", "set", "v1", "up"], check=True)
    run(["ip", "-n", "red", "route", "add", "198.18.9.0/24", "via", "198.18.1.2"], check=True)
    p = sandbox.spawn(["nsenter", "--net=/run/netns/red", "sleep", "600"])
    time.sleep(0.2)

    s = nsmgr.json("show", "red")
    assert s["name"] == "red" and s["inode"] == inode_of("/run/netns/red")
    by_name = {i["name"]: i for i in s["interfaces"]}
    for link in ip_json("addr", "show", netns="red"):
        got = sorted((a["address"], a["prefixlen"]) for a in by_name[link["ifname"]]["addresses"])
        want = sorted((a["local"], a["prefixlen"]) for a in link["addr_info"])
        assert got == want
        assert by_name[link["ifname"]]["ifindex"] == link["ifindex"]
    routes = {(r["destination"], r["gateway"]) for r in s["routes"]}
    assert ("198.18.9.0/24", "198.18.1.2") in routes
    assert ("198.18.1.0/24", None) in routes
    assert [(x["pid"], x["command"]) for x in s["processes"]] == [(p.pid, "sleep")]

    text = nsmgr.ok("show", "red").stdout
    assert "198.18.1.1/24" in text and "198.18.9.0/24 via 198.18.1.2" in text and f"{p.pid} sleep" in text


def test_show_and_path_of_missing_namespace(nsmgr):
    for verb in ("show", "path"):
        p = nsmgr(verb, "nope")
        assert p.returncode == 1
        assert "namespace 'nope' does not exist" in p.stderr


def test_path_is_joinable(nsmgr):
    nsmgr.ok("create", "red")
    path = nsmgr.ok("path", "red").stdout.strip()
    out = run(["nsenter", "--net=" + path, "readlink", "/proc/self/ns/net"], check=True).stdout
    assert out.strip() == f"net:[{inode_of('/run/netns/red')}]"
    assert nsmgr.json("path", "red") == {"name": "red", "path": "/run/netns/red"}


def test_lsns_agrees_on_processes(nsmgr, sandbox):
    nsmgr.ok("create", "red")
    p = sandbox.spawn(["nsenter", "--net=/run/netns/red", "sleep", "600"])
    time.sleep(0.2)
    lsns = json.loads(run(["lsns", "-J", "-t", "net", "-o", "NS,PID"], check=True).stdout)
    inos = {int(n["ns"]) for n in lsns["namespaces"] if int(n["pid"]) == p.pid}
    assert inos == {inode_of("/run/netns/red")}
    assert nsmgr.json("list")[0]["processes"] == 1


# --- exec -------------------------------------------------------------------

def test_exec_runs_inside_with_etc_files_and_fresh_sys(nsmgr):
    nsmgr.ok("create", "red")
    os.makedirs("/etc/netns/red")
    with open("/etc/netns/red/hosts", "w") as f:
        f.write("198.18.5.5 only-in-red\n")
    p = nsmgr.ok("exec", "red", "--", "sh", "-c",
                 "readlink /proc/self/ns/net; cat /etc/hosts; ls /sys/class/net")
    lines = p.stdout.split()
    assert lines[0] == f"net:[{inode_of('/run/netns/red')}]"
    assert "only-in-red" in p.stdout
    assert lines[-1] == "lo"
    # The caller's /etc/hosts is untouched.
    assert "only-in-red" not in open("/etc/hosts").read()


def test_exec_exit_status_is_the_commands(nsmgr):
    nsmgr.ok("create", "red")
    assert nsmgr("exec", "red", "--", "sh", "-c", "exit 7").returncode == 7
    p = nsmgr("exec", "red", "--", "/nonexistent/cmd")
    assert p.returncode == 127 and "cannot run '/nonexistent/cmd'" in p.stderr
    # The command's own options are its own.
    assert nsmgr.ok("exec", "red", "ip", "-o", "link").stdout.count("\n") == 1


def test_exec_in_missing_namespace(nsmgr):
    p = nsmgr("exec", "nope", "--", "true")
    assert p.returncode == 1 and "namespace 'nope' does not exist" in p.stderr


# --- usage and privileges ---------------------------------------------------

USAGE = [
    ([], "missing COMMAND"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["cre"], "unknown command 'cre'"),
    (["create"], "missing NAME"),
    (["create", "a", "b"], "unexpected argument 'b'"),
    (["create", "a", "--bogus"], "unknown option '--bogus'"),
    (["pin", "a"], "exactly one of --pid PID and --path FILE"),
    (["pin", "a", "--pid"], "option '--pid' needs an argument"),
    (["list", "--json=yes"], "takes no argument"),
    (["exec", "a"], "missing the command"),
]


@pytest.mark.parametrize("args,msg", USAGE)
def test_usage_errors_exit_2(nsmgr, args, msg):
    p = nsmgr(*args)
    assert p.returncode == 2, p.stderr
    assert msg in p.stderr
    assert netns_entries() == []


def test_help(nsmgr):
    p = nsmgr.ok("--help")
    for verb in ("create", "pin", "delete", "list", "show", "path", "exec"):
        assert f"  {verb} " in p.stdout


def test_not_root_gets_one_clear_sentence(nsmgr):
    p = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
             nsmgr.ctl_path, "create", "red"])
    assert p.returncode == 1
    assert "needs root" in p.stderr
    assert p.stderr.count("\n") == 1
    assert netns_entries() == []

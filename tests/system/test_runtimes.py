"""Issue 6: runtimes. `nsmgrctl oci` bundle patching, the OCI hook that pins,
DNS files for joiners, tested with real runc, crun, podman and CNI plugins.

Containers are busybox bundles (tests/lib/containers.py) whose runtimes
keep their state under the sandbox's /run. Results are checked with tools
nsmgr did not write: ip -j on the host side, busybox's ip, ping and cat
inside the containers (through `runc exec`), /proc/PID/ns/net inodes, and
the runtimes' own state."""

import json
import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from conftest import ip_json, run, start_in_own_netns
from containers import (BUSYBOX, HOOK_ANNOTATION, Runtime, cgroup_leftovers, is_static, make_bundle,
                        make_rootfs, pin_hook, read_config, remove_cgroups, write_config)

NAME = "group"
NSPATH = f"/run/netns/{NAME}"
HOST_ADDR = "198.18.0.1"
A_ADDR = "198.18.0.2"


def inode(path):
    return os.stat(path).st_ino


def netns_entries():
    return sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []


def fs_type(path):
    return run(["stat", "-f", "-c", "%T", path], check=True).stdout.strip()


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            pytest.skip(f"{t} is not installed (tests/deps.sh installs it)")


def hide_cgroup2():
    """crun 1.8 refuses this machine's hybrid layout (cgroup v1 controllers
    plus cgroup2 at /sys/fs/cgroup/unified): inside the sandbox's private
    mount namespace only, unmount the cgroup2 part."""
    if os.path.ismount("/sys/fs/cgroup/unified"):
        run(["umount", "-l", "/sys/fs/cgroup/unified"], check=True)


@pytest.fixture
def runtimes(nsmgr, sandbox):
    need("runc", "crun")
    if not is_static(BUSYBOX):
        pytest.skip(f"{BUSYBOX} is not a static binary: install busybox-static (tests/deps.sh does)")
    hide_cgroup2()
    rts = {name: Runtime(name, f"/run/{name}-state") for name in ("runc", "crun")}
    try:
        yield rts
    finally:
        for rt in rts.values():
            rt.cleanup()
        remove_cgroups()
        assert cgroup_leftovers() == []


def wire(name, host_if="nsm-h0"):
    """A veth between the sandbox (the "host") and namespace name, as a
    network manager would do it, through nsmgr's path."""
    run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", name], check=True)
    run(["ip", "addr", "add", f"{HOST_ADDR}/24", "dev", host_if], check=True)
    run(["ip", "link", "set", host_if, "up"], check=True)
    run(["ip", "-n", name, "addr", "add", f"{A_ADDR}/24", "dev", "eth0"], check=True)
    run(["ip", "-n", name, "link", "set", "eth0", "up"], check=True)


def inet_addrs_inside(rt, cid):
    """IPv4 addresses of eth0 as busybox's ip inside the container sees them."""
    p = rt.exec(cid, "ip", "-o", "-4", "addr", "show", "dev", "eth0")
    assert p.returncode == 0, f"{rt.name} exec {cid} ip failed:\n{p.stderr}"
    return re.findall(r"\binet (\S+)", p.stdout)


def assert_pings(rt, cid, addr=HOST_ADDR):
    p = rt.exec(cid, "ping", "-c1", "-W2", addr)
    assert p.returncode == 0, f"{rt.name} exec {cid} ping {addr} failed:\n{p.stdout}{p.stderr}"


def set_host_dns():
    """The sandbox's /etc/resolv.conf and /etc/hosts (overlays: the
    machine's files do not change): a loopback stub resolver, as with
    systemd-resolved, plus one that a namespace can reach."""
    for f in ("/etc/resolv.conf", "/etc/hosts"):
        if os.path.lexists(f):
            os.remove(f)
    with open("/etc/resolv.conf", "w") as f:
        f.write("nameserver 127.0.0.53\nnameserver 198.18.0.53\nsearch nsmgr.test\n")
    with open("/etc/hosts", "w") as f:
        f.write("127.0.0.1 localhost\n198.18.0.80 web.nsmgr.test\n")


# --- nsmgrctl oci NAME ------------------------------------------------------

def test_oci_prints_the_namespace_entry(nsmgr):
    nsmgr.ok("create", "red")
    p = nsmgr.ok("oci", "red")
    assert json.loads(p.stdout) == {"type": "network", "path": "/run/netns/red"}
    # Like every read command, it takes --json (its output is JSON anyway).
    assert nsmgr.json("oci", "red") == {"type": "network", "path": "/run/netns/red"}


def test_oci_of_a_name_that_is_not_a_live_handle(nsmgr):
    p = nsmgr("oci", "nope")
    assert p.returncode == 1
    assert p.stderr == "nsmgrctl: namespace 'nope' does not exist (there is no /run/netns/nope)\n"
    os.makedirs("/run/netns", exist_ok=True)
    open("/run/netns/crashed", "w").close()
    p = nsmgr("oci", "crashed")
    assert p.returncode == 1 and "is broken" in p.stderr


OCI_USAGE = [
    (["oci"], "oci: missing NAME"),
    (["oci", "a", "b"], "oci: unexpected argument 'b'"),
    (["oci", "a", "--bundle"], "option '--bundle' needs an argument"),
    (["oci", "a", "--bogus"], "unknown option '--bogus'"),
    (["oci-hook", "x"], "oci-hook: unexpected argument 'x'"),
]


@pytest.mark.parametrize("args,msg", OCI_USAGE)
def test_oci_usage_errors_exit_2(nsmgr, args, msg):
    p = nsmgr(*args)
    assert p.returncode == 2 and msg in p.stderr


def test_help_lists_the_oci_verbs(nsmgr):
    out = nsmgr.ok("--help").stdout
    assert "  oci NAME " in out and "  oci-hook " in out
    # Options are in each command's own help.
    assert "--bundle DIR" in nsmgr.ok("help", "oci").stdout


# --- nsmgrctl oci NAME --bundle DIR -----------------------------------------

@pytest.fixture
def spec_bundle(tmp_path):
    """What `runc spec` writes, untouched."""
    need("runc")
    b = tmp_path / "bundle"
    b.mkdir()
    run(["runc", "spec", "--bundle", str(b)], check=True)
    return b


def test_bundle_patch_changes_only_the_namespace_and_mounts(nsmgr, spec_bundle):
    set_host_dns()
    nsmgr.ok("create", NAME)
    cfg = spec_bundle / "config.json"
    before = json.loads(cfg.read_text())
    original_text = cfg.read_text()

    p = nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    assert p.stdout == "" and p.stderr == ""
    after = json.loads(cfg.read_text())

    nets = [n for n in after["linux"]["namespaces"] if n["type"] == "network"]
    assert nets == [{"type": "network", "path": NSPATH}]
    # Same entries in the same order, the network one with its path.
    assert [n["type"] for n in after["linux"]["namespaces"]] == [n["type"] for n in before["linux"]["namespaces"]]
    mounts = {m["destination"]: m for m in after["mounts"]}
    assert mounts["/etc/resolv.conf"] == {"destination": "/etc/resolv.conf", "type": "bind",
                                          "source": f"/run/nsmgr/oci/{NAME}/resolv.conf", "options": ["rbind", "ro"]}
    assert mounts["/etc/hosts"]["source"] == f"/run/nsmgr/oci/{NAME}/hosts"
    assert "/etc/hostname" not in mounts
    assert after["mounts"][:len(before["mounts"])] == before["mounts"]
    assert len(after["mounts"]) == len(before["mounts"]) + 2
    # Everything else as it was, keys in their order, runc's tab indentation.
    for key in before:
        if key not in ("linux", "mounts"):
            assert after[key] == before[key]
    assert list(after) == list(before)
    assert list(after["linux"]) == list(before["linux"])
    assert cfg.read_text().splitlines()[1].startswith("\t\"ociVersion\"")
    assert original_text != cfg.read_text()

    # The generated copies: loopback nameservers are comments.
    resolv = open(f"/run/nsmgr/oci/{NAME}/resolv.conf").read()
    active = [l for l in resolv.splitlines() if l.startswith("nameserver")]
    assert active == ["nameserver 198.18.0.53"]
    assert "search nsmgr.test" in resolv.splitlines()
    assert "198.18.0.80 web.nsmgr.test" in open(f"/run/nsmgr/oci/{NAME}/hosts").read().splitlines()


def test_bundle_patch_is_idempotent_and_atomic(nsmgr, spec_bundle):
    nsmgr.ok("create", NAME)
    cfg = spec_bundle / "config.json"
    os.chmod(cfg, 0o640)
    os.chown(cfg, 1234, 5678)
    ino = cfg.stat().st_ino

    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    st = cfg.stat()
    # Replaced by rename (a new inode), mode and owner kept, no temporary
    # file left behind.
    assert st.st_ino != ino
    assert stat.S_IMODE(st.st_mode) == 0o640 and (st.st_uid, st.st_gid) == (1234, 5678)
    assert sorted(os.listdir(spec_bundle)) == ["config.json"]
    once = cfg.read_bytes()

    time.sleep(0.01)
    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    assert cfg.read_bytes() == once
    # Not even rewritten.
    assert cfg.stat().st_ino == st.st_ino and cfg.stat().st_mtime_ns == st.st_mtime_ns
    dests = [m["destination"] for m in json.loads(once)["mounts"]]
    assert dests.count("/etc/resolv.conf") == 1 and dests.count("/etc/hosts") == 1


def test_bundle_patch_replaces_docker_style_entries(nsmgr, spec_bundle):
    """The seed's config: a /proc/PID/ns/net path and the first container's
    resolv.conf, hosts and hostname."""
    nsmgr.ok("create", NAME)
    c = read_config(spec_bundle)
    for ns in c["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "/proc/14702/ns/net"
    old = "/var/lib/docker/containers/7559"
    c["mounts"] += [
        {"destination": "/etc/resolv.conf", "type": "bind", "source": f"{old}/resolv.conf", "options": ["rbind", "rprivate"]},
        {"destination": "/etc/hostname", "type": "bind", "source": f"{old}/hostname", "options": ["rbind", "rprivate"]},
        {"destination": "/etc/hosts", "type": "bind", "source": f"{old}/hosts", "options": ["rbind", "rprivate"]},
        {"destination": "/etc//hosts", "type": "bind", "source": "/elsewhere/hosts"},
    ]
    c["linux"]["namespaces"].append({"type": "network"})
    c["linux"]["resources"]["memory"] = {"kernelTCP": None, "swappiness": 18446744073709551615}
    write_config(spec_bundle, c)

    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    after = read_config(spec_bundle)
    assert [n for n in after["linux"]["namespaces"] if n["type"] == "network"] == [{"type": "network", "path": NSPATH}]
    tail = [(m["destination"], m["source"]) for m in after["mounts"][-3:]]
    assert tail == [("/etc/resolv.conf", f"/run/nsmgr/oci/{NAME}/resolv.conf"),
                    ("/etc/hostname", f"{old}/hostname"),
                    ("/etc/hosts", f"/run/nsmgr/oci/{NAME}/hosts")]
    assert after["linux"]["resources"]["memory"] == {"kernelTCP": None, "swappiness": 18446744073709551615}


def test_bundle_patch_makes_linux_and_namespaces(nsmgr, spec_bundle):
    nsmgr.ok("create", NAME)
    c = read_config(spec_bundle)
    del c["linux"]
    del c["mounts"]
    write_config(spec_bundle, c)
    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    after = read_config(spec_bundle)
    assert after["linux"] == {"namespaces": [{"type": "network", "path": NSPATH}]}
    assert [m["destination"] for m in after["mounts"]] == ["/etc/resolv.conf", "/etc/hosts"]


def test_bundle_patch_uses_declared_etc_files(nsmgr, spec_bundle):
    nsmgr.ok("create", NAME)
    os.makedirs(f"/etc/netns/{NAME}")
    with open(f"/etc/netns/{NAME}/resolv.conf", "w") as f:
        f.write("nameserver 198.18.0.99\n")
    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    mounts = {m["destination"]: m["source"] for m in read_config(spec_bundle)["mounts"]}
    assert mounts["/etc/resolv.conf"] == f"/etc/netns/{NAME}/resolv.conf"
    assert mounts["/etc/hosts"] == f"/run/nsmgr/oci/{NAME}/hosts"
    assert not os.path.exists(f"/run/nsmgr/oci/{NAME}/resolv.conf")


def test_generated_copies_are_refreshed_and_deleted_with_the_namespace(nsmgr, spec_bundle):
    set_host_dns()
    nsmgr.ok("create", NAME)
    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    hosts = f"/run/nsmgr/oci/{NAME}/hosts"
    assert "198.18.0.81 new.nsmgr.test" not in open(hosts).read()
    with open("/etc/hosts", "a") as f:
        f.write("198.18.0.81 new.nsmgr.test\n")
    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    assert "198.18.0.81 new.nsmgr.test" in open(hosts).read().splitlines()

    nsmgr.ok("delete", NAME)
    assert not os.path.exists(f"/run/nsmgr/oci/{NAME}")


def test_bundle_patch_through_a_symlink(nsmgr, spec_bundle, tmp_path):
    nsmgr.ok("create", NAME)
    real = tmp_path / "real.json"
    os.rename(spec_bundle / "config.json", real)
    os.symlink(real, spec_bundle / "config.json")
    nsmgr.ok("oci", NAME, "--bundle", spec_bundle)
    assert os.path.islink(spec_bundle / "config.json")
    assert {"type": "network", "path": NSPATH} in json.loads(real.read_text())["linux"]["namespaces"]


BAD_CONFIGS = [
    ('{\n\t"ociVersion": "1.0.2",\n\t"linux": {,\n}\n', "it is not valid JSON: quoted object property name expected at line 3, column 12"),
    ('{"linux": {"namespaces": [}', "it is not valid JSON: unexpected character at line 1, column 27"),
    ('{"ociVersion": "1.0.2"', "it is not valid JSON: it ends before the value is complete"),
    ('', "it is empty, not a JSON document"),
    ('["not", "an", "object"]', "it is not an OCI runtime config (not a JSON object)"),
    ('{"linux": []}', "'linux' is not an object"),
    ('{"linux": {"namespaces": {}}}', "'linux.namespaces' is not an array"),
    ('{"mounts": "none"}', "'mounts' is not an array"),
    ('{"x": 99999999999999999999}', "it has the integer 99999999999999999999 at line 1, column 7, which does not fit in 64 bits"),
]


@pytest.mark.parametrize("text,msg", BAD_CONFIGS)
def test_bad_config_is_an_error_and_changes_nothing(nsmgr, tmp_path, text, msg):
    nsmgr.ok("create", NAME)
    cfg = tmp_path / "config.json"
    cfg.write_text(text)
    st = cfg.stat()
    p = nsmgr("oci", NAME, "--bundle", tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith(f"nsmgrctl: cannot patch {cfg}: "), p.stderr
    assert msg in p.stderr
    assert p.stderr.count("\n") == 1
    assert cfg.read_text() == text and cfg.stat().st_mtime_ns == st.st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_bundle_patch_with_a_dead_name_changes_nothing(nsmgr, spec_bundle):
    cfg = spec_bundle / "config.json"
    text = cfg.read_text()
    p = nsmgr("oci", "nope", "--bundle", spec_bundle)
    assert p.returncode == 1
    assert "namespace 'nope' does not exist" in p.stderr
    assert cfg.read_text() == text
    assert not os.path.exists("/run/nsmgr/oci/nope")


def test_bundle_without_config(nsmgr, tmp_path):
    nsmgr.ok("create", NAME)
    p = nsmgr("oci", NAME, "--bundle", tmp_path)
    assert p.returncode == 1
    assert f"there is no {tmp_path}/config.json" in p.stderr and "'runc spec' writes one" in p.stderr


# --- nsmgrctl oci-hook, driven by hand --------------------------------------

def hook(nsmgr, state):
    return nsmgr("oci-hook", input=state if isinstance(state, str) else json.dumps(state))


def state_of(pid, annotations, cid="ctr"):
    return {"ociVersion": "1.0.2", "id": cid, "status": "creating", "pid": pid, "bundle": "/b",
            "annotations": annotations}


def test_hook_pins_once_and_is_idempotent(nsmgr, sandbox):
    a = start_in_own_netns(sandbox)
    st = state_of(a.pid, {HOOK_ANNOTATION: NAME, "org.example.other": "x"})
    p = hook(nsmgr, st)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""
    assert inode(NSPATH) == inode(f"/proc/{a.pid}/ns/net")
    entry = nsmgr.json("list")[0]
    assert (entry["name"], entry["managed"], entry["origin"]) == (NAME, True, "hook")
    # Twice: the same namespace under the same name is fine.
    p = hook(nsmgr, st)
    assert p.returncode == 0, p.stderr
    assert netns_entries() == [NAME]


def test_hook_refuses_a_name_held_by_another_namespace(nsmgr, sandbox):
    nsmgr.ok("create", NAME)
    held = inode(NSPATH)
    a = start_in_own_netns(sandbox)
    p = hook(nsmgr, state_of(a.pid, {HOOK_ANNOTATION: NAME}, cid="web"))
    assert p.returncode == 1
    assert p.stderr.startswith(f"nsmgrctl: cannot pin '{NAME}' for container 'web': '{NAME}' is already another network namespace")
    assert f"inode {held}" in p.stderr and f"nsmgrctl delete {NAME}" in p.stderr
    assert inode(NSPATH) == held
    assert nsmgr.json("list")[0]["origin"] == "create"


def test_hook_without_annotation_does_nothing(nsmgr, sandbox):
    a = start_in_own_netns(sandbox)
    p = hook(nsmgr, state_of(a.pid, {}))
    assert p.returncode == 0 and p.stderr == ""
    assert netns_entries() == []


HOOK_ERRORS = [
    ("{not json", "the container state on stdin is not valid JSON: quoted object property name expected at line 1, column 2"),
    ("", "the container state on stdin is empty"),
    ({"id": "web", "status": "stopped", "annotations": {HOOK_ANNOTATION: NAME}},
     "container 'web' has no process ('pid'); run 'nsmgrctl oci-hook' as a createRuntime hook"),
    ({"id": "web", "pid": 2147483647, "annotations": {HOOK_ANNOTATION: NAME}},
     f"cannot pin '{NAME}' for container 'web': there is no process with pid 2147483647"),
    ({"id": "web", "pid": 1, "annotations": {HOOK_ANNOTATION: "a/b"}},
     "container 'web': annotation org.nsmgr.pin: invalid namespace name 'a/b': it must not contain '/'"),
    ({"id": "web", "pid": 1, "annotations": {"org.nsmgr.pinn": NAME}},
     "container 'web' has the annotation org.nsmgr.pinn, which this nsmgr does not know"),
]


@pytest.mark.parametrize("state,msg", HOOK_ERRORS)
def test_hook_errors_are_one_sentence_and_exit_1(nsmgr, state, msg):
    p = hook(nsmgr, state)
    assert p.returncode == 1
    assert msg in p.stderr
    assert p.stderr.count("\n") == 1 and p.stdout == ""
    assert netns_entries() == []


# --- real runtimes ----------------------------------------------------------

@pytest.mark.parametrize("first,other", [("runc", "crun"), ("crun", "runc")])
def test_seed_scenario_with_real_runtimes(nsmgr, runtimes, tmp_path, first, other):
    """The seed, end to end: A is pinned by the hook, B joins through a
    patched bundle, A dies, B lives on and restarts, C (the other runtime)
    joins; the namespace and its wiring outlive every container."""
    set_host_dns()
    rt, ot = runtimes[first], runtimes[other]

    a = make_bundle(str(tmp_path / "a"), ["sleep", "3600"], annotations={HOOK_ANNOTATION: NAME},
                    hooks=pin_hook(nsmgr.ctl_path))
    rc, out = rt.create("a", a)
    assert rc == 0, out
    a_pid = rt.pid("a")
    ns_ino = inode(f"/proc/{a_pid}/ns/net")
    # The hook pinned A's own namespace as NAME, before A started.
    assert ns_ino != inode("/proc/self/ns/net")
    assert fs_type(NSPATH) == "nsfs" and inode(NSPATH) == ns_ino
    entry = nsmgr.json("list")[0]
    assert (entry["name"], entry["origin"], entry["processes"]) == (NAME, "hook", 1)
    wire(NAME)
    rt.ok("start", "a")

    b = make_bundle(str(tmp_path / "b"), ["sleep", "3600"])
    nsmgr.ok("oci", NAME, "--bundle", b)
    b_pid = rt.run("b", b)
    assert inode(f"/proc/{b_pid}/ns/net") == ns_ino
    assert inet_addrs_inside(rt, "b") == [f"{A_ADDR}/24"]
    assert_pings(rt, "b")
    # B resolves names with the namespace's files, not the image's.
    resolv = rt.exec("b", "cat", "/etc/resolv.conf").stdout
    assert "nameserver 198.18.0.53" in resolv.splitlines() and "resolv.conf of the busybox image" not in resolv
    assert "198.18.0.80 web.nsmgr.test" in rt.exec("b", "cat", "/etc/hosts").stdout.splitlines()
    assert rt.exec("b", "sh", "-c", "echo x >> /etc/resolv.conf").returncode != 0

    # A is killed and deleted.
    rt.kill("a")
    rt.delete("a")
    assert not os.path.exists(f"/proc/{a_pid}")
    # B keeps its network, and exec into B works.
    assert inet_addrs_inside(rt, "b") == [f"{A_ADDR}/24"]
    assert_pings(rt, "b")

    # B restarts from its config.
    rt.kill("b")
    rt.delete("b")
    b_pid = rt.run("b", b)
    assert inode(f"/proc/{b_pid}/ns/net") == ns_ino
    assert_pings(rt, "b")

    # C, under the other runtime, joins.
    c = make_bundle(str(tmp_path / "c"), ["sleep", "3600"])
    nsmgr.ok("oci", NAME, "--bundle", c)
    c_pid = ot.run("c", c)
    assert inode(f"/proc/{c_pid}/ns/net") == ns_ino
    assert inet_addrs_inside(ot, "c") == [f"{A_ADDR}/24"]
    assert_pings(ot, "c")

    # No container left: the namespace and its wiring remain.
    for r, cid in ((rt, "b"), (ot, "c")):
        r.kill(cid)
        r.delete(cid)
    assert inode(NSPATH) == ns_ino
    assert nsmgr.json("list")[0]["processes"] == 0
    addrs = ip_json("addr", "show", "dev", "eth0", netns=NAME)
    assert [x["local"] for x in addrs[0]["addr_info"] if x["family"] == "inet"] == [A_ADDR]
    run(["ping", "-c1", "-W2", A_ADDR], check=True)

    # ... until nsmgrctl delete: then the namespace goes, and with it the
    # veth (its host end too).
    nsmgr.ok("delete", NAME)
    assert netns_entries() == []
    for _ in range(200):
        if run(["ip", "link", "show", "nsm-h0"]).returncode != 0:
            break
        time.sleep(0.01)
    assert run(["ip", "link", "show", "nsm-h0"]).returncode != 0


@pytest.mark.parametrize("name", ["runc", "crun"])
def test_control_without_nsmgr_cannot_restart(nsmgr, runtimes, tmp_path, name):
    """What docker's config.json does: B joins /proc/<A>/ns/net. After A
    dies, B can no longer be started from its config."""
    rt = runtimes[name]
    a_pid = rt.run("a", make_bundle(str(tmp_path / "a"), ["sleep", "3600"]))
    a_ns = f"/proc/{a_pid}/ns/net"
    b = make_bundle(str(tmp_path / "b"), ["sleep", "3600"], netns_path=a_ns)
    b_pid = rt.run("b", b)
    assert inode(f"/proc/{b_pid}/ns/net") == inode(a_ns)

    rt.kill("a")
    rt.delete("a")
    rt.kill("b")
    rt.delete("b")
    rc, out = rt.create("b", b)
    assert rc != 0
    assert a_ns in out or f"/proc/{a_pid}" in out, out
    assert netns_entries() == []


@pytest.mark.parametrize("name", ["runc", "crun"])
def test_runtime_refuses_to_start_when_the_hook_fails(nsmgr, runtimes, tmp_path, name):
    """The hook's one sentence reaches the user: runc prints hooks' stderr
    in its error; crun 1.8 drops it unless the run.oci.hooks.stderr
    annotation names a file for it."""
    rt = runtimes[name]
    nsmgr.ok("create", NAME)
    held = inode(NSPATH)

    def said(bundle, out):
        if name == "crun":
            with open(os.path.join(bundle, "hook.err")) as f:
                return out + f.read()
        return out

    def annotated(extra, bundle):
        return dict(extra, **({"run.oci.hooks.stderr": os.path.join(bundle, "hook.err")} if name == "crun" else {}))

    d = str(tmp_path / "d")
    make_bundle(d, ["sleep", "3600"], annotations=annotated({HOOK_ANNOTATION: NAME}, d),
                hooks=pin_hook(nsmgr.ctl_path))
    rc, out = rt.create("d", d)
    assert rc != 0
    assert f"cannot pin '{NAME}' for container 'd': '{NAME}' is already another network namespace" in said(d, out)
    # No container is left half-wired, and the pin is untouched.
    assert rt("state", "d").returncode != 0
    assert inode(NSPATH) == held

    e = str(tmp_path / "e")
    make_bundle(e, ["sleep", "3600"], annotations=annotated({"org.nsmgr.bogus": "x"}, e),
                hooks=pin_hook(nsmgr.ctl_path))
    rc, out = rt.create("e", e)
    assert rc != 0 and "annotation org.nsmgr.bogus, which this nsmgr does not know" in said(e, out)
    assert rt("state", "e").returncode != 0


def test_a_joiner_carrying_the_annotation_is_fine(nsmgr, runtimes, tmp_path):
    """Every container of a group may carry org.nsmgr.pin=NAME: for those
    that join NAME, the hook finds NAME already is their namespace."""
    rt = runtimes["runc"]
    ann, hooks = {HOOK_ANNOTATION: NAME}, pin_hook(nsmgr.ctl_path)
    a_pid = rt.run("a", make_bundle(str(tmp_path / "a"), ["sleep", "3600"], annotations=ann, hooks=hooks))
    b = make_bundle(str(tmp_path / "b"), ["sleep", "3600"], annotations=ann, hooks=hooks)
    nsmgr.ok("oci", NAME, "--bundle", b)
    b_pid = rt.run("b", b)
    assert inode(f"/proc/{b_pid}/ns/net") == inode(f"/proc/{a_pid}/ns/net") == inode(NSPATH)


# --- podman -----------------------------------------------------------------

@pytest.fixture
def podman(sandbox, tmp_path):
    need("podman", "crun")
    if not is_static(BUSYBOX):
        pytest.skip(f"{BUSYBOX} is not a static binary: install busybox-static (tests/deps.sh does)")
    hide_cgroup2()
    # Podman's lock file lives in /dev/shm: keep it in the sandbox.
    run(["mount", "-t", "tmpfs", "tmpfs", "/dev/shm"], check=True)
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "tmp").mkdir()
    # Nothing outside the sandbox and tmp_path: podman copies images
    # through TMPDIR (by default /var/tmp, which the sandbox shares).
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), TMPDIR=str(tmp_path / "tmp"))
    base = ["podman", "--root", "/run/podman-test/storage", "--runroot", "/run/podman-test/run",
            "--tmpdir", "/run/podman-test/tmp", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file"]

    def pm(*args, timeout=120):
        return subprocess.run(base + list(args), capture_output=True, text=True, env=env, timeout=timeout)

    rootfs = tmp_path / "rootfs"
    make_rootfs(str(rootfs))
    run(["tar", "-C", str(rootfs), "-cf", str(tmp_path / "busybox.tar"), "."], check=True)
    had_parent = os.path.exists("/sys/fs/cgroup/pids/libpod_parent")
    p = pm("import", str(tmp_path / "busybox.tar"), "localhost/nsmgr-busybox:test")
    assert p.returncode == 0, p.stderr
    try:
        yield pm
    finally:
        pm("rm", "--all", "--force")
        # With --cgroups=disabled podman must not make its cgroups (it puts
        # conmon under libpod_parent otherwise), on the machine's cgroupfs.
        assert had_parent or not os.path.exists("/sys/fs/cgroup/pids/libpod_parent")


# What podman needs on this machine, beyond --network:
#  --cgroups=disabled  crun 1.8 cannot use the hybrid cgroup layout (hidden
#                      in the sandbox), so no cgroups at all;
#  --ulimit ...        as root podman asks for RLIMIT_NOFILE 1048576 (and,
#                      once --ulimit nofile is given, an RLIMIT_NPROC above
#                      this machine's hard limit); raising a hard limit
#                      needs CAP_SYS_RESOURCE, which processes here lack
#                      (CapBnd has no bit 24), so crun's setrlimit fails
#                      with EPERM unless both are given;
#  --cap-add NET_RAW   Debian's containers.conf drops it: busybox ping
#                      needs a raw socket.
PODMAN_RUN = ["run", "--rm", "--cgroups=disabled", "--ulimit", "nofile=1024:1024",
              "--ulimit", "nproc=1024:1024", "--network", f"ns:{NSPATH}"]


def ping_group_range(name):
    return run(["ip", "netns", "exec", name, "cat", "/proc/sys/net/ipv4/ping_group_range"],
               check=True).stdout.split()


def test_podman_joins_an_nsmgr_namespace(nsmgr, podman):
    nsmgr.ok("create", NAME)
    wire(NAME)
    before = ping_group_range(NAME)
    p = podman(*PODMAN_RUN, "--cap-add", "NET_RAW",
               "--sysctl", f"net.ipv4.ping_group_range={' '.join(before)}",
               "localhost/nsmgr-busybox:test",
               "sh", "-c", f"readlink /proc/self/ns/net; ip -o -4 addr show dev eth0; ping -c1 -W2 {HOST_ADDR}")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == f"net:[{inode(NSPATH)}]"
    assert f"inet {A_ADDR}/24" in lines[1]
    assert "1 packets received" in p.stdout
    # With the namespace's own value passed along, podman leaves it alone.
    assert ping_group_range(NAME) == before
    # The namespace outlives the container.
    assert fs_type(NSPATH) == "nsfs"
    assert nsmgr.json("list")[0]["processes"] == 0


def test_podman_default_sysctl_changes_the_joined_namespace(nsmgr, podman):
    """Debian's containers.conf sets net.ipv4.ping_group_range=0 0 in every
    container; with --network ns: that is the shared namespace's setting,
    so one podman container changes it for the whole group."""
    nsmgr.ok("create", NAME)
    assert ping_group_range(NAME) != ["0", "0"]
    p = podman(*PODMAN_RUN, "localhost/nsmgr-busybox:test", "true")
    assert p.returncode == 0, p.stderr
    assert ping_group_range(NAME) == ["0", "0"]


# --- CNI plugins ------------------------------------------------------------

CNI_PATH = "/usr/lib/cni"
CNI_BRIDGE = {"cniVersion": "1.0.0", "name": "nsmgr-test", "type": "bridge", "bridge": "nsmbr0",
              "isGateway": True, "ipMasq": False,
              "ipam": {"type": "host-local", "subnet": "198.18.10.0/24", "dataDir": "/run/cni-ipam"}}


def cni(plugin, command, config, ifname, netns=NSPATH):
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID="ctr1", CNI_NETNS=netns,
               CNI_IFNAME=ifname, CNI_PATH=CNI_PATH)
    return subprocess.run([os.path.join(CNI_PATH, plugin)], input=json.dumps(config), capture_output=True,
                          text=True, env=env, timeout=60)


@pytest.fixture
def cni_plugins():
    for plugin in ("bridge", "host-local", "loopback"):
        if not os.access(os.path.join(CNI_PATH, plugin), os.X_OK):
            pytest.skip(f"{CNI_PATH}/{plugin} is missing: install containernetworking-plugins (tests/deps.sh does)")


def test_cni_bridge_add_check_del(nsmgr, cni_plugins):
    nsmgr.ok("create", NAME)
    p = cni("bridge", "ADD", CNI_BRIDGE, "eth0")
    assert p.returncode == 0, p.stdout + p.stderr
    result = json.loads(p.stdout)
    addr = result["ips"][0]["address"]
    assert addr.startswith("198.18.10.")
    sandboxes = [i.get("sandbox") for i in result["interfaces"] if i["name"] == "eth0"]
    assert sandboxes == [NSPATH]

    links = ip_json("addr", "show", "dev", "eth0", netns=NAME)
    assert [f"{x['local']}/{x['prefixlen']}" for x in links[0]["addr_info"] if x["family"] == "inet"] == [addr]
    assert ip_json("link", "show", "nsmbr0")[0]["ifname"] == "nsmbr0"
    run(["ping", "-c1", "-W2", addr.split("/")[0]], check=True)

    check = dict(CNI_BRIDGE, prevResult=result)
    p = cni("bridge", "CHECK", check, "eth0")
    assert p.returncode == 0, p.stdout + p.stderr

    p = cni("bridge", "DEL", CNI_BRIDGE, "eth0")
    assert p.returncode == 0, p.stdout + p.stderr
    assert run(["ip", "-n", NAME, "link", "show", "eth0"]).returncode != 0
    assert addr.split("/")[0] not in os.listdir("/run/cni-ipam/nsmgr-test")
    # The namespace is nsmgr's, not CNI's: it stays.
    assert fs_type(NSPATH) == "nsfs"
    # CHECK now sees the interface is gone.
    assert cni("bridge", "CHECK", check, "eth0").returncode != 0


def test_cni_loopback_brings_up_lo_in_a_pinned_namespace(nsmgr, sandbox, cni_plugins):
    # A namespace pinned from a process: its lo is down (nsmgrctl create
    # would have brought it up).
    a = start_in_own_netns(sandbox)
    nsmgr.ok("pin", NAME, "--pid", a.pid)
    assert "UP" not in ip_json("link", "show", "lo", netns=NAME)[0]["flags"]
    conf = {"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}
    p = cni("loopback", "ADD", conf, "lo")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "UP" in ip_json("link", "show", "lo", netns=NAME)[0]["flags"]
    assert cni("loopback", "CHECK", dict(conf, prevResult=json.loads(p.stdout)), "lo").returncode == 0
    assert cni("loopback", "DEL", conf, "lo").returncode == 0
    assert "UP" not in ip_json("link", "show", "lo", netns=NAME)[0]["flags"]


# --- org.nsmgr.network: the hook attaches the pinned namespace --------------

LAB_CONF = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "conf", "lab.conf")


def network_hook(nsmgrctl, conf):
    return {"createRuntime": [{"path": nsmgrctl, "args": ["nsmgrctl", "oci-hook", "-c", conf], "timeout": 10}]}


@pytest.mark.parametrize("name", ["runc", "crun"])
def test_hook_attaches_the_container_to_a_network(nsmgr, runtimes, tmp_path, name):
    rt = runtimes[name]
    nsmgr.ok("apply", "-c", LAB_CONF)
    ann = {HOOK_ANNOTATION: "grp", "org.nsmgr.network": "lab"}
    pid = rt.run("a", make_bundle(str(tmp_path / "a"), ["sleep", "3600"], annotations=ann,
                                  hooks=network_hook(nsmgr.ctl_path, LAB_CONF)))
    assert inode(f"/proc/{pid}/ns/net") == inode("/run/netns/grp")
    # An address from IPAM, visible inside, and the gateway reachable.
    assert inet_addrs_inside(rt, "a") == ["198.18.20.3/24"]
    assert_pings(rt, "a", "198.18.20.1")
    # ...and the other namespace of the network through the bridge.
    assert_pings(rt, "a", "198.18.20.2")
    shown = nsmgr.json("show", "grp")
    assert shown["origin"] == "hook" and shown["networks"][0]["origin"] == "attach"

    # The container dies; its namespace and its wiring stay, as pinned.
    rt.kill("a")
    rt.delete("a")
    assert run(["ip", "netns", "exec", "grp", "ping", "-c1", "-W2", "198.18.20.1"]).returncode == 0
    nsmgr.ok("detach", "grp", "lab", "-c", LAB_CONF)
    nsmgr.ok("delete", "grp")


def test_hook_network_without_pin_or_unknown_network_refuses(nsmgr, runtimes, tmp_path):
    rt = runtimes["runc"]
    nsmgr.ok("apply", "-c", LAB_CONF)
    b = make_bundle(str(tmp_path / "b"), ["sleep", "3600"], annotations={"org.nsmgr.network": "lab"},
                    hooks=network_hook(nsmgr.ctl_path, LAB_CONF))
    rc, out = rt.create("b", b)
    assert rc != 0 and "org.nsmgr.network needs org.nsmgr.pin too" in out

    c = make_bundle(str(tmp_path / "c"), ["sleep", "3600"],
                    annotations={HOOK_ANNOTATION: "grp", "org.nsmgr.network": "nonet"},
                    hooks=network_hook(nsmgr.ctl_path, LAB_CONF))
    rc, out = rt.create("c", c)
    assert rc != 0 and "network 'nonet' is not declared" in out
    # Refused means not half-wired: no container, no pin left by the hook.
    assert rt("state", "c").returncode != 0
    assert not os.path.exists("/run/netns/grp")

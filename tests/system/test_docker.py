"""Issue 13: nsmgr-runtime, with a real dockerd and containerd (Debian's
docker.io 20.10 and containerd 1.6), each test with daemons of its own in
its sandbox (tests/lib/docker_sandbox.py), and in front of plain runc.

Results are checked with what a user would look at: the docker and ctr
CLIs (exit status, their error text), `docker exec ... ip`, ip -j and
ping on the host side, /proc/PID/ns/net inodes against /run/netns/NAME,
iptables -S, and runc's own state."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, ip_json, run
from containers import BUSYBOX, is_static, make_bundle, make_rootfs, pin_hook, read_config, remove_cgroups, \
    cgroup_leftovers, write_config
from docker_sandbox import DOCKER, STATE_DIRS, DockerSandbox, missing_tools

RUNTIME = os.path.join(BUILD, "nsmgr-runtime")
NSMGRCTL = os.path.join(BUILD, "nsmgrctl")
SUBNET = "198.18.40"
NET_CONF = f"""networks = (
  {{ name = "lab"; bridge = "br-lab"; subnet = "{SUBNET}.0/24"; masquerade = false; }}
);
"""
# PID 1 of a busybox container: ends on SIGTERM, so docker stops it at once.
CMD = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
# A runtime whose create waits at a gate, so that a container's creation
# is still in flight while the test kills another: the timing of "B starts
# while A is dying", made certain.
GATED = "/run/nsmgr-test-gated"
GATED_SCRIPT = """#!/bin/sh
for a in "$@"; do
        if [ "$a" = create ]; then
                touch /run/gate-waiting
                i=0
                while [ ! -e /run/gate-open ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
        fi
done
exec runc "$@"
"""


def inode(path):
    return os.stat(path).st_ino


def wait_for(what, cond, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def docker(sandbox, nsmgr):
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    if not is_static(BUSYBOX):
        pytest.skip(f"{BUSYBOX} is not a static binary: install busybox-static (tests/deps.sh does)")
    with open("/etc/nsmgr/nsmgr.conf", "w") as f:
        f.write(NET_CONF)
    with open(GATED, "w") as f:
        f.write(GATED_SCRIPT)
    os.chmod(GATED, 0o755)
    # Folders such as /var/lib/docker are the machine's: a sandbox mounts
    # over them, and leaves none behind that was not there before.
    present = {p: os.path.isdir(p) for p in STATE_DIRS}
    d = DockerSandbox(sandbox, runtimes={"nsmgr": RUNTIME, "gated": GATED}, rootfs=make_rootfs)
    with d:
        yield d
    assert d.cgroup_leftovers() == []
    assert d.processes() == []
    assert {p: os.path.isdir(p) for p in STATE_DIRS} == present


class Docker:
    """The docker CLI as a user types it, on top of the sandbox."""

    def __init__(self, d):
        self.d = d

    def run_in(self, name, netns="pod1", network=None, *extra):
        args = ["run", "-d", "--name", name, "--runtime", "nsmgr", "--network", "none", "-e", f"NSMGR_NETNS={netns}"]
        if network:
            args += ["-e", f"NSMGR_NETWORK={network}"]
        return self.d.docker_ok(*args, *extra, self.d.IMAGE, *CMD)

    def pid(self, name):
        return self.d.outer_pid(self.d.inspect(name, "{{.State.Pid}}"))

    def netns(self, name):
        return inode(f"/proc/{self.pid(name)}/ns/net")

    def addresses(self, name):
        """IPv4 addresses on eth0, as busybox's ip in the container shows them."""
        p = self.d.docker("exec", name, "ip", "-o", "-4", "addr", "show")
        assert p.returncode == 0, p.stderr
        return re.findall(r"\d+: eth0\s+inet (\S+)", p.stdout)

    def pings(self, name, addr):
        p = self.d.docker("exec", name, "ping", "-c1", "-W2", addr)
        return p.returncode == 0


# --- the seed scenario ----------------------------------------------------------

def test_a_pod_outlives_its_first_container(docker, nsmgr):
    d, dk = docker, Docker(docker)

    # The control: docker's own --net=container:A. With A gone, B cannot be
    # restarted; and a B created while A dies gets A's dead /proc path.
    a = d.docker_ok("run", "-d", "--name", "ctl-a", "--network", "none", d.IMAGE, *CMD)
    d.docker_ok("run", "-d", "--name", "ctl-b", "--network", "container:ctl-a", d.IMAGE, *CMD)
    d.docker_ok("kill", "ctl-a")
    p = d.docker("restart", "ctl-b")
    assert p.returncode != 0
    assert f"cannot join network of a non running container: {a}" in p.stderr
    d.docker_ok("start", "ctl-a")
    dying = dk.pid("ctl-a")
    late = subprocess.Popen([DOCKER, "run", "-d", "--name", "ctl-c", "--runtime", "gated",
                             "--network", "container:ctl-a", d.IMAGE, *CMD],
                            env=d.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for("ctl-c's create to reach the runtime", lambda: os.path.exists("/run/gate-waiting"))
        os.kill(dying, signal.SIGKILL)
        wait_for("ctl-a's process to be gone", lambda: not os.path.exists(f"/proc/{dying}"))
    finally:
        open("/run/gate-open", "w").close()
        _, err = late.communicate(timeout=120)
    assert late.returncode != 0
    assert re.search(r"namespace path: lstat /proc/\d+/ns/net: no such file or directory", err), err
    d.docker_ok("rm", "-f", "ctl-a", "ctl-b", "ctl-c")

    # And with A on a docker network: a B that keeps running loses eth0 when
    # A stops, A's address goes to the next container, and a restarted A
    # lands in a new namespace. The group is split, silently.
    d.docker_ok("run", "-d", "--name", "net-a", d.IMAGE, *CMD)
    d.docker_ok("run", "-d", "--name", "net-b", "--network", "container:net-a", d.IMAGE, *CMD)
    a_addr = dk.addresses("net-a")
    assert dk.addresses("net-b") == a_addr and len(a_addr) == 1
    d.docker_ok("stop", "net-a")
    assert d.inspect("net-b", "{{.State.Running}}") == "true"
    assert dk.addresses("net-b") == []
    d.docker_ok("run", "-d", "--name", "net-c", d.IMAGE, *CMD)
    assert dk.addresses("net-c") == a_addr
    d.docker_ok("start", "net-a")
    assert dk.netns("net-a") != dk.netns("net-b")
    d.docker_ok("rm", "-f", "net-a", "net-b", "net-c")

    # With nsmgr: A makes pod1 and attaches it to the network lab.
    dk.run_in("pod-a", network="lab")
    pod1 = inode("/run/netns/pod1")
    assert dk.netns("pod-a") == pod1
    addr = dk.addresses("pod-a")
    assert len(addr) == 1 and addr[0].startswith(f"{SUBNET}.")
    ip = addr[0].split("/")[0]
    assert run(["ping", "-c1", "-W2", ip]).returncode == 0
    listed = {e["name"]: e for e in nsmgr.json("list")}
    assert listed["pod1"]["managed"] and listed["pod1"]["origin"] == "runtime"

    # B joins it, and restarts by itself when killed.
    dk.run_in("pod-b", "pod1", None, "--restart", "always")
    assert dk.netns("pod-b") == pod1
    assert dk.addresses("pod-b") == addr

    # A goes: B keeps its network, and restarts into it.
    d.docker_ok("rm", "-f", "pod-a")
    assert dk.addresses("pod-b") == addr
    d.docker_ok("restart", "pod-b")
    assert dk.netns("pod-b") == pod1
    assert dk.addresses("pod-b") == addr
    assert dk.pings("pod-b", f"{SUBNET}.1")

    old = dk.pid("pod-b")
    os.kill(old, signal.SIGKILL)
    # Between "running" and its new process, docker reports PID 0 a moment.
    wait_for("docker to restart pod-b",
             lambda: d.inspect("pod-b", "{{.State.Running}}") == "true" and
             int(d.inspect("pod-b", "{{.State.Pid}}")) > 0 and dk.pid("pod-b") != old)
    assert dk.netns("pod-b") == pod1
    assert dk.addresses("pod-b") == addr

    # dockerd restarted: it stops pod-b and starts it again.
    d.stop_dockerd()
    d.start_dockerd()
    wait_for("pod-b to run again", lambda: d.inspect("pod-b", "{{.State.Running}}") == "true")
    assert dk.netns("pod-b") == pod1
    assert dk.addresses("pod-b") == addr

    # A third container joins later.
    dk.run_in("pod-c")
    assert dk.netns("pod-c") == pod1
    assert dk.addresses("pod-c") == addr
    assert dk.pings("pod-c", f"{SUBNET}.1")

    # Docker never managed pod1: one interface, IPv6 not disabled there, no
    # bind of it under docker's netns folder.
    links = [l["ifname"] for l in ip_json("link", netns="pod1")]
    assert sorted(links) == ["eth0", "lo"]
    assert run(["ip", "netns", "exec", "pod1", "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"],
               check=True).stdout.strip() == "0"
    assert not os.path.exists("/run/docker/netns") or os.listdir("/run/docker/netns") == []
    assert inode("/run/netns/pod1") == pod1


COMPOSE = """version: "2.4"
services:
  app:
    image: nsmgr-busybox:test
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    runtime: nsmgr
    network_mode: none
    environment:
      NSMGR_NETNS: pod1
      NSMGR_NETWORK: lab
  sidecar:
    image: nsmgr-busybox:test
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    runtime: nsmgr
    network_mode: none
    restart: always
    environment:
      NSMGR_NETNS: pod1
    depends_on: [app]
"""


def test_docker_compose(docker):
    """The README's docker-compose example."""
    d, dk = docker, Docker(docker)
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose is not installed (tests/deps.sh installs it)")
    os.makedirs("/run/compose")
    with open("/run/compose/docker-compose.yml", "w") as f:
        f.write(COMPOSE)

    def compose(*args):
        p = subprocess.run(["docker-compose", "--no-ansi", "-p", "pod", *args], cwd="/run/compose", env=d.env,
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, f"docker-compose {' '.join(args)} failed:\n{p.stdout}{p.stderr}"

    compose("up", "-d")
    pod1 = inode("/run/netns/pod1")
    assert dk.netns("pod_app_1") == pod1 and dk.netns("pod_sidecar_1") == pod1
    addr = dk.addresses("pod_app_1")
    assert addr and addr == dk.addresses("pod_sidecar_1")
    compose("rm", "--stop", "--force", "app")
    assert dk.addresses("pod_sidecar_1") == addr
    compose("restart", "sidecar")
    assert dk.netns("pod_sidecar_1") == pod1 and dk.addresses("pod_sidecar_1") == addr
    compose("down")


# --- refusals ---------------------------------------------------------------------

def test_refusals_leave_nothing_behind(docker, nsmgr):
    d = docker
    nsmgr.ok("create", "pod1")
    before = sorted(os.listdir("/run/netns"))

    def refused(name, args, msg):
        p = d.docker("run", "-d", "--name", name, "--runtime", "nsmgr", *args, d.IMAGE, *CMD)
        assert p.returncode != 0, p.stdout
        assert msg in p.stderr, p.stderr
        assert d.inspect(name, "{{.State.Status}}") == "created"
        cid = d.inspect(name, "{{.Id}}")
        return cid

    cid = refused("on-bridge", ["--network", "bridge", "-e", "NSMGR_NETNS=pod1"], "OCI runtime create failed: nsmgr-runtime: container '")
    p = d.docker("start", "on-bridge")
    assert (f"nsmgr-runtime: container '{cid}' is on the docker network 'bridge'; to join 'pod1' it must run "
            f"with --network none") in p.stderr
    refused("on-host", ["--network", "host", "-e", "NSMGR_NETNS=pod1"],
            "nsmgr-runtime: container '")
    assert "is on the docker network 'host'" in d.docker("start", "on-host").stderr
    d.docker_ok("run", "-d", "--name", "other", "--network", "none", d.IMAGE, *CMD)
    # Docker binds the other container's /etc files here, so this one's
    # hostconfig.json is not found; its config.json joins /proc/PID/ns/net.
    refused("joiner", ["--network", "container:other", "-e", "NSMGR_NETNS=pod1"],
            "' already joins the network namespace /proc/")
    refused("missing", ["--network", "none", "-e", "NSMGR_NETNS=nope"],
            "nsmgr-runtime: namespace 'nope' does not exist (there is no /run/netns/nope); make it first")
    refused("bad-name", ["--network", "none", "-e", "NSMGR_NETNS=a/b"],
            "NSMGR_NETNS: invalid namespace name 'a/b': it must not contain '/'")
    refused("no-such-net", ["--network", "none", "-e", "NSMGR_NETNS=pod2", "-e", "NSMGR_NETWORK=nonet"],
            "nsmgr-runtime: container '")
    assert "nonet" in d.docker("start", "no-such-net").stderr

    # Nothing made: no pin (pod2 was made and removed again), no runc
    # container, pod1 as empty as it was.
    assert sorted(os.listdir("/run/netns")) == before
    state = run(["runc", "--root", "/run/docker/runtime-runc/moby", "list", "-q"], check=True).stdout.split()
    assert state == [d.inspect("other", "{{.Id}}")]
    assert [l["ifname"] for l in ip_json("link", netns="pod1")] == ["lo"]
    assert not [l for l in ip_json("link") if l["ifname"].startswith("vpod")]


def test_containers_that_ask_for_nothing_pass_through(docker):
    d = docker
    # As a named runtime, and as the default one.
    d.docker_ok("run", "-d", "--name", "plain", "--runtime", "nsmgr", d.IMAGE, *CMD)
    d.stop_dockerd()
    d.write_daemon_json({"default-runtime": "nsmgr"})
    d.start_dockerd()
    d.docker_ok("start", "plain")  # stopped with dockerd
    d.docker_ok("run", "-d", "--name", "dflt", d.IMAGE, *CMD)
    assert d.inspect("dflt", "{{.HostConfig.Runtime}}") == "nsmgr"
    for name in ("plain", "dflt"):
        # Docker's bridge network, set up by docker's own prestart hook.
        addr = d.inspect(name, "{{.NetworkSettings.IPAddress}}")
        assert addr.startswith("172.17."), addr
        assert d.docker("exec", name, "ping", "-c1", "-W2", "172.17.0.1").returncode == 0
        pid = d.outer_pid(d.inspect(name, "{{.State.Pid}}"))
        assert inode(f"/proc/{pid}/ns/net") != inode("/proc/self/ns/net")
    # docker info asks the default runtime for its version: runc's answer
    # comes through.
    info = json.loads(d.docker_ok("info", "--format", "{{json .}}"))
    assert info["DefaultRuntime"] == "nsmgr"
    assert info["RuncCommit"]["ID"] not in ("", "N/A")


# --- nsmgr's bridges next to dockerd ----------------------------------------------

TUTORIAL = os.path.join(ROOT, "conf", "bridge-tutorial.conf")


def test_nsmgr_bridge_next_to_dockerd(docker, nsmgr):
    """dockerd sets the FORWARD policy to DROP, and with br_netfilter (built
    into this machine's kernel; dockerd loads it elsewhere) every bridged
    IPv4 packet passes iptables' FORWARD while net.bridge.bridge-nf-call-
    iptables is 1. Per bridge, nf_call_iptables can only add a bridge to
    that, not take one out: nsmgr's bridges get it off, and a host that runs
    docker needs the sysctl declared off too (nsmgr.conf(5))."""
    d = docker
    if not os.path.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"):
        pytest.skip("this kernel has no bridge netfilter (CONFIG_BRIDGE_NETFILTER): dockerd cannot break bridges here")
    forward = run(["iptables", "-S", "FORWARD"], check=True).stdout
    assert "-P FORWARD DROP" in forward

    base = open(TUTORIAL).read()
    with open("/etc/nsmgr/tutorial.conf", "w") as f:
        f.write(base)
    nsmgr.ok("apply", "-c", "/etc/nsmgr/tutorial.conf")
    info = ip_json("-d", "link", "show", "br-study")[0]["linkinfo"]["info_data"]
    assert info["nf_call_iptables"] == 0 and info["nf_call_ip6tables"] == 0 and info["nf_call_arptables"] == 0

    def ping(ns, addr):
        return run(["ip", "netns", "exec", ns, "ping", "-c1", "-W1", addr]).returncode == 0

    # The gateway is the host (INPUT, not FORWARD): reachable.
    assert ping("red", "198.18.10.254") and ping("blue", "198.18.10.254")
    # Bridged between namespaces: docker's FORWARD drops it while the host's
    # sysctl asks the bridge to pass it through iptables.
    assert open("/proc/sys/net/bridge/bridge-nf-call-iptables").read().strip() == "1"
    assert not ping("red", "198.18.10.2")

    # Declared off in nsmgr's config (host sysctls), nsmgr's bridges work
    # while dockerd runs; docker's rules and policy are as docker made them.
    # A bridge declared with netfilter = true passes iptables even so.
    conf = base.replace("host = {", 'host = {\n  sysctls = [ "net.bridge.bridge-nf-call-iptables=0", '
                                    '"net.bridge.bridge-nf-call-ip6tables=0", '
                                    '"net.bridge.bridge-nf-call-arptables=0" ];', 1)
    conf = conf.replace('{ name = "br-study";',
                        '{ name = "br-fw"; addresses = [ "198.18.11.254/24" ]; netfilter = true; },\n    '
                        '{ name = "br-study";', 1)
    end = conf.rindex(")")  # of the namespaces list, the last thing in the file
    conf = conf[:end] + """, { name = "green";
    interfaces = ( { name = "eth0"; type = "veth"; bridge = "br-fw"; addresses = [ "198.18.11.1/24" ]; } ); },
  { name = "yellow";
    interfaces = ( { name = "eth0"; type = "veth"; bridge = "br-fw"; addresses = [ "198.18.11.2/24" ]; } ); }
""" + conf[end:]
    with open("/etc/nsmgr/tutorial.conf", "w") as f:
        f.write(conf)
    nsmgr.ok("apply", "-c", "/etc/nsmgr/tutorial.conf")
    assert ping("red", "198.18.10.2") and ping("blue", "198.18.10.1")
    assert run(["iptables", "-S", "FORWARD"], check=True).stdout == forward
    d.docker_ok("run", "-d", "--name", "web", d.IMAGE, *CMD)
    assert d.docker("exec", "web", "ping", "-c1", "-W2", "172.17.0.1").returncode == 0

    info = ip_json("-d", "link", "show", "br-fw")[0]["linkinfo"]["info_data"]
    assert info["nf_call_iptables"] == 1 and info["nf_call_ip6tables"] == 1 and info["nf_call_arptables"] == 1
    assert ping("green", "198.18.11.254")
    assert not ping("green", "198.18.11.2")


# --- containerd -----------------------------------------------------------------------

def test_ctr_joins_a_pinned_namespace(docker, nsmgr):
    d = docker
    nsmgr.ok("create", "pod1")
    run(["ip", "link", "add", "h-pod1", "type", "veth", "peer", "name", "eth0", "netns", "pod1"], check=True)
    run(["ip", "addr", "add", "198.18.41.1/24", "dev", "h-pod1"], check=True)
    run(["ip", "link", "set", "h-pod1", "up"], check=True)
    run(["ip", "-n", "pod1", "addr", "add", "198.18.41.2/24", "dev", "eth0"], check=True)
    run(["ip", "-n", "pod1", "link", "set", "eth0", "up"], check=True)

    image = f"docker.io/library/{d.IMAGE}"
    tarball = "/run/nsmgr-test-image.tar"
    d.docker_ok("save", "-o", tarball, d.IMAGE)
    d.ctr_ok("images", "import", tarball)
    assert image in d.ctr_ok("images", "ls", "-q").split()

    def start(cid):
        d.ctr_ok("run", "-d", "--null-io", "--with-ns", "network:/run/netns/pod1",
                 "--cgroup", f"{d.cgroup_parent}/{cid}", image, cid, *CMD)
        tasks = {l.split()[0]: l.split() for l in d.ctr_ok("tasks", "ls").splitlines()[1:]}
        assert tasks[cid][2] == "RUNNING"
        return d.outer_pid(tasks[cid][1])

    first = start("t1")
    assert inode(f"/proc/{first}/ns/net") == inode("/run/netns/pod1")
    d.ctr_ok("tasks", "kill", "-s", "SIGKILL", "t1")
    wait_for("t1 to stop", lambda: "STOPPED" in d.ctr_ok("tasks", "ls"))
    d.ctr_ok("tasks", "delete", "t1")
    d.ctr_ok("containers", "delete", "t1")
    assert not os.path.exists(f"/proc/{first}")

    second = start("t2")
    assert inode(f"/proc/{second}/ns/net") == inode("/run/netns/pod1")
    p = d.ctr("tasks", "exec", "--exec-id", "ping", "t2", "ping", "-c1", "-W2", "198.18.41.1")
    assert p.returncode == 0, p.stdout + p.stderr
    d.ctr_ok("tasks", "kill", "-s", "SIGKILL", "t2")


# --- in front of plain runc ---------------------------------------------------------

@pytest.fixture
def runc_root(sandbox):
    if not shutil.which("runc"):
        pytest.skip("runc is not installed (tests/deps.sh installs it)")
    if not is_static(BUSYBOX):
        pytest.skip(f"{BUSYBOX} is not a static binary: install busybox-static (tests/deps.sh does)")
    root = "/run/runc-shim"
    yield root
    for cid in run(["runc", "--root", root, "list", "-q"]).stdout.split():
        run(["runc", "--root", root, "delete", "--force", cid])
    remove_cgroups()
    assert cgroup_leftovers() == []


def shim(*args, cwd=None, env=None):
    """nsmgr-runtime ARGS. Its output goes to files, never to pipes: a
    container's process inherits them and would hold a pipe open."""
    with open("/run/shim.out", "w+") as out, open("/run/shim.err", "w+") as err:
        p = subprocess.run([RUNTIME, *args], stdout=out, stderr=err, cwd=cwd, env=env, timeout=60,
                           stdin=subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())


# Command lines as runc 1.1 reads them: B is the bundle, C the id. Each is
# run through nsmgr-runtime in front of the real runc: whenever runc makes
# a container of a bundle that asks for pod1, it must be in pod1.
COMMAND_LINES = [
    ["create", "--bundle", "B", "C"],
    ["create", "-b", "B", "C"],
    ["create", "-b=B", "C"],
    ["create", "--bundle=B", "C"],
    ["create", "-bundle", "B", "C"],
    ["create", "C", "--bundle", "B"],
    ["create", "C", "--no-pivot", "-b", "B"],
    ["create", "--pid-file", "P", "C", "-b", "B"],
    ["create", "-b", "B", "--", "C"],
    ["--", "create", "-b", "B", "C"],
    ["--debug=false", "create", "-b", "B", "C"],
    ["--log-format", "json", "-log", "L", "create", "-b", "B", "C"],
    ["create", "--preserve-fds", "0x0", "-b", "B", "C"],
    ["create", "--preserve-fds=0_0", "-b", "B", "C"],
    ["run", "-d", "--bundle", "B", "C"],
    ["run", "--detach", "C", "-b", "B"],
    ["run", "-d", "C", "--bundle", "B"],
    ["create", "-b", "B", "C", "D"],
    ["create", "-b", "B", "-b", "B", "C"],
    ["create", "-b", "B", "--bundle", "B", "C"],
    ["create", "--no-pivot=yes", "-b", "B", "C"],
    ["create", "--preserve-fds", "1__0", "-b", "B", "C"],
    ["create", "--bogus", "-b", "B", "C"],
    ["--bogus", "create", "-b", "B", "C"],
    ["--log-format", "xml", "create", "-b", "B", "C"],
    ["create", "C"],  # the bundle is the working directory
]


def test_runtime_reads_command_lines_as_runc_does(runc_root, nsmgr):
    nsmgr.ok("create", "pod1")
    pod1 = inode("/run/netns/pod1")
    bundle = make_bundle("/run/shim-bundle", ["sleep", "600"])
    c = read_config(bundle)
    c["process"]["env"].append("NSMGR_NETNS=pod1")
    write_config(bundle, c)
    original = open(os.path.join(bundle, "config.json")).read()
    made = 0
    for i, words in enumerate(COMMAND_LINES):
        cid = f"c{i}"
        names = {"B": bundle, "C": cid, "D": "d", "P": f"/run/pid-{i}", "L": f"/run/log-{i}"}
        args = ["--root", runc_root] + [re.sub(r"(^|=)([BCDPL])$", lambda m: m[1] + names[m[2]], w) for w in words]
        with open(os.path.join(bundle, "config.json"), "w") as f:
            f.write(original)
        p = shim(*args, cwd=bundle)
        state = run(["runc", "--root", runc_root, "state", cid])
        if state.returncode != 0:
            continue
        made += 1
        pid = json.loads(state.stdout)["pid"]
        assert inode(f"/proc/{pid}/ns/net") == pod1, f"{words}: runc made {cid} outside pod1\n{p.stderr}"
        run(["runc", "--root", runc_root, "delete", "--force", cid], check=True)
    # Not a test that cannot fail: most of these lines make a container.
    assert made == 17


def test_runtime_errors_where_runc_writes_them(runc_root, nsmgr):
    bundle = make_bundle("/run/shim-bundle", ["sleep", "600"])
    c = read_config(bundle)
    c["process"]["env"].append("NSMGR_NETNS=nope")
    write_config(bundle, c)
    msg = ("nsmgr-runtime: namespace 'nope' does not exist (there is no /run/netns/nope); make it first "
           "(nsmgrctl create nope, or declare it in nsmgr.conf), or name an nsmgr network in NSMGR_NETWORK "
           "to have it made and attached")

    # --log FILE in json (what containerd asks for): the entry there, the
    # sentence on stderr.
    log = "/run/shim-log.json"
    p = shim("--root", runc_root, "--log", log, "--log-format", "json", "create", "-b", bundle, "c1")
    assert p.returncode == 1
    assert p.stderr == msg + "\n"
    entry = json.loads(open(log).read().splitlines()[-1])
    assert entry["level"] == "error" and entry["msg"] == msg
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", entry["time"])
    # No --log: runc's text format on stderr.
    p = shim("--root", runc_root, "create", "-b", bundle, "c1")
    assert p.returncode == 1
    assert re.fullmatch(r'time="[^"]+" level=error msg="' + re.escape(msg) + '"\n', p.stderr), p.stderr
    assert run(["runc", "--root", runc_root, "list", "-q"]).stdout.split() == []

    # The runtime itself, and its options.
    p = shim("--runtime-path", "/nonexistent/runc", "--log", log, "--log-format", "json", "state", "c1")
    assert p.returncode == 1
    assert p.stderr == "nsmgr-runtime: cannot run the real runtime /nonexistent/runc: No such file or directory\n"
    p = shim("--root", runc_root, "--runtime-path")
    assert p.returncode == 1 and "option '--runtime-path' needs a value" in p.stderr
    p = shim("--runtime-path", RUNTIME, "state", "c1")
    assert p.returncode == 1 and "is nsmgr-runtime itself" in p.stderr
    env = dict(os.environ, NSMGR_RUNTIME_PATH="/nonexistent/crun")
    p = shim("list", env=env)
    assert "cannot run the real runtime /nonexistent/crun" in p.stderr
    p = shim("--version")
    assert p.returncode == 0
    assert p.stdout.startswith("nsmgr-runtime version ") and "\nrunc version " in p.stdout

    # The helper for networks: next to nsmgr-runtime (a build tree), else
    # where make install puts it.
    os.makedirs("/run/lone")
    shutil.copy(RUNTIME, "/run/lone/nsmgr-runtime")
    c["process"]["env"].append("NSMGR_NETWORK=lab")
    write_config(bundle, c)
    p = subprocess.run(["/run/lone/nsmgr-runtime", "--root", runc_root, "create", "-b", bundle, "c1"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 1
    assert re.search(r"cannot run /\S+/libexec/nsmgr/nsmgr-runtime-network: No such file or directory", p.stderr), p.stderr


def test_runtime_annotation_next_to_the_oci_hook(runc_root, nsmgr):
    """org.nsmgr.netns (podman, containerd, docker >= 24) with the OCI hook
    installed too: the hook leaves the runtime's request alone."""
    nsmgr.ok("create", "pod1")
    bundle = make_bundle("/run/shim-bundle", ["sleep", "600"], annotations={"org.nsmgr.netns": "pod1"},
                         hooks=pin_hook(NSMGRCTL))
    p = shim("--root", runc_root, "create", "--bundle", bundle, "c1")
    assert p.returncode == 0, p.stderr
    pid = json.loads(run(["runc", "--root", runc_root, "state", "c1"], check=True).stdout)["pid"]
    assert inode(f"/proc/{pid}/ns/net") == inode("/run/netns/pod1")
    nets = [n for n in read_config(bundle)["linux"]["namespaces"] if n["type"] == "network"]
    assert nets == [{"type": "network", "path": "/run/netns/pod1"}]


# --- what a call costs ----------------------------------------------------------------

def toolchain_has(*files):
    cc = os.environ.get("CC", "cc")
    return all(os.path.isfile(run([cc, f"-print-file-name={f}"], check=True).stdout.strip()) for f in files)


def sanitized(binary):
    """Built with AddressSanitizer (make asan): it needs libasan, which
    cannot be linked statically and opens files of its own at start."""
    with open(binary, "rb") as f:
        return b"libasan.so" in f.read()


def test_runtime_needs_no_dynamic_loader():
    """docker calls the runtime four times a `docker run` (bench/docker):
    where the toolchain can, it is one static PIE, with no ld.so and no
    libc.so to load on every call (RUNTIME_STATIC, Makefile)."""
    if sanitized(RUNTIME):
        pytest.skip("a sanitizer's build links glibc shared (make asan)")
    if os.environ.get("RUNTIME_STATIC", "full") != "full":
        pytest.skip(f"built with RUNTIME_STATIC={os.environ['RUNTIME_STATIC']}")
    if not toolchain_has("libc.a", "rcrt1.o", "libnl-3.a", "libnl-route-3.a", "libjson-c.a"):
        pytest.skip("no static glibc or libnl/json-c archives: the Makefile links glibc shared")
    assert is_static(RUNTIME), f"{RUNTIME} has a program interpreter: the Makefile did not link it statically"
    with open(RUNTIME, "rb") as f:
        head = f.read(18)
    assert int.from_bytes(head[16:18], "little") == 3, "not a PIE (ET_DYN): -static-pie was not used"


@pytest.mark.parametrize("verb", [["start", "c1"], ["delete", "c1"], ["delete", "--force", "c1"],
                                  ["kill", "c1", "9"], ["state", "c1"], ["exec", "--process", "p.json", "c1"]])
def test_runtime_other_verbs_go_straight_to_runc(nsmgr, tmp_path, verb):
    """Every verb but create and run execs the real runtime before it opens
    a file or a socket: no config.json, no nsmgr config, no netlink."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    if sanitized(RUNTIME):
        pytest.skip("AddressSanitizer reads /proc before main() (make asan)")
    nsmgr.ok("create", "pod1")
    bundle = make_bundle(str(tmp_path / "bundle"), ["sleep", "600"])
    c = read_config(bundle)
    c["process"]["env"].append("NSMGR_NETNS=pod1")
    write_config(bundle, c)
    trace = str(tmp_path / "trace")
    subprocess.run(["strace", "-f", "-qq", "-o", trace, "-e", "trace=execve,open,openat,socket",
                    RUNTIME, "--runtime-path", "/bin/true", "--root", str(tmp_path / "root"), "--log",
                    str(tmp_path / "log.json"), "--log-format", "json", *verb], check=True, cwd=bundle,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    lines = open(trace).read().splitlines()
    execs = [i for i, line in enumerate(lines) if "execve(" in line and "= 0" in line]
    assert len(execs) == 2 and '"/bin/true"' in lines[execs[1]], lines
    # A shared glibc (RUNTIME_STATIC=libs) is the dynamic loader's to open.
    before = [line for line in lines[execs[0] + 1:execs[1]]
              if not re.search(r'"/etc/ld\.so\.(cache|preload)"|\.so(\.\d+)*"', line)]
    assert before == [], f"nsmgr-runtime {' '.join(verb)} did work before exec'ing the runtime: {before}"
    assert read_config(bundle) == c

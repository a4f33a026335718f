"""Issue 14: podman 4.3 with its CNI backend (network_backend = "cni") on
an nsmgr network: `podman run --network nsmgr-lab` gets an nsmgr lease,
reaches the gateway and other pods, a published port works, and --rm
releases the lease. Podman's configuration, storage and state, and the
CNI configuration folder, are all inside the test's sandbox and tmp_path.

Checked with tools nsmgr did not write: podman inspect, busybox's ip and
ping inside the container, a TCP client on the host, nft -j, the lease
files."""

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BUILD, ip_json, run
from containers import BUSYBOX, is_static, make_rootfs

LEASES = "/var/lib/nsmgr/ipam/lab"
GATEWAY = "198.18.20.1"
LAB = 'networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; masquerade = true; } );\n'
IMAGE = "localhost/nsmgr-busybox:test"
# What podman needs on this machine (see test_runtimes.py): no cgroups
# (crun 1.8 cannot use the hybrid layout), limits within the hard ones,
# NET_RAW for busybox's ping.
RUN = ["run", "--cgroups=disabled", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
       "--cap-add", "NET_RAW", "--network", "nsmgr-lab"]


def leases():
    out = {}
    for name in os.listdir(LEASES) if os.path.isdir(LEASES) else []:
        if not name.startswith("."):
            with open(os.path.join(LEASES, name)) as f:
                out[name] = dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
    return out


def wait_for(what, pred, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def podman(nsmgr, sandbox, tmp_path):
    for tool in ("podman", "crun", "conmon"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (tests/deps.sh installs it)")
    if not is_static(BUSYBOX):
        pytest.skip(f"{BUSYBOX} is not a static binary: install busybox-static (tests/deps.sh does)")
    if os.path.ismount("/sys/fs/cgroup/unified"):
        run(["umount", "-l", "/sys/fs/cgroup/unified"], check=True)
    # Podman's lock file lives in /dev/shm: keep it in the sandbox.
    run(["mount", "-t", "tmpfs", "tmpfs", "/dev/shm"], check=True)
    with open("/etc/nsmgr/nsmgr.conf", "w") as f:
        f.write(LAB)
    nsmgr.ok("apply")

    netd = tmp_path / "net.d"
    netd.mkdir()
    (netd / "10-nsmgr-lab.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0", "name": "nsmgr-lab",
        "plugins": [{"type": "nsmgr", "network": "lab", "capabilities": {"portMappings": True}}]}))
    conf = tmp_path / "containers.conf"
    conf.write_text("[network]\n"
                    'network_backend = "cni"\n'
                    f'cni_plugin_dirs = ["{os.path.join(BUILD, "cni")}", "/usr/lib/cni"]\n'
                    f'network_config_dir = "{netd}"\n')
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "tmp").mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), TMPDIR=str(tmp_path / "tmp"),
               CONTAINERS_CONF=str(conf))
    base = ["podman", "--root", "/run/podman-test/storage", "--runroot", "/run/podman-test/run",
            "--tmpdir", "/run/podman-test/tmp", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file"]

    def pm(*args, timeout=120):
        return subprocess.run(base + list(args), capture_output=True, text=True, env=env, timeout=timeout)

    rootfs = tmp_path / "rootfs"
    make_rootfs(str(rootfs))
    os.makedirs(rootfs / "www")
    (rootfs / "www" / "index.html").write_text("pong\n")
    run(["tar", "-C", str(rootfs), "-cf", str(tmp_path / "busybox.tar"), "."], check=True)
    p = pm("import", str(tmp_path / "busybox.tar"), IMAGE)
    assert p.returncode == 0, p.stderr
    p = pm("info", "--format", "{{.Host.NetworkBackend}}")
    assert p.stdout.strip() == "cni", p.stdout + p.stderr
    try:
        yield pm
    finally:
        pm("rm", "--all", "--force", "--time", "0")


def http_get(addr, port):
    with socket.create_connection((addr, port), timeout=5) as s:
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.decode(errors="replace")


def test_podman_run_gets_an_nsmgr_lease_and_rm_releases_it(podman):
    assert leases() == {}
    p = podman(*RUN, "--rm", IMAGE, "sh", "-c", f"ip -o -4 addr show dev eth0; ping -c1 -W2 {GATEWAY}")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "inet 198.18.20." in p.stdout and "1 packets received" in p.stdout
    # --rm: gone, and its lease with it.
    assert leases() == {}
    assert ip_json("link", "show", "master", "br-lab") == []


def test_podman_pod_with_a_published_port(podman):
    p = podman(*RUN, "-d", "--rm", "--name", "web", "-p", "18080:80", IMAGE, "httpd", "-f", "-p", "80", "-h", "/www")
    assert p.returncode == 0, p.stdout + p.stderr
    cid = p.stdout.strip()
    info = json.loads(podman("inspect", "web").stdout)[0]
    addr = info["NetworkSettings"]["Networks"]["nsmgr-lab"]["IPAddress"]
    assert addr.startswith("198.18.20.")
    # The lease is the container's, by the ID podman gave it to CNI.
    lease = leases()[addr]
    assert lease["container"] == cid and lease["cni_network"] == "nsmgr-lab" and lease["origin"] == "cni"
    assert lease["path"] == info["NetworkSettings"]["SandboxKey"]
    assert lease["ports"] == "18080:80/tcp"

    # The host reaches it, it reaches the gateway, and the published port
    # answers on the host's loopback and on the gateway address.
    run(["ping", "-c1", "-W2", addr], check=True)
    p = podman("exec", "web", "ping", "-c1", "-W2", GATEWAY)
    assert p.returncode == 0, p.stdout + p.stderr
    wait_for("httpd to listen", lambda: podman("exec", "web", "netstat", "-ltn").stdout.count(":80 ") > 0)
    assert "pong" in http_get("127.0.0.1", 18080)
    assert "pong" in http_get(GATEWAY, 18080)
    nft = run(["nft", "-j", "list", "table", "inet", "nsmgr"], check=True).stdout
    assert addr in nft

    # A second container reaches the first across the bridge.
    p = podman(*RUN, "--rm", IMAGE, "ping", "-c1", "-W2", addr)
    assert p.returncode == 0, p.stdout + p.stderr

    p = podman("stop", "--time", "1", "web")
    assert p.returncode == 0, p.stderr
    wait_for("web to be removed (--rm)", lambda: podman("container", "exists", "web").returncode != 0)
    assert leases() == {}
    assert addr not in run(["nft", "-j", "list", "table", "inet", "nsmgr"], check=True).stdout
    assert ip_json("link", "show", "master", "br-lab") == []

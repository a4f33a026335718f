"""Issue 14: containerd 1.6 (Debian's) with its CRI plugin, driven as
kubelet drives it, with /etc/cni/net.d/10-nsmgr.conflist naming the nsmgr
plugin: pods get nsmgr leases, reach each other, the host and the
gateway, publish a port, keep their address across a containerd restart,
and release it on StopPodSandbox / RemovePodSandbox.

containerd's root, state, socket and CNI folders are in the test's
sandbox (tests/lib/cri.py); the CRI client is compiled at test time from
the vendored CRI v1 api.proto. Checked with tools nsmgr did not write:
the CRI's own answers (PodSandboxStatus, ExecSync of busybox's ip and
ping), ping and a TCP client on the host, ip -j, the lease files."""

import json
import os
import socket
import time

import pytest

from conftest import BUILD, ip_json, run

LEASES = "/var/lib/nsmgr/ipam/lab"
GATEWAY = "198.18.20.1"
LAB = 'networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.20.0/24"; masquerade = true; } );\n'
CONFLIST = {"cniVersion": "1.0.0", "name": "nsmgr-lab",
            "plugins": [{"type": "nsmgr", "network": "lab", "capabilities": {"portMappings": True}}]}


def leases():
    out = {}
    for name in os.listdir(LEASES) if os.path.isdir(LEASES) else []:
        if not name.startswith("."):
            with open(os.path.join(LEASES, name)) as f:
                out[name] = dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
    return out


def wait_for(what, pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def http_get(addr, port):
    with socket.create_connection((addr, port), timeout=5) as s:
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.decode(errors="replace")


@pytest.fixture
def containerd(nsmgr, sandbox, tmp_path):
    import cri
    why = cri.missing()
    if why:
        pytest.skip(why)
    with open("/etc/nsmgr/nsmgr.conf", "w") as f:
        f.write(LAB)
    nsmgr.ok("apply")
    # containerd's bin_dir: the nsmgr plugin, and loopback, which its CRI
    # plugin runs for every pod's lo.
    bindir = tmp_path / "cni-bin"
    bindir.mkdir()
    os.symlink(os.path.join(BUILD, "cni", "nsmgr"), bindir / "nsmgr")
    os.symlink("/usr/lib/cni/loopback", bindir / "loopback")
    env = cri.Containerd(sandbox, tmp_path, str(bindir))
    # The CNI configuration where kubelet's nodes have it, in the sandbox
    # (a tmpfs over /etc/cni there, made before containerd starts).
    orig_start = env._start_namespace

    def start_namespace():
        orig_start()
        with open("/etc/cni/net.d/10-nsmgr.conflist", "w") as f:
            json.dump(CONFLIST, f)
    env._start_namespace = start_namespace
    with env:
        yield env
    assert env.cgroup_leftovers() == []


def test_pods_under_containerds_cri(containerd):
    c = containerd
    # Pod A with a published port, pod B without.
    a_id, a_cfg = c.run_pod("pod-a", ports=[(18081, 80)])
    b_id, b_cfg = c.run_pod("pod-b")
    a_ip, a_info = c.pod_ip(a_id)
    b_ip, _ = c.pod_ip(b_id)
    assert a_ip.startswith("198.18.20.") and b_ip.startswith("198.18.20.") and a_ip != b_ip

    # The leases are the pods', as the CRI named them to CNI.
    ls = leases()
    assert ls[a_ip]["container"] == a_id and ls[b_ip]["container"] == b_id
    assert ls[a_ip]["cni_network"] == "nsmgr-lab" and ls[a_ip]["interface"] == "eth0"
    netns = json.loads(a_info["info"])["runtimeSpec"]["linux"]["namespaces"]
    (path,) = [n["path"] for n in netns if n["type"] == "network"]
    assert ls[a_ip]["path"] == path and path.startswith("/var/run/netns/cni-")
    assert ls[a_ip]["ports"] == "18081:80/tcp"

    ca = c.run_container(a_id, a_cfg, "web", ["httpd", "-f", "-p", "80", "-h", "/www"])
    cb = c.run_container(b_id, b_cfg, "client", ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"])
    rc, out = c.exec(cb, "ip", "-o", "-4", "addr", "show", "dev", "eth0")
    assert rc == 0 and f"inet {b_ip}/24" in out, out
    # Pod to pod, pod to gateway, host to pod.
    for target in (a_ip, GATEWAY):
        rc, out = c.exec(cb, "ping", "-c1", "-W2", target)
        assert rc == 0, out
    run(["ping", "-c1", "-W2", b_ip], check=True)
    # The published port, from the host and from the other pod (hairpin).
    wait_for("httpd in pod A", lambda: c.exec(ca, "netstat", "-ltn")[1].count(":80 ") > 0)
    assert "pong" in http_get("127.0.0.1", 18081)
    rc, out = c.exec(cb, "wget", "-q", "-O", "-", f"http://{GATEWAY}:18081/index.html")
    assert rc == 0 and "pong" in out, out

    # containerd restarted: the pods keep their addresses and leases.
    c.restart()
    assert c.pod_ip(a_id)[0] == a_ip and c.pod_ip(b_id)[0] == b_ip
    assert set(leases()) == {a_ip, b_ip}
    rc, out = c.exec(cb, "ping", "-c1", "-W2", a_ip)
    assert rc == 0, out

    # Stop releases the lease (CNI DEL); remove takes the pod's namespace.
    c.stop_pod(a_id)
    assert set(leases()) == {b_ip}
    assert a_ip not in run(["nft", "-j", "list", "table", "inet", "nsmgr"], check=True).stdout
    c.remove_pod(a_id)
    assert not os.path.exists(path)
    c.stop_pod(b_id)
    c.remove_pod(b_id)
    assert leases() == {}
    assert ip_json("link", "show", "master", "br-lab") == []

"""containerd 1.6 with its CRI plugin in a sandbox, and a minimal CRI
client that does what kubelet does (RunPodSandbox, CreateContainer,
StartContainer, ExecSync, PodSandboxStatus, StopPodSandbox,
RemovePodSandbox), for the tests of nsmgr's CNI plugin.

The client is generated at test time from tests/cri/api.proto (the CRI v1
interface of kubernetes/cri-api, vendored) with python3-grpc-tools into a
temporary folder; no generated code is kept in the tree.

containerd runs in a PID namespace of its own whose PID 1 is a reaper, in
a mount namespace made from the test's sandbox with propagation unchanged:
its root, state, socket and CNI configuration are under the sandbox's /run
and tmpfs mounts, /run/netns is a shared mount first (so the pins
containerd makes for pods, /var/run/netns/cni-UUID, are seen by the test),
and everything else it mounts stays in its namespace. containerd can be
stopped and started again while the pods (their shims) live on; ending
the PID namespace's PID 1 makes the kernel kill whatever is left. The
cgroupfs driver puts every pod under a cgroup of the test's own name,
which is removed at the end. Images are imported with `ctr images import`
from a tarball made here (a busybox-static root file system), the sandbox
image tagged as containerd's configured one: no registry."""

import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

from containers import make_rootfs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(ROOT, "tests", "cri", "api.proto")
CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
WORK = "/run/nsmgr-cri"
SOCK = f"{WORK}/containerd.sock"
SANDBOX_IMAGE = "registry.k8s.io/pause:3.6"    # containerd 1.6's default, imported, never pulled
IMAGE = "nsmgr.test/busybox:1"

REAPER = r"""
import os, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_DFL)
sys.stdout.write("ready\n"); sys.stdout.flush()
while True:
    try:
        os.wait()
    except ChildProcessError:
        signal.pause()
    except InterruptedError:
        pass
"""

# PID 1 of the new PID namespace, in the new mount namespace: a /proc of
# its PID namespace, a sysfs of the sandbox's network namespace (with the
# machine's cgroup tree moved back under it), then the reaper.
SETUP = r"""
set -e
mount -t proc proc /proc
mkdir -p {work}/cgroup-move
mount --rbind /sys/fs/cgroup {work}/cgroup-move
mount -t sysfs sysfs /sys
mount --move {work}/cgroup-move /sys/fs/cgroup
exec /usr/bin/python3 -c "$REAPER"
"""


class Missing(Exception):
    """A precondition is missing: the test is skipped with this reason."""


def missing():
    for tool in (CONTAINERD, CTR, "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc", "nsenter", "unshare"):
        if not shutil.which(tool):
            return f"{tool} is not installed (tests/deps.sh installs containerd and runc)"
    try:
        import grpc  # noqa: F401
        import grpc_tools.protoc  # noqa: F401
    except ImportError:
        return "python3-grpcio and python3-grpc-tools are not installed (tests/deps.sh installs them)"
    return None


def compile_api(outdir):
    """api_pb2 and api_pb2_grpc from the vendored proto; the gogoproto
    options (for Go's generator) are left out, they change nothing on the
    wire."""
    from grpc_tools import protoc
    text = open(PROTO).read()
    text = re.sub(r'^import "github.com/gogo/protobuf/gogoproto/gogo.proto";\n', "", text, flags=re.M)
    text = re.sub(r"^option \(gogoproto\.[^\n]*;\n", "", text, flags=re.M)
    with open(os.path.join(outdir, "api.proto"), "w") as f:
        f.write(text)
    import grpc_tools
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = ["protoc", f"-I{outdir}", f"-I{include}", f"--python_out={outdir}", f"--grpc_python_out={outdir}",
            os.path.join(outdir, "api.proto")]
    if protoc.main(args) != 0:
        raise AssertionError("grpc_tools.protoc could not compile tests/cri/api.proto")
    sys.path.insert(0, outdir)
    import api_pb2
    import api_pb2_grpc
    return api_pb2, api_pb2_grpc


def image_tarball(path, tags, rootfs):
    """A `docker save` tarball of one layer (rootfs) with tags."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        t.add(rootfs, arcname=".")
    layer = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": tags, "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in ((cfg_name, config), ("layer/layer.tar", layer), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


class Containerd:
    """containerd with the CRI plugin, CNI from conf_dir and bin_dir."""

    def __init__(self, sandbox, tmp_path, bin_dir, conf_dir="/etc/cni/net.d"):
        self.sandbox = sandbox
        self.tmp = str(tmp_path)
        self.bin_dir = bin_dir
        self.conf_dir = conf_dir
        self.cgroup_parent = f"/nsmgr-test-{os.getpid()}-cri"
        self.init = None
        self.init_pid = None
        self.proc = None
        self.log = open(os.path.join(self.tmp, "containerd.log"), "a")
        self.api = self.rpc = self.channel = None

    def __enter__(self):
        try:
            self._start_namespace()
            self._write_config()
            self.start()
            self._import_images()
            self._connect()
        except BaseException:
            self._end()
            raise
        return self

    def __exit__(self, *exc):
        self._end()
        return False

    # --- the namespaces ----------------------------------------------------------

    def _start_namespace(self):
        os.makedirs(WORK, exist_ok=True)
        # Pins made inside (pods' namespaces) come out: /run/netns shared in
        # a peer group of its own, as iproute2 makes it.
        os.makedirs("/run/netns", exist_ok=True)
        subprocess.run(["mount", "--bind", "/run/netns", "/run/netns"], check=True)
        subprocess.run(["mount", "--make-private", "/run/netns"], check=True)
        subprocess.run(["mount", "--make-shared", "/run/netns"], check=True)
        for d in ("/var/lib/containerd", "/run/containerd", "/etc/cni", "/var/lib/cni", "/opt/containerd"):
            os.makedirs(d, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
        os.makedirs(self.conf_dir, exist_ok=True)
        if os.path.ismount("/sys/fs/cgroup/unified"):
            subprocess.run(["umount", "-l", "/sys/fs/cgroup/unified"], check=True)
        self.init = self.sandbox.spawn(
            ["unshare", "--pid", "--fork", "--mount", "--propagation", "unchanged", "--", "/bin/sh", "-c",
             SETUP.format(work=WORK)],
            env=dict(os.environ, REAPER=REAPER), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        if self.init.stdout.readline().strip() != "ready":
            raise AssertionError("the PID namespace for containerd did not start")
        # The reaper: unshare's only child.
        with open(f"/proc/{self.init.pid}/task/{self.init.pid}/children") as f:
            self.init_pid = int(f.read().split()[0])

    def _write_config(self):
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        with open(f"{WORK}/config.toml", "w") as f:
            f.write(f"""version = 2
root = "{WORK}/root"
state = "{WORK}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{SOCK}"
[ttrpc]
  address = "{SOCK}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{WORK}/opt"
[{cri}]
  sandbox_image = "{SANDBOX_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  enable_selinux = false
  # A pod's oom_score_adj (-998 for the pause container) below
  # containerd's own needs CAP_SYS_RESOURCE, which processes here lack.
  restrict_oom_score_adj = true
  [{cri}.containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
  [{cri}.cni]
    bin_dir = "{self.bin_dir}"
    conf_dir = "{self.conf_dir}"
    max_conf_num = 1
""")

    def start(self):
        """containerd, in the PID and mount namespace of PID 1 above."""
        self.proc = self.sandbox.spawn(
            ["nsenter", "--target", str(self.init_pid), "--pid", "--mount", "--",
             CONTAINERD, "--config", f"{WORK}/config.toml"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"containerd exited with {self.proc.returncode}: see {self.log.name}")
            p = subprocess.run([CTR, "--address", SOCK, "version"], capture_output=True, text=True)
            if p.returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"containerd did not answer within 120 s: see {self.log.name}")

    def stop(self):
        """SIGTERM to containerd; the pods and their shims live on."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.channel.close()

    def restart(self):
        self.stop()
        self.start()
        self._connect()

    def ctr(self, *args):
        p = subprocess.run([CTR, "--address", SOCK, "--namespace", "k8s.io", *args], capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed:\n{p.stdout}{p.stderr}")
        return p.stdout

    def _import_images(self):
        rootfs = os.path.join(self.tmp, "image-rootfs")
        make_rootfs(rootfs)
        os.makedirs(os.path.join(rootfs, "www"))
        with open(os.path.join(rootfs, "www", "index.html"), "w") as f:
            f.write("pong\n")
        tarball = os.path.join(self.tmp, "image.tar")
        image_tarball(tarball, [IMAGE], rootfs)
        self.ctr("images", "import", "--snapshotter", "native", tarball)
        # The sandbox (pause) image is the same busybox, under containerd's name.
        self.ctr("images", "tag", IMAGE, SANDBOX_IMAGE)

    def _connect(self):
        import grpc
        if self.api is None:
            gen = tempfile.mkdtemp(dir=self.tmp)
            self.api, self.rpc = compile_api(gen)
        self.channel = grpc.insecure_channel(f"unix://{SOCK}")
        self.runtime = self.rpc.RuntimeServiceStub(self.channel)
        # The CRI plugin is up when it says its network is ready.
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                st = self.runtime.Status(self.api.StatusRequest(), timeout=10)
                if all(c.status for c in st.status.conditions):
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the CRI plugin did not become ready: see {self.log.name}")

    # --- what kubelet does ---------------------------------------------------------

    def run_pod(self, name, ports=()):
        a = self.api
        cfg = a.PodSandboxConfig(
            metadata=a.PodSandboxMetadata(name=name, uid=f"uid-{name}", namespace="default", attempt=0),
            hostname=name, log_directory=os.path.join(self.tmp, "logs", name),
            port_mappings=[a.PortMapping(protocol=a.TCP, container_port=c, host_port=h) for h, c in ports],
            linux=a.LinuxPodSandboxConfig(cgroup_parent=f"{self.cgroup_parent}/{name}"))
        r = self.runtime.RunPodSandbox(a.RunPodSandboxRequest(config=cfg), timeout=180)
        return r.pod_sandbox_id, cfg

    def run_container(self, pod_id, pod_cfg, name, command):
        a = self.api
        cfg = a.ContainerConfig(
            metadata=a.ContainerMetadata(name=name, attempt=0), image=a.ImageSpec(image=IMAGE),
            command=command, log_path=f"{name}.log",
            linux=a.LinuxContainerConfig(security_context=a.LinuxContainerSecurityContext(
                capabilities=a.Capability(add_capabilities=["NET_RAW"]))))
        c = self.runtime.CreateContainer(a.CreateContainerRequest(pod_sandbox_id=pod_id, config=cfg,
                                                                  sandbox_config=pod_cfg), timeout=180)
        self.runtime.StartContainer(a.StartContainerRequest(container_id=c.container_id), timeout=180)
        return c.container_id

    def pod_ip(self, pod_id):
        st = self.runtime.PodSandboxStatus(self.api.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=True),
                                           timeout=60)
        return st.status.network.ip, st.info

    def exec(self, cid, *cmd):
        r = self.runtime.ExecSync(self.api.ExecSyncRequest(container_id=cid, cmd=list(cmd), timeout=30), timeout=60)
        return r.exit_code, r.stdout.decode() + r.stderr.decode()

    def stop_pod(self, pod_id):
        self.runtime.StopPodSandbox(self.api.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=180)

    def remove_pod(self, pod_id):
        self.runtime.RemovePodSandbox(self.api.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=180)

    # --- the end -------------------------------------------------------------------------

    def _pids_in_namespace(self):
        if not self.init_pid:
            return []
        try:
            ns = os.readlink(f"/proc/{self.init_pid}/ns/pid")
        except OSError:
            return []
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.readlink(f"/proc/{d}/ns/pid") == ns:
                        out.append(int(d))
                except OSError:
                    pass
        return out

    def _end(self):
        # Pods first, as kubelet would, so their CNI DEL runs; then every
        # process of the PID namespace, by ending its PID 1.
        if self.channel is not None and self.proc is not None and self.proc.poll() is None:
            try:
                pods = self.runtime.ListPodSandbox(self.api.ListPodSandboxRequest(), timeout=30).items
                for p in pods:
                    self.stop_pod(p.id)
                    self.remove_pod(p.id)
            except Exception:  # noqa: BLE001 -- the kill below ends them anyway
                pass
        if self.channel is not None:
            self.channel.close()
        if self.init_pid:
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.time() + 30
            while self._pids_in_namespace() and time.time() < deadline:
                time.sleep(0.05)
        for p in (self.proc, self.init):
            if p is not None:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        self._remove_cgroups()
        self.log.close()

    def cgroup_leftovers(self):
        out = []
        top = self.cgroup_parent.lstrip("/")
        for hier in os.listdir("/sys/fs/cgroup"):
            d = os.path.join("/sys/fs/cgroup", hier, top)
            if os.path.isdir(d):
                out.append(d)
        return out

    def _remove_cgroups(self):
        for d in self.cgroup_leftovers():
            for sub, _, _ in sorted(os.walk(d), key=lambda x: -len(x[0])):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass

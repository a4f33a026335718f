"""A real dockerd (Debian's docker.io) and containerd inside a test's
Sandbox, so system tests can drive `docker run` and `ctr run` as a user
would, without touching the machine's docker.

    with Sandbox() as sb, DockerSandbox(sb, runtimes={"nsmgr": path}) as d:
        d.docker("run", "-d", "--runtime", "nsmgr", ..., d.IMAGE, "sleep", "600")
        d.outer_pid(d.inspect(cid, "{{.State.Pid}}"))

Design
------
Namespaces.  The daemons run in a new PID and mount namespace (`unshare
--pid --mount --fork`) whose PID 1 is a small reaper (reaper.py below), in
the Sandbox's network namespace, which plays "the host": docker0, docker's
iptables rules and nsmgr's bridges live side by side there, as on a
machine that runs both.  The test itself stays outside; it talks to dockerd
and containerd through their sockets in /run (the Sandbox's tmpfs), and
translates the PIDs they report (PIDs of their namespace) with NSpid.

Mounts.  Before the daemons start, the test's mount namespace gets tmpfs
mounts on /var/lib/docker, /var/lib/containerd and /etc/docker (under the
Sandbox's copy-on-write /etc and /var/lib and tmpfs /run), so the state of
docker is in memory and visible to the test.  /run/netns is made a shared
mount in its own peer group first (as `ip netns add` does), and the
daemons' mount namespace is made with propagation unchanged: a pin made by
the test is seen by the runtime that dockerd runs, and one made by the
runtime (nsmgr-runtime creating a namespace) is seen by the test.  All
other mounts are private (the Sandbox made / rprivate), so what docker and
containerd mount (overlays, shm, netns binds) stays in their namespace and
goes with it.  Inside, PID 1's first act is a fresh /proc (of the new PID
namespace) and a fresh sysfs (of the Sandbox's network namespace, so
/sys/class/net shows its links), with the machine's cgroup tree moved back
under it.  `modprobe` is a stub that fails, first in PATH: dockerd asks for
br_netfilter and friends, and kernel modules are the machine's.

Cgroups.  dockerd runs with the cgroupfs driver (no systemd) and
`--cgroup-parent /nsmgr-test-docker-PID-N`; containerd's `ctr run` is given a
cgroup under the same folder.  This machine has a hybrid cgroup layout (v1
controllers, cgroup2 on /sys/fs/cgroup/unified): runc makes the folder in
every hierarchy, and the harness removes them, bottom-up, once the
processes are gone.

Ending.  SIGKILL to the PID namespace's PID 1 makes the kernel kill every
process in it: dockerd, containerd, the shims and the containers (whose
PID namespaces are nested in it). Should the test process be killed
instead of ending, unshare dies with it (PR_SET_PDEATHSIG) and its
--kill-child kills PID 1 the same way (the cgroup folders are then left).  The harness waits until no process of
that namespace is left, then removes the cgroups and unmounts its tmpfs
mounts.  This also happens when the test fails, and when the harness's own
start fails half way."""

import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

from sandbox import MNT_DETACH, MS_BIND, MS_REC, mount

MS_SHARED = 1 << 20
MS_PRIVATE = 1 << 18

DOCKERD = "/usr/sbin/dockerd"
CONTAINERD = "/usr/bin/containerd"
DOCKER = "/usr/bin/docker"
CTR = "/usr/bin/ctr"

IMAGE = "nsmgr-busybox:test"
STATE_DIRS = ("/var/lib/docker", "/var/lib/containerd", "/etc/docker")
WORK = "/run/nsmgr-docker"
DOCKER_SOCK = "/run/docker.sock"
CONTAINERD_SOCK = "/run/containerd/containerd.sock"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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

# Run by `unshare` as PID 1 of the new PID namespace, in the new mount
# namespace, before it becomes the reaper.
SETUP = r"""
set -e
mount -t proc proc /proc
mkdir -p {work}/cgroup-move
mount --rbind /sys/fs/cgroup {work}/cgroup-move
mount -t sysfs sysfs /sys
mount --move {work}/cgroup-move /sys/fs/cgroup
exec python3 -c "$REAPER"
"""


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Missing(Exception):
    """A precondition is missing: the test must be skipped, with this reason."""


def missing_tools():
    """The reason docker tests cannot run here, or None."""
    for path, pkg in ((DOCKERD, "docker.io"), (DOCKER, "docker.io"), (CONTAINERD, "containerd"),
                      (CTR, "containerd"), ("/usr/bin/busybox", "busybox-static")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: install {pkg} (tests/deps.sh does)"
    if not shutil.which("runc"):
        return "runc is missing: install runc (tests/deps.sh does)"
    return None


def nspid(pid):
    """The NSpid line of /proc/PID/status: its PID in each nested namespace."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return []


def pid_ns(pid):
    return os.stat(f"/proc/{pid}/ns/pid").st_ino


_seq = 0


class DockerSandbox:
    IMAGE = IMAGE

    def __init__(self, sandbox, runtimes=None, build=None, rootfs=None, dockerd_args=()):
        """runtimes: {name: path} for daemon.json; rootfs: a function making
        the image's root file system in a folder."""
        global _seq
        _seq += 1
        self.sandbox = sandbox
        self.runtimes = dict(runtimes or {})
        self.make_rootfs = rootfs
        self.dockerd_args = list(dockerd_args)
        self.cgroup_parent = f"/nsmgr-test-docker-{os.getpid()}-{_seq}"
        self.init = None            # unshare(1), whose child is PID 1
        self.init_pid = None        # PID 1 of the daemons' namespace, as we see it
        self.ns = None              # its PID namespace inode
        self.dockerd = None         # the nsenter process running dockerd
        self.containerd = None
        self.mounted = []
        self.made = []              # mount points this sandbox had to make
        self.env = dict(os.environ, PATH=PATH, DOCKER_CONFIG=f"{WORK}/cli", DOCKER_HOST=f"unix://{DOCKER_SOCK}")
        self.env.pop("XDG_RUNTIME_DIR", None)

    # --- start -------------------------------------------------------------

    def __enter__(self):
        reason = missing_tools()
        if reason:
            raise Missing(reason)
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc):
        self._stop()
        return False

    def _start(self):
        os.makedirs(f"{WORK}/bin", exist_ok=True)
        os.makedirs(f"{WORK}/cli", exist_ok=True)
        with open(f"{WORK}/bin/modprobe", "w") as f:
            f.write("#!/bin/sh\necho 'modprobe: kernel modules are the machine'\"'\"'s, not the test'\"'\"'s' >&2\nexit 1\n")
        os.chmod(f"{WORK}/bin/modprobe", 0o755)
        for d in STATE_DIRS:
            # A mount point missing on the machine (no /var/lib/docker before
            # dockerd ever ran) is made in its file system, which the sandbox
            # shares: it is removed again when the sandbox stops.
            if not os.path.isdir(d):
                os.makedirs(d)
                self.made.append(d)
            mount("tmpfs", d, "tmpfs", 0, "mode=0711")
            self.mounted.append(d)
        # /run/netns: a shared mount in a peer group of its own, as iproute2
        # makes it, before the daemons' mount namespace is copied from ours.
        os.makedirs("/run/netns", exist_ok=True)
        if not os.path.ismount("/run/netns"):
            mount("/run/netns", "/run/netns", None, MS_BIND | MS_REC)
        mount(None, "/run/netns", None, MS_SHARED | MS_REC)
        self._write_configs()

        # Should the test process itself be killed, unshare gets SIGKILL
        # (PR_SET_PDEATHSIG), and --kill-child hands it on to PID 1 of the
        # namespace, which takes everything in it along.
        self.init = self.sandbox.spawn(
            ["unshare", "--pid", "--mount", "--fork", "--kill-child", "--propagation", "unchanged", "--",
             "/bin/sh", "-c", SETUP.format(work=WORK)],
            env=dict(self.env, REAPER=REAPER), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=open(f"{WORK}/init.log", "w"), text=True, preexec_fn=_die_with_parent)
        line = self.init.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the daemons' PID namespace did not start:\n{self.log('init')}")
        self.init_pid = self._find_init()
        self.ns = pid_ns(self.init_pid)

        self.start_containerd()
        self.start_dockerd()
        self._import_image()

    def _find_init(self):
        """unshare's child: PID 1 of the new namespace."""
        deadline = time.time() + 10
        while time.time() < deadline:
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    with open(f"/proc/{d}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    if ppid == self.init.pid and nspid(int(d))[-1] == 1:
                        return int(d)
                except (OSError, ValueError, IndexError):
                    continue
            time.sleep(0.01)
        raise RuntimeError("cannot find PID 1 of the daemons' namespace")

    def _write_configs(self):
        with open(f"{WORK}/containerd.toml", "w") as f:
            f.write(f"""version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{CONTAINERD_SOCK}"
""")
        self.write_daemon_json()

    def write_daemon_json(self, extra=None):
        conf = {
            "data-root": "/var/lib/docker",
            "exec-root": "/run/docker",
            "hosts": [f"unix://{DOCKER_SOCK}"],
            "pidfile": "/run/docker.pid",
            "containerd": CONTAINERD_SOCK,
            "exec-opts": ["native.cgroupdriver=cgroupfs"],
            "cgroup-parent": self.cgroup_parent,
            "storage-driver": "overlay2",
            "iptables": True,
            "userland-proxy": False,
            "log-level": "info",
            "runtimes": {name: {"path": path} for name, path in self.runtimes.items()},
        }
        conf.update(extra or {})
        with open("/etc/docker/daemon.json", "w") as f:
            json.dump(conf, f, indent=2)

    def _enter(self, args, log):
        """Starts args inside the daemons' PID and mount namespace."""
        return self.sandbox.spawn(
            ["nsenter", "--target", str(self.init_pid), "--pid", "--mount", "--"] + args,
            env=dict(self.env, PATH=f"{WORK}/bin:{PATH}"), stdin=subprocess.DEVNULL,
            stdout=open(f"{WORK}/{log}.log", "a"), stderr=subprocess.STDOUT)

    def _wait(self, what, ready, proc, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}:\n{self.log(what)}")
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{what} did not get ready in {timeout} s:\n{self.log(what)}")

    def start_containerd(self):
        self.containerd = self._enter([CONTAINERD, "--config", f"{WORK}/containerd.toml"], "containerd")
        self._wait("containerd", lambda: self.ctr("version").returncode == 0, self.containerd)

    def start_dockerd(self):
        self.dockerd = self._enter([DOCKERD, "--config-file", "/etc/docker/daemon.json"] + self.dockerd_args,
                                   "dockerd")
        self._wait("dockerd", lambda: self.docker("version").returncode == 0, self.dockerd)

    def dockerd_pid(self):
        """dockerd's PID as the test sees it."""
        with open("/run/docker.pid") as f:
            return self.outer_pid(int(f.read()))

    def stop_dockerd(self, sig=signal.SIGTERM, timeout=60):
        """Stops dockerd (SIGTERM: it stops its containers first, as
        `systemctl stop docker` does) and waits until it is gone."""
        pid = self.dockerd_pid()
        os.kill(pid, sig)
        try:
            self.dockerd.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"dockerd did not stop in {timeout} s:\n{self.log('dockerd')}")
        self.dockerd = None

    def _import_image(self):
        root = tempfile.mkdtemp(dir=WORK)
        self.make_rootfs(os.path.join(root, "rootfs"))
        tarball = os.path.join(root, "rootfs.tar")
        with tarfile.open(tarball, "w") as t:
            t.add(os.path.join(root, "rootfs"), arcname=".")
        self.docker_ok("import", tarball, IMAGE)
        shutil.rmtree(root)

    # --- use ---------------------------------------------------------------

    def docker(self, *args, timeout=120):
        return subprocess.run([DOCKER] + list(args), capture_output=True, text=True, env=self.env,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def docker_ok(self, *args, timeout=120):
        p = self.docker(*args, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return p.stdout.strip()

    def inspect(self, cid, fmt):
        return self.docker_ok("inspect", "-f", fmt, cid)

    def ctr(self, *args, timeout=120):
        return subprocess.run([CTR, "--address", CONTAINERD_SOCK] + list(args), capture_output=True, text=True,
                              env=self.env, timeout=timeout, stdin=subprocess.DEVNULL)

    def ctr_ok(self, *args, timeout=120):
        p = self.ctr(*args, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return p.stdout.strip()

    def processes(self):
        """PIDs (as we see them) of every process in the daemons' PID
        namespace and the namespaces nested in it."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                ids = nspid(int(d))
                if len(ids) >= 2 and (pid_ns(int(d)) == self.ns or self._below(int(d))):
                    out.append(int(d))
            except OSError:
                continue
        return out

    def _below(self, pid):
        """True if pid descends from our PID 1 (a container's process)."""
        for _ in range(64):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    pid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if pid == self.init_pid:
                return True
            if pid <= 1:
                return False
        return False

    def outer_pid(self, inner):
        """A PID reported by dockerd or containerd (in their namespace) as
        the test sees it."""
        inner = int(inner)
        if inner <= 0:
            raise AssertionError(f"no process (PID {inner})")
        for pid in self.processes():
            try:
                ids = nspid(pid)
            except OSError:
                continue
            if ids[1] == inner and (pid_ns(pid) == self.ns or len(ids) > 2):
                return pid
        raise AssertionError(f"no process with PID {inner} in the daemons' namespace")

    def log(self, what):
        try:
            with open(f"{WORK}/{what}.log") as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    # --- end ---------------------------------------------------------------

    def _stop(self):
        try:
            if self.init_pid:
                try:
                    os.kill(self.init_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for p in (self.dockerd, self.containerd, self.init):
                if p is None:
                    continue
                if p.poll() is None:
                    p.kill()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            if self.ns:
                deadline = time.time() + 30
                while self._reap() and time.time() < deadline:
                    time.sleep(0.05)
                left = self.processes()
                if left:
                    raise RuntimeError("processes of the docker sandbox survived SIGKILL: " +
                                       "; ".join(_describe(p) for p in left))
        finally:
            self._remove_cgroups()
            for d in reversed(self.mounted):
                try:
                    _umount(d)
                except OSError:
                    pass
            self.mounted = []
            for d in reversed(self.made):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            self.made = []

    def _reap(self):
        """The processes left; reaps those that became our children. A
        daemon whose nsenter was killed is re-parented to us (a child
        subreaper), and PID 1 of the namespace cannot finish dying while
        such a zombie of its namespace is not reaped."""
        left = self.processes()
        for pid in left:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        return left

    def cgroup_leftovers(self):
        base = "/sys/fs/cgroup"
        name = self.cgroup_parent.lstrip("/")
        out = []
        for hier in sorted(os.listdir(base)):
            d = os.path.join(base, hier, name)
            if os.path.isdir(d):
                out.append(d)
        return out

    def _remove_cgroups(self):
        deadline = time.time() + 10
        for top in self.cgroup_leftovers():
            while True:
                try:
                    for root, dirs, _ in os.walk(top, topdown=False):
                        for d in dirs:
                            os.rmdir(os.path.join(root, d))
                    os.rmdir(top)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    # EBUSY while the kernel is still releasing the tasks.
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)


def _describe(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f"{pid} {f.read()[:80]}"
    except OSError:
        return f"{pid} (gone)"


def _umount(path):
    import ctypes
    from sandbox import _check, _libc
    _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    _check(_libc.umount2(path.encode(), MNT_DETACH), f"umount {path}")

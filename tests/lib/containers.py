"""Real OCI containers for system tests: busybox bundles and the runtimes
(runc, crun) that run them, with all their state inside the test's sandbox.

A bundle's rootfs is /bin/busybox (Debian's busybox-static) and a symlink
per applet; its config.json is what `runc spec` writes, edited with json.
Container output goes to a log file in the bundle, never to a pipe: a
detached container's process would hold the pipe open forever.

Cleanup is by name and PID only: every container a Runtime created is
`delete -f`ed, every cgroup folder made for it is removed; the sandbox
kills whatever is left of our descendants."""

import json
import os
import shutil
import subprocess
import time

BUSYBOX = "/usr/bin/busybox"

HOOK_ANNOTATION = "org.nsmgr.pin"


def is_static(path):
    """An ELF executable without a program interpreter (PT_INTERP) needs no
    shared libraries: it runs in a rootfs that has nothing else."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff = int.from_bytes(head[32:40], "little")
        phentsize = int.from_bytes(head[54:56], "little")
        phnum = int.from_bytes(head[56:58], "little")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(int.from_bytes(table[i * phentsize:i * phentsize + 4], "little") != 3 for i in range(phnum))


def make_rootfs(path):
    """A root file system with nothing but a static busybox."""
    bindir = os.path.join(path, "bin")
    os.makedirs(bindir)
    for d in ("etc", "proc", "sys", "dev", "tmp", "root"):
        os.makedirs(os.path.join(path, d))
    shutil.copy2(BUSYBOX, os.path.join(bindir, "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(bindir, a))
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    # What the image itself says, so a test can tell it from a bind mount.
    for name in ("resolv.conf", "hosts"):
        with open(os.path.join(path, "etc", name), "w") as f:
            f.write(f"# {name} of the busybox image\n")


def read_config(bundle):
    with open(os.path.join(bundle, "config.json")) as f:
        return json.load(f)


def write_config(bundle, config):
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f, indent="\t")


_cgroup_seq = 0


def make_bundle(path, args, annotations=None, hooks=None, netns_path=None):
    """An OCI bundle running args in a busybox rootfs, in a network
    namespace of its own (or netns_path's), with CAP_NET_RAW for ping."""
    global _cgroup_seq
    os.makedirs(path)
    make_rootfs(os.path.join(path, "rootfs"))
    subprocess.run(["runc", "spec", "--bundle", path], check=True)
    c = read_config(path)
    c["process"]["terminal"] = False
    c["process"]["args"] = list(args)
    for k in ("bounding", "effective", "permitted"):
        c["process"]["capabilities"][k].append("CAP_NET_RAW")
    # A cgroup of our own name, so that anything left can be found and
    # removed (runc makes one in every hierarchy; crun runs without).
    _cgroup_seq += 1
    c["linux"]["cgroupsPath"] = f"/nsmgr-test-{os.getpid()}-{_cgroup_seq}"
    if annotations:
        c["annotations"] = dict(annotations)
    if hooks:
        c["hooks"] = hooks
    if netns_path:
        for ns in c["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = netns_path
    write_config(path, c)
    return path


def pin_hook(nsmgrctl):
    """The hooks entry that runs `nsmgrctl oci-hook` at createRuntime."""
    return {"createRuntime": [{"path": nsmgrctl, "args": ["nsmgrctl", "oci-hook"], "timeout": 10}]}


def cgroup_leftovers():
    """Folders named like ours under /sys/fs/cgroup/*: what a test left."""
    out = []
    base = "/sys/fs/cgroup"
    for hier in os.listdir(base):
        d = os.path.join(base, hier)
        try:
            names = os.listdir(d)
        except OSError:
            continue
        out += [os.path.join(d, n) for n in names if n.startswith(f"nsmgr-test-{os.getpid()}-")]
    return out


def remove_cgroups():
    for d in cgroup_leftovers():
        try:
            os.rmdir(d)
        except OSError:
            pass


class RuntimeError_(AssertionError):
    pass


class Runtime:
    """runc or crun, with its state under root (inside the sandbox)."""

    def __init__(self, name, root):
        self.name = name
        self.root = root
        self.cmd = [name, "--root", root]
        if name == "crun":
            # crun 1.8 refuses a hybrid cgroup layout; the sandbox hides
            # cgroup2 and crun runs without cgroups.
            self.cmd.append("--cgroup-manager=disabled")
        self.ids = []

    def __call__(self, *args, timeout=60):
        return subprocess.run(self.cmd + list(args), capture_output=True, text=True, timeout=timeout)

    def ok(self, *args):
        p = self(*args)
        if p.returncode != 0:
            raise RuntimeError_(f"{self.name} {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def create(self, cid, bundle):
        """runc create; returns (returncode, what it said)."""
        self.ids.append(cid)
        log = os.path.join(bundle, f"{self.name}-{cid}.log")
        with open(log, "w") as f:
            p = subprocess.run(self.cmd + ["create", "--bundle", bundle, cid], stdin=subprocess.DEVNULL,
                               stdout=f, stderr=f, timeout=60)
        with open(log) as f:
            return p.returncode, f.read()

    def run(self, cid, bundle):
        """create + start; returns the container's PID."""
        rc, out = self.create(cid, bundle)
        if rc != 0:
            raise RuntimeError_(f"{self.name} create {cid} failed ({rc}):\n{out}")
        self.ok("start", cid)
        return self.pid(cid)

    def state(self, cid):
        return json.loads(self.ok("state", cid).stdout)

    def pid(self, cid):
        return self.state(cid)["pid"]

    def exec(self, cid, *args):
        return self("exec", cid, *args)

    def kill(self, cid):
        """SIGKILL, and wait until the runtime says it stopped."""
        pid = self.pid(cid)
        self.ok("kill", cid, "KILL")
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.state(cid)["status"] == "stopped" and not os.path.exists(f"/proc/{pid}/ns/net"):
                break
            time.sleep(0.02)
        else:
            raise RuntimeError_(f"{self.name}: container {cid} did not stop")
        # The runtime's container process was re-parented to the test (a
        # child subreaper): reap it, so that its PID is gone as for a user.
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass

    def delete(self, cid):
        self.ok("delete", "--force", cid)

    def cleanup(self):
        for cid in reversed(self.ids):
            self("delete", "--force", cid)
        self.ids = []

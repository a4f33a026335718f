"""A sandbox for system tests: a new mount and network namespace for the
calling (single-threaded) process, with nothing of what a test does visible
to the machine.

Inside it:
  * the network namespace is new and plays "the host" (loopback up);
  * / is recursively private, so no mount leaks out;
  * /run is a fresh tmpfs (so /run/netns and /run/nsmgr start empty);
  * /etc and /var/lib are overlays whose upper layer lives in that tmpfs,
    and /etc/netns, /etc/nsmgr and /var/lib/nsmgr are tmpfs mounts of their
    own, so nothing a test writes there reaches the machine's disk.

Leaving restores the original namespaces with setns(); the sandbox's
namespaces die with their last user. Processes the test started through
Sandbox.spawn() are killed by PID; as a safety net every remaining
descendant of this process (a child subreaper) is killed too.
"""

import ctypes
import os
import signal
import subprocess
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags=0, data=None):
    enc = lambda s: s.encode() if isinstance(s, str) else s
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
           f"mount {target}")


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def setns(fd, nstype):
    _check(_libc.setns(fd, nstype), "setns")


def ns_inode(path):
    return os.stat(path).st_ino


def _descendants(root_pid):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of our children are re-parented to us instead of PID 1, so a
    test can find (and end) every process it started, by PID."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl")


class Sandbox:
    OVERLAYS = ("/etc", "/var/lib")
    TMPFS = ("/etc/netns", "/etc/nsmgr", "/var/lib/nsmgr")

    def __init__(self):
        self.procs = []
        self._orig_net = None
        self._orig_mnt = None

    def __enter__(self):
        self._orig_net = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._orig_mnt = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        unshare(CLONE_NEWNS | CLONE_NEWNET)
        try:
            self._setup()
        except BaseException:
            self._restore()
            raise
        return self

    def _setup(self):
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        mount("tmpfs", "/run", "tmpfs", 0, "mode=0755")
        os.makedirs("/run/lock", exist_ok=True)
        for d in self.OVERLAYS:
            base = "/run/.sandbox" + d
            os.makedirs(base + "/upper", exist_ok=True)
            os.makedirs(base + "/work", exist_ok=True)
            mount("overlay", d, "overlay", 0,
                  f"lowerdir={d},upperdir={base}/upper,workdir={base}/work")
        for d in self.TMPFS:
            os.makedirs(d, exist_ok=True)
            mount("tmpfs", d, "tmpfs", 0, "mode=0755")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    def spawn(self, args, **kw):
        """Starts a process the sandbox will end on exit."""
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def _kill_ours(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Safety net: whatever this test started and left running. With
        # this process a child subreaper (see become_subreaper), daemons that
        # double-forked (runc's container init, conmon) are descendants too.
        for pid in _descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    time.sleep(0.01)
            except ChildProcessError:
                break

    def _restore(self):
        if self._orig_mnt is not None:
            setns(self._orig_mnt, CLONE_NEWNS)
            os.close(self._orig_mnt)
            self._orig_mnt = None
        if self._orig_net is not None:
            setns(self._orig_net, CLONE_NEWNET)
            os.close(self._orig_net)
            self._orig_net = None

    def __exit__(self, *exc):
        try:
            self._kill_ours()
        finally:
            self._restore()
        return False

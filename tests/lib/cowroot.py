"""A copy-on-write root to install packages into: the machine's / seen
through an overlay whose upper layer is a tmpfs, with /proc, /sys and /dev
bound in and a fresh tmpfs on /run and /tmp, to chroot into.

dpkg, apt and maintainer scripts may change anything in it; nothing reaches
the machine's disk. It must be made inside a Sandbox (tests/lib/sandbox.py):
the mounts live in the sandbox's private mount namespace and are gone with
it. Like a chroot made by debootstrap, it has no running systemd (no
/run/systemd/system) unless a test makes one up, and, inside the sandbox's
network namespace, no network: apt can install only what needs nothing
downloaded.
"""

import os
import subprocess

from sandbox import MS_BIND, MS_REC, mount


class CowRoot:
    def __init__(self, base="/run/.cowroot"):
        # The upper layer must not be on the lower one's filesystem (the
        # kernel refuses overlapping layers): the sandbox's /run is a tmpfs.
        self.base = base
        self.dir = os.path.join(base, "merged")
        upper, work = os.path.join(base, "upper"), os.path.join(base, "work")
        for d in (upper, work, self.dir):
            os.makedirs(d)
        mount("overlay", self.dir, "overlay", 0, f"lowerdir=/,upperdir={upper},workdir={work}")
        for d in ("proc", "sys", "dev"):
            mount(f"/{d}", self.path(f"/{d}"), None, MS_BIND | MS_REC)
        for d in ("run", "tmp"):
            mount("tmpfs", self.path(f"/{d}"), "tmpfs", 0, "mode=1777" if d == "tmp" else "mode=0755")
        os.makedirs(self.path("/run/lock"))

    def path(self, p):
        """Where the root's P is, seen from outside."""
        return os.path.join(self.dir, p.lstrip("/"))

    def exists(self, p):
        return os.path.lexists(self.path(p))

    def write(self, p, text, mode=0o644):
        with open(self.path(p), "w") as f:
            f.write(text)
        os.chmod(self.path(p), mode)

    def run(self, args, check=False, env=None, timeout=300):
        """Runs ARGS chrooted into the root, with a plain environment."""
        e = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
             "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root", **(env or {})}
        p = subprocess.run(["chroot", self.dir, *args], capture_output=True, text=True, env=e, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{args} failed in the root with {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

"""A real systemd, booted as PID 1 of a container inside a test's Sandbox,
so system tests can install units and drive them with systemctl.

    with Sandbox() as sb, SystemdSandbox(sb) as sd:
        sd.copy_in("build/nsmgrd", "/usr/local/sbin/nsmgrd")
        sd.install_unit("nsmgrd.service", text)
        sd.systemctl("start", "nsmgrd.service")
        os.kill(sd.main_pid("nsmgrd.service"), signal.SIGKILL)

Design
------
Root file system.  systemd is never booted on the machine's own root: at
boot systemd-tmpfiles empties /tmp, units write to /var and /etc, and the
machine is shared.  The container's / is an overlayfs whose lower layer is
the machine's / (read only, submounts not included) and whose upper and work
directories are on a tmpfs in the sandbox's /run; whatever the container
writes, removes or whites out lives in memory and is gone with the test.
/run, /tmp and /dev are fresh tmpfs mounts (/dev holds copies of the
harmless device nodes, its own devpts instance and a pty as /dev/console
whose output goes to the boot log); /proc and a read-only /sys are mounted
by the container's first process, inside its PID and network namespace.

Namespaces.  systemd runs as PID 1 of new PID, mount, UTS, IPC and cgroup
namespaces (`unshare`), pivot_root'ed onto the overlay, with
container=nsmgr-test in its environment so it boots as a container
(systemd-detect-virt says container-other; it leaves / unshared, and units
with ConditionVirtualization=!container skip), with its own hostname and
machine-id.  It stays in the sandbox's network namespace, which
plays "the host": a daemon under test sees the same links and pins the test
sees.  SystemdSandbox refuses to start in the machine's own network
namespace.

Kernel state shared with the machine.  A container still shares global
sysctls, binfmt_misc, kernel modules, uevents, the clock and pstore with the
machine, so /proc/sys is read-only (/proc/sys/net stays writable: it belongs
to the sandbox's network namespace), /sys is read-only, and the units that
would touch such state are masked (MASK), as are consoles, timers, and
whatever this machine's administrator enabled under the early targets
(podman.socket, apt timers...).  It boots nsmgr-test.target: basic.target
and nothing else, usually in well under a second.

Propagation of /run/netns (and the other nsmgr directories, see `share`).
In the sandbox each shared directory is first made a mount of its own with
shared propagation, exactly as `ip netns add` does for /run/netns
(mount --bind D D; mount --make-rshared D).  The container's first process
runs in a copy of the sandbox's mount namespace; it makes the whole new
root a slave (`--make-rslave`), so nothing it mounts there propagates back,
and then rbind-mounts each shared directory from its copy of the sandbox's
tree onto the new root.  A bind of a shared mount joins the same peer group,
so the container's /run/netns is a peer of the sandbox's: a pin that a unit
makes (`ip netns add` in its ExecStart) appears in the sandbox at once, and
one the test makes appears inside; pins that existed before boot come along
through the rbind.  Each side's unmounts (`ip netns delete`) propagate too.
A unit with its own mount namespace (PrivateTmp=, ProtectSystem=...) gets a
*slave* of systemd's namespace: it sees pins, but what it pins itself does
not propagate back out -- as on a real host.
The old root is made rslave before it is detached: its /run/netns is a
peer too, and detaching it as is would unmount every pin in the sandbox.
The overlay is itself a shared mount in the sandbox (the container's copy a
slave of it), so bind_in() can add mounts there after boot.

Ending.  The container is ended with SIGKILL to its PID 1, which the kernel
turns into SIGKILL for every process in the PID namespace; the mount
namespace then dies without propagating anything.  A clean `systemctl
poweroff` is deliberately not used: on the way down systemd stops every
mount unit, including run-netns-*.mount, and those unmounts propagate into
the sandbox through the shared /run/netns and remove its pins (seen with
systemd 252).  In the sandbox the overlay tree is made rprivate before it is
detached, so that no unmount there can propagate either.

Cgroups.  This machine has a hybrid layout: tmpfs on /sys/fs/cgroup with v1
controllers and a cgroup2 hierarchy (without controllers) on
/sys/fs/cgroup/unified.  systemd 252 is booted in unified mode: the harness
creates a child cgroup under this process's cgroup2 cgroup
(nsmgr-systemd-sandbox.PID.N), moves the container's first process into it
before `unshare --cgroup`, so that cgroup is the root of the container's
cgroup namespace, and the container mounts a fresh cgroup2 on
/sys/fs/cgroup, which is rooted there.  systemd sees cgroup2 on
/sys/fs/cgroup and uses it (no v1 mounts, no legacy force needed); it
creates init.scope, system.slice... inside the test's cgroup only.  No
controllers are available (the machine's v1 hierarchies own them), so
resource limits in units have no effect; nothing else is lost.  On exit the
cgroup tree is removed bottom-up once its processes are gone.  Nothing here
depends on the hybrid layout, so a pure cgroup2 machine should work the same
(not tried).
"""

import ctypes
import fcntl
import itertools
import os
import shutil
import signal
import subprocess
import time
import uuid

from sandbox import MNT_DETACH, MS_BIND, MS_PRIVATE, MS_REC, _check, _libc, mount

MS_RDONLY = 1
MS_REMOUNT = 32
MS_SHARED = 1 << 20
TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430

_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

SYSTEMD = "/lib/systemd/systemd"
TARGET = "nsmgr-test.target"
NSMGR_DIRS = ("/run/netns", "/run/nsmgr", "/etc/nsmgr", "/var/lib/nsmgr", "/etc/netns")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MASK = (
    # They change kernel state the container shares with the machine:
    # sysctls, binfmt_misc, modules, uevents, the clock, pstore, entropy.
    "systemd-sysctl.service", "systemd-modules-load.service",
    "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount", "systemd-udevd.service",
    "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service", "systemd-udev-settle.service",
    "systemd-hwdb-update.service", "systemd-timesyncd.service",
    "systemd-pstore.service", "systemd-random-seed.service",
    "systemd-journald-audit.socket", "kmod-static-nodes.service",
    "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
    "sys-kernel-config.mount", "sys-fs-fuse-connections.mount",
    "dev-hugepages.mount", "systemd-remount-fs.service",
    "systemd-fsck-root.service", "systemd-repart.service",
    "systemd-pcrphase.service", "systemd-pcrphase-sysinit.service",
    "systemd-firstboot.service", "systemd-machine-id-commit.service",
    # Slow or pointless in a test: consoles, timers, networking.
    "getty.target", "console-getty.service", "getty@.service",
    "serial-getty@.service", "systemd-ask-password-console.path",
    "systemd-ask-password-wall.path", "systemd-update-utmp.service",
    "systemd-tmpfiles-clean.timer", "networking.service",
    "systemd-networkd.service", "systemd-networkd.socket",
    "systemd-resolved.service", "ldconfig.service",
    # The machine's docker and containerd (tests run their own, see
    # docker_sandbox.py): never started by a test's systemd.
    "docker.service", "docker.socket", "containerd.service",
)

# What the machine's administrator enabled under these targets is masked too.
EARLY_TARGETS = ("sysinit.target", "basic.target", "sockets.target",
                 "timers.target", "paths.target", "local-fs.target")

# Runs as PID 1 of the new PID namespace, in a copy of the sandbox's mount
# namespace, and ends by exec'ing systemd on the new root.  $1 is the new
# root, the rest are the directories to share with the sandbox.
INIT = r'''
set -eu
root=$1; shift
# Mounts made in the container do not propagate back to the sandbox...
mount --make-rslave "$root"
# ...except under the shared directories: binds of the sandbox's shared
# mounts, peers of them (rbind: with the pins already there).
for d in "$@"; do mount --rbind "$d" "$root$d"; done
# proc of the new PID namespace; sysctls read-only but the network's,
# which belong to the sandbox's network namespace.
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount --bind "$root/proc/sys" "$root/proc/sys"
mount --bind "$root/proc/sys/net" "$root/proc/sys/net"
mount -o remount,bind,ro,nosuid,nodev,noexec "$root/proc/sys"
if [ -e "$root/proc/sysrq-trigger" ]; then
    mount --bind "$root/proc/sysrq-trigger" "$root/proc/sysrq-trigger"
    mount -o remount,bind,ro "$root/proc/sysrq-trigger"
fi
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
# Rooted at the cgroup namespace's root, the cgroup made for this container.
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
mkdir "$root/run/.oldroot"
cd "$root"
pivot_root . run/.oldroot
# rslave first, or detaching the old root would unmount its pins in every
# peer, the sandbox's included.
mount --make-rslave /run/.oldroot
umount -l /run/.oldroot
rmdir /run/.oldroot
exec "$SYSTEMD" --unit="$TARGET" --show-status=yes
'''

_counter = itertools.count()


class SystemdBootError(RuntimeError):
    """systemd did not boot; the message holds the boot log."""


def umount(target, flags=0):
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def _mountinfo():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            left = left.split()
            yield {"root": left[3], "target": left[4], "fstype": right.split()[0]}


def is_mount_point(path):
    path = os.path.realpath(path)
    return any(m["target"] == path for m in _mountinfo())


def make_shared_dir(path):
    """Makes path a mount of its own with shared propagation, as `ip netns
    add` does for /run/netns (and nsmgr for its directories)."""
    os.makedirs(path, exist_ok=True)
    if not is_mount_point(path):
        mount(path, path, None, MS_BIND | MS_REC)
    mount(None, path, None, MS_SHARED | MS_REC)


def _own_cgroup2():
    """This process's cgroup2 cgroup, as a directory we can mkdir in."""
    with open("/proc/self/cgroup") as f:
        rel = next((l.split(":", 2)[2].strip() for l in f if l.startswith("0::")), None)
    if rel is not None:
        for m in _mountinfo():
            root = m["root"].rstrip("/")
            if m["fstype"] == "cgroup2" and (rel + "/").startswith(root + "/"):
                return m["target"] + rel[len(root):]
    raise SystemdBootError("no cgroup2 hierarchy is mounted; systemd needs one "
                           "(mount -t cgroup2 none /sys/fs/cgroup/unified)")


def _nspid(pid):
    """The NSpid line of a process: its PID in each nested PID namespace."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return []


def wait_for(predicate, timeout=10, what="the condition", interval=0.02):
    """Calls predicate until it returns something true, and returns that;
    fails the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def unit_path(name):
    return "/etc/systemd/system/" + name


class SystemdSandbox:
    """systemd as PID 1 of a container inside `sandbox` (an active Sandbox).

    share: directories of the sandbox that the container sees as the same,
    shared mounts (default: /run/netns and nsmgr's directories); the others
    are the container's own.  Each is created in the sandbox if missing and
    made a shared mount of its own there, as `ip netns add` would; pass
    fewer if a test needs a daemon to create one itself.  units: {name: text} written to
    /etc/systemd/system before boot (names as for install_unit).
    boot_timeout: seconds until `systemctl is-system-running` must say
    running or degraded."""

    def __init__(self, sandbox, share=NSMGR_DIRS, units=None, boot_timeout=30):
        self.sandbox = sandbox
        self.share = tuple(share)
        self.units = dict(units or {})
        self.boot_timeout = boot_timeout
        self.n = next(_counter)
        self.base = f"/run/.systemd-sandbox.{self.n}"
        self.root = self.base + "/root"
        self.log_path = self.base + "/boot.log"
        self.cgroup = None
        self.proc = None
        self.pid1 = None
        self._pidns = None
        self.state = None
        self.boot_seconds = None
        self._console = None
        self._console_reader = None
        self._stage = itertools.count()

    def path(self, p):
        """Where the container's path p is, seen from the sandbox."""
        return self.root + "/" + p.lstrip("/")

    # --- boot ---------------------------------------------------------------

    def __enter__(self):
        orig = getattr(self.sandbox, "_orig_net", None)
        if orig is None or os.fstat(orig).st_ino == os.stat("/proc/self/ns/net").st_ino:
            raise RuntimeError("SystemdSandbox must run inside an active Sandbox, "
                               "never in the machine's network namespace")
        try:
            self._mount_root()
            self._configure()
            self._start()
            self._wait_booted()
        except BaseException:
            self._teardown()
            raise
        return self

    def __exit__(self, *exc):
        self._teardown()
        return False

    def _mount_root(self):
        os.makedirs(self.base)
        mount("tmpfs", self.base, "tmpfs", 0, "mode=0700")
        for d in ("upper", "work", "root"):
            os.mkdir(f"{self.base}/{d}")
        mount("overlay", self.root, "overlay", 0,
              f"lowerdir=/,upperdir={self.base}/upper,workdir={self.base}/work")
        mount(None, self.root, None, MS_SHARED)
        mount("tmpfs", self.path("/run"), "tmpfs", 0, "mode=0755")
        mount("tmpfs", self.path("/tmp"), "tmpfs", 0, "mode=1777")
        self._mount_dev()
        for d in self.share:
            make_shared_dir(d)
            os.makedirs(self.path(d), exist_ok=True)

    def _mount_dev(self):
        dev = self.path("/dev")
        mount("tmpfs", dev, "tmpfs", 0, "mode=0755")
        for name in ("null", "zero", "full", "random", "urandom", "tty"):
            st = os.stat("/dev/" + name)
            os.mknod(f"{dev}/{name}", st.st_mode, st.st_rdev)
        os.mkdir(dev + "/pts")
        mount("devpts", dev + "/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=0620,gid=5")
        os.symlink("pts/ptmx", dev + "/ptmx")
        os.mkdir(dev + "/shm")
        mount("tmpfs", dev + "/shm", "tmpfs", 0, "mode=1777")
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"{dev}/{name}")
        # /dev/console: a pty of the container's devpts; whatever systemd
        # prints there (status lines, its own errors) goes to the boot log.
        master = os.open(dev + "/pts/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            fcntl.ioctl(master, TIOCSPTLCK, ctypes.c_int(0))
            n = ctypes.c_uint()
            fcntl.ioctl(master, TIOCGPTN, n)
            slave = f"{dev}/pts/{n.value}"
            self._console = os.open(slave, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
            open(dev + "/console", "w").close()
            mount(slave, dev + "/console", None, MS_BIND)
            with open(self.log_path, "ab") as log:
                self._console_reader = self.sandbox.spawn(["cat"], stdin=master, stdout=log,
                                                          stderr=subprocess.DEVNULL)
        finally:
            os.close(master)

    def _configure(self):
        unitdir = self.path("/etc/systemd/system")
        os.makedirs(unitdir, exist_ok=True)
        with open(f"{unitdir}/{TARGET}", "w") as f:
            f.write("[Unit]\nDescription=nsmgr test system\n"
                    "Requires=basic.target\nAfter=basic.target\nAllowIsolate=yes\n")
        enabled = set()
        for t in EARLY_TARGETS:
            wants = f"/etc/systemd/system/{t}.wants"
            if os.path.isdir(wants):
                enabled.update(os.listdir(wants))
        for unit in sorted(set(MASK) | enabled):
            link = f"{unitdir}/{unit}"
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink("/dev/null", link)
        # Its own identity, so its journal is not mistaken for the machine's.
        with open(self.path("/etc/machine-id"), "w") as f:
            f.write(uuid.uuid4().hex + "\n")
        with open(self.path("/etc/hostname"), "w") as f:
            f.write("nsmgr-test\n")
        for name, text in self.units.items():
            self.install_unit(name, text, reload=False)
        conf = self.path("/etc/systemd/journald.conf.d")
        os.makedirs(conf, exist_ok=True)
        with open(conf + "/nsmgr-test.conf", "w") as f:
            f.write("[Journal]\nStorage=volatile\n")

    def _start(self):
        self.cgroup = f"{_own_cgroup2()}/nsmgr-systemd-sandbox.{os.getpid()}.{self.n}"
        os.mkdir(self.cgroup)
        env = {"container": "nsmgr-test", "PATH": PATH, "SYSTEMD": SYSTEMD, "TARGET": TARGET,
               "COLUMNS": "200"}
        args = ["sh", "-c", 'echo $$ > "$1"; shift; exec "$@"', "sh", self.cgroup + "/cgroup.procs",
                "unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--ipc",
                "--cgroup", "--propagation", "unchanged", "--",
                "sh", "-c", INIT, "init", self.root, *self.share]
        self._t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = self.sandbox.spawn(args, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, env=env)
        deadline = self._t0 + 10
        while self.pid1 is None:
            kids = _children(self.proc.pid)
            if kids:
                self.pid1 = kids[0]
                self._pidns = os.stat(f"/proc/{self.pid1}/ns/pid").st_ino
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemdBootError("the container's first process did not start:\n" + self.boot_log())
            time.sleep(0.005)

    def _wait_booted(self):
        deadline = self._t0 + self.boot_timeout
        # The private socket exists once systemd is ready for systemctl.
        sock = f"/proc/{self.pid1}/root/run/systemd/private"
        while not os.path.exists(sock):
            if self.proc.poll() is not None:
                raise SystemdBootError(f"systemd exited with {self.proc.returncode} during boot:\n"
                                       + self.boot_log())
            if time.monotonic() > deadline:
                raise SystemdBootError(f"systemd did not come up in {self.boot_timeout}s:\n"
                                       + self.boot_log())
            time.sleep(0.01)
        try:
            p = self.run(["systemctl", "is-system-running", "--wait"],
                         timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise SystemdBootError(f"systemd did not finish booting in {self.boot_timeout}s:\n"
                                   + self.diagnostics()) from None
        self.state = p.stdout.strip()
        self.boot_seconds = time.monotonic() - self._t0
        if self.state not in ("running", "degraded"):
            raise SystemdBootError(f"systemd is {self.state!r} after boot:\n" + self.diagnostics())

    # --- driving it ---------------------------------------------------------

    def boot_log(self):
        """What the container's first process and systemd printed."""
        try:
            with open(self.log_path, errors="replace", newline="") as f:
                return f.read().replace("\r\n", "\n").replace("\r", "")
        except OSError as e:
            return f"(no boot log: {e})"

    def diagnostics(self):
        """Boot log, failed units, pending jobs and the journal's tail."""
        out = "--- boot log:\n" + self.boot_log()
        for title, cmd in (("failed units", ["systemctl", "--failed", "--no-pager"]),
                           ("jobs", ["systemctl", "list-jobs", "--no-pager"]),
                           ("journal", ["journalctl", "-b", "--no-pager", "-n", "100"])):
            try:
                out += f"\n--- {title}:\n" + self.run(cmd, timeout=10).stdout
            except Exception as e:  # noqa: BLE001 -- diagnostics only
                out += f"\n--- {title}: (could not ask systemd: {e})"
        return out

    def run(self, cmd, check=False, input=None, timeout=60):
        """Runs cmd in the container's namespaces, root and cwd (nsenter -a)
        and returns the CompletedProcess (text output)."""
        args = self._nsenter(cmd)
        env = {"PATH": PATH, "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
        with subprocess.Popen(args, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) as nsenter:
            try:
                out, err = nsenter.communicate(input, timeout=timeout)
            except subprocess.TimeoutExpired:
                # nsenter forked cmd into the container's PID namespace; end
                # cmd too, or it would outlive nsenter as our child and,
                # unreaped, keep the PID namespace from dying.
                for pid in _children(nsenter.pid):
                    _kill(pid)
                nsenter.kill()
                nsenter.communicate()
                raise
        p = subprocess.CompletedProcess(cmd, nsenter.returncode, out, err)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} in the container failed "
                                 f"({p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def _nsenter(self, cmd, user=None):
        """The command line that runs cmd in the container, as user (a
        name: its uid, gid and groups, as setpriv sets them, without PAM)
        or as root."""
        cmd = [*map(str, cmd)]
        if user is not None:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd]
        return ["nsenter", "-t", str(self.pid1), "-a", "-r", "-w", "--", *cmd]

    def run_as(self, user, cmd, check=False, input=None, timeout=60):
        """run() as the container's user `user` (see add_user())."""
        return self.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd],
                        check=check, input=input, timeout=timeout)

    def spawn(self, cmd, user=None, **kw):
        """Starts cmd in the container (as user, if given) without waiting
        for it; returns the Popen of the nsenter that runs it.  It dies
        with the container, and the sandbox ends what is left of it."""
        env = {"PATH": PATH, "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
        return self.sandbox.spawn(self._nsenter(cmd, user), env=env, **kw)

    def add_user(self, name, groups=()):
        """A user (and its group) in the container's /etc, which lives on the
        overlay: the machine's users are untouched.  groups are made if
        missing."""
        for g in groups:
            if self.run(["getent", "group", g]).returncode != 0:
                self.run(["groupadd", g], check=True)
        args = ["useradd", "--no-create-home", "--shell", "/bin/sh"]
        if groups:
            args += ["--groups", ",".join(groups)]
        self.run([*args, name], check=True)

    def systemctl(self, *args, check=True, timeout=60):
        """systemctl in the container; fails the test on a non-zero exit
        status unless check=False."""
        p = self.run(["systemctl", "--no-pager", *args], timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"systemctl {' '.join(map(str, args))} failed ({p.returncode}):\n"
                                 f"{p.stdout}{p.stderr}--- journal:\n{self.journal(lines=30)}")
        return p

    def show(self, unit, prop):
        """One property of a unit (systemctl show -p PROP --value)."""
        return self.systemctl("show", "-p", prop, "--value", unit).stdout.strip()

    def journal(self, unit=None, lines=None):
        """The journal of this boot (of one unit if given), as text."""
        cmd = ["journalctl", "-b", "--no-pager", "-o", "short-monotonic"]
        if unit:
            cmd += ["-u", unit]
        if lines:
            cmd += ["-n", str(lines)]
        return self.run(cmd, check=True).stdout

    def install_unit(self, name, text, reload=True):
        """Writes /etc/systemd/system/NAME (NAME may be a drop-in such as
        x.service.d/y.conf) and reloads systemd."""
        path = self.path(unit_path(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if reload:
            self.systemctl("daemon-reload")

    def copy_in(self, src, dest=None, mode=None):
        """Copies a file of the sandbox into the container (its overlay) at
        dest (default: the same path); returns dest."""
        dest = dest or os.path.abspath(src)
        target = self.path(dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(src, target)
        if mode is not None:
            os.chmod(target, mode)
        return dest

    def bind_in(self, src, dest=None, readonly=True):
        """Bind-mounts a file or directory of the sandbox at dest in the
        container (default: the same path), read-only unless told; works
        before and after boot.  Returns dest."""
        src = os.path.abspath(src)
        dest = dest or src
        target = self.path(dest)
        if os.path.isdir(src):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.exists(target):
                open(target, "w").close()
        if readonly:
            # A remount is not propagated, so make the read-only mount in a
            # private place first; its copies keep the flag.
            stage = f"{self.base}/stage.{next(self._stage)}"
            if os.path.isdir(src):
                os.mkdir(stage)
            else:
                open(stage, "w").close()
            mount(src, stage, None, MS_BIND)
            mount(None, stage, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
            mount(stage, target, None, MS_BIND)
            umount(stage, MNT_DETACH)
        else:
            mount(src, target, None, MS_BIND)
        return dest

    def host_pid(self, pid):
        """The PID, as this process sees it, of the container's process pid."""
        ns = self._pidns
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                nspid = _nspid(d)
                if len(nspid) > 1 and nspid[-1] == pid and os.stat(f"/proc/{d}/ns/pid").st_ino == ns:
                    return int(d)
            except (OSError, ValueError):
                continue
        raise LookupError(f"no process {pid} in the container")

    def main_pid(self, unit):
        """The host-visible PID of a unit's main process, or None if it has
        none."""
        pid = int(self.show(unit, "MainPID") or 0)
        return self.host_pid(pid) if pid else None

    # --- teardown -----------------------------------------------------------

    def _teardown(self):
        """Ends the container and removes its mounts and cgroups; every step
        runs even if an earlier one failed."""
        errors = []
        for step in (self._end_container, self._close_console, self._unmount,
                     self._remove_cgroup):
            try:
                step()
            except Exception as e:  # noqa: BLE001 -- re-raised below
                errors.append(e)
        if errors:
            raise errors[0]

    def _end_container(self):
        if self.pid1 is not None:
            _kill(self.pid1)
        if self.proc is not None:
            self._wait_container_gone()

    def _close_console(self):
        if self._console is not None:
            os.close(self._console)
            self._console = None
        if self._console_reader is not None:
            try:
                self._console_reader.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._console_reader.kill()
                self._console_reader.wait()

    def _unmount(self):
        if is_mount_point(self.root):
            # Private first, so that detaching the tree cannot propagate an
            # unmount to the container's side or to peers of what bind_in()
            # mounted.
            mount(None, self.root, None, MS_REC | MS_PRIVATE)
            umount(self.root, MNT_DETACH)
        if is_mount_point(self.base):
            umount(self.base, MNT_DETACH)
        if os.path.isdir(self.base):
            os.rmdir(self.base)

    def _wait_container_gone(self):
        """Waits for `unshare` to exit, which it does once the PID namespace
        is empty.  The kernel keeps the namespace until every process in it
        is reaped: a process of the container whose parent is outside (say
        a `nsenter` child orphaned to this subreaper) is reaped here."""
        deadline = time.monotonic() + 10
        while self.proc.poll() is None:
            for pid in _children(os.getpid()):
                try:
                    if os.stat(f"/proc/{pid}/ns/pid").st_ino == self._pidns:
                        _kill(pid)
                        os.waitpid(pid, os.WNOHANG)
                except (OSError, ChildProcessError):
                    pass
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise RuntimeError(f"the container (PID 1 {self.pid1}) did not end")
            time.sleep(0.01)

    def _remove_cgroup(self):
        if not self.cgroup or not os.path.isdir(self.cgroup):
            return
        deadline = time.monotonic() + 5
        for dirpath, _, _ in os.walk(self.cgroup, topdown=False):
            while True:
                try:
                    os.rmdir(dirpath)
                    break
                except OSError:
                    # EBUSY while the last of its processes are being reaped.
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)

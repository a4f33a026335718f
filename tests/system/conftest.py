"""Fixtures for nsmgr's system tests: each test runs in a sandbox of its own
(see tests/lib/sandbox.py) and drives the real binaries."""

import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from sandbox import Sandbox, become_subreaper  # noqa: E402
from systemd_sandbox import SYSTEMD, SystemdSandbox  # noqa: E402

BUILD = os.path.abspath(os.environ.get("NSMGR_BUILD", os.path.join(ROOT, "build")))


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("nsmgr's system tests need root (they make namespaces in a sandbox)")
    become_subreaper()


def run(args, check=False, input=None, timeout=60, env=None):
    """Runs a command, capturing text output."""
    p = subprocess.run(args, capture_output=True, text=True, input=input, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed with {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


class Nsmgr:
    """Runs the nsmgr binaries of the build under test."""

    def __init__(self, build):
        self.build = build
        self.ctl_path = os.path.join(build, "nsmgrctl")
        self.daemon_path = os.path.join(build, "nsmgrd")

    def __call__(self, *args, check=False, input=None, timeout=60):
        return run([self.ctl_path, *map(str, args)], check=check, input=input, timeout=timeout)

    def ok(self, *args, **kw):
        p = self(*args, **kw)
        assert p.returncode == 0, f"nsmgrctl {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}"
        return p

    def json(self, *args):
        p = self.ok(*args, "--json")
        return json.loads(p.stdout)


def ip_json(*args, netns=None):
    cmd = ["ip"] + (["-n", netns] if netns else []) + ["-j"] + list(args)
    p = run(cmd, check=True)
    return json.loads(p.stdout) if p.stdout.strip() else []


def pin_mount_ids():
    """The mount ids of the pins under /run/netns, from /proc/self/mountinfo."""
    with open("/proc/self/mountinfo") as f:
        return {line.split()[0] for line in f if os.path.dirname(line.split()[4]) == "/run/netns"}


def pins_held_by(pid, pins):
    """How many of its open files process pid has on those mounts (the
    mnt_id of /proc/PID/fdinfo): each keeps its pin busy."""
    held = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                held += any(line.split()[1] in pins for line in f if line.startswith("mnt_id:"))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return held


def start_in_own_netns(sandbox):
    """A process in a network namespace of its own, as a container's."""
    p = sandbox.spawn(["unshare", "--net", "sleep", "600"])
    for _ in range(500):
        try:
            if os.stat(f"/proc/{p.pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino and \
                    open(f"/proc/{p.pid}/comm").read().strip() == "sleep":
                # unshare(1) exec'd sleep in the new namespace.
                return p
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise AssertionError("the process did not get its own namespace")


@pytest.fixture
def sandbox():
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def nsmgr(sandbox):
    return Nsmgr(BUILD)


@pytest.fixture
def systemd(sandbox):
    """A real systemd booted in a container inside the test's sandbox (see
    tests/lib/systemd_sandbox.py)."""
    if not os.access(SYSTEMD, os.X_OK):
        pytest.skip(f"{SYSTEMD} is missing (install the systemd package)")
    with SystemdSandbox(sandbox) as sd:
        yield sd

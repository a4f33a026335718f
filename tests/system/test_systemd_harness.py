"""The systemd harness (tests/lib/systemd_sandbox.py): a real systemd boots as
PID 1 of a container inside the test's sandbox, runs units the way a host
would, shares /run/netns with the sandbox, and leaves nothing behind.

Results are checked from the sandbox's side with /proc, stat -f, nsenter and
ip, not through the harness's own helpers where that can be avoided."""

import os
import signal
import time

import pytest

from conftest import run
from systemd_sandbox import SystemdBootError, SystemdSandbox, wait_for


def inode_of(path):
    return os.stat(path).st_ino


def fs_type(path):
    return run(["stat", "-f", "-c", "%T", path], check=True).stdout.strip()


def mounts_under(prefix):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(prefix)]


# --- boot -------------------------------------------------------------------

def test_boots_as_pid1_of_a_container_in_the_sandbox_netns(systemd):
    assert systemd.state == "running", systemd.diagnostics()
    assert systemd.boot_seconds < 10
    with open(f"/proc/{systemd.pid1}/comm") as f:
        assert f.read().strip() == "systemd"
    assert systemd.run(["cat", "/proc/1/comm"], check=True).stdout.strip() == "systemd"
    assert systemd.run(["systemd-detect-virt", "--container"]).stdout.strip() == "container-other"
    # Its own PID namespace, the sandbox's network namespace.
    assert inode_of(f"/proc/{systemd.pid1}/ns/pid") != inode_of("/proc/self/ns/pid")
    assert inode_of(f"/proc/{systemd.pid1}/ns/net") == inode_of("/proc/self/ns/net")
    # Unified cgroups, rooted in a cgroup of its own.
    assert systemd.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"]).stdout.strip() == "cgroup2fs"
    assert os.path.isdir(systemd.cgroup + "/init.scope")
    assert systemd.run(["cat", "/proc/1/cgroup"], check=True).stdout.endswith("0::/init.scope\n")


def test_container_cannot_change_global_sysctls(systemd):
    p = systemd.run(["sh", "-c", "echo 1 > /proc/sys/kernel/printk_ratelimit"])
    assert p.returncode != 0 and "Read-only" in p.stderr
    # The network's are the sandbox's own and stay writable.
    systemd.run(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"], check=True)
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read().strip() == "1"


# --- units ------------------------------------------------------------------

NOTIFY_UNIT = """\
[Service]
Type={type}
NotifyAccess=all
ExecStart=/bin/sh -c 'sleep 1; touch /run/ready-marker; systemd-notify --ready; exec sleep infinity'
"""


def test_start_of_a_notify_unit_returns_after_ready(systemd):
    systemd.install_unit("slow-ready.service", NOTIFY_UNIT.format(type="notify"))
    t0 = time.monotonic()
    systemd.systemctl("start", "slow-ready.service")
    took = time.monotonic() - t0
    assert os.path.exists(systemd.path("/run/ready-marker"))
    assert took >= 1
    assert systemd.show("slow-ready.service", "ActiveState") == "active"
    assert systemd.show("slow-ready.service", "SubState") == "running"


def test_start_of_a_simple_unit_does_not_wait(systemd):
    # The control for the test above: without READY, start returns at once
    # and the marker is not there yet, so that test can tell the difference.
    systemd.install_unit("slow-ready.service", NOTIFY_UNIT.format(type="simple"))
    systemd.systemctl("start", "slow-ready.service")
    assert not os.path.exists(systemd.path("/run/ready-marker"))
    assert systemd.show("slow-ready.service", "ActiveState") == "active"


def test_unit_runs_in_a_netns_pinned_outside(systemd):
    run(["ip", "netns", "add", "outside"], check=True)
    systemd.install_unit("in-netns.service", """\
[Service]
NetworkNamespacePath=/run/netns/outside
ExecStart=/bin/sleep infinity
""")
    systemd.systemctl("start", "in-netns.service")
    pid = systemd.main_pid("in-netns.service")
    # A Type=simple unit is started when systemd has forked it: its child is
    # "(sleep)" until the exec.
    wait_for(lambda: open(f"/proc/{pid}/comm").read().strip() == "sleep", what="the unit's exec")
    assert inode_of(f"/proc/{pid}/ns/net") == inode_of("/run/netns/outside")
    assert inode_of(f"/proc/{pid}/ns/net") != inode_of("/proc/self/ns/net")


def test_pin_made_by_a_unit_is_usable_outside(systemd):
    systemd.install_unit("pin.service", """\
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/ip netns add fromunit
ExecStart=/usr/bin/ip -n fromunit link add d0 type veth peer name d1
""")
    systemd.systemctl("start", "pin.service")
    assert fs_type("/run/netns/fromunit") == "nsfs"
    assert inode_of("/run/netns/fromunit") != inode_of("/proc/self/ns/net")
    run(["nsenter", "--net=/run/netns/fromunit", "true"], check=True)
    # The namespace the unit made and wired, as seen from outside.
    links = run(["nsenter", "--net=/run/netns/fromunit", "ip", "-o", "link", "show"], check=True)
    assert sorted(l.split(":")[1].strip().split("@")[0] for l in links.stdout.splitlines()) == ["d0", "d1", "lo"]
    # Removing it outside removes it inside too (the unmount propagates).
    run(["ip", "netns", "delete", "fromunit"], check=True)
    assert systemd.run(["test", "-e", "/run/netns/fromunit"]).returncode != 0


def test_pins_made_outside_before_and_after_boot_are_visible_inside(sandbox):
    run(["ip", "netns", "add", "early"], check=True)
    with SystemdSandbox(sandbox) as sd:
        run(["ip", "netns", "add", "late"], check=True)
        for name in ("early", "late"):
            p = sd.run(["stat", "-f", "-c", "%T", f"/run/netns/{name}"], check=True)
            assert p.stdout.strip() == "nsfs"
            sd.run(["ip", "netns", "exec", name, "true"], check=True)


def test_killed_main_process_is_restarted(systemd):
    systemd.install_unit("restarts.service", """\
[Service]
ExecStart=/bin/sleep infinity
Restart=on-failure
RestartSec=100ms
""")
    systemd.systemctl("start", "restarts.service")
    old = systemd.main_pid("restarts.service")
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: (p := systemd.main_pid("restarts.service")) not in (None, old) and p,
                   timeout=10, what="a new main process of restarts.service")
    assert not os.path.exists(f"/proc/{old}")
    assert systemd.show("restarts.service", "NRestarts") == "1"
    assert systemd.show("restarts.service", "ActiveState") == "active"
    with open(f"/proc/{new}/comm") as f:
        assert f.read().strip() == "sleep"


def test_install_unit_copy_in_and_bind_in(systemd, tmp_path):
    script = tmp_path / "hello"
    script.write_text("#!/bin/sh\necho hello from $1\n")
    systemd.copy_in(str(script), "/usr/local/bin/hello", mode=0o755)
    data = tmp_path / "data"
    data.mkdir()
    (data / "file").write_text("shared\n")
    systemd.bind_in(str(data), "/srv/data")
    systemd.install_unit("hello.service", """\
[Service]
Type=oneshot
ExecStart=/usr/local/bin/hello unit
ExecStart=/bin/cat /srv/data/file
""")
    systemd.systemctl("start", "hello.service")
    journal = systemd.journal("hello.service")
    assert "hello from unit" in journal and "shared" in journal
    # Read-only unless asked otherwise, and the copy does not reach the sandbox.
    assert systemd.run(["touch", "/srv/data/new"]).returncode != 0
    assert not os.path.exists("/usr/local/bin/hello")


def test_failing_start_reports_the_unit(systemd):
    systemd.install_unit("fails.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
    with pytest.raises(AssertionError, match="fails.service"):
        systemd.systemctl("start", "fails.service")
    assert systemd.show("fails.service", "Result") == "exit-code"


# --- ending -----------------------------------------------------------------

def test_exit_leaves_nothing_behind_and_keeps_the_pins(sandbox):
    run(["ip", "netns", "add", "before"], check=True)
    with SystemdSandbox(sandbox) as sd:
        sd.install_unit("pin.service", "[Service]\nType=oneshot\nExecStart=/usr/bin/ip netns add fromunit\n")
        sd.systemctl("start", "pin.service")
        pid1, cgroup, base = sd.pid1, sd.cgroup, sd.base
        pids = [int(p) for p in open(f"{cgroup}/system.slice/systemd-journald.service/cgroup.procs")]
        assert pids
    assert not os.path.exists(f"/proc/{pid1}")
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)
    assert not os.path.exists(cgroup)
    assert mounts_under(base) == []
    # Killing the container unmounted nothing of the sandbox's.
    assert fs_type("/run/netns/before") == "nsfs"
    assert fs_type("/run/netns/fromunit") == "nsfs"


def test_boot_that_does_not_finish_fails_with_the_boot_log(sandbox):
    slow = {
        "slow.service": "[Service]\nType=oneshot\nExecStart=/bin/sleep 60\n",
        "nsmgr-test.target.d/slow.conf": "[Unit]\nWants=slow.service\nAfter=slow.service\n",
    }
    sd = SystemdSandbox(sandbox, units=slow, boot_timeout=2)
    with pytest.raises(SystemdBootError) as e:
        with sd:
            pass
    assert "did not finish booting" in str(e.value)
    assert "slow.service" in str(e.value)
    assert not os.path.exists(f"/proc/{sd.pid1}")
    assert not os.path.exists(sd.cgroup)
    assert mounts_under(sd.base) == []

"""Issue 16: the Debian package, checked as Debian's tools and a packager
would: lintian, hardening-check, dpkg-deb, and apt-get install / remove /
purge in a copy-on-write root (tests/lib/cowroot.py), where the installed
nsmgrctl and nsmgrd are run."""

import os
import re

import pytest

from conftest import DEBDIR, ROOT, run

# Lintian warnings that are known and accepted, with the reason. Anything
# else (and any error) fails test_lintian: fix it, or list it here.
KNOWN_WARNINGS = {}

CONF = "/etc/nsmgr/nsmgr.conf"
WANTS = "/etc/systemd/system/multi-user.target.wants/nsmgrd.service"


def makefile_version():
    return re.search(r"^VERSION\s*:=\s*(\S+)", open(os.path.join(ROOT, "Makefile")).read(), re.M).group(1)


def field(deb, name):
    return run(["dpkg-deb", "-f", deb, name], check=True).stdout.strip()


def contents(deb):
    """The package's files and links, as absolute paths."""
    out = run(["dpkg-deb", "-c", deb], check=True).stdout
    paths = set()
    for line in out.splitlines():
        path = line.split(None, 5)[5].split(" -> ")[0]
        if not path.endswith("/"):
            paths.add(path[1:])
    return paths


@pytest.fixture(scope="module")
def unpacked(deb, tmp_path_factory):
    d = str(tmp_path_factory.mktemp("unpacked"))
    run(["dpkg-deb", "-x", deb, d], check=True)
    return d


def elf_files(tree):
    out = []
    for dirpath, _, files in os.walk(tree):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                with open(p, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        out.append(p)
    return sorted(out)


def test_one_version_everywhere(deb):
    v = makefile_version()
    changelog = run(["dpkg-parsechangelog", "-l", os.path.join(ROOT, "debian", "changelog"), "-SVersion"],
                    check=True).stdout.strip()
    assert (changelog, field(deb, "Version")) == (v, v)


def test_lintian_reports_no_errors_and_no_unknown_warnings(deb, tmp_path):
    changes = [f for f in os.listdir(DEBDIR) if f.endswith(".changes")]
    assert len(changes) == 1, changes
    # As a user, as lintian prefers; pedantic and info tags are shown too.
    os.chmod(tmp_path, 0o777)
    p = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "lintian", "--show-overrides",
             "--display-level", ">=pedantic", "--display-experimental", "--info", os.path.join(DEBDIR, changes[0])],
            env=dict(os.environ, HOME=str(tmp_path), TMPDIR=str(tmp_path)))
    print(p.stdout, p.stderr)
    tags = [l.split(": ", 2) for l in p.stdout.splitlines() if re.match(r"^[EWIPXO]: ", l)]
    errors = [t for t in tags if t[0] == "E"]
    warnings = {t[2].split()[0] for t in tags if t[0] == "W"}
    assert p.returncode in (0, 2) and not errors, p.stdout + p.stderr
    assert warnings <= KNOWN_WARNINGS.keys(), f"new lintian warnings {warnings - KNOWN_WARNINGS.keys()}:\n{p.stdout}"


def test_every_binary_is_hardened(unpacked):
    """Every ELF file the package ships, whoever added it: PIE, stack
    protector, fortify, relro, bindnow. Control-flow protection is not
    asked: Debian 12's glibc start files carry no IBT/SHSTK note, so no
    program linked there can show it, -fcf-protection or not."""
    elves = elf_files(unpacked)
    names = [os.path.basename(e) for e in elves]
    assert "nsmgrctl" in names and "nsmgrd" in names, names
    p = run(["hardening-check", "--nocfprotection", *elves])
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    for feature in ("Position Independent Executable", "Stack protected", "Fortify Source functions",
                    "Read-only relocations", "Immediate binding"):
        assert p.stdout.count(f" {feature}: yes") == len(elves), feature


def test_depends_name_the_package_of_every_library(deb, unpacked):
    """What a clean machine installs with it is enough to run it: every
    library the binaries need (their ELF NEEDED entries) comes from a
    package in Depends."""
    depends = {re.split(r"[\s(:]", d.strip())[0] for d in field(deb, "Depends").split(",")}
    cache = {}
    for line in run(["ldconfig", "-p"], check=True).stdout.splitlines()[1:]:
        m = re.match(r"\s*(\S+) \((libc6,x86-64|[^)]*)\) => (\S+)", line)
        if m and "x86-64" in m.group(2):
            cache.setdefault(m.group(1), m.group(3))
    needed = set()
    for e in elf_files(unpacked):
        dyn = run(["readelf", "-d", e], check=True).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", dyn))
    assert "libnl-3.so.200" in needed
    for lib in needed:
        path = os.path.realpath(cache[lib])
        owner = run(["dpkg", "-S", path])
        if owner.returncode != 0:
            owner = run(["dpkg", "-S", cache[lib]], check=True)
        pkg = owner.stdout.split(":")[0]
        assert pkg in depends, f"{lib} comes from {pkg}, which Depends does not name: {sorted(depends)}"


def test_everything_make_install_installs_is_in_the_package(deb, tmp_path):
    """The package is what `make install` installs, not a list kept apart:
    binaries, units, man pages, completions, examples added later land in
    it without a packaging change."""
    dest, build = str(tmp_path / "dest"), str(tmp_path / "build")
    run(["make", "-C", ROOT, "--no-print-directory", "-j2", f"BUILD={build}", f"DESTDIR={dest}", "PREFIX=/usr",
         "ZSHCOMPDIR=/usr/share/zsh/vendor-completions", "CNIDIRS=/usr/lib/cni", "install"], check=True, timeout=600)
    installed = set()
    for dirpath, _, files in os.walk(dest):
        for f in files:
            p = "/" + os.path.relpath(os.path.join(dirpath, f), dest)
            installed.add(p + ".gz" if p.startswith("/usr/share/man/") else p)
    packaged = contents(deb)
    assert installed - packaged == set()
    # What Debian adds, and nothing else.
    assert packaged - installed == {"/usr/share/doc/nsmgr/copyright", "/usr/share/doc/nsmgr/changelog.gz",
                                    "/usr/share/doc/nsmgr/README.md.gz", "/usr/share/lintian/overrides/nsmgr"}
    for f in ("/usr/bin/nsmgrctl", "/usr/sbin/nsmgrd", "/usr/share/man/man8/nsmgrctl.8.gz",
              "/usr/share/man/man5/nsmgr.conf.5.gz", "/usr/share/bash-completion/completions/nsmgrctl",
              "/usr/share/zsh/vendor-completions/_nsmgrctl", "/usr/share/doc/nsmgr/examples/bridge-tutorial.conf",
              "/usr/lib/tmpfiles.d/nsmgr.conf", "/usr/lib/cni/nsmgr", CONF):
        assert f in packaged, f
    assert any(p.endswith("/systemd/system/nsmgrd.service") for p in packaged)


def test_the_conffiles_are_the_config_and_the_protocol_name(deb, tmp_path):
    """What lies under /etc is the administrator's: nsmgr's config, and the
    name iproute2 shows for nsmgr's routes (`proto nsmgr`)."""
    run(["dpkg-deb", "-e", deb, str(tmp_path / "ctrl")], check=True)
    assert sorted(open(tmp_path / "ctrl" / "conffiles").read().split()) == \
        sorted([CONF, "/etc/iproute2/rt_protos.d/nsmgr.conf"])


def installed(root):
    return root.run(["dpkg-query", "-W", "-f", "${Status}", "nsmgr"]).stdout


def apt_install(root, *args):
    # The sandbox has no network: what is not on this machine cannot come.
    p = root.run(["apt-get", "install", "-y", "--no-install-recommends", *args, root.deb])
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def test_install_run_remove_purge(root):
    apt_install(root)
    assert installed(root) == "install ok installed"
    v = makefile_version()
    assert root.run(["nsmgrctl", "--version"], check=True).stdout == f"nsmgrctl {v}\n"
    assert root.run(["nsmgrd", "--version"], check=True).stdout == f"nsmgrd {v}\n"

    # The daemon is enabled as Debian enables daemons; in a root without a
    # running systemd, nothing was started.
    assert os.path.islink(root.path(WANTS))
    assert os.readlink(root.path(WANTS)).endswith("/systemd/system/nsmgrd.service")
    assert not root.exists("/run/nsmgr/nsmgrd.json")
    # tmpfiles.d made the state folder.
    assert os.path.isdir(root.path("/var/lib/nsmgr"))
    # Man pages, completion and examples where the tools look.
    assert root.run(["man", "-w", "nsmgrctl"], check=True).stdout.strip() == "/usr/share/man/man8/nsmgrctl.8.gz"
    assert root.run(["man", "-w", "5", "nsmgr.conf"], check=True).stdout.strip().endswith("nsmgr.conf.5.gz")
    p = root.run(["bash", "-c", ". /usr/share/bash-completion/bash_completion; __load_completion nsmgrctl; "
                                "complete -p nsmgrctl"], check=True)
    assert p.stdout.strip() == "complete -F _nsmgrctl nsmgrctl"
    p = root.run(["zsh", "-fc", "autoload -U compinit; compinit -u -D; print -r -- $_comps[nsmgrctl]"], check=True)
    assert p.stdout.strip() == "_nsmgrctl"

    # It works: the tutorial example from the docs, applied in the
    # sandbox's network namespace, and a ping across its bridge.
    ex = "/usr/share/doc/nsmgr/examples/bridge-tutorial.conf"
    root.run(["nsmgrctl", "apply", "-c", ex], check=True)
    assert root.run(["nsmgrctl", "list", "--quiet"], check=True).stdout == "blue\nred\n"
    root.run(["nsmgrctl", "exec", "red", "--", "ping", "-c1", "-W5", "198.18.10.2"], check=True)
    # ip netns, from the same root, sees them.
    assert sorted(l.split()[0] for l in root.run(["ip", "netns", "list"], check=True).stdout.splitlines()) == \
        ["blue", "red"]

    # State to keep on remove and drop on purge.
    os.makedirs(root.path("/var/lib/nsmgr/ipam/lab"))
    root.write("/var/lib/nsmgr/ipam/lab/198.18.20.2", "{}\n")
    with open(root.path(CONF), "a") as f:
        f.write("# edited\n")

    root.run(["apt-get", "remove", "-y", "nsmgr"], check=True)
    assert installed(root) == "deinstall ok config-files"
    assert not root.exists("/usr/bin/nsmgrctl") and not root.exists("/usr/sbin/nsmgrd")
    assert open(root.path(CONF)).read().endswith("# edited\n")
    assert root.exists("/var/lib/nsmgr/ipam/lab/198.18.20.2")

    root.run(["apt-get", "purge", "-y", "nsmgr"], check=True)
    assert installed(root) == ""
    for gone in ("/etc/nsmgr", "/var/lib/nsmgr", WANTS, "/usr/share/doc/nsmgr"):
        assert not root.exists(gone), gone


def test_purge_keeps_what_the_administrator_added(root):
    apt_install(root)
    root.write("/etc/nsmgr/conf.d/site.conf", "namespaces = ();\n")
    root.run(["apt-get", "purge", "-y", "nsmgr"], check=True)
    assert installed(root) == ""
    assert not root.exists(CONF) and not root.exists("/var/lib/nsmgr")
    assert open(root.path("/etc/nsmgr/conf.d/site.conf")).read() == "namespaces = ();\n"


SYSTEMCTL = """#!/bin/sh
# A stand-in for systemctl in the test's root: notes each call.
echo "$*" >> /tmp/systemctl.log
case "$*" in *is-enabled*) echo enabled ;; esac
exit 0
"""


def test_start_on_install_honours_policy_rc_d(root):
    """As if systemd ran (/run/systemd/system), with a systemctl that only
    notes its calls: policy-rc.d saying 101 keeps the daemon from being
    started; without it, install starts it (so the first half can fail)."""
    os.makedirs(root.path("/run/systemd/system"))
    root.write("/usr/bin/systemctl", SYSTEMCTL, 0o755)
    root.write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755)

    apt_install(root)
    log = open(root.path("/tmp/systemctl.log")).read()
    assert "daemon-reload" in log
    assert not re.search(r"\b(start|restart) nsmgrd.service", log), log
    # Enabled all the same (deb-systemd-helper asks systemctl for the preset).
    assert "preset nsmgrd.service" in log

    root.run(["apt-get", "purge", "-y", "nsmgr"], check=True)
    os.unlink(root.path("/usr/sbin/policy-rc.d"))
    os.unlink(root.path("/tmp/systemctl.log"))
    apt_install(root)
    log = open(root.path("/tmp/systemctl.log")).read()
    assert re.search(r"\bstart nsmgrd.service", log), log

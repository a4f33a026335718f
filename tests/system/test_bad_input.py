"""Bad input of every kind, as a table.

Each case runs one nsmgrctl command on a system where an earlier apply
made a network with NAT, a namespace and a lease. It must exit 1 (2 for a
usage error), print exactly one sentence per problem, each naming the
object and saying what to do, not die of a signal, not hang, and change
nothing: the links and addresses of the host and every namespace,
/run/netns, the nftables ruleset, the files under /var/lib/nsmgr and
/run/nsmgr, and the sysctls apply sets are compared before and after.

Adding a case is one line in CASES: Case(id, kind, input, expect), where
kind says how the input is given (see RUNNERS), expect is a text each
problem's sentence must hold (a tuple: one text per problem, in the
order printed), status the exit status and problems the number of lines
of output when it is not len(expect)."""

import json
import os
import re
import stat
from typing import Callable, NamedTuple, Union

import pytest

from conftest import ROOT, run

CONF = os.path.join(ROOT, "conf")
BASELINE = os.path.join(CONF, "lab.conf")
TIMEOUT = 20


class Case(NamedTuple):
    id: str
    kind: str                 # a key of RUNNERS
    input: Union[str, bytes, list, Callable]
    expect: Union[str, tuple]
    status: int = 1


def valid_ns(extra):
    """A config of one namespace with one veth, and what the case adds."""
    return ('namespaces = ( { name = "x"; interfaces = ( { name = "e0"; type = "veth"; '
            'addresses = [ "198.18.1.2/24" ]; ' + extra + ' } ); } );')


def iface(settings):
    return 'namespaces = ( { name = "x"; interfaces = ( { ' + settings + ' } ); } );'


def network(settings):
    return 'networks = ( { name = "n"; bridge = "br-n"; subnet = "198.18.2.0/24"; ' + settings + ' } );'


CASES = [
    # --- names -------------------------------------------------------------
    Case("uplink-quote", "conf", network('uplink = "e\\"th0";'),
         "network 'n', uplink: invalid interface name 'e\\x22th0': it contains '\"', which nft(8)"),
]


# --- how each kind of input is given ----------------------------------------

def write(tmp, content, name="bad.conf"):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    return path


def run_conf(nsmgr, tmp, case):
    """The input is the text of a config file, given to apply -c."""
    path = write(tmp, case.input)
    return nsmgr("apply", "-c", path, timeout=TIMEOUT), path


RUNNERS = {
    "conf": run_conf,
}


# --- what must stay the same -------------------------------------------------

VOLATILE = {"valid_life_time", "preferred_life_time", "operstate", "flags", "stats", "stats64"}


def _scrub(x, parent=None):
    if isinstance(x, dict):
        return {k: _scrub(v, k) for k, v in x.items()
                if k not in VOLATILE and not k.endswith("_timer") and not (parent == "info_slave_data" and k == "state")}
    if isinstance(x, list):
        return [_scrub(v, parent) for v in x]
    return x


def _ip(*args, netns=None):
    p = run(["ip"] + (["-n", netns] if netns else []) + ["-j", "-d"] + list(args), check=True)
    return json.loads(p.stdout) if p.stdout.strip() else []


def _tree(top):
    out = {}
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(d, f)
            st = os.lstat(path)
            out[path] = open(path, "rb").read() if stat.S_ISREG(st.st_mode) else stat.S_IFMT(st.st_mode)
        for sub in dirs:
            out[os.path.join(d, sub) + "/"] = "dir"
    return out


def snapshot():
    netns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    snap = {"netns": netns,
            "host": [_ip("link", "show"), _ip("addr", "show"), _ip("route", "show", "table", "all")],
            "nft": json.loads(run(["nft", "-j", "list", "ruleset"], check=True).stdout),
            "state": _tree("/var/lib/nsmgr"), "run": _tree("/run/nsmgr"),
            "sysctl": [open(f"/proc/sys/net/ipv4/{k}").read() for k in ("ip_forward", "conf/all/route_localnet")]}
    for ns in netns:
        snap["netns:" + ns] = [_ip("link", "show", netns=ns), _ip("addr", "show", netns=ns),
                               _ip("route", "show", "table", "all", netns=ns)]
    return _scrub(snap)


def diff(a, b, path=""):
    if type(a) != type(b):
        return [f"{path}: {a!r} -> {b!r}"]
    if isinstance(a, dict):
        return [d for k in sorted(set(a) | set(b), key=str) for d in diff(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} -> {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


# --- the test ----------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(nsmgr, tmp_path, case):
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    nsmgr.ok("apply", "-c", BASELINE)
    before = snapshot()

    p, where = RUNNERS[case.kind](nsmgr, str(tmp_path), case)

    assert p.returncode >= 0, f"killed by signal {-p.returncode}:\n{p.stderr}"
    assert p.returncode == case.status, f"exit status {p.returncode}, not {case.status}:\n{p.stdout}\n{p.stderr}"
    assert p.stdout == "", "bad input prints nothing on stdout"
    lines = p.stderr.splitlines()
    expect = case.expect if isinstance(case.expect, tuple) else (case.expect,)
    if case.status == 2:
        # A usage error: one line, and where to read more.
        assert lines[1:] == ["Try 'nsmgrctl --help' for more information."], p.stderr
        lines = lines[:1]
    assert len(lines) == len(expect), f"{len(expect)} problem(s) expected, one line each:\n{p.stderr}"
    for line, text in zip(lines, expect):
        assert line.startswith("nsmgrctl: "), line
        assert text in line, f"expected {text!r} in:\n{line}"
        # One sentence: no second one glued on, no doubled words.
        body = line[len("nsmgrctl: "):]
        assert not re.search(r"\. [A-Z]", body), f"more than one sentence: {body}"
        assert not re.search(r"\b([\w ]{4,}): \1\b", body), f"a doubled word: {body}"
        if where and case.kind == "conf":
            assert body.startswith(where + ":"), f"the problem names the file (and line): {body}"
    changes = diff(before, snapshot())
    assert not changes, "the system changed:\n" + "\n".join(changes[:20])

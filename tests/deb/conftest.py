"""Fixtures for the package tests (tests/deb/): the package `make deb` built,
and a copy-on-write root to install it into, in a sandbox of its own (see
tests/lib/sandbox.py and tests/lib/cowroot.py)."""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

from cowroot import CowRoot  # noqa: E402
from sandbox import Sandbox, become_subreaper  # noqa: E402

DEBDIR = os.environ.get("NSMGR_DEB_DIR", os.path.join(ROOT, "build", "deb"))


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("nsmgr's package tests need root (they install it into a sandboxed root)")
    become_subreaper()


def run(args, check=False, env=None, timeout=300):
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} failed with {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def deb():
    """The nsmgr package (not its -dbgsym) that `make deb` left in DEBDIR."""
    debs = [d for d in glob.glob(os.path.join(DEBDIR, "nsmgr_*.deb"))]
    if len(debs) != 1:
        pytest.fail(f"expected one nsmgr_*.deb in {DEBDIR}, found {debs}: run 'make deb' (or 'make check-deb')")
    return debs[0]


@pytest.fixture
def root(deb):
    """A copy-on-write root with the package copied to /tmp in it."""
    with Sandbox():
        r = CowRoot()
        subprocess.run(["cp", deb, r.path("/tmp/")], check=True)
        r.deb = "/tmp/" + os.path.basename(deb)
        yield r

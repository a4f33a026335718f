#!/usr/bin/env python3
"""What nsmgr-runtime adds to a `docker run`, against plain runc.

    bench/docker [BUILD_DIR] [--quick] [--rounds R] [--micro-rounds M]

Everything runs in a sandbox (tests/lib/sandbox.py) with Debian's dockerd
and containerd of its own (tests/lib/docker_sandbox.py), as the tests do.

end to end   `docker run --rm --network none IMAGE true`, which runs the
             runtime for create, start and delete, with:
               runc                  docker's default runtime
               nsmgr, asks nothing   --runtime nsmgr
               nsmgr, NSMGR_NETNS    --runtime nsmgr -e NSMGR_NETNS=pod1
               nsmgr, NSMGR_NETWORK  ... -e NSMGR_NETWORK=lab (attached
                                     already, as for every container after
                                     the first: the helper still reconciles)
             Rounds interleave (each round runs every variant once, in a
             shuffled order); a variant's cost over runc is the median of
             its per-round differences from runc's run in the same round.
shim alone   one runtime invocation, from spawn to reaped exit, wall clock
             and CPU time (wait4's rusage), nsmgr-runtime in front of /bin/true against
             /bin/true alone, on the config.json docker wrote for a real
             container (restored before each run):
               start (any verb but create and run)
               create, config.json asks nothing
               create, config.json asks for pod1 (checks docker's
                 hostconfig.json, rewrites config.json)
             Same interleaving; the cost is the median per-round difference.

Results: bench/results/docker.{md,json}.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))

from containers import make_rootfs  # noqa: E402
from docker_sandbox import DockerSandbox, missing_tools  # noqa: E402
from sandbox import Sandbox, become_subreaper  # noqa: E402

NET_CONF = 'networks = ( { name = "lab"; bridge = "br-lab"; subnet = "198.18.50.0/24"; masquerade = false; } );\n'
WORK = "/run/bench-docker"

E2E = [
    ("runc", []),
    ("nsmgr, asks nothing", ["--runtime", "nsmgr"]),
    ("nsmgr, NSMGR_NETNS", ["--runtime", "nsmgr", "-e", "NSMGR_NETNS=pod1"]),
    ("nsmgr, NSMGR_NETWORK", ["--runtime", "nsmgr", "-e", "NSMGR_NETNS=pod1", "-e", "NSMGR_NETWORK=lab"]),
]


def timed(argv):
    """(wall, cpu) seconds of argv from spawn to reaped exit: the wall clock
    around posix_spawn and wait4, and the process's own user + system time
    (wait4's rusage, the exec'd real runtime included), which waiting for a
    CPU on a busy machine does not inflate."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        t0 = time.monotonic()
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                                           (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status, ru = os.wait4(pid, 0)
        t = time.monotonic() - t0
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed with {os.waitstatus_to_exitcode(status)}")
    return t, ru.ru_utime + ru.ru_stime


def wall(d, args):
    t0 = time.monotonic()
    p = d.docker(*args)
    t = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed:\n{p.stderr}")
    return t


def paired(samples, base):
    """Median of the per-round differences from base."""
    return statistics.median([a - b for a, b in zip(samples, base)])


def iqr(samples, base):
    """First and third quartile of the per-round differences from base."""
    q = statistics.quantiles([a - b for a, b in zip(samples, base)], n=4)
    return q[0], q[2]


def end_to_end(d, rounds):
    res = {name: [] for name, _ in E2E}
    for name, extra in E2E:  # warm up: first runs pay for page cache, the helper's first attach
        wall(d, ["run", "--rm", "--network", "none", *extra, d.IMAGE, "true"])
    for _ in range(rounds):
        order = list(E2E)
        random.shuffle(order)
        for name, extra in order:
            res[name].append(wall(d, ["run", "--rm", "--network", "none", *extra, d.IMAGE, "true"]))
    return res


def shim_alone(d, build, rounds):
    """One invocation of nsmgr-runtime in front of /bin/true, against
    /bin/true, on a config.json docker wrote."""
    cid = d.docker_ok("run", "-d", "--network", "none", "--runtime", "nsmgr", d.IMAGE, "sleep", "600")
    src = f"/run/containerd/io.containerd.runtime.v2.task/moby/{cid}/config.json"
    plain = json.load(open(src))
    asking = json.loads(json.dumps(plain))
    asking["process"]["env"].append("NSMGR_NETNS=pod1")
    bundle = f"{WORK}/bundle"
    os.makedirs(bundle, exist_ok=True)
    texts = {"nothing": json.dumps(plain, indent="\t"), "pod1": json.dumps(asking, indent="\t")}
    runtime = os.path.join(build, "nsmgr-runtime")
    glob = ["--root", f"{WORK}/root", "--log", f"{WORK}/log.json", "--log-format", "json"]
    create = ["create", "--bundle", bundle, "--pid-file", f"{WORK}/init.pid", cid]
    cases = [
        ("start", None, glob + ["start", cid]),
        ("create, asks nothing", "nothing", glob + create),
        ("create, asks for pod1", "pod1", glob + create),
    ]
    res = {}
    for name, _, _ in cases:
        res[name] = {"shim": [], "direct": [], "shim_cpu": [], "direct_cpu": []}

    def one(name, text, args, shim):
        if text is not None:
            with open(f"{bundle}/config.json", "w") as f:
                f.write(texts[text])
        argv = ([runtime, "--runtime-path", "/bin/true"] if shim else ["/bin/true"]) + args
        return timed(argv)

    for name, text, args in cases:  # warm up, and check the shim did its work
        one(name, text, args, True)
    after = json.load(open(f"{bundle}/config.json"))
    assert {"type": "network", "path": "/run/netns/pod1"} in after["linux"]["namespaces"]
    for _ in range(rounds):
        order = [(c, s) for c in cases for s in (True, False)]
        random.shuffle(order)
        for (name, text, args), shim in order:
            t, cpu = one(name, text, args, shim)
            res[name]["shim" if shim else "direct"].append(t)
            res[name]["shim_cpu" if shim else "direct_cpu"].append(cpu)
    d.docker_ok("rm", "-f", cid)
    return res, len(texts["nothing"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--micro-rounds", type=int, default=300)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.micro_rounds = 3, 20
    build = os.path.abspath(a.build)
    reason = missing_tools()
    if reason:
        sys.exit(f"bench/docker: {reason}")
    become_subreaper()

    with Sandbox() as sb:
        os.makedirs(WORK, exist_ok=True)
        with open("/etc/nsmgr/nsmgr.conf", "w") as f:
            f.write(NET_CONF)
        with DockerSandbox(sb, runtimes={"nsmgr": os.path.join(build, "nsmgr-runtime")}, rootfs=make_rootfs) as d:
            subprocess.run([os.path.join(build, "nsmgrctl"), "create", "pod1"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([os.path.join(build, "nsmgrctl"), "attach", "pod1", "lab"], check=True,
                           stdout=subprocess.DEVNULL)
            t0 = time.monotonic()
            micro, config_size = shim_alone(d, build, a.micro_rounds)
            e2e = end_to_end(d, a.rounds)
            took = time.monotonic() - t0

    ms = lambda s: round(s * 1000, 3)
    runc = e2e["runc"]
    out = {
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                    "docker": subprocess.run(["dockerd", "--version"], capture_output=True, text=True).stdout.strip(),
                    "runc": subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]},
        "rounds": a.rounds, "micro_rounds": a.micro_rounds, "seconds": round(took, 1),
        "config_json_bytes": config_size,
        "end_to_end": {name: {"median_ms": ms(statistics.median(v)),
                              "added_ms": ms(paired(v, runc)) if name != "runc" else 0.0,
                              "added_iqr_ms": [ms(x) for x in iqr(v, runc)] if name != "runc" else [0.0, 0.0],
                              "ratio": round(statistics.median(v) / statistics.median(runc), 4)}
                       for name, v in e2e.items()},
        "shim_alone": {name: {"shim_median_ms": ms(statistics.median(v["shim"])),
                              "direct_median_ms": ms(statistics.median(v["direct"])),
                              "added_ms": ms(paired(v["shim"], v["direct"])),
                              "shim_cpu_ms": ms(statistics.median(v["shim_cpu"])),
                              "direct_cpu_ms": ms(statistics.median(v["direct_cpu"])),
                              "added_cpu_ms": ms(paired(v["shim_cpu"], v["direct_cpu"]))}
                       for name, v in micro.items()},
        "load_average": os.getloadavg(),
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "docker.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")

    lines = ["# nsmgr-runtime: what it adds to `docker run`", "",
             f"{out['machine']['docker']}; {out['machine']['runc']}; kernel {out['machine']['kernel']}, "
             f"{out['machine']['cpus']} CPUs. {a.rounds} interleaved rounds end to end, {a.micro_rounds} for the "
             f"shim alone; medians, and the median (and quartiles) of per-round differences; load average "
             f"{out['load_average'][0]:.1f} at the end. `bench/docker` (make bench-docker).", "",
             "## End to end: `docker run --rm --network none IMAGE true`", "",
             "| runtime | median ms | added ms (vs runc) | quartiles of added ms | × runc |", "|---|---|---|---|---|"]
    for name, v in out["end_to_end"].items():
        lo, hi = v["added_iqr_ms"]
        lines.append(f"| {name} | {v['median_ms']:.1f} | {v['added_ms']:+.1f} | {lo:+.1f} … {hi:+.1f} | "
                     f"{v['ratio']:.3f} |")
    lines += ["", f"## The shim alone: one runtime invocation (config.json of {config_size} bytes, as docker wrote it)",
              "", "Wall clock, and CPU time (user + system of the process, the exec'd runtime included).", "",
              "| invocation | nsmgr-runtime → /bin/true, ms | /bin/true, ms | added ms | added CPU ms |",
              "|---|---|---|---|---|"]
    for name, v in out["shim_alone"].items():
        lines.append(f"| {name} | {v['shim_median_ms']:.3f} | {v['direct_median_ms']:.3f} | {v['added_ms']:+.3f} | "
                     f"{v['added_cpu_ms']:+.3f} |")
    with open(os.path.join(a.out, "docker.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

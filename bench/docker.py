#!/usr/bin/env python3
"""What nsmgr-runtime adds to a `docker run`, against plain runc.

    bench/docker [BUILD_DIR] [--quick] [--rounds R] [--micro-rounds M]

Everything runs in a sandbox (tests/lib/sandbox.py) with Debian's dockerd
and containerd of its own (tests/lib/docker_sandbox.py), as the tests do.

calls        which runtime verbs one `docker run --rm --network none IMAGE
             true` makes containerd-shim-runc-v2 run, and how often: the
             runtime is a script that appends its argv to a file and execs
             nsmgr-runtime; once for a container that asks for nothing,
             once for one with NSMGR_NETNS=pod1.
shim alone   for each verb seen, M interleaved rounds (bench/spawn-pair.c:
             spawn to reaped exit, wall clock and CPU time from wait4's
             rusage; the order shuffled each round) of
               nsmgr-runtime --runtime-path /bin/true ARGS
               /bin/true ARGS
               exec-floor /bin/true ARGS   (bench/exec-floor.c: linked as
                   nsmgr-runtime is, it only execs: the cost of one more
                   exec, which no shim avoids)
             ARGS as the docker shim passed them; create on the
             config.json docker wrote for a real container (restored
             before each run), one asking for nothing and one with
             NSMGR_NETNS=pod1 (checks docker's hostconfig.json, rewrites
             config.json). A verb's cost is the median (and quartiles) of
             its per-round differences from /bin/true alone; a `docker
             run`'s is the sum over its calls of their medians.
end to end   `docker run --rm --network none IMAGE true` with:
               runc                  docker's default runtime
               nsmgr, asks nothing   --runtime nsmgr
               nsmgr, NSMGR_NETNS    --runtime nsmgr -e NSMGR_NETNS=pod1
               nsmgr, NSMGR_NETWORK  ... -e NSMGR_NETWORK=lab (attached
                                     already, as for every container after
                                     the first: the helper still reconciles)
             Rounds interleave (each round runs every variant once, in a
             shuffled order); a variant's cost over runc is the median (and
             quartiles) of its per-round differences from runc's run in the
             same round. When the quartiles are far wider than the shim's
             cost, this says nothing about the shim: it is noise-bound.

Results: bench/results/docker.{md,json}.
"""

import argparse
import collections
import json
import os
import platform
import random
import shlex
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
ARGV_LOG = f"{WORK}/argv.log"
STUB = "/bin/true"

E2E = [
    ("runc", []),
    ("nsmgr, asks nothing", ["--runtime", "nsmgr"]),
    ("nsmgr, NSMGR_NETNS", ["--runtime", "nsmgr", "-e", "NSMGR_NETNS=pod1"]),
    ("nsmgr, NSMGR_NETWORK", ["--runtime", "nsmgr", "-e", "NSMGR_NETNS=pod1", "-e", "NSMGR_NETWORK=lab"]),
]
ASKS = {"asks nothing": [], "NSMGR_NETNS": ["-e", "NSMGR_NETNS=pod1"]}

# runc's global options that take a value (runc 1.1's main.go).
RUNC_VALUE_FLAGS = {"--root", "--log", "--log-format", "--criu", "--rootless"}


def argv_runtime(runtime):
    """A runtime that writes down how it is called, then is nsmgr-runtime:
    each call appends its argv to ARGV_LOG, every word ended by a NUL and
    the call by one more."""
    path = f"{WORK}/argv-runtime"
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" '' >> {ARGV_LOG}\nexec {shlex.quote(runtime)} \"$@\"\n")
    os.chmod(path, 0o755)
    return path


def read_calls():
    try:
        with open(ARGV_LOG, "rb") as f:
            text = f.read().decode()
    except FileNotFoundError:
        return []
    return [call.split("\0") for call in text.split("\0\0") if call]


def verb_of(argv):
    """The command of a runc command line: the first word after the global
    options (those of RUNC_VALUE_FLAGS take the next word)."""
    i = 1
    while i < len(argv):
        w = argv[i]
        if w == "--":
            return argv[i + 1] if i + 1 < len(argv) else None
        if not w.startswith("-"):
            return w
        i += 2 if w in RUNC_VALUE_FLAGS else 1
    return None


def calls_per_run(d):
    """{asks: [argv, ...]}: the runtime's calls during one docker run each."""
    out = {}
    for asks, extra in ASKS.items():
        d.docker_ok("run", "--rm", "--network", "none", "--runtime", "nsmgr-argv", *extra, d.IMAGE, "true")
        # containerd's shim may still be deleting when docker run returns
        calls, deadline = read_calls(), time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = read_calls()
            if len(now) == len(calls):
                break
            calls = now
        out[asks] = calls
        os.unlink(ARGV_LOG)
    return out


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


def spawn_pair(build, rounds, commands, restore=None):
    """[(a_wall, a_cpu, b_wall, b_cpu, ...)] of interleaved rounds of the commands."""
    out = f"{WORK}/pairs.txt"
    argv = [os.path.join(build, "bench", "spawn-pair")]
    if restore:
        argv += ["-r", *restore]
    argv += [str(rounds), out, *commands[0]]
    for c in commands[1:]:
        argv += ["---", *c]
    subprocess.run(argv, check=True)
    with open(out) as f:
        return [tuple(float(x) for x in line.split()) for line in f]


def shim_alone(d, build, calls, pairs):
    """Per verb docker used: nsmgr-runtime in front of the stub, against the
    stub alone, with the arguments docker's shim gave."""
    bundle = f"{WORK}/bundle"
    os.makedirs(bundle, exist_ok=True)
    configs = {}
    cids = []
    for asks, extra in ASKS.items():  # config.json as docker writes it, runc running the container
        cid = d.docker_ok("run", "-d", "--network", "none", *extra, d.IMAGE, "sleep", "600")
        cids.append(cid)
        src = f"/run/containerd/io.containerd.runtime.v2.task/moby/{cid}/config.json"
        configs[asks] = (cid, f"{WORK}/config-{len(configs)}.json")
        with open(src) as f, open(configs[asks][1], "w") as g:
            g.write(f.read())
    runtime = os.path.join(build, "nsmgr-runtime")
    floor = os.path.join(build, "bench", "exec-floor")

    cases = []  # (name, args, restore)
    seen = set()
    for asks in ASKS:
        for argv in calls[asks]:
            verb = verb_of(argv)
            key = ("create", asks) if verb in ("create", "run") else (verb, None)
            if key in seen:
                continue
            seen.add(key)
            args = list(argv[1:])
            restore = None
            if key[1] is not None:
                cid, saved = configs[asks]
                args = [bundle if prev in ("--bundle", "-b") else w for prev, w in zip([""] + args, args)]
                args[-1] = cid  # the container docker's hostconfig.json is about
                restore = (saved, f"{bundle}/config.json")
            cases.append((f"{verb}, {asks}" if key[1] else verb, args, restore))

    # The shim did its work on pod1's config.json.
    name, args, restore = next(c for c in cases if c[0] == "create, NSMGR_NETNS")
    with open(restore[0]) as f, open(restore[1], "w") as g:
        g.write(f.read())
    subprocess.run([runtime, "--runtime-path", STUB, *args], check=True)
    after = json.load(open(restore[1]))
    assert {"type": "network", "path": "/run/netns/pod1"} in after["linux"]["namespaces"], after["linux"]

    res = {}
    for name, args, restore in cases:
        res[name] = {"args": args,
                     "rounds": spawn_pair(build, pairs, [[runtime, "--runtime-path", STUB, *args], [STUB, *args],
                                                         [floor, STUB, *args]], restore)}
    for cid in cids:
        d.docker_ok("rm", "-f", cid)
    return res, os.path.getsize(configs["asks nothing"][1])


def quartiles(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], q[1], q[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--micro-rounds", type=int, default=500)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.micro_rounds = 5, 50
    build = os.path.abspath(a.build)
    reason = missing_tools()
    if reason:
        sys.exit(f"bench/docker: {reason}")
    for tool in ("spawn-pair", "exec-floor"):
        if not os.access(os.path.join(build, "bench", tool), os.X_OK):
            sys.exit(f"bench/docker: {build}/bench/{tool} is missing: make {build}/bench/{tool} "
                     "(make bench-docker does)")
    become_subreaper()

    load = [os.getloadavg()]
    with Sandbox() as sb:
        os.makedirs(WORK, exist_ok=True)
        with open("/etc/nsmgr/nsmgr.conf", "w") as f:
            f.write(NET_CONF)
        runtime = os.path.join(build, "nsmgr-runtime")
        with DockerSandbox(sb, runtimes={"nsmgr": runtime, "nsmgr-argv": argv_runtime(runtime)},
                           rootfs=make_rootfs) as d:
            subprocess.run([os.path.join(build, "nsmgrctl"), "create", "pod1"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([os.path.join(build, "nsmgrctl"), "attach", "pod1", "lab"], check=True,
                           stdout=subprocess.DEVNULL)
            t0 = time.monotonic()
            calls = calls_per_run(d)
            micro, config_size = shim_alone(d, build, calls, a.micro_rounds)
            load.append(os.getloadavg())
            e2e = end_to_end(d, a.rounds)
            load.append(os.getloadavg())
            took = time.monotonic() - t0

    ms = lambda s: round(s * 1000, 3)
    runc = e2e["runc"]
    shim = {}
    for name, v in micro.items():
        p = v["rounds"]  # shim wall, cpu, stub wall, cpu, floor wall, cpu
        shim[name] = {"args": v["args"],
                      "shim_ms": [ms(x) for x in quartiles([r[0] for r in p])],
                      "stub_ms": [ms(x) for x in quartiles([r[2] for r in p])],
                      "added_ms": [ms(x) for x in quartiles([r[0] - r[2] for r in p])],
                      "shim_cpu_ms": [ms(x) for x in quartiles([r[1] for r in p])],
                      "stub_cpu_ms": [ms(x) for x in quartiles([r[3] for r in p])],
                      "added_cpu_ms": [ms(x) for x in quartiles([r[1] - r[3] for r in p])],
                      "floor_added_ms": [ms(x) for x in quartiles([r[4] - r[2] for r in p])],
                      "floor_added_cpu_ms": [ms(x) for x in quartiles([r[5] - r[3] for r in p])],
                      "over_floor_ms": [ms(x) for x in quartiles([r[0] - r[4] for r in p])],
                      "over_floor_cpu_ms": [ms(x) for x in quartiles([r[1] - r[5] for r in p])]}
    per_run = {}
    for asks, argvs in calls.items():
        counts = collections.Counter()
        for argv in argvs:
            verb = verb_of(argv)
            counts[f"create, {asks}" if verb in ("create", "run") else verb] += 1
        per_run[asks] = {"calls": dict(counts),
                         "argv": [argv[1:] for argv in argvs],
                         # sums of the verbs' medians, and of their third quartiles
                         "added_ms": round(sum(n * shim[k]["added_ms"][1] for k, n in counts.items()), 3),
                         "added_ms_q3": round(sum(n * shim[k]["added_ms"][2] for k, n in counts.items()), 3),
                         "added_cpu_ms": round(sum(n * shim[k]["added_cpu_ms"][1] for k, n in counts.items()), 3),
                         "added_cpu_ms_q3": round(sum(n * shim[k]["added_cpu_ms"][2] for k, n in counts.items()),
                                                  3),
                         # what the same calls cost through a shim that only execs
                         "floor_ms": round(sum(n * shim[k]["floor_added_ms"][1] for k, n in counts.items()), 3),
                         "floor_cpu_ms": round(sum(n * shim[k]["floor_added_cpu_ms"][1] for k, n in counts.items()),
                                               3),
                         # the shim's own work: over the floor, in the same rounds
                         "over_floor_ms": round(sum(n * shim[k]["over_floor_ms"][1] for k, n in counts.items()), 3),
                         "over_floor_cpu_ms": round(sum(n * shim[k]["over_floor_cpu_ms"][1]
                                                        for k, n in counts.items()), 3)}
    out = {
        "machine": {"kernel": platform.release(), "cpus": os.cpu_count(),
                    "docker": subprocess.run(["dockerd", "--version"], capture_output=True, text=True).stdout.strip(),
                    "runc": subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout.split("\n")[0],
                    "nsmgr_runtime": subprocess.run(["file", "-b", runtime], capture_output=True,
                                                    text=True).stdout.split(",")[:2]},
        "rounds": a.rounds, "micro_rounds": a.micro_rounds, "seconds": round(took, 1), "stub": STUB,
        "config_json_bytes": config_size,
        "load_average": {"start": load[0], "after_shim_alone": load[1], "end": load[2]},
        "per_docker_run": per_run,
        "shim_alone": shim,
        "end_to_end": {name: {"median_ms": ms(statistics.median(v)),
                              "added_ms": ms(paired(v, runc)) if name != "runc" else 0.0,
                              "added_iqr_ms": [ms(x) for x in iqr(v, runc)] if name != "runc" else [0.0, 0.0],
                              "ratio": round(statistics.median(v) / statistics.median(runc), 4)}
                       for name, v in e2e.items()},
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "docker.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")

    la = lambda x: f"{x[0]:.2f}"
    q3 = lambda v: f"{v[1]:+.3f} ({v[0]:+.3f} … {v[2]:+.3f})"
    lines = ["# nsmgr-runtime: what it adds to `docker run`", "",
             f"{out['machine']['docker']}; {out['machine']['runc']}; kernel {out['machine']['kernel']}, "
             f"{out['machine']['cpus']} CPUs; nsmgr-runtime {', '.join(s.strip() for s in out['machine']['nsmgr_runtime'])}. "
             f"Load average (1 min) {la(load[0])} at the start, {la(load[1])} after the shim alone, "
             f"{la(load[2])} at the end. `bench/docker` (make bench-docker), {out['seconds']:.0f} s.", "",
             "## Per `docker run`: the runtime's calls and what the shim adds to them", "",
             "Calls of the runtime that containerd-shim-runc-v2 makes for one "
             "`docker run --rm --network none IMAGE true`, counted by a runtime that writes its argv down; "
             "each verb's cost is from the table below (median of per-round differences); the sum is the "
             "sum of the medians (of the third quartiles in brackets). The floor is what the same calls "
             "cost through bench/exec-floor.c, a program linked as nsmgr-runtime is that only execs the real "
             "runtime: the price of one more exec per call, which no shim avoids.", "",
             "| container | calls | added wall ms | added CPU ms | floor: wall, CPU ms | "
             "the shim's own work (over the floor): wall, CPU ms |", "|---|---|---|---|---|---|"]
    for asks, v in per_run.items():
        calls_s = ", ".join(f"{k.split(',')[0]} ×{n}" for k, n in v["calls"].items())
        lines.append(f"| {asks} | {calls_s} | {v['added_ms']:.2f} ({v['added_ms_q3']:.2f}) | "
                     f"{v['added_cpu_ms']:.2f} ({v['added_cpu_ms_q3']:.2f}) | "
                     f"{v['floor_ms']:.2f}, {v['floor_cpu_ms']:.2f} | "
                     f"{v['over_floor_ms']:.2f}, {v['over_floor_cpu_ms']:.2f} |")
    worst = max(v["added_ms"] for v in per_run.values())
    worst_cpu = max(v["added_cpu_ms"] for v in per_run.values())
    lines += ["", f"Goal (issue #13): at most 5 ms per `docker run`: "
                  f"{'met' if worst <= 5 else 'missed'} here, {worst:.2f} ms wall and {worst_cpu:.2f} ms CPU "
                  f"at worst; of that, the floor (one more exec per call) is "
                  f"{max(v['floor_ms'] for v in per_run.values()):.2f} ms wall and the shim's own work "
                  f"{max(v['over_floor_ms'] for v in per_run.values()):.2f} ms.", "",
              f"## The shim alone: one runtime call, {a.micro_rounds} interleaved rounds", "",
              f"`nsmgr-runtime --runtime-path {STUB} ARGS` against `{STUB} ARGS` and `exec-floor {STUB} ARGS`, "
              f"in shuffled order each round, ARGS as docker's shim passed them (create: on a config.json docker wrote, {config_size} bytes, restored before each run). "
              "Spawn to reaped exit (bench/spawn-pair.c); CPU is the child's user + system time, the exec'd stub "
              "included. Medians (of per-round differences), quartiles in brackets.", "",
              f"| call | shim → {STUB}, ms | {STUB}, ms | added wall ms | added CPU ms | exec-floor: added wall, "
              "CPU ms | shim over the floor: wall, CPU ms |",
              "|---|---|---|---|---|---|---|"]
    for name, v in shim.items():
        lines.append(f"| {name} | {v['shim_ms'][1]:.3f} | {v['stub_ms'][1]:.3f} | {q3(v['added_ms'])} | "
                     f"{q3(v['added_cpu_ms'])} | {v['floor_added_ms'][1]:+.3f}, {v['floor_added_cpu_ms'][1]:+.3f} | "
                     f"{v['over_floor_ms'][1]:+.3f}, {v['over_floor_cpu_ms'][1]:+.3f} |")
    lines += ["", f"## End to end: `docker run --rm --network none IMAGE true`, {a.rounds} interleaved rounds", "",
              "| runtime | median ms | added ms (vs runc, per round) | quartiles of added ms | × runc |",
              "|---|---|---|---|---|"]
    noisy = []
    for name, v in out["end_to_end"].items():
        lo, hi = v["added_iqr_ms"]
        lines.append(f"| {name} | {v['median_ms']:.1f} | {v['added_ms']:+.1f} | {lo:+.1f} … {hi:+.1f} | "
                     f"{v['ratio']:.3f} |")
        if name == "nsmgr, asks nothing":
            noisy = hi - lo > 4 * max(worst, 1.0)
    if noisy:
        lines += ["", "End to end, the quartiles of the difference are much wider than the shim's cost: "
                      "this comparison is noise-bound and says nothing about the shim's few milliseconds; "
                      "the per-call figures above do."]
    with open(os.path.join(a.out, "docker.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

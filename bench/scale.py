"""nsmgr at scale: up to 10,000 namespaces on bridges of at most 1000 ports
(a Linux bridge takes at most 1024), run by `bench.py --scale`.

Two measurements a size N, each in a sandbox of its own, interleaved:
  floor   bench/floor-wire N --per-bridge 1000: the same namespaces, bridges,
          veths, addresses and routes with nothing but the requests they need
  nsmgr   nsmgrctl apply (first, then again once the machine is idle: the
          re-apply with nothing to change), nsmgrctl list against
          ip netns list (paired, median of 5 each), nsmgrd started on what
          apply made (the time to READY=1: the adopt), then, with nsmgrd
          running, bench/repair-latency for a deleted veth, address and
          default route in the middle namespace (COUNT events each), and
          nsmgrd's resident memory before and after the repairs.
"""

import math
import os
import signal
import socket
import statistics
import subprocess
import time

PER_BRIDGE = 1000


def bridge_net(b):
    """Bridge b's /20 (the same as floor-wire.c's ip4_on): (a, b, c) of its base."""
    return 18 + (b >> 4), (b & 15) << 4


def ip4_on(b, h):
    second, third = bridge_net(b)
    return f"198.{second}.{third | (h >> 8)}.{h & 255}"


def conf_scale(n):
    bridges = math.ceil(n / PER_BRIDGE)
    lines = ["host = { bridges = ("]
    lines += [f'  {{ name = "br{b}"; addresses = [ "{ip4_on(b, 1)}/20" ]; }}' + ("," if b < bridges - 1 else "")
              for b in range(bridges)]
    lines += ["); };", "namespaces = ("]
    for i in range(n):
        b, h = divmod(i, PER_BRIDGE)
        lines.append(
            f'  {{ name = "ns{i}"; interfaces = ( {{ name = "eth0"; type = "veth"; bridge = "br{b}"; '
            f'peer = {{ name = "vh{i}"; }}; addresses = [ "{ip4_on(b, h + 2)}/20" ]; }} ); '
            f'routes = ( {{ to = "default"; via = "{ip4_on(b, 1)}"; }} ); }}' + ("," if i < n - 1 else ""))
    lines.append(");")
    return "\n".join(lines) + "\n"


def check_wired(B, T, n, what):
    """n namespaces, the last one with its address, lo up and its route."""
    got = len(os.listdir("/run/netns"))
    if got != n:
        raise RuntimeError(f"scale {what}: {got} namespaces, not {n}")
    b, h = divmod(n - 1, PER_BRIDGE)
    last, addr, gw = f"ns{n - 1}", ip4_on(b, h + 2), ip4_on(b, 1)
    out = subprocess.run([T.ip, "-n", last, "-4", "-o", "addr", "show", "eth0"], check=True,
                         capture_output=True, text=True).stdout
    routes = subprocess.run([T.ip, "-n", last, "route", "show", "default"], check=True,
                            capture_output=True, text=True).stdout
    if f" {addr}/20 " not in out or gw not in routes:
        raise RuntimeError(f"scale {what}: {last} is not wired: {out!r} {routes!r}")


def check_reread(T, n):
    """floor-reread sees every namespace: lo and eth0 in each."""
    p = subprocess.run([T.floor_reread, str(n)], check=True, capture_output=True, text=True)
    links = int(p.stdout.split(", ")[1].split()[0])
    if links != 2 * n:
        raise RuntimeError(f"floor-reread read {links} links in {n} namespaces, not {2 * n}: {p.stdout!r}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def start_nsmgrd(B, T, conf, sb):
    """nsmgrd on what exists; returns (process, seconds to READY=1)."""
    path = B.WORK + "/notify"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    s.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    t0 = time.perf_counter()
    p = sb.spawn([T.nsmgrd, "-c", conf], env=env, stdout=subprocess.DEVNULL,
                 stderr=open(B.WORK + "/nsmgrd.log", "w"))
    try:
        deadline = t0 + 120
        while True:
            left = deadline - time.perf_counter()
            if left <= 0 or p.poll() is not None:
                raise RuntimeError("nsmgrd did not signal READY=1" +
                                   (f" (exited {p.returncode})" if p.poll() is not None else ""))
            s.settimeout(left)
            try:
                msg = s.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            if "READY=1" in msg.split("\n"):
                return p, time.perf_counter() - t0
    finally:
        s.close()


def repair_latency(B, T, n, count):
    """bench/repair-latency for each kind of drift in the middle namespace."""
    i = n // 2
    b, h = divmod(i, PER_BRIDGE)
    out = {}
    for kind, extra in (("veth", ["--host-end", f"vh{i}"]),
                        ("address", ["--dev", "eth0", "--addr", f"{ip4_on(b, h + 2)}/20"]),
                        ("route", [])):
        p = subprocess.run([T.repair_latency, kind, f"ns{i}", str(count), *extra],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"repair-latency {kind}: {p.stderr.strip()}")
        import json
        res = json.loads(p.stdout)
        out[kind] = {"ms": res["ms"], "ms_request": res["ms_request"], "failed": res["failed"]}
    return out


def trial(B, T, spec, sb):
    n, v = spec["n"], spec["variant"]
    out = {}
    conf = B.WORK + "/scale.conf"
    if v == "floor":
        out["t"], _ = B.run_timed([T.floor_wire, str(n), "--per-bridge", str(PER_BRIDGE)])
        check_wired(B, T, n, v)
        return out
    B.write(conf, conf_scale(n))
    out["t"], out["rss_apply_kib"] = B.run_timed([T.nsmgrctl, "apply", "-c", conf])
    check_wired(B, T, n, v)
    B.wait_idle()
    check_reread(T, n)
    re, fl = [], []
    for _ in range(3):
        re.append(B.run_timed([T.nsmgrctl, "apply", "-c", conf])[0])
        fl.append(B.run_timed([T.floor_reread, str(n)])[0])
    out["t_reapply"], out["t_reread_floor"] = statistics.median(re), statistics.median(fl)
    out["t_reapply_all"], out["t_reread_floor_all"] = re, fl
    a, b = [], []
    for _ in range(5):
        a.append(B.run_timed([T.nsmgrctl, "list"])[0])
        b.append(B.run_timed([T.ip, "netns", "list"])[0])
    out["t_list"], out["t_list_ip"] = statistics.median(a), statistics.median(b)
    out["list_ratio"] = statistics.median(x / y for x, y in zip(a, b))
    p, out["t_adopt"] = start_nsmgrd(B, T, conf, sb)
    try:
        B.wait_idle()
        out["rss_daemon_kib"] = rss_kib(p.pid)
        out["repair"] = repair_latency(B, T, n, spec.get("count", 50))
        out["rss_daemon_after_kib"] = rss_kib(p.pid)
        if p.poll() is not None:
            raise RuntimeError(f"nsmgrd exited {p.returncode} during the repairs")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return out


def plan(ns):
    return [("scale", v, n) for n in ns for v in ("floor", "nsmgr")]


# --- the report ------------------------------------------------------------

def _pct(v, q):
    v = sorted(v)
    if not v:
        return None
    k = (len(v) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def _ok(raw, v, n):
    return [x for x in raw.get(f"scale|{v}|{n}", []) if "error" not in x]


def _med(raw, v, n, key):
    vals = [x[key] for x in _ok(raw, v, n) if x.get(key) is not None]
    return statistics.median(vals) if vals else None


def _f(x, fmt="{:.3g}"):
    return "—" if x is None else fmt.format(x)


def summarize(raw, ns):
    """Per N: the medians and the latency figures (events of all rounds pooled)."""
    rows = {}
    for n in ns:
        r = {"n": n}
        r["apply_ms_ns"] = _med(raw, "nsmgr", n, "t")
        r["floor_ms_ns"] = _med(raw, "floor", n, "t")
        for k in ("apply_ms_ns", "floor_ms_ns"):
            if r[k] is not None:
                r[k] = r[k] * 1000 / n
        ratios = []
        for x, f in zip(_ok(raw, "nsmgr", n), _ok(raw, "floor", n)):
            ratios.append(x["t"] / f["t"])
        r["apply_x_floor"] = statistics.median(ratios) if ratios else None
        re = [x["t_reapply"] / x["t"] for x in _ok(raw, "nsmgr", n)]
        r["reapply_pct"] = statistics.median(re) * 100 if re else None
        fl = [x["t_reread_floor"] / x["t"] for x in _ok(raw, "nsmgr", n) if x.get("t_reread_floor")]
        r["reread_floor_pct"] = statistics.median(fl) * 100 if fl else None
        r["list_ratio"] = _med(raw, "nsmgr", n, "list_ratio")
        r["list_ms"] = _med(raw, "nsmgr", n, "t_list")
        r["list_ip_ms"] = _med(raw, "nsmgr", n, "t_list_ip")
        for k in ("list_ms", "list_ip_ms"):
            if r[k] is not None:
                r[k] *= 1000
        r["adopt_s"] = _med(raw, "nsmgr", n, "t_adopt")
        rss = [max(x["rss_daemon_kib"], x.get("rss_daemon_after_kib") or 0) for x in _ok(raw, "nsmgr", n)
               if x.get("rss_daemon_kib")]
        r["rss_mib"] = statistics.median(rss) / 1024 if rss else None
        for kind in ("veth", "address", "route"):
            ms, failed = [], 0
            for x in _ok(raw, "nsmgr", n):
                ms += x["repair"][kind]["ms"]
                failed += x["repair"][kind]["failed"]
            r[kind] = {"events": len(ms), "failed": failed, "min": min(ms) if ms else None,
                       "median": statistics.median(ms) if ms else None, "p95": _pct(ms, 0.95),
                       "max": max(ms) if ms else None}
        rows[n] = r
    return rows


def targets(rows, ns):
    t = []
    lo, hi = min(ns), max(ns)
    a, b = rows[lo], rows[hi]
    if lo != hi and None not in (a["apply_ms_ns"], b["apply_ms_ns"], a["floor_ms_ns"], b["floor_ms_ns"]):
        g, fg = b["apply_ms_ns"] / a["apply_ms_ns"], b["floor_ms_ns"] / a["floor_ms_ns"]
        t.append(("apply: per-namespace cost at the largest N / at the smallest", f"{lo}→{hi}",
                  f"{g:.2f}× (floor {fg:.2f}×)", "≤ 1.25×, or the floor's growth + 10 %",
                  g <= 1.25 or g <= fg * 1.10))
    for n in ns:
        r = rows[n]
        if r["reapply_pct"] is not None:
            floor = f" (re-read floor {r['reread_floor_pct']:.1f} %)" if r["reread_floor_pct"] is not None else ""
            t.append(("re-apply, nothing to change / first apply", n, f"{r['reapply_pct']:.1f} %{floor}", "≤ 10 %",
                      r["reapply_pct"] <= 10))
    for n in ns:
        r = rows[n]
        if r["adopt_s"] is not None and n >= 1000:
            t.append(("nsmgrd adopt", n, f"{r['adopt_s']:.3f} s", "≤ 2 s", r["adopt_s"] <= 2))
        if r["rss_mib"] is not None and n >= 1000:
            t.append(("nsmgrd steady RSS", n, f"{r['rss_mib']:.1f} MiB", "≤ 25 MiB", r["rss_mib"] <= 25))
    for n in ns:
        p95 = rows[n]["veth"]["p95"]
        if p95 is not None and n in (1000, 10000):
            lim = 20 if n == 1000 else 50
            t.append(("event-to-repair p95, a deleted veth", n, f"{p95:.1f} ms", f"≤ {lim} ms", p95 <= lim))
    p = [rows[n]["veth"]["p95"] for n in ns if rows[n]["veth"]["p95"] is not None]
    if len(p) > 1:
        t.append(("event-to-repair p95 (veth), largest / smallest over N", f"{lo}→{hi}",
                  f"{max(p) / min(p):.2f}×", "≤ 2×", max(p) / min(p) <= 2))
    r = rows[hi]
    if r["list_ratio"] is not None:
        t.append(("list: nsmgrctl list / ip netns list", hi, f"{r['list_ratio']:.2f}×", "≤ 1.00×",
                  r["list_ratio"] <= 1.0))
    return t


def write_all(out_dir, info, raw, ns):
    import json
    rows = summarize(raw, ns)
    tg = targets(rows, ns)
    md = [f"Machine: Linux {info['kernel']}, {info['cpus']} CPUs ({info['cpu']}), {info['memory_gib']} GiB; "
          f"libnl {info['libnl']}; nsmgr {info['nsmgr_commit']}; {info['date']}.",
          f"{info['runs']} round(s), N = {', '.join(str(n) for n in ns)} namespaces on bridges of at most "
          f"{PER_BRIDGE} ports, each measurement in a fresh sandbox; repair latencies pooled over "
          f"{info['count']} events a kind and round, nsmgrd running, each drift made once the namespace was "
          f"quiet for 100 ms. Whole run: {info['elapsed_s']} s.", "",
          "### Targets", "", "| target | N | measured | required | met |", "|---|---|---|---|---|"]
    for name, n, got, req, ok in tg:
        md.append(f"| {name} | {n} | {got} | {req} | {'**yes**' if ok else '**NO**'} |")
    md += ["", "### Per size", "",
           "ms per namespace for apply (× the libnl floor in the same round); re-apply with nothing to change as % "
           "of the first apply, and the re-read floor (bench/floor-reread: the same namespaces read back with "
           "nothing but the dumps, in the same sandbox) as % of it too; list in ms (× ip netns list); nsmgrd's "
           "time to READY=1 on N namespaces and its resident memory.", "",
           "| N | floor ms/ns | apply ms/ns | re-apply | re-read floor | list ms (× ip) | nsmgrd adopt | nsmgrd RSS |",
           "|---|---|---|---|---|---|---|---|"]
    for n in ns:
        r = rows[n]
        md.append(f"| {n} | {_f(r['floor_ms_ns'])} | {_f(r['apply_ms_ns'])} ({_f(r['apply_x_floor'], '{:.2f}×')}) | "
                  f"{_f(r['reapply_pct'], '{:.1f} %')} | {_f(r['reread_floor_pct'], '{:.1f} %')} | {_f(r['list_ms'])} ({_f(r['list_ratio'], '{:.2f}×')}) | "
                  f"{_f(r['adopt_s'], '{:.3f} s')} | {_f(r['rss_mib'], '{:.1f} MiB')} |")
    md += ["", "### Event to repair",  "",
           "ms from the kernel's notice of the drift to that of its repair, as a socket in the namespace hears "
           "them (bench/repair-latency.c): min / median / p95 / max (events, failed).", "",
           "| N | deleted veth | deleted address | deleted default route |", "|---|---|---|---|"]
    for n in ns:
        cells = []
        for kind in ("veth", "address", "route"):
            k = rows[n][kind]
            cells.append(f"{_f(k['min'])} / {_f(k['median'])} / {_f(k['p95'])} / {_f(k['max'])} "
                         f"({k['events']}, {k['failed']})")
        md.append(f"| {n} | " + " | ".join(cells) + " |")
    text = "\n".join(md) + "\n"
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "rows": {str(k): v for k, v in rows.items()},
                   "targets": [{"target": a, "n": b, "measured": c, "required": d, "met": e}
                               for a, b, c, d, e in tg]}, f, indent=1)
    return text

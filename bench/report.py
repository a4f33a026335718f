"""Turns bench.py's raw measurements into the table (Markdown, CSV, JSON)
and the per-namespace plot. Ratios are medians over rounds of the ratio
measured within each round (both sides ran in the same round, interleaved);
times are medians over rounds and are context only."""

import csv
import json
import os
import statistics
import subprocess

NAMES = {
    ("create", "floor"): "syscall floor (C)",
    ("create", "nsmgr-apply"): "nsmgrctl apply",
    ("create", "nsmgr-create"): "N x nsmgrctl create",
    ("create", "ip-loop"): "N x ip netns add",
    ("create", "ip-batch"): "ip -batch",
    ("delete", "floor"): "syscall floor (C)",
    ("delete", "nsmgr-apply"): "nsmgrctl apply (empty config)",
    ("delete", "nsmgr-delete"): "N x nsmgrctl delete",
    ("delete", "ip-loop"): "N x ip netns del",
    ("delete", "ip-batch"): "ip -batch",
    ("wire", "floor"): "libnl floor (C)",
    ("wire", "floor-ipv6"): "libnl floor, IPv6 on",
    ("wire", "floor-move"): "libnl floor, veth moved",
    ("wire", "nsmgr"): "nsmgrctl apply",
    ("wire", "ip-tutorial"): "tutorial ip loop",
    ("wire", "ip-batch"): "ip -batch",
    ("wire", "cni"): "CNI bridge+host-local+loopback",
    ("cni", "nsmgr"): "nsmgr CNI plugin",
    ("cni", "ref"): "bridge+host-local+loopback",
    ("cni", "floor"): "libnl floor (C), one run a pod",
}
ORDER = {
    "create": ["floor", "nsmgr-apply", "nsmgr-create", "ip-loop", "ip-batch"],
    "delete": ["floor", "nsmgr-apply", "nsmgr-delete", "ip-loop", "ip-batch"],
    "wire": ["floor", "nsmgr", "floor-ipv6", "floor-move", "ip-tutorial", "ip-batch", "cni"],
    "cni": ["floor", "nsmgr", "ref"],
}


def _ok(v):
    return [x for x in v if "error" not in x]


def med(raw, w, v, n, key="t"):
    xs = [x[key] for x in _ok(raw.get(f"{w}|{v}|{n}", [])) if x.get(key) is not None]
    return statistics.median(xs) if xs else None


def runs_of(raw, w, v, n, key="t"):
    return [x.get(key) if "error" not in x else None for x in raw.get(f"{w}|{v}|{n}", [])]


def paired_ratio(a, b):
    """Median over rounds of a[r] / b[r]; rounds where either failed are
    left out."""
    rs = [x / y for x, y in zip(a, b) if x is not None and y]
    return statistics.median(rs) if rs else None


def fmt_ms(sec, n):
    return "—" if sec is None else f"{sec * 1000 / n:.3g}"


def fmt_x(r):
    return "—" if r is None else f"{r:.2f}×"


def cni_split(raw, n, a, b):
    """a / b for ADD and for DEL alone, paired by round."""
    ra = paired_ratio(runs_of(raw, "cni", a, n, "t_add"), runs_of(raw, "cni", b, n, "t_add"))
    rd = paired_ratio(runs_of(raw, "cni", a, n, "t_del"), runs_of(raw, "cni", b, n, "t_del"))
    return "" if ra is None or rd is None else f"ADD {fmt_x(ra)}, DEL {fmt_x(rd)}"


def targets(raw, ns, have_daemon):
    rows = []   # (target, N, measured text, required text, met: True/False/None, note)

    def add(name, n, val, req, met, note=""):
        rows.append((name, n, val, req, met, note))

    big = max(ns)
    mid = [n for n in ns if n != big] or ns
    # create
    r = paired_ratio(runs_of(raw, "create", "nsmgr-apply", big), runs_of(raw, "create", "floor", big))
    add("create: nsmgrctl apply / syscall floor", big, fmt_x(r), "≤ 1.30×", None if r is None else r <= 1.3)
    r = paired_ratio(runs_of(raw, "create", "ip-loop", big), runs_of(raw, "create", "nsmgr-apply", big))
    add("create: ip netns add loop / nsmgrctl apply", big, fmt_x(r), "≥ 5×", None if r is None else r >= 5)
    # wire
    for n in mid:
        r = paired_ratio(runs_of(raw, "wire", "nsmgr", n), runs_of(raw, "wire", "floor", n))
        add("wire: nsmgrctl apply / libnl floor", n, fmt_x(r), "≤ 1.50×", None if r is None else r <= 1.5)
    for n in mid:
        r = paired_ratio(runs_of(raw, "wire", "ip-tutorial", n), runs_of(raw, "wire", "nsmgr", n))
        add("wire: tutorial ip loop / nsmgrctl apply", n, fmt_x(r), "≥ 20×", None if r is None else r >= 20)
    for n in mid:
        r = paired_ratio(runs_of(raw, "wire", "cni", n), runs_of(raw, "wire", "nsmgr", n))
        add("wire: CNI plugins / nsmgrctl apply", n, fmt_x(r), "≥ 10×", None if r is None else r >= 10)
    # re-apply
    for n in ns:
        r = paired_ratio(runs_of(raw, "wire", "nsmgr", n, "t_reapply"), runs_of(raw, "wire", "nsmgr", n))
        add("re-apply, nothing to change (settled) / first apply", n, "—" if r is None else f"{r * 100:.1f} %",
            "≤ 10 %", None if r is None else r <= 0.10)
    # daemon
    if have_daemon:
        t = med(raw, "daemon", "nsmgrd", big)
        add("nsmgrd start, adopting N namespaces", big, "—" if t is None else f"{t:.3f} s", "≤ 1 s",
            None if t is None else t <= 1.0)
        m = med(raw, "daemon", "nsmgrd", big, "rss_kib")
        add("nsmgrd steady RSS", big, "—" if m is None else f"{m / 1024:.1f} MiB", "≤ 10 MiB",
            None if m is None else m <= 10 * 1024)
    else:
        add("nsmgrd start, adopting N namespaces", big, "not measured: nsmgrd not built", "≤ 1 s", None)
        add("nsmgrd steady RSS", big, "not measured: nsmgrd not built", "≤ 10 MiB", None)
    # list
    a = [x.get("nsmgr") if "error" not in x else None for x in raw.get(f"list|both|{big}", [])]
    b = [x.get("ip") if "error" not in x else None for x in raw.get(f"list|both|{big}", [])]
    r = paired_ratio(a, b)
    add("list: nsmgrctl list / ip netns list", big, fmt_x(r), "≤ 1.00×", None if r is None else r <= 1.0)
    # one-shot create + delete, pair by pair, over every pair of every round
    for n in ns:
        ok = _ok(raw.get(f"oneshot|pairs|{n}", []))
        if not ok:
            continue
        rs = [r for x in ok for r in x.get("ratios", [])]
        r = statistics.median(rs) if rs else None
        add("one-shot: nsmgrctl create + delete / ip netns add + del, pair by pair", f"{len(rs)} pairs",
            fmt_x(r), "≤ 1.00×", None if r is None else r <= 1.0,
            f"create {fmt_x(statistics.median(x['ratio_create'] for x in ok))}, "
            f"delete {fmt_x(statistics.median(x['ratio_delete'] for x in ok))} (medians over rounds)")
    # flatness: per-namespace cost at the largest N over the smallest
    small = min(ns)
    for w, v, fv in (("create", "nsmgr-apply", "floor"), ("wire", "nsmgr", "floor")):
        g = [None if x is None or y is None else (x / big) / (y / small)
             for x, y in zip(runs_of(raw, w, v, big), runs_of(raw, w, v, small))]
        fg = [None if x is None or y is None else (x / big) / (y / small)
              for x, y in zip(runs_of(raw, w, fv, big), runs_of(raw, w, fv, small))]
        gm = statistics.median([x for x in g if x]) if any(g) else None
        fm = statistics.median([x for x in fg if x]) if any(fg) else None
        extra = paired_ratio(g, fg)
        add(f"{w}: per-namespace cost at N={big} / at N={small}, nsmgr", f"{small}→{big}",
            "—" if gm is None else f"{gm:.2f}× (floor {fm:.2f}×)" if fm else f"{gm:.2f}×",
            "≤ 1.25×, or no more than the floor's own growth (+10 %)",
            None if gm is None else (gm <= 1.25 or (extra is not None and extra <= 1.10)),
            "" if extra is None else f"nsmgr's growth / floor's growth {extra:.2f}×")
    # CNI: ADD+DEL per pod, the plugin against the reference chain
    cni_ns = [n for n in ns if raw.get(f"cni|nsmgr|{n}")]
    for n in cni_ns:
        r = paired_ratio(runs_of(raw, "cni", "ref", n), runs_of(raw, "cni", "nsmgr", n))
        add("cni: ADD+DEL per pod, bridge+host-local+loopback / nsmgr plugin", n, fmt_x(r), "≥ 5×",
            None if r is None else r >= 5, cni_split(raw, n, "ref", "nsmgr"))
        # The best ratio any plugin could reach here: the reference over
        # the floor, a plugin that does nothing but the kernel's work.
        best = paired_ratio(runs_of(raw, "cni", "ref", n), runs_of(raw, "cni", "floor", n))
        if best is not None:
            add("cni: the most any plugin could reach here: bridge+host-local+loopback / libnl floor", n,
                fmt_x(best), "context", None, cni_split(raw, n, "ref", "floor"))
            f = paired_ratio(runs_of(raw, "cni", "nsmgr", n), runs_of(raw, "cni", "floor", n))
            add("cni: nsmgr plugin / libnl floor", n, fmt_x(f), "context", None,
                cni_split(raw, n, "nsmgr", "floor"))
    if len(cni_ns) > 1:
        lo, hi = min(cni_ns), max(cni_ns)
        g = [None if x is None or y is None else (x / hi) / (y / lo)
             for x, y in zip(runs_of(raw, "cni", "nsmgr", hi), runs_of(raw, "cni", "nsmgr", lo))]
        rg = [None if x is None or y is None else (x / hi) / (y / lo)
              for x, y in zip(runs_of(raw, "cni", "ref", hi), runs_of(raw, "cni", "ref", lo))]
        gm = statistics.median([x for x in g if x]) if any(g) else None
        rm = statistics.median([x for x in rg if x]) if any(rg) else None
        add(f"cni: per-pod cost at N={hi} / at N={lo}, nsmgr plugin", f"{lo}→{hi}",
            "—" if gm is None else f"{gm:.2f}×" + (f" (reference chain {rm:.2f}×)" if rm else ""),
            "≤ 1.25× (flat)", None if gm is None else gm <= 1.25)
    return rows


def write_all(out_dir, info, raw, have_daemon):
    ns = info["ns"]
    md = []
    md.append(f"Machine: Linux {info['kernel']}, {info['cpus']} CPUs ({info['cpu']}), {info['memory_gib']} GiB; "
              f"{info['iproute2']}; containernetworking-plugins {info['cni_plugins']}; libnl {info['libnl']}; "
              f"nsmgr {info['nsmgr_commit']}; {info['date']}.")
    md.append(f"Median of {info['runs']} interleaved rounds, each measurement in a fresh sandbox; "
              "between measurements the harness waited until the kernel had freed the previous one's "
              f"namespaces (the net_namespace count in /proc/slabinfo back where it was or no longer falling, then a second of idle CPUs; {info['settle_s']} s "
              f"in all, outside the timed regions). Whole run: {info['elapsed_s']} s.")
    md.append("")
    md.append("### Targets (ratios measured within each round, median over rounds)")
    md.append("")
    md.append("| target | N | measured | required | met |")
    md.append("|---|---|---|---|---|")
    # A run of some workloads only (--only) reports those: no rows, tables
    # or plot for what it did not measure.
    measured = {k.split("|")[0] for k in raw}
    partial = info.get("only") is not None
    trows = targets(raw, ns, have_daemon)
    if partial:
        trows = [t for t in trows if not (t[4] is None and t[2] == "—")]
    for name, n, val, req, met, note in trows:
        mark = ("—" if req == "context" else "not measured") if met is None else ("**yes**" if met else "**NO**")
        md.append(f"| {name} | {n} | {val}{' — ' + note if note else ''} | {req} | {mark} |")
    md.append("")
    for w, title in (("create", "create: N empty pinned namespaces"),
                     ("delete", "delete: N pinned namespaces (the kernel frees them afterwards, asynchronously)"),
                     ("wire", "wire: N namespaces on one bridge (veth, address, lo up, default route), "
                              "namespaces and bridge made in the timed region")):
        if partial and w not in measured:
            continue
        md.append(f"### {title}")
        md.append("")
        md.append("ms per namespace (median total / N), and × of the floor measured in the same rounds.")
        md.append("")
        md.append("| tool | " + " | ".join(f"N={n}" for n in ns) + " |")
        md.append("|---|" + "---|" * len(ns))
        for v in ORDER[w]:
            if not any(raw.get(f"{w}|{v}|{n}") for n in ns):
                continue
            cells = []
            for n in ns:
                t = med(raw, w, v, n)
                if t is None:
                    errs = [x for x in raw.get(f"{w}|{v}|{n}", []) if "error" in x]
                    cells.append("failed" if errs else "—")
                    continue
                r = paired_ratio(runs_of(raw, w, v, n), runs_of(raw, w, "floor", n))
                cells.append(f"{fmt_ms(t, n)}" + ("" if v == "floor" or r is None else f" ({fmt_x(r)})"))
            md.append(f"| {NAMES[(w, v)]} | " + " | ".join(cells) + " |")
        md.append("")
    if any(k.startswith("cni|") for k in raw):
        md.append("### cni: N pods added, then deleted, one plugin run at a time as a runtime runs them")
        md.append("")
        md.append("ms per pod (median total / N): ADD + DEL (ADD, DEL); then × of the libnl floor (the "
                  "kernel work of a bridge plugin, run as a plugin is run) and × of the nsmgr plugin, "
                  "ADD + DEL (ADD, DEL), measured in the same rounds.")
        md.append("")
        md.append("| plugin | " + " | ".join(f"N={n}" for n in ns) + " |")
        md.append("|---|" + "---|" * len(ns))

        def ratios(v, base, n):
            r = [paired_ratio(runs_of(raw, "cni", v, n, k), runs_of(raw, "cni", base, n, k))
                 for k in ("t", "t_add", "t_del")]
            return None if r[0] is None else f"{fmt_x(r[0])} ({fmt_x(r[1])}, {fmt_x(r[2])})"

        for v in ORDER["cni"]:
            cells = []
            for n in ns:
                t, ta, td = med(raw, "cni", v, n), med(raw, "cni", v, n, "t_add"), med(raw, "cni", v, n, "t_del")
                if t is None:
                    errs = [x for x in raw.get(f"cni|{v}|{n}", []) if "error" in x]
                    cells.append("failed" if errs else "—")
                    continue
                cell = f"{fmt_ms(t, n)} ({fmt_ms(ta, n)}, {fmt_ms(td, n)})"
                extra = [f"{ratios(v, b, n)} of {label}" for b, label in (("floor", "floor"), ("nsmgr", "nsmgr"))
                         if b != v and ratios(v, b, n)]
                cells.append(cell + ("; " + "; ".join(extra) if extra else ""))
            md.append(f"| {NAMES[('cni', v)]} | " + " | ".join(cells) + " |")
        md.append("")
    if not partial or measured & {"create", "wire", "list", "oneshot", "daemon"}:
        md.append("### re-apply, list, memory")
        md.append("")
        md.append("| measurement | " + " | ".join(f"N={n}" for n in ns) + " |")
        md.append("|---|" + "---|" * len(ns))

        def row(name, f):
            md.append(f"| {name} | " + " | ".join(f(n) for n in ns) + " |")

        def cell(w, v, key="t", scale=1000, fmt="{:.1f}"):
            """A row's cell: the median over rounds, scaled and formatted, or a dash."""
            return lambda n: "—" if med(raw, w, v, n, key) is None else fmt.format(med(raw, w, v, n, key) * scale)

        row("first apply (wire config), ms", cell("wire", "nsmgr"))
        row("re-apply right after, ms", cell("wire", "nsmgr", "t_reapply_now"))
        row("re-apply, nothing to change (settled), ms", cell("wire", "nsmgr", "t_reapply"))

        def lst(n, k):
            xs = [x[k] for x in _ok(raw.get(f"list|both|{n}", []))]
            return "—" if not xs else f"{statistics.median(xs) * 1000:.2f}"
        row("nsmgrctl list, ms", lambda n: lst(n, "nsmgr"))
        row("ip netns list, ms", lambda n: lst(n, "ip"))
        row("nsmgrctl create + delete, one pair, ms", cell("oneshot", "pairs", fmt="{:.2f}"))
        row("ip netns add + del, one pair, ms", cell("oneshot", "pairs", "t_ip", fmt="{:.2f}"))
        row("nsmgrctl apply peak RSS (wire), MiB", cell("wire", "nsmgr", "rss_kib", 1 / 1024))
        row("nsmgrctl apply peak RSS (create), MiB", cell("create", "nsmgr-apply", "rss_kib", 1 / 1024))
        if have_daemon:
            row("nsmgrd start (adopt), s", cell("daemon", "nsmgrd", scale=1, fmt="{:.3f}"))
            row("nsmgrd steady RSS, MiB", cell("daemon", "nsmgrd", "rss_kib", 1 / 1024))
        else:
            row("nsmgrd start (adopt) and RSS", lambda n: "not measured: nsmgrd not built")
        row("kernel memory per empty namespace, KiB (context)",
            lambda n: "—" if med(raw, "create", "floor", n, "kmem_per_ns_kib") is None
            else f"{med(raw, 'create', 'floor', n, 'kmem_per_ns_kib'):.0f}")
        row("kernel memory per wired namespace, KiB (context)",
            lambda n: "—" if med(raw, "wire", "floor", n, "kmem_per_ns_kib") is None
            else f"{med(raw, 'wire', 'floor', n, 'kmem_per_ns_kib'):.0f}")
        md.append("")
    fails = {k: [x["error"] for x in v if "error" in x] for k, v in raw.items()}
    fails = {k: v for k, v in fails.items() if v}
    if fails:
        md.append("### Failed measurements")
        md.append("")
        for k, v in fails.items():
            md.append(f"- {k}: {len(v)} failed; last: `{v[-1].splitlines()[-1] if v[-1] else '?'}`")
        md.append("")
    if not partial or measured & {"create", "wire"}:
        md.append("![per-namespace cost against N](per-ns.svg)")
    text = "\n".join(md) + "\n"
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    print(text)

    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        c = csv.writer(f)
        c.writerow(["workload", "tool", "N", "round", "seconds", "ms_per_ns", "extra"])
        for k, v in raw.items():
            w, tool, n = k.split("|")
            for i, x in enumerate(v):
                t = x.get("t")
                extra = {a: b for a, b in x.items() if a != "t"}
                c.writerow([w, tool, n, i + 1, "" if t is None else f"{t:.6f}",
                            "" if t is None or w == "oneshot" else f"{t * 1000 / int(n):.4f}", json.dumps(extra)])
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "targets": [dict(zip(("target", "n", "measured", "required", "met", "note"), r))
                                                 for r in trows],
                   "medians": {k: {"t": med(raw, *k.split("|")[:2], int(k.split("|")[2]))} for k in raw}},
                  f, indent=1, default=str)
    plot(out_dir, raw, ns)


def plot(out_dir, raw, ns):
    series = []
    for w in ("create", "wire"):
        for v in ORDER[w]:
            pts = [(n, med(raw, w, v, n)) for n in ns]
            pts = [(n, t * 1000 / n) for n, t in pts if t is not None]
            if len(pts) < 1:
                continue
            fn = os.path.join(out_dir, f"plot-{w}-{v}.dat")
            with open(fn, "w") as f:
                for n, y in pts:
                    f.write(f"{n} {y}\n")
            series.append((w, v, fn))
    if not series:
        return
    gp = []
    gp.append("set multiplot layout 1,2 title 'nsmgr: cost per namespace against N (median; log scale)'")
    for w, title in (("create", "create (empty pinned namespaces)"), ("wire", "wire (namespace on a bridge)")):
        gp.append(f"set title '{title}'")
        gp.append("set xlabel 'N (namespaces)'; set ylabel 'ms per namespace'")
        gp.append("set logscale y; set grid; set key outside bottom center maxrows 4 font ',9'")
        gp.append(f"set xrange [0:{max(ns) * 1.05:.0f}]")
        parts = [f"'{fn}' using 1:2 with linespoints lw 2 title '{NAMES[(ww, v)]}'"
                 for ww, v, fn in series if ww == w]
        gp.append("plot " + ", ".join(parts))
    gp.append("unset multiplot")
    body = "\n".join(gp) + "\n"
    for term, ext in (("svg size 1200,560 dynamic font 'sans,11'", "svg"), ("pngcairo size 1200,560 font 'sans,10'", "png")):
        script = f"set terminal {term}\nset output '{os.path.join(out_dir, 'per-ns.' + ext)}'\n" + body
        try:
            subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"bench: gnuplot could not draw per-ns.{ext}: {getattr(e, 'stderr', e)}")

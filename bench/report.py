#!/usr/bin/env python3
"""Builds bench/REPORT.md and the throughput chart from one benchmark run.

Reads what bench/Makefile leaves in a run directory:
  criterion/**/new/{benchmark,estimates}.json   Rust API, C ABI, limits
  go.txt                                        Go benchmark output
  benchstat.txt                                 benchstat -col /impl
  memory-rust.txt, memory-go.txt                memory overhead lines
  start.txt, phases.txt, loadavg-*.txt,        run metadata: timing, and
  stat-*.txt, cpu-self.txt                      CPU use by this run and by
                                                other processes

Every number in the report comes from that one run. Python standard
library only.
"""

import argparse
import datetime
import glob
import json
import math
import os
import re
import statistics
import subprocess

SIZES = ["1KB", "64KB", "1MB", "4MB"]
SIZE_BYTES = {"1KB": 1 << 10, "64KB": 64 << 10, "1MB": 1 << 20, "4MB": 4 << 20}
RANGES = ["1KB_start", "1KB_middle", "64KB_start", "64KB_middle"]
STORE_SIZES = ["10000", "100000", "1000000"]

# ---------------------------------------------------------------- loading


def load_criterion(run_dir):
    """{(group, function, param): {"ns", "lo", "hi", "bytes", "elements"}}"""
    out = {}
    pattern = os.path.join(run_dir, "criterion", "**", "new", "benchmark.json")
    for bench_file in glob.glob(pattern, recursive=True):
        new_dir = os.path.dirname(bench_file)
        with open(bench_file) as f:
            meta = json.load(f)
        with open(os.path.join(new_dir, "estimates.json")) as f:
            est = json.load(f)
        median = est["median"]
        tp = meta.get("throughput") or {}
        out[(meta["group_id"], meta["function_id"], meta["value_str"])] = {
            "ns": median["point_estimate"],
            "lo": median["confidence_interval"]["lower_bound"],
            "hi": median["confidence_interval"]["upper_bound"],
            "bytes": tp.get("Bytes") or tp.get("BytesDecimal"),
            "elements": tp.get("Elements"),
        }
    return out


GO_LINE = re.compile(r"^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$")


def load_go(path):
    """{name: {"ns", "mbs", "bpo", "allocs", "runs", "ns_all"}}, medians."""
    runs = {}
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        for line in f:
            m = GO_LINE.match(line.strip())
            if not m:
                continue
            name, rest = m.group(1), m.group(3)
            vals = {}
            fields = rest.split()
            for value, unit in zip(fields[0::2], fields[1::2]):
                try:
                    vals[unit] = float(value)
                except ValueError:
                    pass
            runs.setdefault(name, []).append(vals)
    out = {}
    for name, samples in runs.items():

        def med(unit):
            xs = [s[unit] for s in samples if unit in s]
            return statistics.median(xs) if xs else None

        out[name] = {
            "ns": med("ns/op"),
            "mbs": med("MB/s"),
            "bpo": med("B/op"),
            "allocs": med("allocs/op"),
            "gcs": med("GCs/op"),
            "runs": len(samples),
            "ns_all": [s["ns/op"] for s in samples if "ns/op" in s],
        }
    return out


def load_benchstat_csv(run_dir):
    """{name: (delta, p)} for sec/op from `benchstat -col /impl -format csv`;
    delta is the reference relative to blockmem ("~" when not significant)."""
    out = {}
    in_time = False
    for line in read_text(os.path.join(run_dir, "benchstat.csv")).splitlines():
        cells = line.split(",")
        if len(cells) >= 2 and cells[0] == "":
            in_time = cells[1] == "sec/op"
            continue
        if not line.strip():
            in_time = False
            continue
        if in_time and len(cells) >= 7:
            name = re.sub(r"-\d+$", "", cells[0])
            p = re.search(r"p=([\d.]+)", cells[6])
            out[name] = (cells[5], float(p.group(1)) if p else None)
    return out


def load_placement(run_dir):
    """{"write/rust/64KB": [61, 125]} from the bench's `placement` lines."""
    out = {}
    text = read_text(os.path.join(run_dir, "criterion.txt"))
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "placement":
            out[parts[1]] = [int(x) for x in parts[2:]]
    return out


def load_memory(run_dir):
    """{impl: {field: value}} from the `memory impl=...` lines."""
    out = {}
    for name in ("memory-rust.txt", "memory-go.txt"):
        path = os.path.join(run_dir, name)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                if not line.startswith("memory "):
                    continue
                fields = dict(kv.split("=", 1) for kv in line.split()[1:])
                out[fields["impl"]] = fields
    return out


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def command_version(cmd):
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (res.stdout or res.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def machine_info():
    cpu, flags, logical = "unknown", "", 0
    for line in read_text("/proc/cpuinfo").splitlines():
        if line.startswith("model name") and cpu == "unknown":
            cpu = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not flags:
            flags = line.split(":", 1)[1]
        elif line.startswith("processor"):
            logical += 1
    mem_kib = 0
    for line in read_text("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": logical or os.cpu_count(),
        "memory": "%.1f GiB" % (mem_kib / 1024 / 1024),
        "virtual": " hypervisor" in flags,
        "kernel": os.uname().release,
    }


def parse_times(text):
    """Seconds of user + system CPU from bash `times`' children line."""
    total = 0.0
    for field in text.split():
        m = re.match(r"(\d+)m([\d.]+)s", field)
        if m:
            total += int(m.group(1)) * 60 + float(m.group(2))
    return total


def cpu_accounting(run_dir, cores):
    """How busy the machine was during the run, and who kept it busy."""
    a = read_text(os.path.join(run_dir, "stat-start.txt")).split()[1:]
    b = read_text(os.path.join(run_dir, "stat-end.txt")).split()[1:]
    own = read_text(os.path.join(run_dir, "cpu-self.txt")).replace("\n", " ")
    if len(a) < 8 or len(b) < 8 or not own:
        return None
    d = [int(y) - int(x) for x, y in zip(a, b)]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = (v / hz for v in d[:8])
    wall = sum(d[:8]) / hz / cores
    busy = user + nice + system + irq + softirq
    ours = parse_times(own)
    return {
        "wall": wall,
        "cores": cores,
        "busy": busy,
        "ours": min(ours, busy),
        "others": max(busy - ours, 0.0),
        "steal": steal,
    }


def phase_times(run_dir):
    """[(name, seconds)] from phases.txt."""
    rows = []
    lines = [l.split(" ", 1) for l in read_text(os.path.join(run_dir, "phases.txt")).splitlines() if " " in l]
    for (t0, name), (t1, _) in zip(lines, lines[1:]):
        rows.append((name, int(t1) - int(t0)))
    return rows


def criterion_version(root):
    lock = read_text(os.path.join(root, "Cargo.lock"))
    m = re.search(r'name = "criterion"\nversion = "([^"]+)"', lock)
    return m.group(1) if m else "?"


# ------------------------------------------------------------- formatting


def fmt_ns(ns):
    if ns is None:
        return "–"
    if ns < 1e3:
        return "%.3g ns" % ns if ns < 100 else "%.0f ns" % ns
    if ns < 1e6:
        return "%.3g µs" % (ns / 1e3)
    if ns < 1e9:
        return "%.3g ms" % (ns / 1e6)
    return "%.3g s" % (ns / 1e9)


def fmt_mbs(mbs):
    if mbs is None:
        return "–"
    return "{:,.0f}".format(mbs)


def fmt_ratio(r):
    if r is None:
        return "–"
    if r >= 100:
        return "{:,.0f}x".format(r)
    if r >= 10:
        return "%.1fx" % r
    return "%.2fx" % r


def fmt_gcs(g):
    if g is None:
        return "–"
    return "%.3g" % (g * 1000)


def fmt_allocs(a):
    if a is None:
        return "–"
    return "%g" % a


def mbs_of(ns, nbytes):
    if ns is None or not nbytes:
        return None
    return nbytes / ns * 1e3  # bytes/ns = GB/s; x1000 = MB/s (10^6 bytes)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(headers, rows, align=None):
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------- report


class Run:
    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        self.root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
        self.crit = load_criterion(self.dir)
        self.go = load_go(os.path.join(self.dir, "go.txt"))
        self.mem = load_memory(self.dir)
        self.placement = load_placement(self.dir)
        self.stats = load_benchstat_csv(self.dir)

    def c(self, group, fn, param):
        return (self.crit.get((group, fn, param)) or {}).get("ns")

    def g(self, name):
        return self.go.get(name) or {}

    def gns(self, name):
        return self.g(name).get("ns")

    # Which Rust limit applies to a Go benchmark row.
    def go_limit(self, family, param):
        if family in ("WriteBlock", "ReadBlock"):
            return self.c("write", "limit_alloc_copy", param)
        if family == "ReadBlockInto":
            return self.c("read_into", "limit_memcpy", param)
        if family == "ReadBlockRange":
            return self.c("range", "limit_memcpy", param)
        return None


GO_FAMILIES = [
    ("WriteBlock", SIZES, "limit: allocate + copy + free"),
    ("ReadBlock", SIZES, "limit: allocate + copy + free"),
    ("ReadBlockRange", RANGES, "limit: memcpy of the range"),
    ("ReadBlockInto", SIZES, "limit: memcpy into a warm buffer"),
    ("WriteBlock_Parallel", [None], ""),
    ("Stat", [None], ""),
    ("ListByPrefix", [None], ""),
    ("TotalSize", [None], ""),
]


def go_name(family, param, impl):
    parts = [family] + ([param] if param else []) + ["impl=" + impl]
    return "/".join(parts)


# Row labels for the Go benchmarks that have no size parameter.
GO_ROW_LABEL = {
    "WriteBlock_Parallel": "64KB, one goroutine per core",
    "Stat": "64KB block",
    "ListByPrefix": "8 keys of 10^6",
    "TotalSize": "10^6 blocks",
}


def go_tables(run):
    out = []
    for family, params, limit_note in GO_FAMILIES:
        rows = []
        for param in params:
            b = run.g(go_name(family, param, "blockmem"))
            r = run.g(go_name(family, param, "ref"))
            if not b and not r:
                continue
            limit = run.go_limit(family, param)
            rows.append(
                [
                    param or GO_ROW_LABEL.get(family, ""),
                    fmt_ns(r.get("ns")),
                    fmt_mbs(r.get("mbs")),
                    fmt_allocs(r.get("allocs")),
                    fmt_ns(b.get("ns")),
                    fmt_mbs(b.get("mbs")),
                    fmt_allocs(b.get("allocs")),
                    "%s / %s" % (fmt_gcs(r.get("gcs")), fmt_gcs(b.get("gcs"))),
                    fmt_ratio(ratio(r.get("ns"), b.get("ns"))),
                    fmt_ratio(ratio(b.get("ns"), limit)),
                ]
            )
        if not rows:
            continue
        heads = [
            "size" if params[0] else "case",
            "ref ns/op",
            "ref MB/s",
            "ref allocs/op",
            "blockmem ns/op",
            "blockmem MB/s",
            "blockmem allocs/op",
            "GCs per 1000 ops (ref / blockmem)",
            "speedup vs ref",
            "blockmem ÷ limit",
        ]
        title = "#### Go `%s`" % family
        if limit_note:
            title += " (%s)" % limit_note
        out.append(title + "\n\n" + table(heads, rows))
    return "\n\n".join(out)


RUST_GROUPS = [
    ("write", SIZES, ["rust", "ffi", "limit_alloc_copy"], "limit_alloc_copy", "Write (overwrite one key)"),
    ("read", SIZES, ["rust_bytes", "ffi_get"], None, "Zero-copy read: `read` returning `Bytes`; `blockmem_get` + `blockmem_block_free`"),
    ("read_into", SIZES, ["rust", "ffi", "limit_memcpy"], "limit_memcpy", "Read into a caller buffer (`read_into`; `blockmem_read`)"),
    ("range", RANGES, ["rust_bytes", "rust_into", "ffi_into", "limit_memcpy"], "limit_memcpy", "Range read from a 4 MiB block"),
    ("stat", SIZES, ["rust", "ffi"], None, "Stat"),
    ("parallel_write_64KB", ["1", "2", "4"], ["rust", "limit_alloc_copy"], "limit_alloc_copy", "Parallel 64 KiB writes (threads; one iteration = one write per thread, MB/s is the total)"),
    ("list_prefix", STORE_SIZES, ["rust", "ffi"], None, "List 8 keys by prefix (store of N blocks)"),
    ("delete_prefix", STORE_SIZES, ["rust"], None, "Delete 8 blocks by prefix (store of N blocks; setup re-inserts them, untimed)"),
]

PATH_LABEL = {
    "rust": "Rust",
    "rust_bytes": "Rust `Bytes`",
    "rust_into": "Rust into buffer",
    "ffi": "C ABI",
    "ffi_get": "C ABI get+free",
    "ffi_into": "C ABI into buffer",
    "limit_alloc_copy": "limit alloc+copy",
    "limit_memcpy": "limit memcpy",
}


def rust_tables(run):
    out = []
    for group, params, fns, limit_fn, title in RUST_GROUPS:
        present = [p for p in params if any((group, f, p) in run.crit for f in fns)]
        if not present:
            continue
        has_bytes = any((run.crit.get((group, f, p)) or {}).get("bytes") for f in fns for p in present)
        heads = [("threads" if group.startswith("parallel") else "blocks" if "prefix" in group else "size")]
        for f in fns:
            heads.append(PATH_LABEL[f] + " ns/op")
            if has_bytes:
                heads.append(PATH_LABEL[f] + " MB/s")
        # Zero-copy reads copy nothing, so a ratio to memcpy means nothing.
        ratio_fns = [f for f in fns if limit_fn and f != limit_fn and not f.endswith("bytes")]
        for f in ratio_fns:
            heads.append(PATH_LABEL[f] + " ÷ limit")
        placed = [f for f in fns if any("%s/%s/%s" % (group, f, p) in run.placement for p in present)]
        for f in placed:
            heads.append(PATH_LABEL[f] + " (dst − src) mod 4 KiB")
        rows = []
        for p in present:
            row = [p]
            for f in fns:
                e = run.crit.get((group, f, p)) or {}
                row.append(fmt_ns(e.get("ns")))
                if has_bytes:
                    row.append(fmt_mbs(mbs_of(e.get("ns"), e.get("bytes"))))
            for f in ratio_fns:
                row.append(fmt_ratio(ratio(run.c(group, f, p), run.c(group, limit_fn, p))))
            for f in placed:
                row.append(", ".join(str(d) for d in run.placement.get("%s/%s/%s" % (group, f, p), [])) or "–")
            rows.append(row)
        out.append("#### %s\n\n%s" % (title, table(heads, rows)))
    return "\n\n".join(out)


# ---------------------------------------------------------------- targets


class Target:
    def __init__(self, what, goal, measured, ok, stat=""):
        self.what, self.goal, self.measured, self.ok, self.stat = what, goal, measured, ok, stat


def significance(run, family, param):
    """benchstat's verdict on blockmem vs reference for one Go benchmark."""
    st = run.stats.get("/".join([family] + ([param] if param else [])))
    if not st:
        return ""
    delta, p = st
    if p is None:
        return ""
    if delta == "~":
        return "no significant difference (p=%.2f)" % p
    return "significant (p=%.3f)" % p


def targets(run):
    ts = []

    def speedup(family, param):
        return ratio(run.gns(go_name(family, param, "ref")), run.gns(go_name(family, param, "blockmem")))

    for size in SIZES:
        s = speedup("WriteBlock", size)
        if s is None:
            continue
        goal = 1.0 if size == "1KB" else 3.0
        ts.append(Target("Go `WriteBlock` %s vs reference" % size, "≥ %gx" % goal, fmt_ratio(s), s >= goal,
                         significance(run, "WriteBlock", size)))
    for size in SIZES:
        s = speedup("ReadBlock", size)
        if s is None:
            continue
        ts.append(Target("Go `ReadBlock` %s vs reference" % size, "≥ 1x", fmt_ratio(s), s >= 1.0,
                         significance(run, "ReadBlock", size)))
    for size in SIZES:
        into = run.g(go_name("ReadBlockInto", size, "blockmem"))
        ref = run.gns(go_name("ReadBlock", size, "ref"))
        if not into:
            continue
        allocs = into.get("allocs")
        s = ratio(ref, into.get("ns"))
        if size == "1KB":
            ts.append(Target("Go `ReadBlockInto` 1KB allocs/op", "0", fmt_allocs(allocs), allocs == 0))
            continue
        ok = s is not None and s >= 5.0 and allocs == 0
        ts.append(
            Target(
                "Go `ReadBlockInto` %s vs reference `ReadBlock`" % size,
                "≥ 5x, 0 allocs/op",
                "%s, %s allocs/op" % (fmt_ratio(s), fmt_allocs(allocs)),
                ok,
            )
        )
    s = speedup("WriteBlock_Parallel", None)
    if s is not None:
        ts.append(Target("Go `WriteBlock_Parallel` (64KB) vs reference", "≥ 3x", fmt_ratio(s), s >= 3.0,
                         significance(run, "WriteBlock_Parallel", None)))
    s = speedup("ListByPrefix", None)
    if s is not None:
        ts.append(Target("`ListByPrefix` (8 of 10^6 keys) vs reference", "≥ 1000x", fmt_ratio(s), s >= 1000,
                         significance(run, "ListByPrefix", None)))
    s = speedup("TotalSize", None)
    if s is not None:
        ts.append(Target("`TotalSize` on 10^6 blocks vs reference", "≥ 10000x", fmt_ratio(s), s >= 10000,
                         significance(run, "TotalSize", None)))
    for size in SIZES[1:]:
        for group, fn, limit, label in (
            ("write", "rust", "limit_alloc_copy", "Rust `write`"),
            ("write", "ffi", "limit_alloc_copy", "C ABI `blockmem_write`"),
            ("read_into", "rust", "limit_memcpy", "Rust `read_into`"),
            ("read_into", "ffi", "limit_memcpy", "C ABI `blockmem_read`"),
        ):
            r = ratio(run.c(group, fn, size), run.c(group, limit, size))
            if r is None:
                continue
            lim = "allocate+copy" if limit == "limit_alloc_copy" else "memcpy"
            ts.append(Target("%s %s vs %s" % (label, size, lim), "≤ 1.5x", fmt_ratio(r), r <= 1.5))
    reads = {s: run.c("read", "rust_bytes", s) for s in SIZES}
    reads = {s: v for s, v in reads.items() if v is not None}
    if len(reads) >= 2:
        lo, hi = min(reads.values()), max(reads.values())
        spread = hi / lo
        ts.append(
            Target(
                "Rust `read` (`Bytes`) constant in block size",
                "slowest ÷ fastest size ≤ 1.25",
                "%s … %s (%s)" % (fmt_ns(lo), fmt_ns(hi), fmt_ratio(spread)),
                spread <= 1.25,
            )
        )
    rust_mem = run.mem.get("rust")
    if rust_mem:
        v = float(rust_mem["rss_overhead_per_block"])
        ts.append(Target("Memory per 1 KiB block beyond key+data (Rust, RSS)", "≤ 64 B", "%.1f B" % v, v <= 64))
    go_mem = run.mem.get("go-blockmem")
    if go_mem:
        v = float(go_mem["rss_overhead_per_block"])
        ts.append(Target("Memory per 1 KiB block beyond key+data (via Go binding, RSS)", "≤ 64 B", "%.1f B" % v, v <= 64))
    return ts




def targets_table(ts):
    rows = [[t.what, t.goal, t.measured, t.stat or "–", "PASS" if t.ok else "**MISS**"] for t in ts]
    return table(["target", "goal", "measured (medians)", "benchstat, blockmem vs reference", "result"], rows,
                 ["l", "l", "r", "l", "l"])


def memory_table(run):
    rows = []
    m = run.mem.get("rust")
    if m:
        rows.append(["blockmem (Rust `MemoryStore`)", "RSS delta", "%s B" % m["rss_overhead_per_block"]])
        if "heap_overhead_per_block" in m:
            rows.append(["blockmem (Rust `MemoryStore`)", "glibc `mallinfo2` in use", "%s B" % m["heap_overhead_per_block"]])
    m = run.mem.get("go-blockmem")
    if m:
        rows.append(["blockmem via Go binding", "RSS delta (after GC)", "%s B" % m["rss_overhead_per_block"]])
    m = run.mem.get("go-ref")
    if m:
        rows.append(["Go reference (map + RWMutex)", "RSS delta (after GC)", "%s B" % m["rss_overhead_per_block"]])
        rows.append(["Go reference (map + RWMutex)", "`HeapInuse` delta (after GC)", "%s B" % m["heap_overhead_per_block"]])
    if not rows:
        return "_No memory results in this run._"
    any_m = next(iter(run.mem.values()))
    intro = "%s blocks of %s bytes, keys like `share/content/chunk-0000123/block-4` (%.1f bytes on average); " % (
        "{:,}".format(int(any_m["blocks"])),
        any_m["data_size"],
        int(any_m["key_data_bytes"]) / int(any_m["blocks"]) - int(any_m["data_size"]),
    )
    intro += "bytes per block = (after − before − Σ(key + data)) ÷ blocks.\n\n"
    return intro + table(["store", "measured as", "bytes per block beyond key + data"], rows, ["l", "l", "r"])


# ------------------------------------------------------------------ chart

CHART_SERIES = {
    "write": [
        ("limit alloc+copy+free (Rust)", "#222222", "6,4", lambda r, s: r.c("write", "limit_alloc_copy", s)),
        ("Rust write", "#2ca02c", "", lambda r, s: r.c("write", "rust", s)),
        ("C ABI blockmem_write", "#ff7f0e", "2,3", lambda r, s: r.c("write", "ffi", s)),
        ("Go blockmem WriteBlock", "#1f77b4", "", lambda r, s: r.gns(go_name("WriteBlock", s, "blockmem"))),
        ("Go reference WriteBlock", "#d62728", "", lambda r, s: r.gns(go_name("WriteBlock", s, "ref"))),
    ],
    "read": [
        ("limit memcpy (Rust)", "#222222", "6,4", lambda r, s: r.c("read_into", "limit_memcpy", s)),
        ("Rust read_into", "#2ca02c", "", lambda r, s: r.c("read_into", "rust", s)),
        ("C ABI blockmem_read", "#ff7f0e", "2,3", lambda r, s: r.c("read_into", "ffi", s)),
        ("Go blockmem ReadBlockInto", "#17becf", "", lambda r, s: r.gns(go_name("ReadBlockInto", s, "blockmem"))),
        ("Go blockmem ReadBlock", "#1f77b4", "", lambda r, s: r.gns(go_name("ReadBlock", s, "blockmem"))),
        ("Go reference ReadBlock", "#d62728", "", lambda r, s: r.gns(go_name("ReadBlock", s, "ref"))),
    ],
}


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart_svg(run, title):
    panel_w, panel_h = 470, 330
    left, top, gap, legend_h = 70, 76, 80, 120
    width = left + 2 * panel_w + gap + 50
    height = top + panel_h + 60 + legend_h
    series = {}
    values = []
    for panel, defs in CHART_SERIES.items():
        series[panel] = []
        for label, color, dash, get in defs:
            pts = []
            for s in SIZES:
                ns = get(run, s)
                if ns:
                    mbs = mbs_of(ns, SIZE_BYTES[s])
                    pts.append((s, mbs))
                    values.append(mbs)
            series[panel].append((label, color, dash, pts))
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">' % (width, height, width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="26" font-size="16" font-weight="bold">%s</text>' % (left, esc(title)),
    ]
    if not values:
        parts.append('<text x="%d" y="%d">no data</text></svg>' % (left, top + 40))
        return "\n".join(parts)
    ymin = 10 ** math.floor(math.log10(min(values)))
    ymax = 10 ** math.ceil(math.log10(max(values)))
    ly0, ly1 = math.log10(ymin), math.log10(ymax)
    xs = [math.log2(SIZE_BYTES[s]) for s in SIZES]
    x0, x1 = xs[0], xs[-1]

    def unit(v):
        return "%g GB/s" % (v / 1000) if v >= 1000 else "%g MB/s" % v

    for i, (panel, name) in enumerate((("write", "Write"), ("read", "Read"))):
        px = left + i * (panel_w + gap)

        def X(size):
            return px + (math.log2(SIZE_BYTES[size]) - x0) / (x1 - x0) * panel_w

        def Y(v):
            return top + panel_h - (math.log10(v) - ly0) / (ly1 - ly0) * panel_h

        parts.append('<text x="%d" y="%d" font-size="14" font-weight="bold">%s throughput (log-log)</text>' % (px, top - 12, name))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>' % (px, top, panel_w, panel_h))
        e = int(round(ly0))
        while e <= int(round(ly1)):
            v = 10 ** e
            y = Y(v)
            parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (px, y, px + panel_w, y))
            parts.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (px - 6, y + 4, unit(v)))
            e += 1
        for s in SIZES:
            x = X(s)
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (x, top, x, top + panel_h))
            parts.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, top + panel_h + 18, s))
        parts.append('<text x="%d" y="%d" text-anchor="middle">block size</text>' % (px + panel_w / 2, top + panel_h + 38))
        for label, color, dash, pts in series[panel]:
            if not pts:
                continue
            d = " ".join("%s%.1f,%.1f" % ("M" if j == 0 else "L", X(s), Y(v)) for j, (s, v) in enumerate(pts))
            dash_attr = ' stroke-dasharray="%s"' % dash if dash else ""
            parts.append('<path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>' % (d, color, dash_attr))
            for s, v in pts:
                parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (X(s), Y(v), color))
        ly = top + panel_h + 58
        for j, (label, color, dash, pts) in enumerate(series[panel]):
            y = ly + j * 17
            dash_attr = ' stroke-dasharray="%s"' % dash if dash else ""
            parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>' % (px, y - 4, px + 28, y - 4, color, dash_attr))
            parts.append('<text x="%d" y="%d">%s</text>' % (px + 34, y, esc(label)))
    parts.append("</svg>")
    return "\n".join(parts)


# ------------------------------------------------------------------- main


def findings(run, ts, acct):
    """Paragraphs computed from this run: what a cgo crossing costs here,
    and, for each missed target, the parts its time is made of."""
    out = []
    cross = run.gns(go_name("TotalSize", None, "blockmem"))
    if cross:
        out.append(
            "- **One cgo crossing** costs about %s here: Go `TotalSize` on blockmem is one C call that loads an "
            "atomic counter. `ReadBlock` and `ReadBlockRange` make two (`blockmem_get`, then `blockmem_block_free` "
            "after copying into the new Go slice), every other method one." % fmt_ns(cross)
        )
    for t in ts:
        if t.ok:
            continue
        m = re.match(r"Go `(ReadBlock|WriteBlock)` (\S+) vs reference", t.what)
        if m and m.group(1) == "ReadBlock":
            size = m.group(2)
            bb, rr = run.g(go_name("ReadBlock", size, "blockmem")), run.g(go_name("ReadBlock", size, "ref"))
            b, r = bb.get("ns"), rr.get("ns")
            pin = run.c("read", "ffi_get", size)
            text = "- **Go `ReadBlock` %s: %s** (%s for blockmem, %s for the reference). Both allocate a new Go " % (
                size, t.measured, fmt_ns(b), fmt_ns(r))
            text += "slice and copy into it, which is most of the time at every size (compare `ReadBlockInto`). "
            if cross and pin:
                extra = 2 * cross + pin
                share = 100 * extra / b
                text += "blockmem adds two crossings and the native lookup, pin and unpin: about %s together " % fmt_ns(extra)
                text += "(%s of its time), against the reference's uncontended `RWMutex` and map lookup. " % (
                    "%.0f%%" % share if share >= 1 else "under 1%")
            sig = significance(run, "ReadBlock", size)
            if sig.startswith("no significant"):
                text += "benchstat finds %s between the two, so part of this gap is run-to-run noise. " % sig
            gb, gr = bb.get("gcs"), rr.get("gcs")
            if gb and gr and gb > gr * 1.1:
                text += (
                    "blockmem's run also needed %.2gx as many garbage collections per read (%s vs %s per 1000): its "
                    "blocks live outside the Go heap, so the heap stays small and the collector, which paces itself "
                    "on the live heap, runs more often for the same allocation rate. The reference's %s block on the "
                    "Go heap raises its collection target." % (gb / gr, fmt_gcs(gb), fmt_gcs(gr), size)
                )
            out.append(text.rstrip())
        elif m and m.group(1) == "WriteBlock":
            size = m.group(2)
            b, r = run.gns(go_name("WriteBlock", size, "blockmem")), run.gns(go_name("WriteBlock", size, "ref"))
            lim = run.c("write", "limit_alloc_copy", size)
            out.append(
                "- **Go `WriteBlock` %s: %s**: blockmem %s, %s the Rust allocate+copy limit (%s); the reference %s. "
                "blockmem cannot go below the limit, so the ratio is capped by how cheaply Go allocates and collects "
                "a %s buffer in this run." % (size, t.measured, fmt_ns(b), fmt_ratio(ratio(b, lim)), fmt_ns(lim),
                                              fmt_ns(r), size)
            )
        elif t.what.startswith("Go `ReadBlockInto`") and "vs reference" in t.what:
            size = t.what.split()[2]
            into = run.gns(go_name("ReadBlockInto", size, "blockmem"))
            ref = run.gns(go_name("ReadBlock", size, "ref"))
            lim = run.c("read_into", "limit_memcpy", size)
            out.append(
                "- **%s: %s**. blockmem's `ReadBlockInto` takes %s, %s the `memcpy` limit (%s), so it has "
                "almost nothing left to gain; the ratio is capped by the reference's `ReadBlock` time over one "
                "`memcpy`, %s in this run: Go's allocation of %s was cheap enough here that the target is out of "
                "reach for any implementation that has to copy." % (
                    t.what, t.measured, fmt_ns(into), fmt_ratio(ratio(into, lim)), fmt_ns(lim),
                    fmt_ratio(ratio(ref, lim)), size)
            )
        elif " vs allocate+copy" in t.what or " vs memcpy" in t.what:
            m2 = re.match(r"(Rust|C ABI) `(\w+)` (\S+) vs", t.what)
            if m2:
                group = "write" if m2.group(2) in ("write", "blockmem_write") else "read_into"
                fn = "rust" if m2.group(1) == "Rust" else "ffi"
                dists = run.placement.get("%s/%s/%s" % (group, fn, m2.group(3)), [])
                text = "- **%s: %s**." % (t.what, t.measured)
                if dists and min(dists) < 512:
                    text += (
                        " In this run the store's copy landed %s bytes above its source modulo 4 KiB: the case the "
                        "limits avoid, where the CPU sees false dependencies between the copy's stores and later "
                        "loads (\"4K aliasing\"). See the analysis below." % ", ".join(str(d) for d in dists)
                    )
                out.append(text)
        else:
            out.append("- **%s: %s**." % (t.what, t.measured))
    if acct and acct["wall"] > 0:
        share = acct["others"] / (acct["wall"] * acct["cores"])
        if share > 0.1:
            out.append(
                "- **Other work on the machine**: other processes used %.0f%% of the machine's CPU time during this "
                "run. Every benchmark measures wall time, so the numbers carry that noise; the Go rounds interleave "
                "the two implementations to spread it evenly." % (100 * share)
            )
    return "\n".join(out)


def headline(run):
    rows = []
    for family, label in (("WriteBlock", "WriteBlock"), ("ReadBlock", "ReadBlock"), ("ReadBlockInto", "ReadBlockInto")):
        for size in SIZES:
            b = run.gns(go_name(family, size, "blockmem"))
            ref_name = go_name("ReadBlock" if family == "ReadBlockInto" else family, size, "ref")
            r = run.gns(ref_name)
            if b is None or r is None:
                continue
            rows.append(
                [
                    "`%s` %s" % (label, size),
                    fmt_ns(r),
                    fmt_ns(b),
                    fmt_mbs(mbs_of(b, SIZE_BYTES[size])),
                    fmt_ratio(r / b),
                ]
            )
    for family, label in (
        ("WriteBlock_Parallel", "`WriteBlock_Parallel` 64KB"),
        ("ListByPrefix", "`ListByPrefix` 8 of 10^6"),
        ("TotalSize", "`TotalSize` of 10^6"),
    ):
        b, r = run.gns(go_name(family, None, "blockmem")), run.gns(go_name(family, None, "ref"))
        if b is None or r is None:
            continue
        mbs = run.g(go_name(family, None, "blockmem")).get("mbs")
        rows.append([label, fmt_ns(r), fmt_ns(b), fmt_mbs(mbs), fmt_ratio(r / b)])
    if not rows:
        return "_No Go results in this run._"
    return table(["Go operation", "reference ns/op", "blockmem ns/op", "blockmem MB/s", "speedup"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="run directory (bench/out/<mode>)")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--report", required=True)
    ap.add_argument("--chart", required=True)
    ap.add_argument("--benchstat-version", default="?")
    args = ap.parse_args()

    run = Run(args)
    mi = machine_info()
    # The run's own start and end (the report may be rebuilt later).
    now = datetime.datetime.now(datetime.timezone.utc)
    start = read_text(os.path.join(args.dir, "start.txt"))
    phases = [l.split(" ", 1) for l in read_text(os.path.join(args.dir, "phases.txt")).splitlines() if " " in l]
    if phases and phases[-1][1] == "end":
        now = datetime.datetime.fromtimestamp(int(phases[-1][0]), datetime.timezone.utc)
    elapsed = ""
    if start:
        secs = int(now.timestamp() - int(start))
        elapsed = "%d min %02d s" % (secs // 60, secs % 60)
    load_start = " ".join(read_text(os.path.join(args.dir, "loadavg-start.txt")).split()[:3])
    load_end = " ".join(read_text(os.path.join(args.dir, "loadavg-end.txt")).split()[:3])
    acct = cpu_accounting(args.dir, mi["cores"])
    if acct:
        capacity = acct["wall"] * acct["cores"]
        cpu_line = (
            "%.0f CPU-s of %.0f available (%.0f%%): this run %.0f CPU-s, other processes %.0f CPU-s (%.0f%% of the machine); "
            "hypervisor steal %.0f CPU-s"
            % (acct["busy"], capacity, 100 * acct["busy"] / capacity, acct["ours"], acct["others"],
               100 * acct["others"] / capacity, acct["steal"])
        )
    else:
        cpu_line = "not recorded"
    phases = ", ".join("%s %d s" % (n, t) for n, t in phase_times(args.dir)) or "not recorded"
    go_runs = max((v["runs"] for v in run.go.values()), default=0)

    chart_rel = os.path.relpath(args.chart, os.path.dirname(os.path.abspath(args.report)))
    with open(args.chart, "w") as f:
        f.write(chart_svg(run, "blockmem throughput by block size (%s, %d-core %s)" % (mi["cpu"], mi["cores"], "VM" if mi["virtual"] else "machine")))

    ts = targets(run)
    passed = sum(t.ok for t in ts)
    benchstat = read_text(os.path.join(args.dir, "benchstat.txt"), "benchstat was not available in this run.")
    analysis = read_text(os.path.join(run.root, "bench", "ANALYSIS.md"))

    md = []
    md.append("# blockmem benchmark report\n")
    md.append(
        "Generated by `make %s` (bench/Makefile, bench/report.py); the run ended %s UTC and took %s "
        "(benchmarks only; `make` first builds the release libraries). "
        "Every number below comes from this one run on one machine, so the ratios compare like with like.\n"
        % ("bench" if args.mode == "full" else "bench-quick", now.strftime("%Y-%m-%d %H:%M"), elapsed or "?")
    )
    md.append("## Machine and toolchain\n")
    md.append(
        table(
            ["", ""],
            [
                ["CPU", "%s, %d logical cores%s" % (mi["cpu"], mi["cores"], " (virtual machine)" if mi["virtual"] else "")],
                ["Memory", mi["memory"]],
                ["Kernel", mi["kernel"]],
                ["Load average (1/5/15 min) at start; at end", "%s; %s" % (load_start or "?", load_end or "?")],
                ["CPU use during the run", cpu_line],
                ["Phases", phases],
                ["rustc", command_version(["rustc", "-V"])],
                ["go", command_version(["go", "version"])],
                ["gcc", command_version(["gcc", "--version"])],
                ["criterion", criterion_version(run.root)],
                ["benchstat", "golang.org/x/perf " + args.benchstat_version],
            ],
            ["l", "l"],
        )
        + "\n"
    )
    md.append("## Method\n")
    md.append(
        "- **Rust and C ABI**: criterion (`benches/store.rs`), median time per iteration. The C ABI rows call the "
        "exported `extern \"C\"` functions (`blockmem_write`, `blockmem_read`, `blockmem_get` + `blockmem_block_free`, ...) "
        "from Rust, so they show the cost of the ABI layer itself (argument checks, panic boundary), not of a foreign caller.\n"
        "- **Limits**: `limit_memcpy` is `copy_from_slice` into a warm buffer; `limit_alloc_copy` is `Vec::with_capacity` + "
        "`extend_from_slice` + drop, the least a write that keeps a private copy can do. Both place source and destination 2 KiB "
        "apart modulo 4 KiB: copies whose destination sits just above the source modulo 4 KiB run up to 1.4x slower on this CPU, "
        "and the limits are meant to be the best case.\n"
        "- **Go**: `bindings/go/store/memory/bench_test.go`, every benchmark once per implementation (`impl=blockmem`, `impl=ref`), "
        "%d rounds, each round a separate process, `-benchmem`; tables show the median of the rounds, benchstat's own summary "
        "is at the end. The reference (`reference_test.go`) is a map under one `sync.RWMutex` that copies on write (outside the "
        "lock) and on read: the design Go callers use today. Its `TotalSize` and `ListByPrefix` walk the map, as a map store "
        "without extra indexes must. `GOMAXPROCS` is the core count.\n"
        "- **Ratios**: *speedup vs ref* = reference time ÷ blockmem time (above 1: blockmem is faster). *÷ limit* = time ÷ the "
        "Rust limit's time at the same size (1.0: at the limit). Go `ReadBlock` and `WriteBlock` are compared with "
        "allocate+copy, Go `ReadBlockInto` and range reads with memcpy.\n"
        "- **Memory**: see the memory section.\n" % go_runs
    )
    if args.mode != "full":
        md.append("> **Quick run** (`make bench-quick`): short measurement times and a reduced set of sizes; "
                  "use `make bench` for numbers worth quoting.\n")
    md.append("## Headline (Go callers)\n")
    md.append(headline(run) + "\n")
    md.append("![throughput by block size](%s)\n" % chart_rel)
    md.append("## Performance targets\n")
    md.append("%d of %d met.\n" % (passed, len(ts)))
    md.append(targets_table(ts) + "\n")
    notes = findings(run, ts, acct)
    if notes:
        md.append("### Findings from this run\n")
        md.append(notes + "\n")
    if analysis:
        md.append(analysis + "\n")
    md.append("## Go: blockmem binding vs pure-Go reference\n")
    md.append(go_tables(run) + "\n")
    md.append("## Rust API and C ABI vs the physical limits\n")
    md.append(rust_tables(run) + "\n")
    md.append("## Memory overhead\n")
    md.append(memory_table(run) + "\n")
    md.append(
        "RSS counts everything the process holds for the store (allocator headers and rounding, the B-tree, free memory the "
        "allocator keeps). For Go, the collector runs and returns free memory to the OS (`debug.FreeOSMemory`) before each "
        "reading; `HeapInuse` counts in-use heap spans (for blockmem the blocks are outside the Go heap, so only RSS applies).\n"
    )
    md.append("## benchstat\n")
    md.append("`benchstat -col /impl` over all rounds (base column: blockmem; `vs base` is the reference relative to it).\n")
    md.append("```\n" + benchstat + "\n```\n")
    md.append("Raw outputs of this run: `bench/out/%s/` (not committed).\n" % os.path.basename(os.path.normpath(args.dir)))

    with open(args.report, "w") as f:
        f.write("\n".join(md))
    print("wrote %s and %s: %d of %d targets met" % (args.report, args.chart, passed, len(ts)))


if __name__ == "__main__":
    main()

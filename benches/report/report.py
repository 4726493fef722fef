#!/usr/bin/env python3
"""Stitches REPORT.md and the scaling charts from one benchmark run.

Reads, from the run directory that run.sh fills:
  meta.txt                              "key: value" lines about the run
  criterion/**/new/estimates.json       criterion's own estimates
  go-<name>.csv, go-<name>.txt          benchstat output (CSV and text)
  cache.csv, cache.md                   benches/cache's hit-ratio run (the
                                        cache phase; older runs lack them,
                                        and runs that could not fetch its
                                        file trace lack that trace's rows)
  go-cache-speed.csv, go-cache-speed.txt  benchstat output of the cache-speed
                                        phase (benches/cache/speed; older
                                        runs lack them)
  large-c.csv                           the large-c phase's C real-size rows
                                        (benches/large_set.c)
and, from the scaling directory, <N>-cores.csv tables written by scaling.c
(this machine's and any committed from others), and targets.toml next to
this script. Tables are the tools' own numbers; the only arithmetic here is
the ratios and differences the targets name.
"""

import argparse
import csv
import glob
import json
import os
import re
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
# Chart colours by the operation a scaling.c case starts with; own keys
# solid, hot key dashed, limits dotted. Rows of a case whose operation has
# no colour (such as bare_read in tables committed before it was removed)
# are skipped.
COLORS = {"write": "C0", "read": "C1", "get": "C2", "mix": "C3", "memcpy": "k", "malloc": "0.5"}


def known_case(case):
    return case.split("_")[0] in COLORS


def load_criterion(run_dir):
    """{"group/function/param": median ns} from criterion's estimates."""
    out = {}
    root = os.path.join(run_dir, "criterion")
    for path in glob.glob(os.path.join(root, "**", "new", "estimates.json"), recursive=True):
        with open(os.path.join(os.path.dirname(path), "benchmark.json")) as f:
            full_id = json.load(f)["full_id"]
        with open(path) as f:
            out[full_id] = json.load(f)["median"]["point_estimate"]
    return out


def load_benchstat(path):
    """{(row, unit, column): centre} from `benchstat -format csv`."""
    out = {}
    with open(path) as f:
        blocks = f.read().split("\n\n")
    for block in blocks:
        lines = block.strip().splitlines()
        while lines and not lines[0].startswith(","):
            lines.pop(0)  # the Go run's configuration lines
        rows = list(csv.reader(lines))
        if len(rows) < 3:
            continue
        starts = [i for i, name in enumerate(rows[0]) if i > 0 and name]
        for row in rows[2:]:
            name = re.sub(r"-\d+$", "", row[0])
            for i in starts:
                if i < len(row) and row[i]:
                    out[(name, rows[1][i], rows[0][i])] = float(row[i])
    return out


def load_scaling(path, quiet=False):
    """(machine line, {(case, size, threads): row}) from a scaling table,
    rows of unknown cases (see COLORS) left out."""
    with open(path) as f:
        machine = f.readline().lstrip("# ").strip()
        rows = list(csv.DictReader(f))
    unknown = sorted({r["case"] for r in rows if not known_case(r["case"])})
    if unknown and not quiet:
        print(f"note: {os.path.basename(path)}: skipped rows of unknown cases: {', '.join(unknown)}")
    table = {}
    for r in rows:
        if not known_case(r["case"]):
            continue
        r["ops_per_s"] = float(r["ops_per_s"])
        r["ns_per_op"] = float(r["ns_per_op"])
        table[(r["case"], r["size"], int(r["threads"]))] = r
    for (case, size, _), r in table.items():
        one = table.get((case, size, 1))
        r["speedup"] = r["ops_per_s"] / one["ops_per_s"] if one else None
    return machine, table


# The caches blockmem's cache mode is compared with (benches/cache).
CACHE_BASELINES = ("lru", "otter", "ristretto")
# The Go set of the cache-speed phase (benches/cache/speed), reported in a
# section of its own rather than with the binding's Go sets.
SPEED_SET = "cache-speed"
# The cache phase's file traces (run.sh fetches them; they are not in the
# repository), by trace name: where each comes from, for the report.
FILE_TRACES = {
    "cloudPhysicsIO": [
        "`cloudPhysicsIO` is a recorded block I/O trace, not a synthetic one: CloudPhysics'",
        "vSCSI trace sample `cloudPhysicsIO.csv` (113,872 requests; CloudPhysics is the",
        "company behind the SHARDS paper, Waldspurger et al., FAST 2015), as shipped in the",
        "`data/` directory of [libCacheSim](https://github.com/1a1a11a/libCacheSim) (GPL-3.0).",
        "The cache phase fetches it from the libcachesim 0.3.3 sdist on PyPI and checks it by",
        "SHA-256; it is not part of this repository. Each request, read or write alike, is",
        "the object (lbn, size) of `size` bytes, as libCacheSim maps this trace: 56,629",
        "distinct objects of 512 bytes to 68 KiB.",
    ],
}


def load_large_c(run_dir):
    """{(case, size): {field: value}} from the large-c phase's large-c.csv
    ({} when the run has none)."""
    path = os.path.join(run_dir, "large-c.csv")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {
            (r["case"], r["size"]): {k: float(v) for k, v in r.items() if k not in ("case", "size")}
            for r in csv.DictReader(f)
        }


def load_cache(run_dir):
    """{(trace, cap_pct): {cache: hit_pct}} from the cache phase's cache.csv
    (# lines are settings), or None when the run has no cache.csv."""
    path = os.path.join(run_dir, "cache.csv")
    if not os.path.exists(path):
        return None
    out = {}
    with open(path) as f:
        for r in csv.DictReader(line for line in f if not line.startswith("#")):
            out.setdefault((r["trace"], r["cap_pct"]), {})[r["cache"]] = float(r["hit_pct"])
    return out


def cache_margin(cells, trace, versus):
    """blockmem's hit ratio minus the best baseline's (versus "best") or
    lru's (versus "lru") at each of trace's capacities, the lowest of them:
    (points, "at CAP%: blockmem X, BASELINE Y"), or (None, None) if blockmem
    or the baseline was not run on trace."""
    worst = None
    for (t, cap), ratios in cells.items():
        names = CACHE_BASELINES if versus == "best" else (versus,)
        base = [(ratios[n], n) for n in names if n in ratios]
        if t != trace or "blockmem" not in ratios or not base:
            continue
        best, name = max(base)
        margin = ratios["blockmem"] - best
        if worst is None or margin < worst[0]:
            worst = (margin, f"at {cap}%: blockmem {ratios['blockmem']:.1f}, {name} {best:.1f}")
    return worst or (None, None)


def cache_traces(cells):
    """The trace names that have cells in cache.csv."""
    return {trace for trace, _ in cells}


class Run:
    """Every measurement of one run, looked up by the names targets.toml uses."""

    def __init__(self, run_dir, scaling_dir):
        self.criterion = load_criterion(run_dir)
        self.go = {}
        for path in glob.glob(os.path.join(run_dir, "go-*.csv")):
            self.go[os.path.basename(path)[3:-4]] = load_benchstat(path)
        own = os.path.join(scaling_dir, f"{len(os.sched_getaffinity(0))}-cores.csv")
        self.scaling = load_scaling(own, quiet=True)[1] if os.path.exists(own) else {}
        self.cache = load_cache(run_dir) or {}
        self.large_c = load_large_c(run_dir)

    def detail(self, name):
        """(value, note) for a measurement name: the note says where a
        derived value comes from, or is None."""
        kind, _, rest = name.partition(":")
        if kind == "cache":
            trace, metric = rest.rsplit(":", 1)
            versus = {"blockmem-best": "best", "blockmem-lru": "lru"}.get(metric)
            if versus is None:
                raise ValueError(f"unknown cache measurement in {name!r}")
            if trace in FILE_TRACES and self.cache and trace not in cache_traces(self.cache):
                return None, "file trace not in this run"
            return cache_margin(self.cache, trace, versus)
        return self.get(name), None

    def get(self, name):
        """The value a measurement name refers to, or None if not measured."""
        kind, _, rest = name.partition(":")
        if kind == "cache":
            return self.detail(name)[0]
        if kind == "criterion":
            return self.criterion.get(rest)
        if kind == "go":
            run, row, unit, column = rest.split(":")
            return self.go.get(run, {}).get((row, unit, column))
        if kind == "scaling":
            where, field = rest.split(":")
            case, size, threads = where.split("/")
            return self.scaling.get((case, size, int(threads)), {}).get(field)
        if kind == "clarge":
            where, field = rest.split(":")
            case, size = where.split("/")
            return self.large_c.get((case, size), {}).get(field)
        raise ValueError(f"unknown measurement kind in {name!r}")


def expand(targets):
    """Targets with `each` repeated once per item, `{}` replaced by it."""
    for t in targets:
        for item in t.get("each", [None]):
            sub = (lambda v: v.replace("{}", item)) if item else (lambda v: v)
            yield {k: [sub(x) for x in v] if k == "ratio" else sub(v) if isinstance(v, str) else v
                   for k, v in t.items()}


def check_targets(run, targets):
    """Rows of (name, goal, measured, result) for every target."""
    rows = []
    for t in expand(targets):
        note = None
        if "ratio" in t:
            a, b = (run.get(n) for n in t["ratio"])
            value = a / b * t.get("scale", 1) if a is not None and b else None
            unit = "x"
        else:
            (value, note), unit = run.detail(t["value"]), " " + t.get("unit", "")
        goals = [f"≥ {t['min']:g}{unit}"] if "min" in t else []
        goals += [f"≤ {t['max']:g}{unit}"] if "max" in t else []
        if value is None:
            measured, result = "not measured" + (f" ({note})" if note else ""), "–"
        else:
            ok = t.get("min", value) <= value <= t.get("max", value)
            # Differences in percentage points read best signed, to the
            # tables' one decimal, or two where one would equal the goal.
            shown = f"{value:.3g}"
            if t.get("unit") == "points":
                shown = f"{value:+.1f}"
                if float(shown) in (t.get("min"), t.get("max")):
                    shown = f"{value:+.2f}"
            measured, result = f"{shown}{unit}", "PASS" if ok else "**MISS**"
            if note:
                measured += f" ({note})"
        rows.append((t["name"], ", ".join(goals) or "–", measured, result if goals else "reference"))
    return rows


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_rate(x):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def param_order(param):
    """Sort key for parameters such as 10000, 64KB or 1KB_middle: by size."""
    m = re.match(r"(\d+)(KB|MB)?(.*)", param)
    if not m:
        return (0, param)
    return (int(m[1]) * {"KB": 1 << 10, "MB": 1 << 20}.get(m[2], 1), m[3])


def criterion_section(results):
    """One table per criterion group: parameters down, functions across."""
    out = []
    groups = {}
    for full_id, ns in results.items():
        group, function, param = full_id.split("/", 2)
        groups.setdefault(group, {}).setdefault(param, {})[function] = ns
    for group, params in sorted(groups.items()):
        functions = sorted({f for p in params.values() for f in p})
        rows = [[p] + [fmt_ns(v[f]) if f in v else "" for f in functions]
                for p, v in sorted(params.items(), key=lambda item: param_order(item[0]))]
        out += [f"#### `{group}` (median time per operation)", "", table([""] + functions, rows), ""]
    return out


def scaling_section(path, chart):
    """A table per block size and one chart for a scaling table."""
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    machine, data = load_scaling(path)
    sizes = list(dict.fromkeys(k[1] for k in data))
    threads = sorted({k[2] for k in data})
    cases = list(dict.fromkeys(k[0] for k in data))
    out = [f"Machine: {machine}. Aggregate operations per second, best of several runs.", ""]
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        rows = []
        for case in cases:
            cells = [data.get((case, size, n)) for n in threads]
            rows.append([case] + [fmt_rate(c["ops_per_s"]) if c else "" for c in cells])
            xs = [n for n, c in zip(threads, cells) if c]
            ys = [c["ops_per_s"] for c in cells if c]
            style = ":" if "ring" in case else "--" if "hot" in case else "-"
            color = COLORS[case.split("_")[0]]
            ax.plot(xs, ys, style, color=color, marker="o", label=case)
        out += [f"**{size} blocks**", "", table(["case"] + [f"{n} thr" for n in threads], rows), ""]
        ax.set(title=f"{size} blocks", xlabel="threads", ylabel="operations per second", yscale="log")
        ax.set_xticks(threads)
    axes[0][-1].legend(fontsize="small", loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    fig.savefig(chart)
    plt.close(fig)
    return out + [f"![throughput against threads]({os.path.basename(chart)})", ""]


# The parts of hitratio's markdown (cache.md) the report shows, by heading.
CACHE_TABLES = ("Traces", "Hit ratio (% of requests)", "Byte hit ratio (% of bytes requested)")


def cache_section(run_dir, out_dir):
    """The cache phase's settings and tables from cache.md, headings one
    level down, or a note that the run has none."""
    out = ["## Cache mode: hit ratio", ""]
    path = os.path.join(run_dir, "cache.md")
    if not os.path.exists(path):
        print(f"note: no cache.md in {run_dir}: the report says its cache mode section is missing")
        return out + ["Missing from this run: its directory has no `cache.md`, which the `cache` phase",
                      "of `run.sh` writes (runs from before that phase lack it). Run `make bench` again.", ""]
    with open(path) as f:
        lines = f.read().splitlines()
    preamble, sections, current = [], {}, None
    for line in lines:
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is None:
            if not line.startswith("# "):
                preamble.append(line)
        else:
            sections[current].append(line)
    raw = os.path.relpath(path, out_dir)
    readme = os.path.relpath(os.path.join(HERE, "..", "cache", "README.md"), out_dir)
    out += ["blockmem's cache mode (`Options{MaxBytes, Evict: true}` through the Go binding)",
            "against Go caches of the same byte capacity on synthetic Zipf block traces and a",
            "recorded block I/O trace: every request reads its key and, on a miss, writes the block",
            f"([benches/cache]({readme}), `cmd/hitratio`). The hit ratio counts requests;",
            "the byte hit ratio weights each request by its block's size. The run's whole",
            f"output (bytes held, replay times) is in [{raw}]({raw}), its numbers in `cache.csv`.",
            ""] + [line for line in preamble if line.strip()] + [""]
    # Where each file trace comes from, or that this run lacks it.
    traces = sections.get("Traces", [])
    for name, source in FILE_TRACES.items():
        out += source + [""]
        if not any(line.startswith(f"| {name} |") for line in traces):
            print(f"note: no file trace {name} in {path}: the report says it is missing")
            out += [f"**Missing from this run:** the file trace `{name}`: the cache phase could not",
                    "fetch it (it printed why, and the Run table's `cache file trace` row says so), or",
                    "the run predates it. Its rows and targets are absent. Run `make bench` again with",
                    f"network access, or put the file at `benches/report/out/traces/{name}.csv` first",
                    "(run.sh checks its SHA-256).",
                    ""]
    for title in CACHE_TABLES:
        body = sections.get(title)
        if body is None:
            out += [f"### {title}", "", "Not in cache.md.", ""]
            continue
        out += [f"### {title}"] + body
        if out[-1].strip():
            out.append("")
    # The capacity check and the run's footer, from the later sections.
    for body in sections.values():
        for line in body:
            if line.startswith(("OVER CAPACITY", "No cache exceeded", "runtime ")):
                out += [line, ""]
    return out


def speed_section(run_dir, out_dir):
    """The cache-speed phase's benchstat tables with what they measure, or
    a note that the run has none."""
    out = ["## Cache mode: speed (Go)", ""]
    path = os.path.join(run_dir, f"go-{SPEED_SET}.txt")
    if not os.path.exists(path):
        print(f"note: no go-{SPEED_SET}.txt in {run_dir}: the report says its cache speed section is missing")
        return out + [f"Missing from this run: its directory has no `go-{SPEED_SET}.txt`, which the",
                      f"`{SPEED_SET}` phase of `run.sh` writes (runs from before that phase lack it).",
                      "Run `make bench` again.", ""]
    with open(path) as f:
        body = f.read().strip()
    src = os.path.relpath(os.path.join(HERE, "..", "cache", "speed", "speed_test.go"), out_dir)
    raw = os.path.relpath(os.path.join(run_dir, f"raw-go-{SPEED_SET}.txt"), out_dir)
    return out + [
        f"Go benchmarks of the cache mode through the binding ([speed_test.go]({src}),",
        "`-tags blockmem_cache`), one column per implementation: `store` is blockmem in",
        "store mode (`Options{MaxBytes: 1 GiB}`), `cache` in cache mode (`Evict: true`,",
        "the same cap, far above the data), `otter` otter v2 bounded by weight",
        "(`GetIfPresent`, then a copy into the caller's buffer), `copy` a plain copy",
        "from the block's own Go slice (the machine's limit).",
        "",
        "- `Hit/<size>/<g>g`: reads into the caller's buffer (`ReadBlockInto`), each of",
        "  g goroutines on its own 64 keys in rotation. The `2g` rows' time per op is",
        "  wall time over both goroutines' operations, so `1g` time / `2g` time is the",
        "  speedup (ideal 2); the goroutines claim batches of 64 operations from a",
        "  shared counter, so one held up by the runtime or the OS (a 2-core machine",
        "  has no spare core) does not hold up the run. A busy machine lowers every",
        "  column's 2-goroutine speedup; the `copy` column's shows what it allowed.",
        "- `Write/1KB`: overwrites of 64 stored keys in rotation (nothing evicts).",
        "- `SteadyWrite/64KB`: a write into 64 MiB held at steady state. `cache`: capped",
        "  at 64 MiB, written 2,048 keys (twice the cap) in a shuffled cycle, so about",
        "  every write evicts a block (`evictions/op`); `store`: overwrites of random",
        "  keys among 1,024 blocks (64 MiB).",
        "- `LargeHit/<size>/<g>g`: reads into the caller's buffer of random keys over",
        "  256 MiB of blocks (4,096 of 64 KiB or 256 of 1 MiB), from g goroutines, as",
        "  `Hit` (no `cache` column: cache mode reads as store mode does). Store mode",
        "  against otter at a real store's size; the binding's `LargeSet` rows compare",
        "  it with the map store.",
        "",
        "Every row also reports GCs/op and faults/op (minor page faults). Raw output:",
        f"[{raw}]({raw}).",
        "", "```", body, "```", ""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="run directory")
    ap.add_argument("--out", required=True, help="directory for REPORT.md and charts")
    ap.add_argument("--scaling", required=True, help="directory of scaling tables")
    args = ap.parse_args()

    with open(os.path.join(HERE, "targets.toml"), "rb") as f:
        targets = tomllib.load(f)["target"]
    run = Run(args.dir, args.scaling)
    results = check_targets(run, targets)
    met = sum(r[3] == "PASS" for r in results)
    goals = sum(r[3] != "reference" for r in results)
    # A phase whose numbers are absent (an older run, or a phase that did not
    # run) leaves its targets unmeasured: one note per phase rather than a
    # warning per target.
    def measured_by(prefix):
        return {t["name"] for t in expand(targets)
                if any(n.startswith(prefix) for n in t.get("ratio", [t.get("value", "")]))}
    phases = [("cache:", bool(run.cache), "cache.csv", "the cache phase"),
              (f"go:{SPEED_SET}:", SPEED_SET in run.go, f"go-{SPEED_SET}.csv", f"the {SPEED_SET} phase"),
              ("clarge:", bool(run.large_c), "large-c.csv", "the large-c phase")]
    missing = set()
    for prefix, present, source, phase in phases:
        if not present:
            names = measured_by(prefix)
            print(f"note: no {source} in {args.dir} ({phase}'s numbers):"
                  f" its {len(names)} targets are not measured")
            missing |= names
    # The same for a file trace the cache phase could not fetch.
    absent = sorted(t for t in FILE_TRACES if run.cache and t not in cache_traces(run.cache))
    if absent:
        file_targets = set().union(*(measured_by(f"cache:{trace}:") for trace in absent))
        print(f"note: no rows of the file trace {', '.join(absent)} in {args.dir}/cache.csv (not fetched, or the run predates it):"
              f" its {len(file_targets)} targets are not measured")
        missing |= file_targets
    for name, _, measured, _ in results:
        if measured.startswith("not measured") and name not in missing:
            print(f"warning: target not measured (missing benchmark or misspelt name): {name}")

    with open(os.path.join(args.dir, "meta.txt")) as f:
        meta = [line.rstrip("\n").split(": ", 1) for line in f if ": " in line]
    quick = ["**Quick run** (`make bench-quick`): a reduced set with short timings, to check",
             "the pipeline; do not quote its numbers.", ""] if dict(meta).get("mode") == "quick" else []
    out = ["# blockmem benchmark report", ""] + quick + [
           "Generated by `make bench` from one run (`benches/report/`); every ratio compares",
           "numbers taken in that run on that machine. Targets are listed in",
           "[targets.toml](targets.toml) and checked by [report.py](report.py).", "",
           "## Run", "", table(["", ""], meta), "",
           "## Targets", "", f"{met} of {goals} met." + (
               " Rows marked `reference` have no goal;\nthey give context for the targets above them."
               if goals < len(results) else ""), "",
           table(["target", "goal", "measured", "result"], results), ""]

    for path in sorted(glob.glob(os.path.join(args.scaling, "*.csv"))):
        name = os.path.basename(path)[:-4]
        out += [f"## Scaling through the C ABI ({name})", ""]
        if name != f"{len(os.sched_getaffinity(0))}-cores":
            out += ["A table committed from another machine (`benches/scaling.c` run there), not",
                    "from this run; compare its rows with each other only.", ""]
        out += scaling_section(path, os.path.join(args.out, f"scaling-{name}.svg"))

    out += ["## Rust API (criterion)", ""] + criterion_section(run.criterion)
    for path in sorted(glob.glob(os.path.join(args.dir, "go-*.txt"))):
        with open(path) as f:
            body = f.read().strip()
        name = os.path.basename(path)[3:-4]
        if name == SPEED_SET:
            continue  # its own section, below
        out += [f"## Go: `{name}` (benchstat)", "", "```", body, "```", ""]
    out += cache_section(args.dir, args.out)
    out += speed_section(args.dir, args.out)

    with open(os.path.join(args.out, "REPORT.md"), "w") as f:
        f.write("\n".join(out))
    print(f"{met} of {goals} targets met; wrote {args.out}/REPORT.md")


if __name__ == "__main__":
    main()

// Command hitratio replays block traces through several caches of the
// same byte capacity and reports their request and byte hit ratios.
//
// Every request reads a key; on a miss it writes the block, as a program
// using the cache in front of slower storage would. Synthetic traces
// (-traces) are Zipf popularity over keys of fixed, log-uniform sizes
// (1 KiB to 1 MiB) or all of 64 KiB (-64k traces), with and without
// periodic one-pass scans of cold keys. File traces (-io-traces) are block
// I/O traces in CSV (version,time,op,size,lbn, such as CloudPhysics'
// cloudPhysicsIO.csv), replayed after the synthetic ones: each request,
// read or write alike, is the object (lbn, size) of size bytes. Capacities
// are percentages of a trace's unique bytes. See README.md.
//
//	go run ./cmd/hitratio                       # lru, otter, ristretto
//	go run -tags blockmem_cache ./cmd/hitratio  # and blockmem's cache mode
//	go run ./cmd/hitratio -quick -format csv
//	go run ./cmd/hitratio -csv out.csv > out.md # both formats from one run
//	go run ./cmd/hitratio -traces '' -io-traces cloudPhysicsIO.csv
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blockmem/blockmem/benches/cache/sim"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hitratio:", err)
		}
		os.Exit(2)
	}
}

type settings struct {
	traces    []string
	ioTraces  []fileTrace
	caps      []float64 // percent of unique bytes
	keys      int
	requests  int
	seed      uint64
	caches    []string
	format    string
	csvFile   string
	scanEvery int
	scanPct   float64
	quick     bool
	verbose   bool
	repeat    int
}

// The default traces and hot requests per trace: 18 (trace, capacity)
// cells, which with blockmem (it copies every block it stores and every
// hit it reads, about 5 s a cell with mixed sizes and 2.5 s with 64 KiB
// blocks) take about 90 s on two cores.
var defaultTraces = []string{"zipf-0.9", "zipf-1.0", "zipf-0.9-scan", "zipf-1.0-scan", "zipf-1.0-64k", "zipf-1.0-64k-scan"}

const defaultRequests = 400000

// fileTrace is a block I/O trace file given with -io-traces: its path, the
// trace's name (the file's base name without its extension) and, once
// loaded, the file's SHA-256 in hexadecimal.
type fileTrace struct {
	path, name, sha256 string
}

// fileTraceName is what a file trace's name may be, so that it reads
// plainly in the markdown tables and the CSV.
var fileTraceName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)

// file returns the file trace called name, or nil.
func (s *settings) file(name string) *fileTrace {
	for i := range s.ioTraces {
		if s.ioTraces[i].name == name {
			return &s.ioTraces[i]
		}
	}
	return nil
}

// Sizes -quick uses for whatever the command line leaves unset.
const (
	quickKeys      = 2000
	quickRequests  = 40000
	quickScanEvery = 5000
)

func parse(args []string, stderr io.Writer) (*settings, error) {
	fs := flag.NewFlagSet("hitratio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	traces := fs.String("traces", strings.Join(defaultTraces, ","),
		"comma-separated synthetic traces: zipf-<exponent>[-64k][-scan] (-64k: every block 64 KiB); may be empty with -io-traces")
	ioTraces := fs.String("io-traces", "", "comma-separated block I/O trace files (CSV: "+sim.IOTraceHeader+
		"), replayed whole after the synthetic traces, whatever -quick, -keys and -requests; each trace is named after its file, without the extension")
	caps := fs.String("caps", "1,5,10", "comma-separated capacities in percent of each trace's unique bytes")
	keys := fs.Int("keys", 20000, "hot keys the Zipf popularity ranges over")
	requests := fs.Int("requests", defaultRequests, "hot (Zipf) requests per trace; scan requests come on top")
	seed := fs.Uint64("seed", 1, "seed of the traces (popularity order, request sequence, sizes)")
	caches := fs.String("caches", "", "comma-separated caches (default: all built in: "+strings.Join(sim.Names(), ",")+")")
	format := fs.String("format", "md", "output format: md or csv")
	csvFile := fs.String("csv", "", "also write the CSV output to this file (with -format md, both from one run)")
	scanEvery := fs.Int("scan-every", 50000, "for -scan traces: a scan every this many hot requests")
	scanPct := fs.Float64("scan-pct", 5, "for -scan traces: each scan's bytes in percent of the unique bytes")
	quick := fs.Bool("quick", false, fmt.Sprintf("smoke-test sizes for flags not given: -keys %d -requests %d -scan-every %d",
		quickKeys, quickRequests, quickScanEvery))
	verbose := fs.Bool("v", false, "also print each cache's own counters")
	repeat := fs.Int("repeat", 1, "replay each (trace, capacity, cache) this many times and report the mean ratios and their spread "+
		"(otter and ristretto vary from run to run; lru does not)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: hitratio [flags]\n\nReplays synthetic Zipf block traces and block I/O trace files (read; on a miss, write)\nthrough caches of equal byte capacity and reports their request and byte hit ratios.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	s := &settings{keys: *keys, requests: *requests, seed: *seed, format: *format, csvFile: *csvFile,
		scanEvery: *scanEvery, scanPct: *scanPct, quick: *quick, verbose: *verbose, repeat: *repeat}
	if s.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["keys"] {
			s.keys = quickKeys
		}
		if !set["requests"] {
			s.requests = quickRequests
		}
		if !set["scan-every"] {
			s.scanEvery = quickScanEvery
		}
	}
	for _, name := range splitList(*traces) {
		if _, err := sim.ParseTraceName(name); err != nil {
			return nil, err
		}
		s.traces = append(s.traces, name)
	}
	for _, path := range splitList(*ioTraces) {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		switch {
		case !fileTraceName.MatchString(name):
			return nil, fmt.Errorf("-io-traces: %s gives the trace name %q: want letters, digits, '.', '_' and '-' only, not starting with '.'", path, name)
		case slices.Contains(s.traces, name) || s.file(name) != nil:
			return nil, fmt.Errorf("-io-traces: %s gives the trace name %s, which another trace has", path, name)
		}
		s.ioTraces = append(s.ioTraces, fileTrace{path: path, name: name})
	}
	if len(s.traces)+len(s.ioTraces) == 0 {
		return nil, errors.New("no traces listed (-traces or -io-traces)")
	}
	for _, c := range splitList(*caps) {
		p, err := strconv.ParseFloat(strings.TrimSuffix(c, "%"), 64)
		if err != nil || !(p > 0 && p <= 100) {
			return nil, fmt.Errorf("bad capacity %q: want a percentage in (0, 100]", c)
		}
		s.caps = append(s.caps, p)
	}
	if len(s.caps) == 0 {
		return nil, errors.New("no capacities listed")
	}
	var err error
	if s.caches, err = sim.ParseCaches(*caches); err != nil {
		return nil, err
	}
	switch {
	case s.format != "md" && s.format != "csv":
		return nil, fmt.Errorf("bad -format %q: want md or csv", s.format)
	case s.keys < 1:
		return nil, fmt.Errorf("-keys must be positive")
	case s.requests < 1:
		return nil, fmt.Errorf("-requests must be positive")
	case s.repeat < 1:
		return nil, fmt.Errorf("-repeat must be positive")
	case s.scanEvery < 1:
		return nil, fmt.Errorf("-scan-every must be positive")
	case !(s.scanPct > 0 && s.scanPct <= 1000):
		return nil, fmt.Errorf("-scan-pct must be in (0, 1000]")
	}
	return s, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// row is one (trace, capacity) with a result per cache. With -repeat, a
// result sums the runs' requests, hits and bytes (so its ratios are the
// means), keeps the largest Held and PeakHeld, the mean Elapsed and the
// last run's Notes; spread has each cache's range of ratios.
type row struct {
	trace    *sim.Trace
	pct      float64
	capacity int64
	results  map[string]sim.Result
	spread   map[string]spread
}

// spread is the lowest and highest hit ratio and byte hit ratio of one
// cache over the runs of a row.
type spread struct{ lo, hi, byteLo, byteHi float64 }

// replay runs cache c s.repeat times on r's trace and capacity.
func (r *row) replay(s *settings, c string, stderr io.Writer) error {
	var sum sim.Result
	sp := spread{lo: 100, byteLo: 100}
	for i := range s.repeat {
		res, err := sim.Replay(c, r.capacity, r.trace)
		if err != nil {
			return fmt.Errorf("%s at %g%%: %w", r.trace.Name, r.pct, err)
		}
		fmt.Fprintf(stderr, "%-17s %5s%% %-10s %5.1f%% (bytes %5.1f%%)  held %s of %s  %.2fs",
			r.trace.Name, fmtPct(r.pct), c, res.HitRatio(), res.ByteHitRatio(), mib(res.Held), mib(r.capacity), res.Elapsed.Seconds())
		if s.repeat > 1 {
			fmt.Fprintf(stderr, "  (run %d of %d)", i+1, s.repeat)
		}
		fmt.Fprintln(stderr)
		sp.lo, sp.hi = min(sp.lo, res.HitRatio()), max(sp.hi, res.HitRatio())
		sp.byteLo, sp.byteHi = min(sp.byteLo, res.ByteHitRatio()), max(sp.byteHi, res.ByteHitRatio())
		sum.Cache, sum.Capacity, sum.Notes = res.Cache, res.Capacity, res.Notes
		sum.Requests += res.Requests
		sum.Hits += res.Hits
		sum.Bytes += res.Bytes
		sum.HitBytes += res.HitBytes
		sum.Held = max(sum.Held, res.Held)
		sum.PeakHeld = max(sum.PeakHeld, res.PeakHeld)
		sum.Elapsed += res.Elapsed
	}
	sum.Elapsed /= time.Duration(s.repeat)
	r.results[c] = sum
	r.spread[c] = sp
	return nil
}

func run(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	s, err := parse(args, stderr)
	if err != nil {
		return err
	}
	// File traces are read first, so that a bad file fails the run before
	// any replay.
	files := make([]*sim.Trace, len(s.ioTraces))
	for i := range s.ioTraces {
		if files[i], err = loadIOTrace(&s.ioTraces[i]); err != nil {
			return err
		}
	}
	var (
		traces []*sim.Trace
		rows   []row
	)
	replayTrace := func(t *sim.Trace) error {
		traces = append(traces, t)
		for _, pct := range s.caps {
			r := row{trace: t, pct: pct, capacity: int64(pct / 100 * float64(t.UniqueBytes)),
				results: map[string]sim.Result{}, spread: map[string]spread{}}
			if r.capacity < 1 {
				return fmt.Errorf("%s: %g%% of %d unique bytes is no capacity", t.Name, pct, t.UniqueBytes)
			}
			for _, c := range s.caches {
				if err := r.replay(s, c, stderr); err != nil {
					return err
				}
			}
			rows = append(rows, r)
		}
		runtime.GC() // drop the previous trace's keys before the next
		return nil
	}
	for _, name := range s.traces {
		spec, _ := sim.ParseTraceName(name)
		cfg := sim.TraceConfig{Exponent: spec.Exponent, Keys: s.keys, Requests: s.requests, Seed: s.seed, BlockSize: spec.BlockSize()}
		if spec.Scan {
			cfg.ScanEvery, cfg.ScanFraction = s.scanEvery, s.scanPct/100
		}
		t, err := sim.NewTrace(name, cfg)
		if err != nil {
			return err
		}
		if err := replayTrace(t); err != nil {
			return err
		}
	}
	for _, t := range files {
		if err := replayTrace(t); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	if s.csvFile != "" {
		if err := writeCSVFile(s.csvFile, s, traces, rows, elapsed); err != nil {
			return err
		}
	}
	if s.format == "csv" {
		return writeCSV(stdout, s, traces, rows, elapsed)
	}
	writeMarkdown(stdout, s, traces, rows, elapsed)
	return nil
}

// loadIOTrace reads the block I/O trace file ft and records its SHA-256.
func loadIOTrace(ft *fileTrace) (*sim.Trace, error) {
	f, err := os.Open(ft.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	t, err := sim.LoadIOTrace(ft.name, io.TeeReader(bufio.NewReader(f), h))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ft.path, err)
	}
	ft.sha256 = hex.EncodeToString(h.Sum(nil))
	return t, nil
}

func fmtPct(p float64) string { return strconv.FormatFloat(p, 'g', -1, 64) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// baselines returns the baseline caches that were run, in order.
func (s *settings) baselines() []string {
	var out []string
	for _, c := range s.caches {
		if slices.Contains(sim.Baselines, c) {
			out = append(out, c)
		}
	}
	return out
}

// hasDiffs reports whether the blockmem difference columns apply.
func (s *settings) hasDiffs() bool {
	return slices.Contains(s.caches, "blockmem") && len(s.baselines()) > 0
}

// ratio is one of the two ratios the tables show: a Result's request or
// byte hit ratio, in percent.
type ratio struct {
	title string
	of    func(sim.Result) float64
}

var (
	requestRatio = ratio{"Hit ratio (% of requests)", sim.Result.HitRatio}
	byteRatio    = ratio{"Byte hit ratio (% of bytes requested)", sim.Result.ByteHitRatio}
)

// diffs returns blockmem's ratio minus the best baseline's (and that
// baseline's name) and minus lru's, in percentage points; hasLRU is false
// when lru was not run.
func (r row) diffs(s *settings, of func(sim.Result) float64) (best float64, bestName string, lru float64, hasLRU bool) {
	bm := of(r.results["blockmem"])
	for _, c := range s.baselines() {
		if h := of(r.results[c]); bestName == "" || h > of(r.results[bestName]) {
			bestName = c
		}
	}
	best = bm - of(r.results[bestName])
	if res, ok := r.results["lru"]; ok {
		lru, hasLRU = bm-of(res), true
	}
	return best, bestName, lru, hasLRU
}

func settingsLines(s *settings) []string {
	mode := ""
	if s.quick {
		mode = " (-quick)"
	}
	lines := []string{
		fmt.Sprintf("settings%s: keys=%d requests=%d (hot; scan requests on top) seed=%d scan-every=%d scan-pct=%s caps=%s%% caches=%s repeat=%d",
			mode, s.keys, s.requests, s.seed, s.scanEvery, fmtPct(s.scanPct), joinPcts(s.caps), strings.Join(s.caches, ","), s.repeat),
		fmt.Sprintf("environment: %s %s/%s GOMAXPROCS=%d NumCPU=%d", runtime.Version(), runtime.GOOS, runtime.GOARCH,
			runtime.GOMAXPROCS(0), runtime.NumCPU()),
		"block sizes: log-uniform in [1 KiB, 1 MiB], fixed per key; in -64k traces every block (hot and scan) is 64 KiB; keys share/content/file-<id>/block-<n>",
		"unique bytes: sum of the sizes of the distinct hot keys requested at least once (scan keys excluded); capacity = cap% x unique bytes",
		fmt.Sprintf("scan (-scan traces): before every %d-th hot request, one pass over fresh keys (requested only then) totalling >= %s%% of the unique bytes",
			s.scanEvery, fmtPct(s.scanPct)),
		"hit ratio: hits / all requests (hot and scan); byte hit ratio: bytes of the hits / bytes of all requests; with -repeat, means over the runs; every request reads, every miss writes the block",
		"otter: synchronous maintenance; ristretto: Wait after every Set; held: bytes by each cache's own accounting",
	}
	if len(s.ioTraces) > 0 {
		files := make([]string, len(s.ioTraces))
		for i, ft := range s.ioTraces {
			files[i] = fmt.Sprintf("%s (%s, sha256 %s)", ft.name, filepath.Base(ft.path), ft.sha256)
		}
		lines = append(lines, "file traces (-io-traces): "+strings.Join(files, ", ")+"; block I/O traces replayed whole, whatever -quick,"+
			" -keys and -requests: every line is a request, read or write alike, for the object (lbn, size) of size bytes, key"+
			" vscsi/lbn-<lbn>-<size>; all their keys count as hot, and they have no scans")
	}
	return lines
}

func joinPcts(ps []float64) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmtPct(p)
	}
	return strings.Join(out, ",")
}

// coldBound is the hit ratio a cache of unbounded size would reach: every
// distinct key misses once.
func coldBound(t *sim.Trace) float64 {
	return 100 * (1 - float64(t.DistinctKeys())/float64(len(t.Requests)))
}

// byteColdBound is coldBound for the byte hit ratio.
func byteColdBound(t *sim.Trace) float64 {
	return 100 * (1 - float64(t.DistinctBytes())/float64(t.RequestedBytes))
}

func footer(elapsed time.Duration) string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := "n/a"
	if p := peakRSS(); p >= 0 {
		rss = mib(p)
	}
	return fmt.Sprintf("runtime %.1f s; peak RSS %s; Go runtime memory (Sys) %s", elapsed.Seconds(), rss, mib(int64(ms.Sys)))
}

// cacheColumns returns a table's header and separator lines: the given
// leading columns (the first left-aligned, the rest right-aligned), then
// one column per cache.
func cacheColumns(s *settings, lead ...string) (head, sep string) {
	head, sep = "|", "|"
	for i, l := range lead {
		head += " " + l + " |"
		if i == 0 {
			sep += "---|"
		} else {
			sep += "--:|"
		}
	}
	for _, c := range s.caches {
		head += " " + c + " |"
		sep += "--:|"
	}
	return head, sep
}

// writeRatioTable writes the table of one ratio: a row per (trace,
// capacity), a column per cache, and with blockmem its differences.
func writeRatioTable(w io.Writer, s *settings, rows []row, m ratio) {
	fmt.Fprintf(w, "\n## %s\n\n", m.title)
	head, sep := cacheColumns(s, "trace", "cap", "capacity")
	if s.hasDiffs() {
		head += " blockmem - best | blockmem - lru |"
		sep += "--:|--:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	for _, r := range rows {
		line := fmt.Sprintf("| %s | %s%% | %s |", r.trace.Name, fmtPct(r.pct), mib(r.capacity))
		for _, c := range s.caches {
			line += fmt.Sprintf(" %.1f |", m.of(r.results[c]))
		}
		if s.hasDiffs() {
			best, bestName, lru, hasLRU := r.diffs(s, m.of)
			line += fmt.Sprintf(" %+.1f (%s) |", best, bestName)
			if hasLRU {
				line += fmt.Sprintf(" %+.1f |", lru)
			} else {
				line += " - |"
			}
		}
		fmt.Fprintln(w, line)
	}
	if s.hasDiffs() {
		fmt.Fprintln(w, "\nDifferences are in percentage points; best is the highest of the baselines run.")
	}
}

func writeMarkdown(w io.Writer, s *settings, traces []*sim.Trace, rows []row, elapsed time.Duration) {
	fmt.Fprintln(w, "# Cache hit ratio: read, on a miss write the block")
	fmt.Fprintln(w)
	for _, l := range settingsLines(s) {
		fmt.Fprintf(w, "- %s\n", l)
	}

	fmt.Fprintln(w, "\n## Traces")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| trace | source | requests | hot + scan | distinct hot keys | unique bytes | scans | scan bytes | no-eviction bound | byte no-eviction bound |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	anyFile := false
	for _, t := range traces {
		source, split, scans, scanBytes := "synthetic", fmt.Sprintf("%d + %d", t.HotRequests, t.ScanRequests), strconv.Itoa(t.Scans), mib(t.ScanBytes)
		if t.FromFile {
			anyFile = true
			source, split, scans, scanBytes = "file "+filepath.Base(s.file(t.Name).path), "-", "-", "-"
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %d | %s | %s | %s | %.1f%% | %.1f%% |\n", t.Name, source, len(t.Requests), split,
			t.UniqueHotKeys, mib(t.UniqueBytes), scans, scanBytes, coldBound(t), byteColdBound(t))
	}
	fmt.Fprintln(w, "\nThe no-eviction bound is the hit ratio of an unbounded cache (every distinct key misses once), of requests and of bytes.")
	if anyFile {
		fmt.Fprintln(w, "A file trace is a block I/O trace replayed as recorded: every request, read or write alike, is the object (lbn, size) of size bytes;",
			"all its keys count as hot (distinct hot keys: its distinct objects), and it has no scans.")
	}

	writeRatioTable(w, s, rows, requestRatio)
	writeRatioTable(w, s, rows, byteRatio)

	if s.repeat > 1 {
		title := fmt.Sprintf("Hit ratio range over %d runs (lowest - highest, %% of requests)", s.repeat)
		writeCellTable(w, s, rows, title, func(r row, c string) string {
			return fmt.Sprintf("%.1f - %.1f", r.spread[c].lo, r.spread[c].hi)
		})
	}
	writeCellTable(w, s, rows, "Bytes held at the end / peak after any write, % of capacity (largest over the runs)",
		func(r row, c string) string {
			res := r.results[c]
			return fmt.Sprintf("%.1f / %.1f", pctOf(res.Held, r.capacity), pctOf(res.PeakHeld, r.capacity))
		})
	over := false
	for _, r := range rows {
		for _, c := range s.caches {
			if r.results[c].PeakHeld > r.capacity {
				over = true
				fmt.Fprintf(w, "\nOVER CAPACITY: %s on %s at %s%% held up to %d bytes of %d.\n",
					c, r.trace.Name, fmtPct(r.pct), r.results[c].PeakHeld, r.capacity)
			}
		}
	}
	if !over {
		fmt.Fprintln(w, "\nNo cache exceeded its capacity after any write.")
	}

	writeCellTable(w, s, rows, "Replay time (s, mean over the runs)", func(r row, c string) string {
		return fmt.Sprintf("%.2f", r.results[c].Elapsed.Seconds())
	})

	if s.verbose {
		fmt.Fprintln(w, "\n## Cache counters")
		fmt.Fprintln(w)
		for _, r := range rows {
			for _, c := range s.caches {
				fmt.Fprintf(w, "- %s %s%% %s: %s\n", r.trace.Name, fmtPct(r.pct), c, r.results[c].Notes)
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", footer(elapsed))
}

func pctOf(a, b int64) float64 { return 100 * float64(a) / float64(b) }

// csvHeader is the CSV's header: one record per (trace, capacity, cache).
// Ratios are percentages with three decimals (means over the runs, with
// their range); held_bytes and peak_held_bytes the largest over the runs,
// seconds the mean replay time; requests and requested_bytes are per
// replay.
var csvHeader = []string{"trace", "cap_pct", "cache", "capacity_bytes", "requests", "requested_bytes",
	"hit_pct", "byte_hit_pct", "hit_min_pct", "hit_max_pct", "byte_hit_min_pct", "byte_hit_max_pct",
	"held_bytes", "peak_held_bytes", "seconds", "runs"}

// writeCSV writes the settings and the traces as # comment lines, then
// csvHeader and its records.
func writeCSV(w io.Writer, s *settings, traces []*sim.Trace, rows []row, elapsed time.Duration) error {
	bw := bufio.NewWriter(w)
	for _, l := range settingsLines(s) {
		fmt.Fprintf(bw, "# %s\n", l)
	}
	for _, t := range traces {
		source := "synthetic"
		if t.FromFile {
			ft := s.file(t.Name)
			source = fmt.Sprintf("file:%s sha256=%s", filepath.Base(ft.path), ft.sha256)
		}
		fmt.Fprintf(bw, "# trace %s: requests=%d hot=%d scan=%d requested_bytes=%d distinct_hot_keys=%d unique_bytes=%d scans=%d scan_bytes=%d block_size=%s source=%s\n",
			t.Name, len(t.Requests), t.HotRequests, t.ScanRequests, t.RequestedBytes, t.UniqueHotKeys, t.UniqueBytes, t.Scans, t.ScanBytes,
			blockSizeNote(t), source)
	}
	fmt.Fprintf(bw, "# %s\n", footer(elapsed))
	cw := csv.NewWriter(bw)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	for _, r := range rows {
		for _, c := range s.caches {
			res, sp := r.results[c], r.spread[c]
			rec := []string{r.trace.Name, fmtPct(r.pct), c, strconv.FormatInt(r.capacity, 10),
				strconv.Itoa(len(r.trace.Requests)), strconv.FormatInt(r.trace.RequestedBytes, 10),
				f(res.HitRatio()), f(res.ByteHitRatio()), f(sp.lo), f(sp.hi), f(sp.byteLo), f(sp.byteHi),
				strconv.FormatInt(res.Held, 10), strconv.FormatInt(res.PeakHeld, 10),
				strconv.FormatFloat(res.Elapsed.Seconds(), 'f', 3, 64), strconv.Itoa(s.repeat)}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func blockSizeNote(t *sim.Trace) string {
	if t.FromFile {
		return "per-request"
	}
	if t.Config.BlockSize > 0 {
		return strconv.Itoa(int(t.Config.BlockSize))
	}
	return "log-uniform"
}

// writeCSVFile writes the CSV to path (for -csv).
func writeCSVFile(path string, s *settings, traces []*sim.Trace, rows []row, elapsed time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeCSV(f, s, traces, rows, elapsed); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// writeCellTable writes a section titled title with a row per (trace,
// capacity) and a column per cache, each cell given by cell.
func writeCellTable(w io.Writer, s *settings, rows []row, title string, cell func(row, string) string) {
	fmt.Fprintf(w, "\n## %s\n\n", title)
	head, sep := cacheColumns(s, "trace", "cap")
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	for _, r := range rows {
		line := fmt.Sprintf("| %s | %s%% |", r.trace.Name, fmtPct(r.pct))
		for _, c := range s.caches {
			line += " " + cell(r, c) + " |"
		}
		fmt.Fprintln(w, line)
	}
}

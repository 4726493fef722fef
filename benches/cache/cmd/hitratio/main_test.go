package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readCSV returns the records of hitratio's CSV output, # lines skipped
// as a Python reader would skip them, keyed by column name.
func readCSV(t *testing.T, out string) []map[string]string {
	t.Helper()
	var data []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "#") {
			data = append(data, l)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(strings.Join(data, "\n"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("no header or a different one:\n%s", out)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return rows
}

func num(t *testing.T, rec map[string]string, col string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(rec[col], 64)
	if err != nil {
		t.Fatalf("%s %s%% %s: %s = %q", rec["trace"], rec["cap_pct"], rec["cache"], col, rec[col])
	}
	return v
}

// The -quick run of lru, otter and ristretto over the default traces gives
// one CSV record per (trace, capacity, cache), each ratio in (0, 100) and
// each cache within its capacity; on -64k traces the byte hit ratio is the
// hit ratio.
func TestQuickCSV(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-quick", "-format", "csv", "-caches", "lru,otter,ristretto"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# settings (-quick): keys=2000 requests=40000") {
		t.Errorf("settings line missing:\n%s", out.String())
	}
	recs := readCSV(t, out.String())
	if len(recs) != len(defaultTraces)*3*3 {
		t.Fatalf("%d records, want one per trace, capacity and cache:\n%s", len(recs), out.String())
	}
	seen := map[string]bool{}
	for i, rec := range recs {
		// Ordered by trace, capacity, then cache.
		if want := defaultTraces[i/9]; rec["trace"] != want {
			t.Errorf("record %d: trace %s, want %s", i, rec["trace"], want)
		}
		if want := []string{"lru", "otter", "ristretto"}[i%3]; rec["cache"] != want {
			t.Errorf("record %d: cache %s, want %s", i, rec["cache"], want)
		}
		seen[rec["trace"]+"/"+rec["cap_pct"]] = true
		capacity := num(t, rec, "capacity_bytes")
		hit, byteHit := num(t, rec, "hit_pct"), num(t, rec, "byte_hit_pct")
		if !(hit > 0 && hit < 100) || !(byteHit > 0 && byteHit < 100) {
			t.Errorf("%v: hit ratios %v, %v", rec, hit, byteHit)
		}
		if num(t, rec, "hit_min_pct") != hit || num(t, rec, "hit_max_pct") != hit ||
			num(t, rec, "byte_hit_min_pct") != byteHit || num(t, rec, "byte_hit_max_pct") != byteHit {
			t.Errorf("one run, yet a range: %v", rec)
		}
		if strings.Contains(rec["trace"], "-64k") && hit != byteHit {
			t.Errorf("%v: equal blocks, yet hit ratio %v and byte hit ratio %v", rec, hit, byteHit)
		}
		if peak := num(t, rec, "peak_held_bytes"); peak <= 0 || peak > capacity || num(t, rec, "held_bytes") > peak {
			t.Errorf("%v: peak %v bytes, capacity %v", rec, peak, capacity)
		}
		if num(t, rec, "requests") < 40000 || num(t, rec, "requested_bytes") < num(t, rec, "requests")*1024 ||
			num(t, rec, "seconds") < 0 || rec["runs"] != "1" {
			t.Errorf("%v", rec)
		}
	}
	if len(seen) != len(defaultTraces)*3 {
		t.Errorf("%d (trace, capacity) pairs, want %d", len(seen), len(defaultTraces)*3)
	}
}

// -csv writes the CSV beside the markdown of the same run.
func TestCSVFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	var md bytes.Buffer
	args := []string{"-quick", "-traces", "zipf-1.0-64k-scan,zipf-0.9", "-caps", "5", "-caches", "lru,otter", "-csv", path}
	if err := run(args, &md, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, string(data))
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4:\n%s", len(recs), data)
	}
	for _, rec := range recs {
		// The markdown tables show the same ratios, to one decimal.
		row := fmt.Sprintf("| %s | 5%% |", rec["trace"])
		if !strings.Contains(md.String(), row) {
			t.Errorf("markdown lacks %q", row)
		}
	}
	for _, want := range []string{"# trace zipf-1.0-64k-scan:", "block_size=65536", "block_size=log-uniform"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("CSV lacks %q", want)
		}
	}
	for _, want := range []string{"## Hit ratio (% of requests)", "## Byte hit ratio (% of bytes requested)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if err := run([]string{"-quick", "-traces", "zipf-1", "-caps", "5", "-caches", "lru", "-csv", filepath.Join(path, "x")}, io.Discard, io.Discard); err == nil {
		t.Error("an unwritable -csv path accepted")
	}
}

func TestMarkdown(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-quick", "-traces", "zipf-1.0-scan", "-caps", "5", "-caches", "lru", "-keys", "500", "-requests", "5000", "-v", "-repeat", "2"}
	if err := run(args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"settings (-quick): keys=500 requests=5000",
		"| zipf-1.0-scan | 5% |",
		"No cache exceeded its capacity",
		"## Cache counters",
		"## Hit ratio range over 2 runs",
		"## Byte hit ratio (% of bytes requested)",
		"peak RSS",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-traces", "uniform"},
		{"-traces", "zipf-1.0-scan-64k"},
		{"-traces", "zipf-1.0,zipf-1.0-32k"},
		{"-caps", "0"},
		{"-caps", "101"},
		{"-caps", "x"},
		{"-caches", "nope"},
		{"-format", "json"},
		{"-keys", "0"},
		{"-scan-every", "0"},
		{"-repeat", "0"},
		{"extra"},
		{"-traces", ""},
		{"-traces", " , ", "-io-traces", " , "},
		{"-io-traces", "/nonexistent/sample.csv"},
		{"-io-traces", "dir/a b.csv"},
		{"-io-traces", "dir/a|b.csv"},
		{"-io-traces", "dir/.csv"},
		{"-io-traces", "/"},
		{"-traces", "zipf-1.0", "-io-traces", "dir/zipf-1.0.csv"},
		{"-traces", "", "-io-traces", "a/sample.csv,b/sample.txt"},
	} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// writeIOTrace writes a block I/O trace of 3000 requests over 200 objects
// of 512 bytes to 4 KiB, low ids the most requested, into dir as name, and
// returns its path and SHA-256.
func writeIOTrace(t *testing.T, dir, name string) (path, sum string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("version,time,op,size,lbn\n")
	for i := range 3000 {
		x := i * 7919 % 1000
		id := x * x / 5000
		op := "28"
		if i%3 == 0 {
			op = "2a"
		}
		fmt.Fprintf(&b, "1,%d,%s,%d,%d\n", 1000+i, op, 512*(1+id%8), 1000+8*id)
	}
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(b.String()))
	return path, hex.EncodeToString(h[:])
}

// A file trace alone (-traces empty): named after its file, replayed whole
// whatever -quick says, one CSV record per capacity and cache, with its
// source and checksum in the # lines.
func TestIOTraceCSV(t *testing.T) {
	path, sum := writeIOTrace(t, t.TempDir(), "sample.csv")
	var out bytes.Buffer
	args := []string{"-quick", "-traces", "", "-io-traces", path, "-caps", "10,50", "-caches", "lru,otter", "-format", "csv"}
	if err := run(args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# file traces (-io-traces): sample (sample.csv, sha256 " + sum + ");",
		"# trace sample: requests=3000 hot=3000 scan=0 ",
		" scans=0 scan_bytes=0 block_size=per-request source=file:sample.csv sha256=" + sum + "\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("CSV lacks %q:\n%s", want, out.String())
		}
	}
	recs := readCSV(t, out.String())
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4:\n%s", len(recs), out.String())
	}
	for i, rec := range recs {
		if rec["trace"] != "sample" || rec["cap_pct"] != []string{"10", "50"}[i/2] || rec["cache"] != []string{"lru", "otter"}[i%2] {
			t.Errorf("record %d: %v", i, rec)
		}
		hit, byteHit := num(t, rec, "hit_pct"), num(t, rec, "byte_hit_pct")
		if !(hit > 0 && hit < 100) || !(byteHit > 0 && byteHit < 100) || rec["requests"] != "3000" {
			t.Errorf("%v", rec)
		}
		if peak := num(t, rec, "peak_held_bytes"); peak <= 0 || peak > num(t, rec, "capacity_bytes") {
			t.Errorf("%v: peak %v bytes", rec, peak)
		}
	}
}

// File traces follow the synthetic ones; the trace table shows each
// trace's source, and no hot + scan split or scans for a file trace.
func TestIOTraceMarkdown(t *testing.T) {
	path, _ := writeIOTrace(t, t.TempDir(), "sample.csv")
	var out bytes.Buffer
	args := []string{"-quick", "-traces", "zipf-1.0", "-io-traces", path, "-caps", "10", "-caches", "lru"}
	if err := run(args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{
		"| trace | source | requests | hot + scan |",
		"| zipf-1.0 | synthetic | 40000 | 40000 + 0 |",
		"| sample | file sample.csv | 3000 | - | ",
		"| - | - |",
		"A file trace is a block I/O trace",
		"- file traces (-io-traces): sample (sample.csv, sha256 ",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	for _, table := range []string{"## Hit ratio (% of requests)", "## Byte hit ratio (% of bytes requested)", "## Replay time"} {
		_, body, _ := strings.Cut(md, table)
		synthetic, file := strings.Index(body, "| zipf-1.0 | 10% |"), strings.Index(body, "| sample | 10% |")
		if synthetic < 0 || file < synthetic {
			t.Errorf("%s: zipf-1.0 at %d, sample at %d:\n%s", table, synthetic, file, md)
		}
	}
}

// A malformed file trace fails the run before any replay, naming the file
// and the line.
func TestBadIOTrace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(path, []byte("version,time,op,size,lbn\n1,1,28,512,7\n1,2,28,2097152,7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	err := run([]string{"-quick", "-io-traces", path, "-caches", "lru"}, io.Discard, &progress)
	if err == nil || !strings.Contains(err.Error(), path+": trace bad: line 3: size") {
		t.Errorf("error %v", err)
	}
	if progress.Len() > 0 {
		t.Errorf("replayed before failing:\n%s", progress.String())
	}
}

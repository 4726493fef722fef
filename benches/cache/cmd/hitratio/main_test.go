package main

import (
	"bytes"
	"encoding/csv"
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
	} {
		if err := run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

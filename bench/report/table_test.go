package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// parseTable maps "scenario/target" to the cells of the first markdown
// table in out, keyed by column header.
func parseTable(t *testing.T, out string) map[string]map[string]string {
	t.Helper()
	var header []string
	rows := map[string]map[string]string{}
	for line := range strings.SplitSeq(out, "\n") {
		if line == "" {
			break // end of the main table
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			m := map[string]string{}
			for i, h := range header {
				m[h] = cells[i]
			}
			rows[cells[0]+"/"+cells[1]] = m
		}
	}
	return rows
}

func TestTable(t *testing.T) {
	dir := fixture(t)
	var out bytes.Buffer
	if err := table([]string{"-dir", dir, "-targets", "direct sluice sluice-plain nginx haproxy"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	rows := parseTable(t, out.String())
	cases := []struct {
		row, col, want string
	}{
		// paired per round: median(100k/50k, 90k/50k, 80k/50k)
		{"small-c64/sluice", "x nginx", "1.80"},
		// haproxy ran only in r1, r2: median(100k/40k, 90k/60k), not the ratio of medians
		{"small-c64/sluice", "x haproxy", "2.00"},
		{"small-c64/sluice", "x direct", "0.75"},
		// no sluice-plain in small-c64: nothing to pair with
		{"small-c64/sluice", "x plain", "-"},
		// 2.5 CPU-s over 500k, 450k, 400k requests: 0.050, 0.056, 0.0625 per 10k
		{"small-c64/sluice", "CPU-s per 10k req", "0.056"},
		{"small-c64/sluice", "req per CPU-s", "180000"},
		{"small-c64/sluice", "proxy CPU%", "50"},
		// 210 of 250 ticks in the kernel; "-" for runs without the line
		{"small-c64/sluice", "kernel %", "84"},
		{"small-c64/nginx", "kernel %", "-"},
		// p99.9 from summary.lua's µs line; p50 too (it wins over wrk's own)
		{"small-c64/sluice", "p99.9", "2.50ms"},
		{"small-c64/sluice", "p50", "700us"},
		// direct has no proxy: its CPU columns are the upstream's, CPU% is "-"
		{"small-c64/direct", "CPU-s per 10k req", "0.020"},
		{"small-c64/direct", "proxy CPU%", "-"},
		// an old file without percentile lines: p99 from wrk, p99.9 missing
		{"small-c64/nginx", "p99", "1.60ms"},
		{"small-c64/nginx", "p99.9", "-"},
		// socket errors (read 2 + timeout 1) and wrk's non-2xx (5), over 3 rounds
		{"small-c64/nginx", "errors", "24"},
		// status lines win over wrk's Non-2xx line: 4 per round, not 8
		{"small-c64/haproxy", "errors", "8"},
		// direct cannot route: it did not run in edge
		{"edge-c64/sluice", "x direct", "-"},
		{"edge-c64/sluice", "x plain", "0.80"},
		{"edge-c64/sluice", "x haproxy", "1.09"},
		{"edge-c64/sluice-plain", "x plain", "-"},
		{"edge-c64/nginx", "x nginx", "1.00"},
	}
	for _, c := range cases {
		r, ok := rows[c.row]
		if !ok {
			t.Errorf("no row %s in\n%s", c.row, out.String())
			continue
		}
		if got := r[c.col]; got != c.want {
			t.Errorf("%s %q = %q, want %q", c.row, c.col, got, c.want)
		}
	}
	if _, ok := rows["edge-c64/direct"]; ok {
		t.Errorf("edge-c64/direct has a row but never ran")
	}
	// the idle table is generic: haproxy's file is listed too
	if !strings.Contains(out.String(), "| 10000 | haproxy | 10000/10000 |") {
		t.Errorf("idle table lacks haproxy:\n%s", out.String())
	}
}

func TestParseWrkFailed(t *testing.T) {
	dir := t.TempDir()
	f := dir + "/x.txt"
	writeFile(t, f, "unable to connect to 127.0.0.1:18080 Connection refused\n")
	if _, err := parseWrk(f); err == nil {
		t.Fatal("parseWrk accepted a file without Requests/sec")
	}
}

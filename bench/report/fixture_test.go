package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRun is one wrk run of the fixture, written in wrk's --latency format
// followed by summary.lua's lines and the runner's appended lines.
type fakeRun struct {
	sc, tg, round string
	rps           float64
	requests      int
	p50, p99      string         // wrk's own formatting: "812.00us", "1.65ms"
	lua           map[string]int // summary.lua "percentile <p> <µs>"; nil: an old file without them
	statuses      map[int]int    // summary.lua "status <code>: <n>"
	socketErrs    [4]int         // connect, read, write, timeout
	non2xx        int
	proxyTicks    int // -1: no proxy_ticks line (direct)
	proxySysTicks int // 0: no proxy_sys_ticks line (older runs)
	upTicks       int
}

func writeFake(t *testing.T, dir string, r fakeRun) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "Running 5s test @ http://127.0.0.1:18080/\n  1 threads and 64 connections\n")
	fmt.Fprintf(&b, "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n")
	fmt.Fprintf(&b, "    Latency   %s  200.00us   5.00ms   90.00%%\n", r.p50)
	fmt.Fprintf(&b, "    Req/Sec    50.00k     2.00k    55.00k    80.00%%\n")
	fmt.Fprintf(&b, "  Latency Distribution\n     50%%  %s\n     75%%    0.90ms\n     90%%    1.10ms\n     99%%  %s\n", r.p50, r.p99)
	fmt.Fprintf(&b, "  %d requests in 5.00s, 60.00MB read\n", r.requests)
	if r.socketErrs != [4]int{} {
		e := r.socketErrs
		fmt.Fprintf(&b, "  Socket errors: connect %d, read %d, write %d, timeout %d\n", e[0], e[1], e[2], e[3])
	}
	if r.non2xx > 0 {
		fmt.Fprintf(&b, "  Non-2xx or 3xx responses: %d\n", r.non2xx)
	}
	fmt.Fprintf(&b, "Requests/sec: %.2f\nTransfer/sec:     12.00MB\n", r.rps)
	for _, p := range []string{"50", "75", "90", "95", "99", "99.9", "99.99"} {
		if us, ok := r.lua[p]; ok {
			fmt.Fprintf(&b, "percentile %s %d\n", p, us)
		}
	}
	for code, n := range r.statuses {
		fmt.Fprintf(&b, "status %d: %d\n", code, n)
	}
	fmt.Fprintf(&b, "wall_s: 5.000\nclk_tck: 100\n")
	if r.proxyTicks >= 0 {
		fmt.Fprintf(&b, "proxy_ticks: %d\n", r.proxyTicks)
	}
	if r.proxySysTicks > 0 {
		fmt.Fprintf(&b, "proxy_sys_ticks: %d\n", r.proxySysTicks)
	}
	fmt.Fprintf(&b, "upstream_ticks: %d\n", r.upTicks)
	name := filepath.Join(dir, "wrk", r.sc+"__"+r.tg+"__"+r.round+".txt")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// luaPct is a full summary.lua percentile set around p50 µs; p99.9 is
// given separately so tests can assert it.
func luaPct(p50, p999 int) map[string]int {
	return map[string]int{"50": p50, "75": p50 * 11 / 10, "90": p50 * 13 / 10, "95": p50 * 3 / 2,
		"99": p50 * 2, "99.9": p999, "99.99": p999 * 2}
}

// fixture writes an OUT_DIR with two scenarios:
//
//	small-c64: direct, sluice, nginx (old-format files, no percentile
//	           lines) in r1..r3; haproxy only in r1 and r2 (status lines)
//	edge-c64:  sluice, sluice-plain, nginx, haproxy in r1..r2; no direct
//
// and an idle-memory file for sluice and haproxy.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"wrk", "mem"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rounds := []string{"r1", "r2", "r3"}
	for i, rd := range rounds {
		// sluice 100k/90k/80k against nginx 50k: paired 2.0/1.8/1.6
		writeFake(t, dir, fakeRun{sc: "small-c64", tg: "sluice", round: rd, rps: float64(100000 - 10000*i),
			requests: 500000 - 50000*i, p50: "700.00us", p99: "1.50ms", lua: luaPct(700, 2500),
			proxyTicks: 250, proxySysTicks: 210, upTicks: 120})
		writeFake(t, dir, fakeRun{sc: "small-c64", tg: "nginx", round: rd, rps: 50000, requests: 250000,
			p50: "0.80ms", p99: "1.60ms", proxyTicks: 490, upTicks: 100,
			socketErrs: [4]int{0, 2, 0, 1}, non2xx: 5})
		writeFake(t, dir, fakeRun{sc: "small-c64", tg: "direct", round: rd, rps: 120000, requests: 600000,
			p50: "500.00us", p99: "1.00ms", lua: luaPct(500, 1800), proxyTicks: -1, upTicks: 120})
	}
	// haproxy 40k, 60k in r1, r2 only: sluice x haproxy = median(2.5, 1.5) = 2.00,
	// not 90k/50k = 1.80 (the ratio of medians) nor anything using r3.
	for i, rd := range rounds[:2] {
		writeFake(t, dir, fakeRun{sc: "small-c64", tg: "haproxy", round: rd, rps: float64(40000 + 20000*i),
			requests: 200000 + 100000*i, p50: "0.90ms", p99: "1.80ms", lua: luaPct(900, 3000),
			statuses: map[int]int{200: 199996, 503: 4}, non2xx: 4, proxyTicks: 400, upTicks: 100})
	}
	for _, rd := range rounds[:2] {
		for _, tg := range []string{"sluice", "sluice-plain", "nginx", "haproxy"} {
			rps := map[string]float64{"sluice": 60000, "sluice-plain": 75000, "nginx": 50000, "haproxy": 55000}[tg]
			writeFake(t, dir, fakeRun{sc: "edge-c64", tg: tg, round: rd, rps: rps, requests: int(rps * 5),
				p50: "0.80ms", p99: "1.70ms", lua: luaPct(800, 2600), proxyTicks: 480, upTicks: 100})
		}
	}
	for _, tg := range []string{"sluice", "haproxy"} {
		line := "name=" + tg + " n=10000 ok=10000 failed=0 still_open=10000 rss_before_kib=10240 " +
			"rss_conns_kib=20480 rss_closed_kib=20480 bytes_per_conn=1048 first_error=\"\"\n"
		if err := os.WriteFile(filepath.Join(dir, "mem", tg+".txt"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

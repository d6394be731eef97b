package engine

// End-to-end tests of traffic control through the real engine: rate limits
// (filter/ratelimit over limiter), circuit breakers, active health checks,
// retries and their budget, and the balancers. Every test drives real
// sockets on 127.0.0.1 with net/http clients or raw connections and counts
// what reached each upstream.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/breaker"
	_ "github.com/sluicehq/sluice/filter/ratelimit" // type: rate_limit
)

// ---- helpers ----

// tcTarget is a net/http upstream that counts what it served: requests
// (health checks aside) and, per X-Request-ID, how often it saw each one.
// It answers `status` (200 when 0) with its name as the body and in
// X-Upstream, after waiting for `hold` (if set) and sleeping `delay`;
// GET /healthz answers `health`. host to hold are set before it serves
// and never change.
type tcTarget struct {
	srv    *countingServer
	host   string // host:port it listens on
	name   string
	status int           // status of ordinary requests; 0 = 200
	delay  time.Duration // sleep before answering
	hold   chan struct{} // when not nil, requests wait until it is closed
	hits   atomic.Int64  // ordinary requests served
	// badHost counts requests whose Host header was not this target's
	// host:port (a retry to another target must rewrite it).
	badHost atomic.Int64
	checks  atomic.Int64 // health checks answered
	health  atomic.Int32 // status /healthz answers; 0 = 200
	ids     sync.Map     // X-Request-ID -> *atomic.Int64
}

// startTCTarget starts a tcTarget on a free loopback port.
func startTCTarget(t *testing.T, name string, status int, delay time.Duration) *tcTarget {
	t.Helper()
	return serveTCTarget(t, &tcTarget{name: name, status: status, delay: delay})
}

// serveTCTarget starts u, whose settings are filled in, on a free loopback
// port.
func serveTCTarget(t *testing.T, u *tcTarget) *tcTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.host = ln.Addr().String()
	u.srv = serveUpstream(t, ln, u)
	return u
}

func (u *tcTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		u.checks.Add(1)
		st := int(u.health.Load())
		if st == 0 {
			st = 200
		}
		w.WriteHeader(st)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	u.hits.Add(1)
	if r.Host != u.host {
		u.badHost.Add(1)
	}
	n, _ := u.ids.LoadOrStore(r.Header.Get("X-Request-ID"), new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	if u.hold != nil {
		select {
		case <-u.hold:
		case <-r.Context().Done():
		}
	}
	if u.delay > 0 {
		time.Sleep(u.delay)
	}
	st := u.status
	if st == 0 {
		st = 200
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Upstream", u.name)
	w.WriteHeader(st)
	_, _ = io.WriteString(w, u.name)
}

// saw is how many times the target received the request with this ID.
func (u *tcTarget) saw(id string) int64 {
	if n, ok := u.ids.Load(id); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// tcAllRoute sends every path to cluster "up".
const tcAllRoute = "  - name: all\n    match: {path: /*}\n    cluster: up\n"

// tcConfig is a config with one cluster "up" over targets (host:port, or a
// YAML flow map such as {url: http://…, weight: 3}); cluster holds extra
// keys of the cluster, indented by four spaces; top holds top-level keys;
// routes "" means tcAllRoute.
func tcConfig(top, cluster, routes string, targets ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: \"{{listen}}\"\nadmin: \"\"\n%s\nclusters:\n  up:\n    targets:\n", top)
	for _, tg := range targets {
		if !strings.HasPrefix(tg, "{") {
			tg = "http://" + tg
		}
		fmt.Fprintf(&b, "      - %s\n", tg)
	}
	b.WriteString("    timeouts: {connect: 300ms, response: 2s}\n")
	b.WriteString(cluster)
	if routes == "" {
		routes = tcAllRoute
	}
	b.WriteString("routes:\n")
	b.WriteString(routes)
	return b.String()
}

// tcClient is a keep-alive net/http client whose idle connections close
// when the test ends (so the goroutine leak check sees them gone); dials
// counts the TCP connections it opened.
func tcClient(t *testing.T, dials *atomic.Int64) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 16,
		DisableCompression:  true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials != nil {
				dials.Add(1)
			}
			return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// tcResult is a response with its body read.
type tcResult struct {
	status int
	header http.Header
	body   string
	close  bool
}

// tcDo sends one request (id "" lets the gateway make one up; hdr adds
// headers as name, value pairs) and reads the whole response.
func tcDo(t *testing.T, c *http.Client, method, url, id, body string, hdr ...string) tcResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return tcResult{status: resp.StatusCode, header: resp.Header, body: string(b), close: resp.Close}
}

// tcGatewayError decodes the gateway's own JSON error body and checks its
// shape: {"error": …, "request_id": …} with the ID echoed in X-Request-ID.
// It returns the error message, or "" with a description of what is wrong.
func tcGatewayError(r tcResult) (msg, problem string) {
	var e struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		return "", fmt.Sprintf("body %q is not JSON: %v", r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		return "", fmt.Sprintf("Content-Type %q", ct)
	}
	if e.RequestID == "" || e.RequestID != r.header.Get("X-Request-ID") {
		return "", fmt.Sprintf("request_id %q, X-Request-ID %q", e.RequestID, r.header.Get("X-Request-ID"))
	}
	return e.Error, ""
}

// tcHeaderInt parses a header that must hold a non-negative integer.
func tcHeaderInt(h http.Header, name string) (int64, bool) {
	v := h.Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0
}

// tcRateLimitProblem returns what is wrong with a response of a rate-limited
// route whose most restrictive bucket holds limit requests and refills in
// at most maxReset seconds, or "" when it is right: every response carries
// RateLimit-Limit/-Remaining/-Reset and equal X-RateLimit-* twins; a 429 is
// the gateway's JSON "rate limit exceeded" with Remaining 0, Retry-After >=
// 1, and the connection kept.
func tcRateLimitProblem(r tcResult, limit, maxReset int64) string {
	for _, f := range []string{"Limit", "Remaining", "Reset"} {
		a, b := r.header.Get("RateLimit-"+f), r.header.Get("X-RateLimit-"+f)
		if a == "" || a != b {
			return fmt.Sprintf("%d: RateLimit-%s %q, X-RateLimit-%s %q", r.status, f, a, f, b)
		}
	}
	lim, _ := tcHeaderInt(r.header, "RateLimit-Limit")
	rem, okRem := tcHeaderInt(r.header, "RateLimit-Remaining")
	reset, okReset := tcHeaderInt(r.header, "RateLimit-Reset")
	switch {
	case lim != limit:
		return fmt.Sprintf("%d: RateLimit-Limit %d, want %d", r.status, lim, limit)
	case !okRem || rem > limit:
		return fmt.Sprintf("%d: RateLimit-Remaining %q", r.status, r.header.Get("RateLimit-Remaining"))
	case !okReset || reset < 1 || reset > maxReset:
		return fmt.Sprintf("%d: RateLimit-Reset %q, want 1..%d", r.status, r.header.Get("RateLimit-Reset"), maxReset)
	}
	switch r.status {
	case 200:
		if r.header.Get("Retry-After") != "" {
			return "200 with Retry-After"
		}
	case 429:
		if msg, p := tcGatewayError(r); p != "" || msg != "rate limit exceeded" {
			return fmt.Sprintf("429: error %q %s", msg, p)
		}
		if ra, ok := tcHeaderInt(r.header, "Retry-After"); !ok || ra < 1 {
			return fmt.Sprintf("429: Retry-After %q, want >= 1", r.header.Get("Retry-After"))
		}
		if rem != 0 {
			return fmt.Sprintf("429: RateLimit-Remaining %d, want 0", rem)
		}
		if r.close {
			return "429 closed the connection"
		}
	default:
		return fmt.Sprintf("status %d %q", r.status, r.body)
	}
	return ""
}

// tcNoRateLimitHeaders reports the first RateLimit-* or X-RateLimit-* header
// of h, or "".
func tcNoRateLimitHeaders(h http.Header) string {
	for name := range h {
		if l := strings.ToLower(name); strings.HasPrefix(l, "ratelimit-") || strings.HasPrefix(l, "x-ratelimit-") {
			return name
		}
	}
	return ""
}

// tcWaitUntil polls cond every 5ms for up to limit and reports how long it
// took to hold, or false if it never did.
func tcWaitUntil(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tcSpread sends n sequential GETs and returns how many each target served;
// every one must answer 200.
func tcSpread(t *testing.T, c *http.Client, g *gateway, n int, targets ...*tcTarget) []int64 {
	t.Helper()
	before := make([]int64, len(targets))
	for i, u := range targets {
		before[i] = u.hits.Load()
	}
	for i := range n {
		if r := tcDo(t, c, "GET", g.url(fmt.Sprintf("/s/%d", i)), "", ""); r.status != 200 {
			t.Fatalf("request %d: %d %q", i, r.status, r.body)
		}
	}
	out := make([]int64, len(targets))
	for i, u := range targets {
		out[i] = u.hits.Load() - before[i]
	}
	return out
}

// tcExpectIdle checks that every target of cluster "up" has no request in
// flight once the traffic is over: each Select was paired with one Done,
// whatever became of the request (rejected, retried, failed, probed).
func tcExpectIdle(t *testing.T, g *gateway) {
	t.Helper()
	targets := g.e.Snapshot().Clusters["up"].Targets
	if _, ok := tcWaitUntil(time.Second, func() bool {
		for _, tg := range targets {
			if tg.InFlight() != 0 {
				return false
			}
		}
		return true
	}); !ok {
		for _, tg := range targets {
			if n := tg.InFlight(); n != 0 {
				t.Errorf("target %s still has %d requests in flight after the traffic ended", tg.Addr, n)
			}
		}
	}
}

// ---- rate limiting ----

const tcRateMiddleware = `middleware:
  load:        {type: rate_limit, key: ip, rate: 100, per: 1s, burst: 50}
  quiet:       {type: rate_limit, key: ip, rate: 1, per: 1m, burst: 2, headers: false}
  ip_loose:    {type: rate_limit, key: ip, rate: 100, per: 1s, burst: 10}
  route_tight: {type: rate_limit, key: route, rate: 1, per: 1m, burst: 3}
  ip_tight:    {type: rate_limit, key: ip, rate: 1, per: 1m, burst: 3}
  route_loose: {type: rate_limit, key: route, rate: 100, per: 1s, burst: 10}
  by_key:      {type: rate_limit, key: "header:X-API-Key", rate: 1, per: 1m, burst: 2}
`

const tcRateRoutes = `  - {name: load, match: {path: /load/*}, cluster: up, middleware: [load]}
  - {name: quiet, match: {path: /quiet/*}, cluster: up, middleware: [quiet]}
  - {name: ip-then-route, match: {path: /both-a/*}, cluster: up, middleware: [ip_loose, route_tight]}
  - {name: ip-tight-then-route, match: {path: /both-b/*}, cluster: up, middleware: [ip_tight, route_loose]}
  - {name: keyed, match: {path: /keyed/*}, cluster: up, middleware: [by_key]}
  - {name: free, match: {path: /free/*}, cluster: up}
`

// TestRateLimitThroughSockets drives `type: rate_limit` through the engine:
// admitted load matches rate × time + burst, 429s are the gateway's JSON
// with Retry-After, the headers are on every response (or on none with
// headers: false), several limits report the most restrictive, header keys
// separate clients, unlimited routes stay unlimited and a 429 keeps the
// connection.
func TestRateLimitThroughSockets(t *testing.T) {
	up := startTCTarget(t, "a", 0, 0)
	g := startGateway(t, tcConfig(tcRateMiddleware, "", tcRateRoutes, up.host), 2)

	t.Run("load", func(t *testing.T) {
		// A bounded closed-loop load from several keep-alive clients, far
		// above the rate, shares one bucket (one client address): what gets
		// through is the burst plus rate × elapsed time.
		const rate, burst, workers, maxPerWorker = 100, 50, 4, 4000
		const runFor = 2 * time.Second
		var ok, limited, dials atomic.Int64
		var problems sync.Map // first problem per worker
		clients := make([]*http.Client, workers)
		for w := range clients {
			clients[w] = tcClient(t, &dials)
		}
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				for i := 0; i < maxPerWorker && time.Since(start) < runFor; i++ {
					req, _ := http.NewRequest("GET", g.url("/load/x"), nil)
					resp, err := clients[w].Do(req)
					if err != nil {
						problems.LoadOrStore(w, err.Error())
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					r := tcResult{status: resp.StatusCode, header: resp.Header, body: string(b), close: resp.Close}
					if p := tcRateLimitProblem(r, burst, 1); p != "" {
						problems.LoadOrStore(w, p)
					}
					if r.status == 200 {
						ok.Add(1)
					} else {
						limited.Add(1)
					}
					time.Sleep(500 * time.Microsecond) // leave the loops some air
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		problems.Range(func(w, p any) bool {
			t.Errorf("worker %v: %v", w, p)
			return true
		})
		want := burst + rate*elapsed.Seconds()
		got := float64(ok.Load())
		t.Logf("%d admitted, %d limited in %v (want %.0f ±10%%), %d connections", ok.Load(), limited.Load(), elapsed.Round(time.Millisecond), want, dials.Load())
		if math.Abs(got-want) > 0.1*want {
			t.Errorf("admitted %.0f in %v, want %.0f ±10%% (burst %d + %d/s)", got, elapsed, want, burst, rate)
		}
		if limited.Load() < int64(want) {
			t.Errorf("only %d requests were limited: the load did not saturate the limit, the test proves nothing", limited.Load())
		}
		if dials.Load() != workers {
			t.Errorf("clients opened %d connections, want %d: a 429 must not close the keep-alive connection", dials.Load(), workers)
		}
		tcExpectIdle(t, g)
	})

	t.Run("headers false, connection kept, unlimited route", func(t *testing.T) {
		// One raw keep-alive connection: two admitted requests without
		// RateLimit headers, a 429 that still says Retry-After, and then the
		// same connection serves a route without the middleware.
		c := dialRaw(t, g.addr)
		for i := range 3 {
			id := fmt.Sprintf("quiet-%d", i)
			c.request("GET", "/quiet/x", id, "")
			resp, body := c.readResponse("GET")
			if h := tcNoRateLimitHeaders(resp.Header); h != "" {
				t.Errorf("request %d: %s sent with headers: false", i, h)
			}
			if i < 2 {
				if resp.StatusCode != 200 || body != "a" {
					t.Fatalf("request %d: %d %q, want 200", i, resp.StatusCode, body)
				}
				continue
			}
			expectGatewayError(t, resp, body, 429, "rate limit exceeded", id, false)
			if ra, ok := tcHeaderInt(resp.Header, "Retry-After"); !ok || ra < 1 {
				t.Errorf("429 Retry-After %q, want >= 1", resp.Header.Get("Retry-After"))
			}
		}
		before := up.srv.conns.Load()
		for i := range 20 { // far past any bucket above: this route has none
			id := fmt.Sprintf("free-%d", i)
			c.request("GET", "/free/x", id, "")
			resp, body := c.readResponse("GET")
			if resp.StatusCode != 200 || body != "a" {
				t.Fatalf("unlimited route, request %d: %d %q", i, resp.StatusCode, body)
			}
			if h := tcNoRateLimitHeaders(resp.Header); h != "" {
				t.Errorf("unlimited route sent %s", h)
			}
		}
		if d := up.srv.conns.Load() - before; d > 1 {
			t.Errorf("20 sequential requests opened %d upstream connections", d)
		}
	})

	t.Run("most restrictive of two limits", func(t *testing.T) {
		// Each route has a loose and a tight (burst 3, 1/min) limit, once
		// per IP and once per route, in both orders: the tight one shows in
		// the headers whichever runs first, and rejects the fourth request.
		c := tcClient(t, nil)
		for _, path := range []string{"/both-a/x", "/both-b/x"} {
			for i := range 4 {
				r := tcDo(t, c, "GET", g.url(path), "", "")
				if p := tcRateLimitProblem(r, 3, 180); p != "" {
					t.Fatalf("%s request %d: %s", path, i, p)
				}
				wantStatus, wantRem := 200, int64(2-i)
				if i == 3 {
					wantStatus, wantRem = 429, 0
				}
				rem, _ := tcHeaderInt(r.header, "RateLimit-Remaining")
				if r.status != wantStatus || rem != wantRem {
					t.Errorf("%s request %d: %d Remaining %d, want %d Remaining %d", path, i, r.status, rem, wantStatus, wantRem)
				}
			}
		}
	})

	t.Run("header key separates clients", func(t *testing.T) {
		c := tcClient(t, nil)
		steps := []struct {
			key  string // X-API-Key; "" = none, which falls back to the client address
			want int
		}{
			{"alpha", 200},
			{"alpha", 200},
			{"beta", 200}, // its own bucket
			{"alpha", 429},
			{"beta", 200},
			{"beta", 429},
			{"", 200}, // no key: the client address's bucket, untouched so far
			{"", 200},
			{"", 429},
			{"gamma", 200},
		}
		for i, s := range steps {
			var hdr []string
			if s.key != "" {
				hdr = []string{"X-API-Key", s.key}
			}
			r := tcDo(t, c, "GET", g.url("/keyed/x"), "", "", hdr...)
			if r.status != s.want {
				t.Errorf("step %d (key %q): %d, want %d", i, s.key, r.status, s.want)
			}
			if p := tcRateLimitProblem(r, 2, 120); p != "" {
				t.Errorf("step %d (key %q): %s", i, s.key, p)
			}
		}
	})
}

// TestRateLimitTrustedProxies: behind a trusted proxy the per-IP limit keys
// on the X-Forwarded-For client, so two clients get two buckets (and a
// forged left part of the list changes nothing); without trusted_proxies
// every request from the proxy shares the proxy's bucket.
func TestRateLimitTrustedProxies(t *testing.T) {
	up := startTCTarget(t, "a", 0, 0)
	const mw = "middleware:\n  per_ip: {type: rate_limit, key: ip, rate: 1, per: 1m, burst: 2}\n"
	route := "  - {name: r, match: {path: /*}, cluster: up, middleware: [per_ip]}\n"
	type step struct {
		xff  string // X-Forwarded-For; "" = none
		want int
	}
	cases := []struct {
		name    string
		trusted bool
		steps   []step
	}{
		{"trusted proxy: one bucket per forwarded client", true, []step{
			{"10.0.0.1", 200},
			{"10.0.0.1", 200},
			{"10.0.0.1", 429},
			{"10.0.0.2", 200},           // another client, another bucket
			{"10.0.0.9, 10.0.0.1", 429}, // the client-written left part is not trusted
			{"10.0.0.2", 200},
			{"10.0.0.2", 429},
			{"", 200}, // the proxy itself
		}},
		{"no trusted proxies: one bucket for the peer", false, []step{
			{"10.0.0.1", 200},
			{"10.0.0.2", 200},
			{"10.0.0.3", 429},
			{"", 429},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			top := mw
			if tc.trusted {
				top = "trusted_proxies: [127.0.0.1]\n" + mw
			}
			g := startGateway(t, tcConfig(top, "", route, up.host), 1)
			c := tcClient(t, nil)
			for i, s := range tc.steps {
				var hdr []string
				if s.xff != "" {
					hdr = []string{"X-Forwarded-For", s.xff}
				}
				if r := tcDo(t, c, "GET", g.url("/x"), "", "", hdr...); r.status != s.want {
					t.Errorf("step %d (X-Forwarded-For %q): %d, want %d", i, s.xff, r.status, s.want)
				}
			}
		})
	}
}

// ---- circuit breaker ----

// TestBreakerOpensAndRecoversThroughHalfOpen: a cluster's only target dies;
// after consecutive_failures 502s its breaker opens and the gateway answers
// 503 "no healthy upstream" with Retry-After at once, without trying to
// connect (an upstream restarted on the same address sees no connection
// while the breaker is open); after recovery_timeout, half-open probes reach
// the new upstream and close the breaker.
func TestBreakerOpensAndRecoversThroughHalfOpen(t *testing.T) {
	checkGoroutineLeaks(t)
	const recovery = time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	first := serveUpstream(t, ln, http.HandlerFunc(idHandler))
	g := startGateway(t, tcConfig("", `    retries: {attempts: 1}
    breaker: {consecutive_failures: 3, recovery_timeout: 1s, half_open_probes: 2}
    health: {eject_for: 300ms}
`, "", addr), 1)
	brk := g.e.Snapshot().Clusters["up"].Targets[0].Breaker()
	c := dialRaw(t, g.addr)
	for i := range 3 { // a warm pooled connection, killed with the server below
		id := fmt.Sprintf("warm-%d", i)
		c.request("GET", "/x", id, "")
		c.expectOwn("GET", id)
	}

	first.Close()
	for i := range 3 {
		id := fmt.Sprintf("dead-%d", i)
		c.request("GET", "/x", id, "")
		resp, body := c.readResponse("GET")
		expectGatewayError(t, resp, body, 502, "upstream connect failed", id, false)
	}
	opened := time.Now()
	if st := brk.State(); st != breaker.Open {
		t.Fatalf("after 3 failures the breaker is %s, want open", st)
	}

	// A new upstream on the same address: while the breaker is open the
	// gateway must not even connect to it.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("relisten on %s: %v", addr, err)
	}
	second := serveUpstream(t, ln2, http.HandlerFunc(idHandler))
	for i := range 3 {
		id := fmt.Sprintf("open-%d", i)
		start := time.Now()
		c.request("GET", "/x", id, "")
		resp, body := c.readResponse("GET")
		if resp.StatusCode == 200 && time.Since(opened) > recovery-100*time.Millisecond {
			t.Fatalf("request %d ran %v after the breaker opened, too late to see it open (machine too slow)", i, time.Since(opened))
		}
		expectGatewayError(t, resp, body, 503, "no healthy upstream", id, false)
		if ra := resp.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1 (recovery_timeout %v)", ra, recovery)
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("503 took %v; an open breaker answers at once", d)
		}
	}
	if n := second.conns.Load(); n != 0 {
		t.Fatalf("the gateway connected %d times to the target while its breaker was open", n)
	}

	// Poll until a probe goes through: not before recovery_timeout.
	var recovered time.Duration
	for i := 0; ; i++ {
		id := fmt.Sprintf("probe-%d", i)
		c.request("GET", "/x", id, "")
		resp, body := c.readResponse("GET")
		if resp.StatusCode == 200 {
			if body != "id="+id {
				t.Fatalf("probe answered %q", body)
			}
			recovered = time.Since(opened)
			break
		}
		expectGatewayError(t, resp, body, 503, "no healthy upstream", id, false)
		if time.Since(opened) > recovery+2*time.Second {
			t.Fatalf("no probe went through %v after the breaker opened (recovery_timeout %v)", time.Since(opened), recovery)
		}
		time.Sleep(25 * time.Millisecond)
	}
	// The coarse clock may lag real time by a tick (50ms).
	if recovered < recovery-100*time.Millisecond {
		t.Errorf("a probe went through %v after the breaker opened, before recovery_timeout %v", recovered, recovery)
	}
	if st := brk.State(); st != breaker.HalfOpen {
		t.Errorf("after the first probe succeeded the breaker is %s, want half-open (half_open_probes: 2)", st)
	}
	for i := range 5 {
		id := fmt.Sprintf("after-%d", i)
		c.request("GET", "/x", id, "")
		c.expectOwn("GET", id)
	}
	if st := brk.State(); st != breaker.Closed {
		t.Errorf("after the probes succeeded the breaker is %s, want closed", st)
	}
	if cn := brk.Counts(); cn != (breaker.Counts{Opened: 1, HalfOpened: 1, Closed: 1}) {
		t.Errorf("breaker transitions %+v, want one of each", cn)
	}
	tcExpectIdle(t, g)
	t.Logf("breaker recovered %v after opening", recovered.Round(time.Millisecond))
}

// TestOpenBreakerRetryAfterIsOneSecondTooLong pins a fixed bug: the 503 of
// an open breaker said Retry-After: recovery_timeout + 1 (11 for the default
// 10s) where passive ejection says exactly eject_for. breaker.openWord
// rounds the reopen time up to the next millisecond, so RetryIn right after
// opening is recovery_timeout plus a fraction of a millisecond, which
// noTarget's ceiling turned into one more whole second (it now forgives a
// millisecond).
func TestOpenBreakerRetryAfterIsOneSecondTooLong(t *testing.T) {
	dead := freeAddr(t)
	g := startGateway(t, tcConfig("", `    retries: {attempts: 1}
    breaker: {consecutive_failures: 1, recovery_timeout: 3s}
    health: {eject_after: 0}
`, "", dead), 1)
	c := dialRaw(t, g.addr)
	c.request("GET", "/x", "rt-1", "")
	resp, body := c.readResponse("GET")
	expectGatewayError(t, resp, body, 502, "upstream connect failed", "rt-1", false)
	start := time.Now()
	c.request("GET", "/x", "rt-2", "")
	resp, body = c.readResponse("GET")
	expectGatewayError(t, resp, body, 503, "no healthy upstream", "rt-2", false)
	if ra := resp.Header.Get("Retry-After"); ra != "3" && time.Since(start) < time.Second {
		t.Errorf("Retry-After %q right after the breaker opened, want 3 (recovery_timeout 3s)", ra)
	}
}

// ---- active health ----

// TestActiveHealthChecks: a target whose /healthz turns 500 stops getting
// traffic within a few check intervals, and gets it again once /healthz
// passes.
func TestActiveHealthChecks(t *testing.T) {
	a := startTCTarget(t, "a", 0, 0)
	b := startTCTarget(t, "b", 0, 0)
	g := startGateway(t, tcConfig("", `    health: {path: /healthz, interval: 50ms, timeout: 50ms, unhealthy_after: 2, healthy_after: 2}
`, "", a.host, b.host), 1)
	ta := g.e.Snapshot().Clusters["up"].Targets[0]
	if ta.Addr != a.host {
		t.Fatalf("target 0 is %s, want %s", ta.Addr, a.host)
	}
	c := tcClient(t, nil)

	if n := tcSpread(t, c, g, 20, a, b); n[0] != 10 || n[1] != 10 {
		t.Errorf("healthy targets served %v of 20, want 10 each", n)
	}
	if _, ok := tcWaitUntil(time.Second, func() bool { return a.checks.Load() > 0 && b.checks.Load() > 0 }); !ok {
		t.Fatal("no health checks reached the targets")
	}

	a.health.Store(500)
	took, ok := tcWaitUntil(2*time.Second, func() bool { return !ta.Healthy() })
	if !ok || took > time.Second {
		t.Fatalf("a failing target was still in after %v (2 checks every 50ms)", took)
	}
	if n := tcSpread(t, c, g, 50, a, b); n[0] != 0 || n[1] != 50 {
		t.Errorf("with a unhealthy, targets served %v of 50, want [0 50]", n)
	}

	a.health.Store(200)
	took, ok = tcWaitUntil(2*time.Second, ta.Healthy)
	if !ok || took > time.Second {
		t.Fatalf("a passing target was still out after %v (2 checks every 50ms)", took)
	}
	if n := tcSpread(t, c, g, 50, a, b); n[0] < 20 || n[1] < 20 {
		t.Errorf("with a back, targets served %v of 50, want about 25 each", n)
	}

	// Both failing: 503 with Retry-After (the next check, at least 1s),
	// until one passes again.
	tb := g.e.Snapshot().Clusters["up"].Targets[1]
	a.health.Store(500)
	b.health.Store(500)
	if _, ok := tcWaitUntil(2*time.Second, func() bool { return !ta.Healthy() && !tb.Healthy() }); !ok {
		t.Fatal("failing targets were still in after 2s")
	}
	before := a.hits.Load() + b.hits.Load()
	r := tcDo(t, c, "GET", g.url("/down"), "all-down", "")
	if msg, p := tcGatewayError(r); r.status != 503 || msg != "no healthy upstream" || p != "" {
		t.Errorf("all targets unhealthy: %d %q %s, want 503 no healthy upstream", r.status, r.body, p)
	}
	if ra := r.header.Get("Retry-After"); ra != "1" {
		t.Errorf("all targets unhealthy: Retry-After %q, want 1", ra)
	}
	if n := a.hits.Load() + b.hits.Load() - before; n != 0 {
		t.Errorf("%d requests reached unhealthy targets", n)
	}
	b.health.Store(200)
	if _, ok := tcWaitUntil(2*time.Second, tb.Healthy); !ok {
		t.Fatal("a passing target was still out after 2s")
	}
	if n := tcSpread(t, c, g, 10, a, b); n[0] != 0 || n[1] != 10 {
		t.Errorf("with only b healthy, targets served %v of 10, want [0 10]", n)
	}
	tcExpectIdle(t, g)
}

// ---- retries ----

// TestRetryConnectFailureReachesLiveTarget: with one target refusing
// connections, every request succeeds on the other; the dead one stops
// being tried once its breaker opens.
func TestRetryConnectFailureReachesLiveTarget(t *testing.T) {
	checkGoroutineLeaks(t)
	cases := []struct {
		name string
		dead func(t *testing.T) string
	}{
		// A closed port, most likely as long as the live target's address
		// (the retry rewrites the Host header in place).
		{"closed ephemeral port", func(t *testing.T) string { return freeAddr(t) }},
		// Port 1 (nothing listens there): a shorter Host to rewrite.
		{"closed port 1", func(*testing.T) string { return "127.0.0.1:1" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			live := startTCTarget(t, "live", 0, 0)
			g := startGateway(t, tcConfig("", "    retries: {attempts: 2, on: [connect_failure]}\n", "", tc.dead(t), live.host), 1)
			cl := g.e.Snapshot().Clusters["up"]
			c := tcClient(t, nil)
			for i := range 40 {
				id := fmt.Sprintf("cf-%d", i)
				r := tcDo(t, c, "GET", g.url("/x"), id, "")
				if r.status != 200 || r.body != "live" || live.saw(id) != 1 {
					t.Fatalf("request %d: %d %q (live saw it %d times), want 200 from live", i, r.status, r.body, live.saw(id))
				}
			}
			if n := live.badHost.Load(); n != 0 {
				t.Errorf("%d retried requests reached the live target with another target's Host", n)
			}
			allowed, denied := cl.RetryStats()
			if allowed == 0 || allowed > 5 || denied != 0 {
				t.Errorf("retries allowed %d, denied %d; want 1..5 allowed (the breaker opens after 5 failures), none denied", allowed, denied)
			}
			if brk := cl.Targets[0].Breaker(); brk.State() != breaker.Open {
				t.Errorf("the refusing target's breaker is %s, want open", brk.State())
			}
			tcExpectIdle(t, g)
		})
	}
}

// TestRetryOn502OnlyIdempotent: with `on: [502]` a GET answered 502 by one
// target is served by the other; a POST with a body is never replayed and
// its 502 reaches the client.
func TestRetryOn502OnlyIdempotent(t *testing.T) {
	checkGoroutineLeaks(t)
	bad := startTCTarget(t, "bad", 502, 0)
	good := startTCTarget(t, "good", 0, 0)
	g := startGateway(t, tcConfig("", `    retries: {attempts: 2, on: [502], budget: 1, min_per_second: 100}
    breaker: {enabled: false}
    health: {eject_after: 0}
`, "", bad.host, good.host), 1)
	c := tcClient(t, nil)

	for i := range 10 {
		id := fmt.Sprintf("get-%d", i)
		r := tcDo(t, c, "GET", g.url("/x"), id, "")
		if r.status != 200 || r.body != "good" || good.saw(id) != 1 || bad.saw(id) > 1 {
			t.Fatalf("GET %d: %d %q (bad saw it %d times, good %d), want 200 from good", i, r.status, r.body, bad.saw(id), good.saw(id))
		}
	}
	if bad.hits.Load() == 0 {
		t.Fatal("no GET reached the target answering 502: nothing was retried")
	}

	onBad := 0
	for i := range 4 { // round robin: at least one of these lands on bad first
		id := fmt.Sprintf("post-%d", i)
		r := tcDo(t, c, "POST", g.url("/x"), id, "payload")
		b, gd := bad.saw(id), good.saw(id)
		switch {
		case b+gd != 1:
			t.Errorf("POST %d reached bad %d and good %d times, want once in all", i, b, gd)
		case b == 1 && (r.status != 502 || r.body != "bad"):
			t.Errorf("POST %d answered 502 by bad: client got %d %q, want bad's 502", i, r.status, r.body)
		case gd == 1 && r.status != 200:
			t.Errorf("POST %d on good: %d %q", i, r.status, r.body)
		}
		onBad += int(b)
	}
	if onBad == 0 {
		t.Error("no POST went to the bad target: the test proves nothing")
	}
	if n := good.badHost.Load(); n != 0 {
		t.Errorf("%d retried requests reached the good target with another target's Host", n)
	}
	tcExpectIdle(t, g)
}

// TestRetryOnTimeout: with `on: [timeout]` a GET the first target sits on
// past the response timeout is served by the other; a POST with a body is
// not replayed and gets 504.
func TestRetryOnTimeout(t *testing.T) {
	checkGoroutineLeaks(t)
	slow := startTCTarget(t, "slow", 0, 600*time.Millisecond)
	fast := startTCTarget(t, "fast", 0, 0)
	g := startGateway(t, strings.Replace(tcConfig("", `    retries: {attempts: 2, on: [timeout], budget: 1, min_per_second: 100}
    breaker: {enabled: false}
    health: {eject_after: 0}
`, "", slow.host, fast.host), "response: 2s", "response: 150ms", 1), 1)
	c := tcClient(t, nil)
	for i := range 2 {
		id := fmt.Sprintf("to-get-%d", i)
		start := time.Now()
		r := tcDo(t, c, "GET", g.url("/x"), id, "")
		if r.status != 200 || r.body != "fast" || fast.saw(id) != 1 {
			t.Fatalf("GET %d: %d %q (slow saw it %d times, fast %d), want 200 from fast", i, r.status, r.body, slow.saw(id), fast.saw(id))
		}
		if slow.saw(id) == 1 && time.Since(start) > 500*time.Millisecond {
			t.Errorf("GET %d took %v: the retry should follow the 150ms response timeout", i, time.Since(start))
		}
	}
	if slow.hits.Load() == 0 {
		t.Fatal("no GET reached the slow target: nothing was retried")
	}
	onSlow := 0
	for i := range 2 { // round robin: one of them lands on slow
		id := fmt.Sprintf("to-post-%d", i)
		r := tcDo(t, c, "POST", g.url("/x"), id, "payload")
		s, f := slow.saw(id), fast.saw(id)
		switch {
		case s+f != 1:
			t.Errorf("POST %d reached slow %d and fast %d times, want once in all", i, s, f)
		case s == 1:
			msg, p := tcGatewayError(r)
			if r.status != 504 || msg != "upstream timeout" || p != "" {
				t.Errorf("POST %d timed out on slow: client got %d %q %s, want 504 upstream timeout", i, r.status, r.body, p)
			}
		case r.status != 200:
			t.Errorf("POST %d on fast: %d %q", i, r.status, r.body)
		}
		onSlow += int(s)
	}
	if onSlow == 0 {
		t.Error("no POST went to the slow target: the test proves nothing")
	}
	tcExpectIdle(t, g)
}

// TestRetryBudgetLimitsRetries: with budget 0.1 and no floor, retries may
// add at most a tenth of the requests: one target answering 502 to every
// request gets a few of them retried, and the rest reach the client as 502.
func TestRetryBudgetLimitsRetries(t *testing.T) {
	checkGoroutineLeaks(t)
	bad := startTCTarget(t, "bad", 502, 0)
	good := startTCTarget(t, "good", 0, 0)
	g := startGateway(t, tcConfig("", `    retries: {attempts: 2, on: [502], budget: 0.1, min_per_second: 0}
    breaker: {enabled: false}
    health: {eject_after: 0}
`, "", bad.host, good.host), 1)
	cl := g.e.Snapshot().Clusters["up"]
	c := tcClient(t, nil)
	const n = 40
	var failed, retried, direct int
	for i := range n {
		id := fmt.Sprintf("b-%d", i)
		r := tcDo(t, c, "GET", g.url("/x"), id, "")
		switch {
		case r.status == 502 && r.body == "bad" && bad.saw(id) == 1 && good.saw(id) == 0:
			failed++
		case r.status == 200 && bad.saw(id) == 1 && good.saw(id) == 1:
			retried++
		case r.status == 200 && bad.saw(id) == 0 && good.saw(id) == 1:
			direct++
		default:
			t.Fatalf("request %d: %d %q, bad saw it %d times, good %d", i, r.status, r.body, bad.saw(id), good.saw(id))
		}
	}
	allowed, denied := cl.RetryStats()
	t.Logf("%d failed, %d retried, %d direct; budget allowed %d, denied %d", failed, retried, direct, allowed, denied)
	// Retries over the window <= 0.1 × requests over it: at most n/10.
	if retried == 0 || retried > n/10 {
		t.Errorf("%d requests were retried, want 1..%d (budget 0.1 of %d requests)", retried, n/10, n)
	}
	if failed < n/4 {
		t.Errorf("only %d requests failed with 502: the budget did not stop retries", failed)
	}
	if int(allowed) != retried || int(denied) != failed {
		t.Errorf("budget stats: allowed %d, denied %d; want %d, %d", allowed, denied, retried, failed)
	}
	tcExpectIdle(t, g)
}

// ---- balancers ----

// TestBalancers: consistent_hash keeps a user on one target and spreads
// users; least_request starves a slow target; round_robin alternates
// (by weight); random reaches every target.
func TestBalancers(t *testing.T) {
	t.Run("consistent_hash", func(t *testing.T) {
		a, b := startTCTarget(t, "a", 0, 0), startTCTarget(t, "b", 0, 0)
		g := startGateway(t, tcConfig("", "    balancer: consistent_hash\n    hash_on: header:X-User\n", "", a.host, b.host), 2)
		c := tcClient(t, nil)
		const users, rounds = 16, 3
		where := map[string]map[string]int{} // user -> target -> requests
		for round := range rounds {
			for u := range users {
				user := fmt.Sprintf("user-%d", u)
				r := tcDo(t, c, "GET", g.url("/x"), "", "", "X-User", user)
				if r.status != 200 {
					t.Fatalf("round %d %s: %d %q", round, user, r.status, r.body)
				}
				if where[user] == nil {
					where[user] = map[string]int{}
				}
				where[user][r.body]++
			}
		}
		used := map[string]int{}
		for user, ts := range where {
			if len(ts) != 1 {
				t.Errorf("%s reached %v, want one target", user, ts)
			}
			for tg := range ts {
				used[tg]++
			}
		}
		if len(used) != 2 {
			t.Errorf("%d users all hashed to %v, want both targets used", users, used)
		}
	})

	t.Run("least_request", func(t *testing.T) {
		// The slow target holds its requests (until released, then 100ms
		// each), so it has more in flight and must lose the comparison.
		hold := make(chan struct{})
		var once sync.Once
		release := func() { once.Do(func() { close(hold) }) }
		slow := serveTCTarget(t, &tcTarget{name: "slow", delay: 100 * time.Millisecond, hold: hold})
		t.Cleanup(release)
		fast := startTCTarget(t, "fast", 0, 0)
		g := startGateway(t, tcConfig("", "    balancer: least_request\n", "", slow.host, fast.host), 2)
		c := tcClient(t, nil)

		// Pin one request on the slow target: with both idle the draw is a
		// coin toss, so send one at a time until one sticks there.
		pinned := make(chan tcResult, 1)
		for i := 0; slow.hits.Load() == 0; i++ {
			if i == 40 {
				t.Fatal("40 requests to two idle targets never reached the slow one")
			}
			before := fast.hits.Load()
			go func() {
				req, _ := http.NewRequest("GET", g.url("/pin"), nil)
				resp, err := c.Do(req)
				if err != nil {
					pinned <- tcResult{status: -1, body: err.Error()}
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				pinned <- tcResult{status: resp.StatusCode, body: string(b)}
			}()
			if _, ok := tcWaitUntil(2*time.Second, func() bool { return slow.hits.Load() > 0 || fast.hits.Load() > before }); !ok {
				t.Fatal("a request reached neither target")
			}
			if slow.hits.Load() == 0 {
				if r := <-pinned; r.status != 200 {
					t.Fatalf("request to the fast target: %d %q", r.status, r.body)
				}
			}
		}
		// One request in flight on slow, none on fast: every request now
		// goes to fast.
		if n := tcSpread(t, c, g, 30, slow, fast); n[0] != 0 || n[1] != 30 {
			t.Errorf("with one request held by slow, 30 sequential requests went %v, want [0 30]", n)
		}
		release()
		if r := <-pinned; r.status != 200 || r.body != "slow" {
			t.Fatalf("the held request: %d %q", r.status, r.body)
		}

		// Closed-loop load from 8 clients: the slow target (100ms per
		// request) gets a small share.
		const workers, runFor = 8, 700 * time.Millisecond
		var wg sync.WaitGroup
		var errs atomic.Int64
		s0, f0 := slow.hits.Load(), fast.hits.Load()
		start := time.Now()
		for range workers {
			c := tcClient(t, nil)
			wg.Go(func() {
				for i := 0; i < 1000 && time.Since(start) < runFor; i++ {
					resp, err := c.Get(g.url("/x"))
					if err != nil {
						errs.Add(1)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						errs.Add(1)
					}
				}
			})
		}
		wg.Wait()
		s, f := slow.hits.Load()-s0, fast.hits.Load()-f0
		t.Logf("under load: slow %d, fast %d", s, f)
		if errs.Load() != 0 {
			t.Errorf("%d requests failed", errs.Load())
		}
		if f < 50 || s*4 > f {
			t.Errorf("slow target got %d requests, fast %d: want the fast one to get over 4 times as many", s, f)
		}
		tcExpectIdle(t, g)
	})

	t.Run("round_robin", func(t *testing.T) {
		a, b := startTCTarget(t, "a", 0, 0), startTCTarget(t, "b", 0, 0)
		g := startGateway(t, tcConfig("", "    balancer: round_robin\n", "", a.host, b.host), 1)
		if n := tcSpread(t, tcClient(t, nil), g, 40, a, b); n[0] != 20 || n[1] != 20 {
			t.Errorf("round robin over 40 requests: %v, want [20 20]", n)
		}
	})

	t.Run("round_robin weighted", func(t *testing.T) {
		a, b := startTCTarget(t, "a", 0, 0), startTCTarget(t, "b", 0, 0)
		g := startGateway(t, tcConfig("", "", "",
			fmt.Sprintf("{url: http://%s, weight: 3}", a.host), fmt.Sprintf("{url: http://%s, weight: 1}", b.host)), 1)
		if n := tcSpread(t, tcClient(t, nil), g, 40, a, b); n[0] != 30 || n[1] != 10 {
			t.Errorf("weights 3:1 over 40 requests: %v, want [30 10]", n)
		}
	})

	t.Run("random", func(t *testing.T) {
		a, b := startTCTarget(t, "a", 0, 0), startTCTarget(t, "b", 0, 0)
		g := startGateway(t, tcConfig("", "    balancer: random\n", "", a.host, b.host), 1)
		// P(a binomial(40, 1/2) below 5) is about 1e-7.
		if n := tcSpread(t, tcClient(t, nil), g, 40, a, b); n[0] < 5 || n[1] < 5 {
			t.Errorf("random over 40 requests: %v, want both used", n)
		}
	})
}

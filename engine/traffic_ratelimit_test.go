package engine

// End-to-end traffic-control tests: rate limits through sockets. Helpers are in traffic_test.go.

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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

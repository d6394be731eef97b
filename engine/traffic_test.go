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
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	if _, ok := waitUntil(time.Second, func() bool {
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

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/redistest"
	"github.com/sluicehq/sluice/limiter"
)

// clusterRate is the shared limit of the three-instance test, per second.
const clusterRate = 100

// TestClusterRateLimitThreeInstances runs three gateway processes on one
// Redis with a `scope: cluster` limit of clusterRate/s on a route, and a
// client sending three times that over real sockets: round-robin, then
// with one instance taking 80% of the traffic, then with Redis killed
// (each instance falls back to a third of the limit, nothing fails but the
// limit's own 429s), then with Redis back (synchronisation resumes).
//
// Each phase's admitted count is compared with one token bucket of the
// same limit fed the same send instants (so a stall of this loaded machine
// shifts both alike). The window is SLUICE_CLUSTER_WINDOW (default 5s;
// deploy/measure.sh runs it with 30s, the measurement).
func TestClusterRateLimitThreeInstances(t *testing.T) {
	window := 5 * time.Second
	if v := os.Getenv("SLUICE_CLUSTER_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SLUICE_CLUSTER_WINDOW: %v", err)
		}
		window = d
	}
	bin := buildSluice(t)
	srv := redistest.Start(t)
	up := newEchoUpstream(t, "up", 0)

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	gws := startClusterGateways(t, bin, hc, srv.Addr, up.URL)

	lc := limiter.Config{Rate: clusterRate, Per: time.Second, Burst: 20}
	ld := newLoad(hc, gws, lc)
	defer ld.stop()
	roundRobin := func(i int) int { return i % 3 }
	skewed := func(i int) int { return []int{0, 0, 0, 0, 0, 0, 0, 0, 1, 2}[i%10] }

	ld.run(roundRobin, time.Second) // spends the burst; not measured
	for _, ph := range []struct {
		name string
		plan func(int) int
	}{{"round-robin", roundRobin}, {"one instance takes 80%", skewed}} {
		r := ld.run(ph.plan, window)
		t.Logf("%s: admitted %d in %v (%v per instance), one bucket %d: %+.1f%%; 429s %d, other %d",
			ph.name, r.ok(), window, r.admitted, r.ref, r.gap(), r.limited, r.other)
		if r.other != 0 {
			t.Errorf("%s: %d answers neither 200 nor 429: %v", ph.name, r.other, r.errs)
		}
		if g := r.gap(); g < -5 || g > 5 {
			t.Errorf("%s: admitted %d, one bucket of the limit %d: %+.1f%%, want within 5%%", ph.name, r.ok(), r.ref, g)
		}
	}

	// Redis dies mid-run: the load goes on while the instances notice.
	done := ld.start(roundRobin)
	srv.Kill()
	for _, g := range gws {
		waitUntil(t, g.p, 10*time.Second, "redis failure noticed", func() bool { return strings.HasPrefix(g.check(hc), "redis unreachable") })
	}
	during := done()
	if during.other != 0 {
		t.Errorf("while Redis went away: %d answers neither 200 nor 429: %v", during.other, during.errs)
	}
	short := min(window, 3*time.Second)
	r := ld.run(roundRobin, short)
	t.Logf("redis down: admitted %d in %v (%v), one bucket %d: %+.1f%%; 429s %d, other %d",
		r.ok(), short, r.admitted, r.ref, r.gap(), r.limited, r.other)
	// Each instance enforces a third of the limit on its third of the
	// traffic: about the limit in total, with a third of the burst each.
	if g := r.gap(); r.other != 0 || g < -15 || g > 15 {
		t.Errorf("failing open: admitted %d, one bucket %d (%+.1f%%), %d other answers (%v); want within 15%% and none",
			r.ok(), r.ref, g, r.other, r.errs)
	}
	if st, body := adminDo(hc, "GET", "http://"+gws[0].admin+"/metrics"); st != 200 || !strings.Contains(body, `sluice_ratelimit_redis_up{limit="shared"} 0`) {
		t.Errorf("/metrics while Redis is down lacks sluice_ratelimit_redis_up 0")
	}
	if c := statusOf(hc, "http://"+gws[1].listen+"/open/x"); c != 200 {
		t.Errorf("a route without the limit answered %d while Redis is down", c)
	}

	srv.Restart(t)
	for _, g := range gws {
		waitUntil(t, g.p, 15*time.Second, "synchronisation resumed", func() bool { return g.check(hc) == "ok" })
	}
	ld.run(roundRobin, time.Second) // the buckets settle on the shared numbers again
	r = ld.run(roundRobin, short)
	t.Logf("redis back: admitted %d in %v (%v), one bucket %d: %+.1f%%", r.ok(), short, r.admitted, r.ref, r.gap())
	if g := r.gap(); r.other != 0 || g < -10 || g > 10 {
		t.Errorf("after recovery: admitted %d, one bucket %d (%+.1f%%), %d other; want within 10%%", r.ok(), r.ref, g, r.other)
	}
	for _, g := range gws {
		if strings.Contains(g.p.logs.String(), "DATA RACE") {
			t.Fatalf("data race:\n%s", g.p.logs.String())
		}
	}
	if !strings.Contains(gws[0].p.logs.String(), "redis reachable again") {
		t.Errorf("no recovery log line:\n%s", gws[0].p.logs.String())
	}
}

// startClusterGateways starts three gateways sharing the limit through
// the Redis at redisAddr and waits until each has synchronised.
func startClusterGateways(t *testing.T, bin string, hc *http.Client, redisAddr, upURL string) []gatewayAddrs {
	t.Helper()
	var gws []gatewayAddrs
	for range 3 {
		g := gatewayAddrs{listen: freeAddr(t), admin: freeAddr(t)}
		cfg := writeFile(t, fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 1}
access_log: {enabled: false}
redis: {addresses: [%q], sync_interval: 50ms, timeout: 500ms}
clusters:
  up: {targets: [{url: %q}]}
middleware:
  shared: {type: rate_limit, key: route, rate: %d, per: 1s, burst: 20, scope: cluster}
routes:
  - {name: limited, match: {path: /limited/*}, cluster: up, middleware: [shared]}
  - {name: open, match: {path: /open/*}, cluster: up}
`, g.listen, g.admin, redisAddr, upURL, clusterRate))
		g.p = startSluice(t, bin, cfg)
		gws = append(gws, g)
	}
	for _, g := range gws {
		waitUntil(t, g.p, 30*time.Second, "redis synchronised", func() bool { return g.check(hc) == "ok" })
	}
	return gws
}

type gatewayAddrs struct {
	listen, admin string
	p             *sluiceProc
}

// check returns the detail of the gateway's redis check in /readyz: "ok"
// when synchronised, else the reason.
func (g gatewayAddrs) check(hc *http.Client) string {
	_, body := adminDo(hc, "GET", "http://"+g.admin+"/readyz")
	var v struct {
		Checks []struct {
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	if json.Unmarshal([]byte(body), &v) != nil || len(v.Checks) != 1 {
		return body
	}
	if v.Checks[0].OK {
		return "ok"
	}
	return v.Checks[0].Detail
}

// load sends GET /limited/x at three times the limit, dispatching each
// request to the instance its plan picks and feeding the same instants to
// a reference bucket. It runs from construction to stop; run and start
// only relabel which requests count.
type load struct {
	hc    *http.Client
	gws   []gatewayAddrs
	ref   *limiter.Limiter
	work  chan job
	wg    sync.WaitGroup
	mu    sync.Mutex
	cur   *loadResult
	plan  func(int) int
	n     int
	stopC chan struct{}
	tick  *time.Ticker
}

type job struct {
	gw  int
	res *loadResult
}

type loadResult struct {
	mu       sync.Mutex
	admitted []int
	limited  int
	other    int
	ref      int
	errs     []string
}

func (r *loadResult) ok() (n int) {
	for _, a := range r.admitted {
		n += a
	}
	return n
}

// gap is how far the admitted count is from the reference's, in percent.
func (r *loadResult) gap() float64 {
	return 100 * float64(r.ok()-r.ref) / float64(max(r.ref, 1))
}

func newLoad(hc *http.Client, gws []gatewayAddrs, lc limiter.Config) *load {
	ref, _ := limiter.New(lc)
	l := &load{hc: hc, gws: gws, ref: ref, work: make(chan job, 1024), stopC: make(chan struct{}),
		tick: time.NewTicker(time.Second / (3 * clusterRate))}
	for range 48 {
		l.wg.Add(1)
		go l.worker()
	}
	go l.dispatch()
	return l
}

func (l *load) dispatch() {
	for {
		select {
		case <-l.stopC:
			close(l.work)
			return
		case <-l.tick.C:
		}
		l.mu.Lock()
		res, plan := l.cur, l.plan
		l.n++
		n := l.n
		l.mu.Unlock()
		if plan == nil {
			plan = func(i int) int { return i % 3 }
		}
		allowed := l.ref.Allow(1, time.Now().UnixNano()).Allowed
		if res != nil && allowed {
			res.mu.Lock()
			res.ref++
			res.mu.Unlock()
		}
		l.work <- job{gw: plan(n), res: res}
	}
}

func (l *load) worker() {
	defer l.wg.Done()
	for j := range l.work {
		resp, err := l.hc.Get("http://" + l.gws[j.gw].listen + "/limited/x")
		status := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		if j.res == nil {
			continue
		}
		j.res.mu.Lock()
		switch {
		case status == 200:
			j.res.admitted[j.gw]++
		case status == 429:
			j.res.limited++
		default:
			j.res.other++
			if len(j.res.errs) < 5 {
				j.res.errs = append(j.res.errs, fmt.Sprintf("gateway %d: status %d, %v", j.gw, status, err))
			}
		}
		j.res.mu.Unlock()
	}
}

// start counts from now with plan, until the returned function is called;
// it returns the counts once the requests sent meanwhile have answered.
func (l *load) start(plan func(int) int) func() *loadResult {
	res := &loadResult{admitted: make([]int, len(l.gws))}
	l.mu.Lock()
	l.cur, l.plan = res, plan
	l.mu.Unlock()
	return func() *loadResult {
		l.mu.Lock()
		l.cur = nil
		l.mu.Unlock()
		// Requests already dispatched finish within the client timeout;
		// the counts are read under the lock as they stand, which may miss
		// the last few in flight, so the phases use windows of seconds.
		res.mu.Lock()
		defer res.mu.Unlock()
		cp := &loadResult{admitted: append([]int(nil), res.admitted...), limited: res.limited, other: res.other, ref: res.ref, errs: res.errs}
		return cp
	}
}

// run counts one phase of d with plan.
func (l *load) run(plan func(int) int, d time.Duration) *loadResult {
	done := l.start(plan)
	<-time.After(d) // the phase's length: the measured window itself
	return done()
}

func (l *load) stop() {
	l.tick.Stop()
	close(l.stopC)
	l.wg.Wait()
}

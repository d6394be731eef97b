package upstream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// healthServer is a target whose /healthz answers with a switchable status
// and remembers the Host header the checks sent.
type healthServer struct {
	*httptest.Server
	status atomic.Int32
	checks atomic.Int32
	host   atomic.Value // string
}

func newHealthServer(t *testing.T) *healthServer {
	h := &healthServer{}
	h.status.Store(200)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || r.URL.RawQuery != "deep=1" {
			w.WriteHeader(404)
			return
		}
		h.host.Store(r.Host)
		h.checks.Add(1)
		w.WriteHeader(int(h.status.Load()))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *healthServer) target() *Target {
	addr := strings.TrimPrefix(h.URL, "http://")
	return &Target{Addr: addr, Host: []byte("api.internal"), Weight: 1}
}

// waitFor polls cond every few milliseconds for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestActiveHealthChecks(t *testing.T) {
	srv := newHealthServer(t)
	c := New("x", []*Target{srv.target()}, Config{Health: Health{
		Path: "/healthz?deep=1", Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond,
		HealthyAfter: 2, UnhealthyAfter: 3,
	}})
	tg := c.Targets[0]
	c.StartHealthChecks()
	c.StartHealthChecks() // a second start is a no-op
	defer c.Close()
	waitFor(t, "the first check arrives", func() bool { return srv.checks.Load() > 0 })
	if got := srv.host.Load(); got != "api.internal" {
		t.Errorf("check sent Host %q, want the target's", got)
	}
	if !tg.Healthy() {
		t.Fatal("a passing target is unhealthy")
	}

	srv.status.Store(503)
	base := srv.checks.Load()
	waitFor(t, "the target goes unhealthy", func() bool { return !tg.Healthy() })
	if n := srv.checks.Load() - base; n < 3 {
		t.Errorf("unhealthy after %d failed checks, want 3", n)
	}
	if sel, wait := c.Select(0, nil, time.Now().UnixNano()); sel != nil || wait <= 0 {
		t.Fatalf("Select gave %v (wait %v) with the only target unhealthy", sel, wait)
	}

	srv.status.Store(200)
	base = srv.checks.Load()
	waitFor(t, "the target comes back", tg.Healthy)
	if n := srv.checks.Load() - base; n < 2 {
		t.Errorf("healthy after %d passed checks, want 2", n)
	}
}

func TestActiveHealthExpectStatusAndTimeout(t *testing.T) {
	cases := []struct {
		name    string
		status  int32
		expect  []int
		slow    bool
		healthy bool
	}{
		// By default any 2xx/3xx passes; redirects are not followed.
		{"redirect passes", 302, nil, false, true},
		{"server error fails", 500, nil, false, false},
		// expect_status narrows it.
		{"204 not expected", 204, []int{200}, false, false},
		{"418 expected", 418, []int{418}, false, true},
		// A check slower than its timeout fails.
		{"timeout", 200, nil, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var checks atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				checks.Add(1)
				if tc.slow {
					select {
					case <-r.Context().Done():
					case <-time.After(time.Second):
					}
				}
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(int(tc.status))
			}))
			defer srv.Close()
			c := New("x", []*Target{{Addr: strings.TrimPrefix(srv.URL, "http://"), Host: []byte("h"), Weight: 1}}, Config{Health: Health{
				Path: "/", Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond,
				HealthyAfter: 1, UnhealthyAfter: 1, ExpectStatus: tc.expect,
			}})
			c.StartHealthChecks()
			defer c.Close()
			waitFor(t, "two checks ran", func() bool { return checks.Load() >= 2 })
			if !tc.healthy {
				waitFor(t, "the target goes unhealthy", func() bool { return !c.Targets[0].Healthy() })
			} else if !c.Targets[0].Healthy() {
				t.Fatal("unhealthy")
			}
		})
	}
}

// TestPassiveEjectionWithActiveChecks: real traffic ejects a target; with
// active checks running it comes back only after healthy_after passes.
func TestPassiveEjectionWithActiveChecks(t *testing.T) {
	srv := newHealthServer(t)
	c := New("x", []*Target{srv.target()}, Config{Health: Health{
		Path: "/healthz?deep=1", Interval: 20 * time.Millisecond, HealthyAfter: 3, UnhealthyAfter: 3,
		EjectAfter: 2, EjectFor: time.Hour,
	}})
	tg := c.Targets[0]
	c.StartHealthChecks()
	waitFor(t, "the first check arrives", func() bool { return srv.checks.Load() > 0 })
	for range 2 {
		now := time.Now().UnixNano()
		c.admit(tg, now)
		c.Done(tg, Failure, now)
	}
	if tg.Healthy() || tg.downUntil.Load() != forever {
		t.Fatal("not ejected until checks pass")
	}
	base := srv.checks.Load()
	waitFor(t, "passing checks bring it back", tg.Healthy)
	if n := srv.checks.Load() - base; n < 3 {
		t.Errorf("back after %d checks, want 3", n)
	}

	// Close turns a wait for checks into a timed ejection.
	for range 2 {
		now := time.Now().UnixNano()
		c.admit(tg, now)
		c.Done(tg, Failure, now)
	}
	c.Close()
	c.Close()
	if until := tg.downUntil.Load(); until == forever || until < time.Now().Add(50*time.Minute).UnixNano() {
		t.Fatalf("after Close the target is down until %d, want about an hour from now", until)
	}
}

func TestHealthChecksNeedAPath(t *testing.T) {
	c := New("x", targets(1), Config{Health: Health{Interval: time.Millisecond}})
	c.StartHealthChecks()
	if c.checks.started {
		t.Fatal("checks started without a path")
	}
	c.Close()
	// Start after Close does nothing either.
	c2 := New("y", targets(1), Config{Health: Health{Path: "/", Interval: time.Millisecond}})
	c2.Close()
	c2.StartHealthChecks()
	if c2.checks.running.Load() {
		t.Fatal("checks started after Close")
	}
}

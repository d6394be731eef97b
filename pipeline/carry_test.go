package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/breaker"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// mustParse parses a config held in memory.
func mustParse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// mustBuildFrom builds cfg from prev and closes the result at the end of
// the test.
func mustBuildFrom(t *testing.T, yaml string, prev *Snapshot) *Snapshot {
	t.Helper()
	s, err := BuildFrom(mustParse(t, yaml), prev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// clusterConfig is a config with cluster a (as written) and an unchanging
// cluster b.
func clusterConfig(a string) string {
	return "clusters:\n  a: " + a + "\n  b: {targets: [\"http://127.0.0.1:9003\"]}\n" +
		"routes: [{name: r, match: {path: /*}, cluster: a}]\n"
}

func TestReloadCarriesUnchangedClusters(t *testing.T) {
	const base = `{targets: ["http://127.0.0.1:9001", {url: "http://127.0.0.1:9002", weight: 2}], timeouts: {connect: 1s}}`
	cases := []struct {
		name string
		next string // the whole next config
		keep bool   // cluster a is the same object
	}{
		{"unchanged", clusterConfig(base), true},
		// Positions do not count: lines above it moved everything down.
		{"moved in the file", "# a comment\n\n" + clusterConfig(base), true},
		// Defaults written out are the same settings.
		{"defaults written out", clusterConfig(strings.Replace(base, "}]", "}], balancer: round_robin, pool: {max_idle_per_target: 128}", 1)), true},
		{"target added", clusterConfig(strings.Replace(base, `"http://127.0.0.1:9001", `, `"http://127.0.0.1:9001", "http://127.0.0.1:9004", `, 1)), false},
		{"target removed", clusterConfig(`{targets: [{url: "http://127.0.0.1:9002", weight: 2}], timeouts: {connect: 1s}}`), false},
		{"weight changed", clusterConfig(strings.Replace(base, "weight: 2", "weight: 3", 1)), false},
		{"timeout changed", clusterConfig(strings.Replace(base, "connect: 1s", "connect: 2s", 1)), false},
		{"breaker changed", clusterConfig(strings.Replace(base, "}]", "}], breaker: {consecutive_failures: 9}", 1)), false},
		{"balancer changed", clusterConfig(strings.Replace(base, "}]", "}], balancer: least_request", 1)), false},
		{"pool changed", clusterConfig(strings.Replace(base, "}]", "}], pool: {max_idle_per_target: 8}", 1)), false},
		{"retries changed", clusterConfig(strings.Replace(base, "}]", "}], retries: {on: [connect_failure, timeout]}", 1)), false},
		{"health changed", clusterConfig(strings.Replace(base, "}]", "}], health: {eject_after: 2}", 1)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prev := mustBuildFrom(t, clusterConfig(base), nil)
			next := mustBuildFrom(t, tc.next, prev)
			pa, na := prev.Clusters["a"], next.Clusters["a"]
			if (pa == na) != tc.keep {
				t.Fatalf("cluster a carried over: %v, want %v", pa == na, tc.keep)
			}
			if tc.keep {
				for i := range pa.Targets {
					if pa.Targets[i] != na.Targets[i] {
						t.Errorf("target %d is a new object", i)
					}
				}
			}
			for _, nt := range na.Targets {
				if nt.Cluster != na {
					t.Errorf("target %s points at another cluster", nt.Addr)
				}
			}
			if prev.Clusters["b"] != next.Clusters["b"] {
				t.Error("unchanged cluster b was rebuilt")
			}
			if next.Routes[0].Cluster != na {
				t.Error("the route does not use the new snapshot's cluster")
			}
		})
	}
}

// TestReloadClusterKeepsLiveState: what requests did to a carried cluster
// (a tripped breaker, requests in flight) is still there after the reload.
func TestReloadClusterKeepsLiveState(t *testing.T) {
	const cfg = `{targets: ["http://127.0.0.1:9001"], breaker: {consecutive_failures: 1}}`
	prev := mustBuildFrom(t, clusterConfig(cfg), nil)
	now := time.Now().UnixNano()
	tg := prev.Clusters["a"].Targets[0]
	if !tg.Breaker().Allow(now) {
		t.Fatal("fresh breaker refused")
	}
	tg.Breaker().Record(breaker.Failure, now)
	next := mustBuildFrom(t, clusterConfig(cfg), prev)
	if b := next.Clusters["a"].Targets[0].Breaker(); b.State() != breaker.Open || b.Allow(now) {
		t.Fatal("the breaker opened before the reload is closed after it")
	}
}

// keyFile writes content to a file in dir and returns its path.
func keyFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReloadCarriesUnchangedMiddleware(t *testing.T) {
	dir := t.TempDir()
	secret := keyFile(t, dir, "secret", strings.Repeat("s", 32))
	sum := sha256.Sum256([]byte("key-1"))
	consumers := keyFile(t, dir, "consumers", "app "+hex.EncodeToString(sum[:])+"\n")
	audit := filepath.Join(dir, "audit.log")
	t.Setenv("PIPELINE_CARRY_SECRET", strings.Repeat("e", 32))

	// Every case starts from this config and reloads with next, after
	// running change (when set) in between.
	base := map[string]string{
		"per_ip":  "{type: rate_limit, rate: 10}",
		"twin":    "{type: rate_limit, rate: 10}", // same settings as per_ip: separate buckets
		"admins":  "{type: require, claims: {role: admin}}",
		"hs_file": "{type: jwt, algorithms: [HS256], secret_file: " + secret + "}",
		"hs_env":  "{type: jwt, algorithms: [HS256], secret_env: PIPELINE_CARRY_SECRET}",
		"keys":    "{type: api_key, consumers_file: " + consumers + "}",
		"audit":   "{type: audit_log, path: " + audit + "}",
	}
	render := func(mw map[string]string) string {
		var b strings.Builder
		b.WriteString("clusters: {a: {targets: [\"http://127.0.0.1:9001\"]}}\nmiddleware:\n")
		for name, v := range mw {
			b.WriteString("  " + name + ": " + v + "\n")
		}
		b.WriteString("routes: [{name: r, match: {path: /*}, cluster: a}]\n")
		return b.String()
	}
	with := func(edits map[string]string) string {
		mw := map[string]string{}
		for k, v := range base {
			mw[k] = v
		}
		for k, v := range edits {
			if v == "" {
				delete(mw, k)
			} else {
				mw[k] = v
			}
		}
		return render(mw)
	}
	cases := []struct {
		name   string
		next   string
		change func(t *testing.T) // between the two builds
		// same maps an instance of next to the instance of the first
		// snapshot it must be ("" = a new object); instances not listed
		// must be carried under their own name, except audit, always new.
		same map[string]string
	}{
		{name: "nothing changed", next: with(nil), same: map[string]string{}},
		{name: "rate changed", next: with(map[string]string{"per_ip": "{type: rate_limit, rate: 11}"}),
			same: map[string]string{"per_ip": ""}},
		{name: "key changed", next: with(map[string]string{"per_ip": "{type: rate_limit, rate: 10, key: route}"}),
			same: map[string]string{"per_ip": ""}},
		{name: "type changed under the same name", next: with(map[string]string{"admins": "{type: rate_limit, rate: 10}"}),
			same: map[string]string{"admins": ""}},
		{name: "require claims changed", next: with(map[string]string{"admins": "{type: require, claims: {role: root}}"}),
			same: map[string]string{"admins": ""}},
		// Renamed but identical: the state follows the settings.
		{name: "renamed", next: with(map[string]string{"admins": "", "admins2": "{type: require, claims: {role: admin}}"}),
			same: map[string]string{"admins2": "admins"}},
		{name: "secret file rewritten", next: with(nil),
			change: func(t *testing.T) { keyFile(t, dir, "secret", strings.Repeat("t", 32)) },
			same:   map[string]string{"hs_file": ""}},
		{name: "secret file touched, same content", next: with(nil),
			change: func(t *testing.T) { keyFile(t, dir, "secret", strings.Repeat("s", 32)) },
			same:   map[string]string{}},
		{name: "secret env changed", next: with(nil),
			change: func(t *testing.T) { t.Setenv("PIPELINE_CARRY_SECRET", strings.Repeat("f", 32)) },
			same:   map[string]string{"hs_env": ""}},
		{name: "consumers file changed", next: with(nil),
			change: func(t *testing.T) {
				s2 := sha256.Sum256([]byte("key-2"))
				keyFile(t, dir, "consumers", "app "+hex.EncodeToString(sum[:])+"\nweb "+hex.EncodeToString(s2[:])+"\n")
			},
			same: map[string]string{"keys": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Each case starts from the original files.
			keyFile(t, dir, "secret", strings.Repeat("s", 32))
			keyFile(t, dir, "consumers", "app "+hex.EncodeToString(sum[:])+"\n")
			prev := mustBuildFrom(t, with(nil), nil)
			if tc.change != nil {
				tc.change(t)
			}
			next := mustBuildFrom(t, tc.next, prev)
			for name := range next.filterSrc {
				from, listed := tc.same[name]
				if !listed {
					from = name
				}
				if name == "audit" {
					from = "" // reopened on every reload
				}
				got := next.Middleware(name)
				if from == "" {
					for pn := range prev.filterSrc {
						if prev.Middleware(pn) == got {
							t.Errorf("%s is %s of the old snapshot, want a new filter", name, pn)
						}
					}
				} else if got != prev.Middleware(from) {
					t.Errorf("%s is not %s of the old snapshot", name, from)
				}
			}
			if next.Middleware("per_ip") == next.Middleware("twin") {
				t.Error("two instances with the same settings share one filter")
			}
		})
	}
}

// admitted reports whether f lets one request from 192.0.2.1 through at now.
func admitted(f filter.Filter, now int64) bool {
	x := &filter.Exchange{}
	x.Reset(nil)
	x.ClientIP = netip.MustParseAddr("192.0.2.1")
	x.Route = "r"
	x.Now = now
	return f.Request(x) == filter.Continue
}

// TestReloadKeepsRateLimitBuckets: a client that used up its bucket is
// still limited after a reload that leaves the policy alone, and starts
// afresh under a changed one.
func TestReloadKeepsRateLimitBuckets(t *testing.T) {
	const now = int64(1_700_000_000_000_000_000)
	policy := func(rate string) string {
		return "clusters: {a: {targets: [\"http://127.0.0.1:9001\"]}}\n" +
			"middleware: {lim: {type: rate_limit, rate: " + rate + ", per: 1m}}\n" +
			"routes: [{name: r, match: {path: /*}, cluster: a, middleware: [lim]}]\n"
	}
	prev := mustBuildFrom(t, policy("2"), nil)
	for i := range 2 {
		if !admitted(prev.Middleware("lim"), now) {
			t.Fatalf("request %d refused", i)
		}
	}
	if admitted(prev.Middleware("lim"), now) {
		t.Fatal("third request admitted by a bucket of 2")
	}
	cases := []struct {
		name  string
		rate  string
		admit bool
	}{
		{"same policy: still drained", "2", false},
		{"new rate: a fresh bucket", "3", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := mustBuildFrom(t, policy(tc.rate), prev)
			if got := admitted(next.Middleware("lim"), now); got != tc.admit {
				t.Fatalf("admitted %v, want %v", got, tc.admit)
			}
			if next.Routes[0].Chain.Len() != 1 {
				t.Fatal("route lost its chain")
			}
		})
	}
}

// checkCounter is an upstream that counts the health checks it gets, per
// path.
type checkCounter struct {
	mu sync.Mutex
	n  map[string]int
	*httptest.Server
}

func newCheckCounter(t *testing.T) *checkCounter {
	c := &checkCounter{n: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.URL.Path]++
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *checkCounter) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// waitChecks waits until path has had n more checks than now, failing the
// test after 10s.
func (c *checkCounter) waitChecks(t *testing.T, path string, n int) {
	t.Helper()
	want := c.count(path) + n
	deadline := time.Now().Add(10 * time.Second)
	for c.count(path) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d checks, want %d", path, c.count(path), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// assertStopped checks that nothing probes path any more. A snapshot of
// its own, probing /clock, serves as the clock: a probe in flight when its
// checker stopped may still land, so the count is taken after a few clock
// checks and must then stay put for a few more.
func (c *checkCounter) assertStopped(t *testing.T, path string) {
	t.Helper()
	clock := mustBuildFrom(t, "clusters: {c: "+healthCluster(c.addr(), "/clock")+"}\n", nil)
	clock.Start()
	defer clock.Close()
	c.waitChecks(t, "/clock", 2)
	before := c.count(path)
	c.waitChecks(t, "/clock", 5)
	if after := c.count(path); after != before {
		t.Fatalf("%s is still checked after its cluster was closed (%d -> %d)", path, before, after)
	}
}

func (c *checkCounter) addr() string { return strings.TrimPrefix(c.URL, "http://") }

// healthCluster is a cluster of addr checked on path every 10ms.
func healthCluster(addr, path string) string {
	return `{targets: ["http://` + addr + `"], health: {path: ` + path + `, interval: 10ms, timeout: 10ms}}`
}

// healthConfig has cluster keep checked on /keep and cluster other on
// otherPath, both against addr, and a rate limit.
func healthConfig(addr, otherPath string) string {
	return "clusters:\n  keep: " + healthCluster(addr, "/keep") + "\n  other: " + healthCluster(addr, otherPath) + "\n" +
		"middleware: {lim: {type: rate_limit, rate: 1, per: 1h}}\n" +
		"routes: [{name: r, match: {path: /*}, cluster: keep, middleware: [lim]}]\n"
}

// TestRetiredSnapshotLeavesCarriedHealthChecks: closing the old snapshot
// after a reload stops the health checks of the cluster that changed and
// leaves those of the carried one running; the new snapshot's Close then
// stops those.
func TestRetiredSnapshotLeavesCarriedHealthChecks(t *testing.T) {
	up := newCheckCounter(t)
	prev := mustBuildFrom(t, healthConfig(up.addr(), "/old"), nil)
	prev.Start()
	up.waitChecks(t, "/keep", 2)
	up.waitChecks(t, "/old", 2)

	next := mustBuildFrom(t, healthConfig(up.addr(), "/new"), prev)
	next.Start() // must not start a second checker for keep
	if next.Clusters["keep"] != prev.Clusters["keep"] || next.Clusters["other"] == prev.Clusters["other"] {
		t.Fatal("keep should be carried over and other rebuilt")
	}
	prev.Close()
	up.assertStopped(t, "/old")
	up.waitChecks(t, "/keep", 3) // carried: still checked

	// One checker for keep, not two: while /new (one checker, the same
	// interval) gets 20 checks, keep gets about as many, not twice as many.
	k0, n0 := up.count("/keep"), up.count("/new")
	up.waitChecks(t, "/new", 20)
	if dk, dn := up.count("/keep")-k0, up.count("/new")-n0; 2*dk > 3*dn {
		t.Errorf("keep got %d checks while new got %d: checked twice?", dk, dn)
	}

	next.Close()
	up.assertStopped(t, "/keep")
	up.assertStopped(t, "/new")
}

// TestDiscardedSnapshotLeavesItsPredecessor: a snapshot built from the
// serving one and then thrown away (never swapped in) does not stop what
// it shared, and a later snapshot can still carry it. Closing the
// successor before the predecessor stops things only at the second Close.
func TestDiscardedSnapshotLeavesItsPredecessor(t *testing.T) {
	up := newCheckCounter(t)
	a := mustBuildFrom(t, healthConfig(up.addr(), "/a"), nil)
	a.Start()
	up.waitChecks(t, "/keep", 2)

	discarded := mustBuildFrom(t, healthConfig(up.addr(), "/a"), a)
	discarded.Close()
	up.waitChecks(t, "/keep", 3) // still running for a
	up.waitChecks(t, "/a", 3)

	b := mustBuildFrom(t, healthConfig(up.addr(), "/b"), a)
	b.Start()
	if b.Clusters["keep"] != a.Clusters["keep"] || b.Middleware("lim") != a.Middleware("lim") {
		t.Fatal("a discarded sibling broke carrying over")
	}
	b.Close()
	up.assertStopped(t, "/b")
	up.waitChecks(t, "/keep", 3) // a still holds it
	a.Close()
	up.assertStopped(t, "/keep")
	up.assertStopped(t, "/a")

	// Everything a held is closed now: building from it carries nothing.
	c := mustBuildFrom(t, healthConfig(up.addr(), "/a"), a)
	if c.Clusters["keep"] == a.Clusters["keep"] || c.Middleware("lim") == a.Middleware("lim") {
		t.Fatal("carried over a closed cluster or filter")
	}
	c.Start()
	up.waitChecks(t, "/keep", 2)
}

// TestFailedBuildFromLeavesPrev: a reload that fails after taking clusters
// and filters from the serving snapshot gives them back: the serving one
// keeps checking and limiting, and its own Close still stops everything.
func TestFailedBuildFromLeavesPrev(t *testing.T) {
	up := newCheckCounter(t)
	prev := mustBuildFrom(t, healthConfig(up.addr(), "/other"), nil)
	prev.Start()
	lim := prev.Middleware("lim")
	const now = int64(1_700_000_000_000_000_000)
	if !admitted(lim, now) {
		t.Fatal("first request refused")
	}
	// The same clusters and limiter, plus a require with no jwt before it:
	// refused by the pipeline after everything else was taken or built.
	bad := strings.Replace(healthConfig(up.addr(), "/other"),
		"middleware: {lim: {type: rate_limit, rate: 1, per: 1h}}",
		"middleware: {lim: {type: rate_limit, rate: 1, per: 1h}, admins: {type: require, claims: {role: admin}}}", 1)
	bad = strings.Replace(bad, "middleware: [lim]", "middleware: [lim, admins]", 1)
	if s, err := BuildFrom(mustParse(t, bad), prev); err == nil || s != nil {
		t.Fatalf("got %v, %v; want an error", s, err)
	}
	up.waitChecks(t, "/keep", 3)
	up.waitChecks(t, "/other", 3)
	if prev.Middleware("lim") != lim || admitted(lim, now) {
		t.Fatal("the serving limiter changed or forgot its bucket")
	}
	// The references taken by the failed build were given back: prev's
	// Close is the last and stops the checks.
	prev.Close()
	up.assertStopped(t, "/keep")
	up.assertStopped(t, "/other")
}

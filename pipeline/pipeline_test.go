package pipeline

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/upstream"
)

func TestBuild(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
limits: {max_header_bytes: 16KiB, max_body_bytes: 1MiB}
timeouts: {client_header: 3s, client_idle: 7s}
clusters:
  a:
    targets: [{url: "http://127.0.0.1:9001", weight: 2}, {url: "http://127.0.0.1:9002"}]
    timeouts: {connect: 250ms, response: 2s}
    pool: {max_idle_per_target: 7, idle_timeout: 9s}
routes:
  - {name: users, match: {path: /api/users/:id, methods: [GET]}, cluster: a, strip_prefix: /api}
  - {name: rest, match: {path: /*}, cluster: a, preserve_host: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clusters["a"]
	if c.ConnectTimeout.String() != "250ms" || c.ResponseTimeout.String() != "2s" || c.MaxIdle != 7 || c.IdleTimeout.String() != "9s" {
		t.Errorf("cluster settings not carried over: %+v", c)
	}
	if len(c.Targets) != 2 || c.Targets[0].Addr != "127.0.0.1:9001" || string(c.Targets[0].Host) != "127.0.0.1:9001" || c.Targets[0].Weight != 2 {
		t.Errorf("targets: %+v", c.Targets[0])
	}
	if s.Limits.MaxHeaderBytes != 16<<10 || s.MaxBodyBytes != 1<<20 || s.HeaderTimeout.String() != "3s" || s.IdleTimeout.String() != "7s" {
		t.Errorf("limits/timeouts: %+v %v %v %v", s.Limits, s.MaxBodyBytes, s.HeaderTimeout, s.IdleTimeout)
	}
	var ps router.Params
	idx, res, _ := s.Router.Match([]byte("x"), []byte("GET"), []byte("/api/users/42"), nil, &ps)
	if res != router.Found || s.Routes[idx].Name != "users" || string(s.Routes[idx].StripPrefix) != "/api" || string(ps.Get("id")) != "42" {
		t.Errorf("users route: %v %d %+v", res, idx, s.Routes)
	}
	idx, res, _ = s.Router.Match([]byte("x"), []byte("POST"), []byte("/other"), nil, &ps)
	if res != router.Found || s.Routes[idx].Name != "rest" || !s.Routes[idx].PreserveHost || s.Routes[idx].Cluster != c {
		t.Errorf("rest route: %v %d", res, idx)
	}
}

// TestBuildNamesTheRouteOnRouterErrors: what only the router can reject
// still comes back with the route's file position.
func TestBuildNamesTheRouteOnRouterErrors(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
clusters: {a: {targets: [{url: "http://127.0.0.1:9001"}]}}
routes:
  - {name: one, match: {path: /a/:id}, cluster: a}
  - {name: two, match: {path: /a/:name/x}, cluster: a}
`))
	if err != nil {
		t.Skipf("config already rejects it: %v", err)
	}
	_, err = Build(cfg)
	if err == nil || !strings.Contains(err.Error(), "t.yaml:5:") || !strings.Contains(err.Error(), `"two"`) {
		t.Fatalf("got %v, want an error naming t.yaml:5 and route \"two\"", err)
	}
}

// TestBuildTrafficControl: a cluster's balancer, hash key, breaker, health
// and retry settings reach the upstream cluster.
func TestBuildTrafficControl(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
clusters:
  a:
    targets: [{url: "http://127.0.0.1:9001"}, {url: "http://127.0.0.1:9002"}]
    balancer: consistent_hash
    hash_on: cookie:sid
    breaker: {failure_statuses: [500]}
    retries: {attempts: 3, on: [connect_failure, 503]}
  b: {targets: [{url: "http://127.0.0.1:9003"}], breaker: {enabled: false}}
routes: [{name: r, match: {path: /x}, cluster: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Clusters["a"], s.Clusters["b"]
	if a.Balancer() != upstream.ConsistentHash || a.HashOn != (upstream.HashOn{Kind: upstream.HashCookie, Name: "sid"}) {
		t.Errorf("balancer %v, hash_on %+v", a.Balancer(), a.HashOn)
	}
	if a.Targets[0].Breaker() == nil || b.Targets[0].Breaker() != nil || !a.IsFailureStatus(500) || a.IsFailureStatus(502) {
		t.Error("breaker settings not carried over")
	}
	if a.Retry.Attempts != 3 || !a.RetryOn(upstream.Retry503) || a.RetryOn(upstream.RetryTimeout) || b.Balancer() != upstream.RoundRobin {
		t.Errorf("retry %+v", a.Retry)
	}
}

// TestRouteMetricsOverride: a route's `metrics` beats the top-level switch
// both ways, and an unset one follows it.
func TestRouteMetricsOverride(t *testing.T) {
	for _, global := range []bool{false, true} {
		cfg, err := config.Parse("t.yaml", fmt.Appendf(nil, `
metrics: %v
clusters: {a: {targets: ["http://127.0.0.1:9001"]}}
routes:
  - {name: on, match: {path: /on}, cluster: a, metrics: true}
  - {name: off, match: {path: /off}, cluster: a, metrics: false}
  - {name: inherit, match: {path: /*}, cluster: a}
`, global))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range s.Routes {
			got[r.Name] = r.Metrics != nil
		}
		if want := map[string]bool{"on": true, "off": false, "inherit": global}; !maps.Equal(got, want) {
			t.Errorf("metrics: %v: routes with metrics %v, want %v", global, got, want)
		}
		s.Close()
	}
}

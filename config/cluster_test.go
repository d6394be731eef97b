package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// clusterWith is a valid config whose one cluster gets extra keys (indented
// under the cluster, 4 spaces); its first extra line is line 4.
func clusterWith(extra string) string {
	return "clusters:\n  c:\n    targets: [http://127.0.0.1:9001]\n" + extra +
		"routes: [{name: r, match: {path: /x}, cluster: c}]\n"
}

func TestTrafficDefaults(t *testing.T) {
	c, err := Parse("t.yaml", []byte(clusterWith("")))
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Clusters["c"]
	if cl.HashOn != "" || !cl.Breaker.Enabled || cl.Health.Path != "" || cl.Health.EjectAfter != 5 || cl.Retries.Attempts != 2 {
		t.Errorf("defaults: %+v", cl)
	}
	// Each cluster gets its own slices: editing one cannot change another's
	// defaults.
	other := newCluster("o", Pos{})
	cl.Breaker.FailureStatuses[0] = 599
	cl.Retries.On[0] = "x"
	if other.Breaker.FailureStatuses[0] != 502 || other.Retries.On[0] != "connect_failure" {
		t.Error("defaults share slices between clusters")
	}
}

func TestTrafficValues(t *testing.T) {
	c, err := Parse("t.yaml", []byte(clusterWith(`    balancer: consistent_hash
    hash_on: header:X-User-ID
    breaker:
      consecutive_failures: 0
      failure_ratio: 1
      window: 30s
      min_requests: 5
      recovery_timeout: 250ms
      half_open_probes: 1
      failure_statuses: [500, 429]
    health:
      path: /healthz?deep=1
      interval: 1s
      timeout: 1s
      healthy_after: 1
      unhealthy_after: 10
      expect_status: 204
      eject_after: 0
    retries: {attempts: 3, budget: 0.1, min_per_second: 0.5, on: [connect_failure, 503, "502", timeout]}
`)))
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Clusters["c"]
	wantB := Breaker{Enabled: true, FailureRatio: 1, Window: Duration(30 * time.Second), MinRequests: 5,
		RecoveryTimeout: Duration(250 * time.Millisecond), HalfOpenProbes: 1, FailureStatuses: []int{500, 429}}
	wantH := Health{Path: "/healthz?deep=1", Interval: Duration(time.Second), Timeout: Duration(time.Second), HealthyAfter: 1,
		UnhealthyAfter: 10, ExpectStatus: []int{204}, EjectAfter: 0, EjectFor: Duration(30 * time.Second)}
	wantR := Retries{Attempts: 3, Budget: 0.1, MinPerSecond: 0.5, On: []string{"connect_failure", "503", "502", "timeout"}}
	if cl.HashOn != "header:X-User-ID" || !reflect.DeepEqual(cl.Breaker, wantB) || !reflect.DeepEqual(cl.Health, wantH) || !reflect.DeepEqual(cl.Retries, wantR) {
		t.Errorf("got\n%+v\n%+v\n%+v", cl.Breaker, cl.Health, cl.Retries)
	}
	// Turning things off.
	c, err = Parse("t.yaml", []byte(clusterWith("    breaker: {enabled: false}\n    health: {eject_after: 0}\n    retries: {attempts: 1, on: []}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.Clusters["c"]; cl.Breaker.Enabled || cl.Health.EjectAfter != 0 || cl.Retries.Attempts != 1 || len(cl.Retries.On) != 0 {
		t.Errorf("off: %+v", cl)
	}
}

// TestTrafficErrors pins each traffic-control error to its position, in
// the format of TestParseErrors ("line:col path: message fragment").
func TestTrafficErrors(t *testing.T) {
	cases := []struct {
		name  string
		extra string
		want  []string
	}{
		{
			// consistent_hash needs a key; it is reported at the cluster.
			name:  "hash_on missing",
			extra: "    balancer: consistent_hash\n",
			want:  []string{`2:3 clusters.c.hash_on: required with balancer consistent_hash`},
		},
		{
			// Any other balancer would silently ignore it.
			name:  "hash_on with round robin",
			extra: "    hash_on: ip\n",
			want:  []string{`4:14 clusters.c.hash_on: hash_on is only used by balancer consistent_hash (this cluster uses round_robin)`},
		},
		{
			name:  "hash_on forms",
			extra: "    balancer: consistent_hash\n    hash_on: query:id\n",
			want:  []string{`5:14 clusters.c.hash_on: invalid hash_on "query:id"`},
		},
		{
			name:  "hash_on header name",
			extra: "    balancer: consistent_hash\n    hash_on: \"header:X User\"\n",
			want:  []string{`5:14 clusters.c.hash_on: invalid header name "X User"`},
		},
		{
			// Range checks, each at its value.
			name: "breaker ranges",
			extra: `    breaker:
      consecutive_failures: 1001
      failure_ratio: 1.5
      window: 500ms
      min_requests: 0
      recovery_timeout: 0s
      half_open_probes: 0
      failure_statuses: [502, 200, 502]
`,
			want: []string{
				`5:29 clusters.c.breaker.consecutive_failures: must be between 0 and 1000, got 1001`,
				`6:22 clusters.c.breaker.failure_ratio: must be between 0 and 1`,
				`7:15 clusters.c.breaker.window: must be between 1s and 1h0m0s, got 500ms`,
				`8:21 clusters.c.breaker.min_requests: must be between 1 and 1000000, got 0`,
				`9:25 clusters.c.breaker.recovery_timeout: must be between 1ms and 1h0m0s, got 0s`,
				`10:25 clusters.c.breaker.half_open_probes: must be between 1 and 1000, got 0`,
				`11:31 clusters.c.breaker.failure_statuses[1]: status must be between 400 and 599, got 200`,
				`11:36 clusters.c.breaker.failure_statuses[2]: 502 is already listed at [0]`,
			},
		},
		{
			// A breaker that can never open is a mistake; say how to turn
			// it off instead.
			name:  "breaker without triggers",
			extra: "    breaker: {consecutive_failures: 0, failure_ratio: 0}\n",
			want:  []string{`4:14 clusters.c.breaker: both triggers are off`},
		},
		{
			// Wrong types are decoding errors at the value.
			name:  "breaker types",
			extra: "    breaker: {enabled: yes please, failure_ratio: half, failure_statuses: 5xx}\n",
			want: []string{
				`4:24 clusters.c.breaker.enabled: expected true or false`,
				`4:51 clusters.c.breaker.failure_ratio: expected a number such as 0.5, got a string "half"`,
				`4:75 clusters.c.breaker.failure_statuses: expected a list, got a string`,
			},
		},
		{
			// Active-check keys without a path do nothing: say so.
			name:  "health keys without path",
			extra: "    health: {interval: 1s, expect_status: [200]}\n",
			want: []string{
				`4:24 clusters.c.health.interval: interval only applies to active health checks`,
				`4:43 clusters.c.health.expect_status: expect_status only applies to active health checks`,
			},
		},
		{
			name: "health ranges",
			extra: `    health:
      path: healthz
      interval: 5ms
      timeout: 0s
      healthy_after: 0
      unhealthy_after: 101
      expect_status: [99]
      eject_after: -1
`,
			want: []string{
				`5:13 clusters.c.health.path: path "healthz" must start with '/'`,
				`6:17 clusters.c.health.interval: must be between 10ms and 1h0m0s, got 5ms`,
				`7:16 clusters.c.health.timeout: must be > 0, got 0s`,
				`8:22 clusters.c.health.healthy_after: must be between 1 and 100, got 0`,
				`9:24 clusters.c.health.unhealthy_after: must be between 1 and 100, got 101`,
				`10:23 clusters.c.health.expect_status[0]: status must be between 100 and 599, got 99`,
				`11:20 clusters.c.health.eject_after: must be between 0 and 1000, got -1`,
			},
		},
		{
			name:  "health timeout above interval",
			extra: "    health: {path: \"/h z\", interval: 1s, timeout: 2s, eject_for: 0s}\n",
			want: []string{
				`4:20 clusters.c.health.path: path "/h z" contains ' '`,
				`4:51 clusters.c.health.timeout: must not exceed interval (1s), got 2s`,
				`4:66 clusters.c.health.eject_for: must be between 1ms and 1h0m0s, got 0s`,
			},
		},
		{
			name:  "retries",
			extra: "    retries: {attempts: 0, budget: 2, min_per_second: -1, on: [conect_failure, 504, timeout, timeout]}\n",
			want: []string{
				`4:25 clusters.c.retries.attempts: must be between 1 and 10 (1 = no retries), got 0`,
				`4:36 clusters.c.retries.budget: must be between 0 and 1`,
				`4:55 clusters.c.retries.min_per_second: must be between 0 and 1000000, got -1`,
				`4:64 clusters.c.retries.on[0]: unknown retry cause "conect_failure" (did you mean "connect_failure"?)`,
				`4:80 clusters.c.retries.on[1]: unknown retry cause "504"`,
				`4:94 clusters.c.retries.on[3]: timeout is already listed at on[2]`,
			},
		},
		{
			// Retrying nothing three times is a contradiction.
			name:  "attempts without causes",
			extra: "    retries: {attempts: 3, on: []}\n",
			want:  []string{`4:32 clusters.c.retries.on: attempts is 3 but on is empty`},
		},
		{
			// Misspelled keys under the new sections get a suggestion.
			name:  "unknown keys",
			extra: "    breaker: {recovery: 1s}\n    retries: {attempt: 2}\n",
			want: []string{
				`4:15 clusters.c.breaker.recovery: unknown key "recovery"`,
				`5:15 clusters.c.retries.attempt: unknown key "attempt" (did you mean "attempts"?)`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(clusterWith(tc.extra)))
			got := Errors(err)
			if len(got) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(got), len(tc.want), err)
			}
			for i, w := range tc.want {
				if i >= len(got) {
					break
				}
				g := got[i]
				at, rest, _ := strings.Cut(w, " ")
				path, frag, _ := strings.Cut(rest, ": ")
				if gotAt := fmt.Sprintf("%d:%d", g.Pos.Line, g.Pos.Col); gotAt != at || g.Path != path || !strings.Contains(g.Msg, frag) || g.Pos.File != "t.yaml" {
					t.Errorf("error %d:\n got %v\nwant t.yaml:%s: %s: …%s…", i, g, at, path, frag)
				}
			}
		})
	}
}

// TestTrafficInMemory: a cluster built in Go with the new sections left at
// their zero values is valid (breaker off, no health, no retries).
func TestTrafficInMemory(t *testing.T) {
	c := Default()
	c.Clusters["api"] = &Cluster{
		Targets:  []Target{{URL: "http://10.0.0.1:8080", Weight: 1}},
		Balancer: "round_robin",
		Timeouts: ClusterTimeouts{Connect: Duration(time.Second), Response: Duration(time.Second)},
		Pool:     Pool{IdleTimeout: Duration(time.Second)},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestReferenceShowsTrafficDefaults: the traffic-control keys in
// reference.yaml are set to their real defaults, except health.path: the
// reference sets one so that the active-check keys are allowed.
func TestReferenceShowsTrafficDefaults(t *testing.T) {
	c, err := Load("../configs/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cl, def := c.Clusters["users"], newCluster("users", Pos{})
	if cl.HashOn != def.HashOn || !reflect.DeepEqual(cl.Breaker, def.Breaker) || !reflect.DeepEqual(cl.Retries, def.Retries) {
		t.Errorf("reference.yaml traffic control differs from the defaults:\n%+v\n%+v\n%+v", cl.HashOn, cl.Breaker, cl.Retries)
	}
	h, dh := cl.Health, def.Health
	h.Path, h.ExpectStatus, dh.ExpectStatus = "", nil, nil
	if !reflect.DeepEqual(h, dh) || len(cl.Health.ExpectStatus) != 0 || cl.Health.Path != "/healthz" {
		t.Errorf("reference.yaml health differs from the defaults:\n%+v\n%+v", cl.Health, def.Health)
	}
}

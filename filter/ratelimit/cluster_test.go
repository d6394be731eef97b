package ratelimit

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/internal/redistest"
)

// A bad redis block or scope fails the load with its place in the file.
func TestClusterConfigErrors(t *testing.T) {
	const lim = "  lim: {type: rate_limit, rate: 10, scope: cluster}\n"
	cases := []struct {
		name, text, want string
	}{
		{"cluster scope without redis", base + lim,
			`rl.yaml:11:44: middleware.lim.scope: scope cluster needs a top-level redis block`},
		{"unknown scope", base + "  lim: {type: rate_limit, rate: 10, scope: global}\n",
			`rl.yaml:11:44: middleware.lim.scope: unknown scope "global"; want local or cluster`},
		{"password in the file", "redis: {addresses: [\"127.0.0.1:6379\"], password: hunter2}\n" + base + lim,
			`rl.yaml:1:50: redis.password: a password is never written in the config file`},
		{"no addresses", "redis: {sync_interval: 50ms}\n" + base + lim,
			`rl.yaml:1:8: redis.addresses: required`},
		{"bad address", "redis: {addresses: [\"localhost\"]}\n" + base + lim,
			`rl.yaml:1:21: redis.addresses[0]: `},
		{"sync interval too short", "redis: {addresses: [\"127.0.0.1:6379\"], sync_interval: 1ms}\n" + base + lim,
			`rl.yaml:1:55: redis.sync_interval: must be between 5ms and 10s, got 1ms`},
		{"unknown on_failure", "redis: {addresses: [\"127.0.0.1:6379\"], on_failure: ignore}\n" + base + lim,
			`rl.yaml:1:52: redis.on_failure: unknown mode "ignore"; want open or closed`},
		{"sentinel and cluster", "redis: {addresses: [\"127.0.0.1:26379\"], sentinel_master: m, cluster: true}\n" + base + lim,
			`rl.yaml:1:70: redis.cluster: cluster and sentinel_master exclude each other`},
		{"bad env name", "redis: {addresses: [\"127.0.0.1:6379\"], password_env: 1PASS}\n" + base + lim,
			`rl.yaml:1:54: redis.password_env: "1PASS" is not an environment variable name`},
		{"unknown key", "redis: {addresses: [\"127.0.0.1:6379\"], sync: 1s}\n" + base + lim,
			`rl.yaml:1:40: redis.sync: unknown key "sync"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("rl.yaml", []byte(tc.text))
			es := config.Errors(err)
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s…", err, tc.want)
			}
		})
	}
}

// The defaults of the redis block, and a cluster limit's settings carry a
// copy of it.
func TestClusterSettings(t *testing.T) {
	c, err := config.Parse("rl.yaml", []byte("redis: {addresses: [\"127.0.0.1:6379\"]}\n"+base+
		"  lim: {type: rate_limit, rate: 10, scope: cluster}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Middleware["lim"].Settings.(*Settings)
	r := s.Redis
	if s.Scope != "cluster" || r == nil || r.SyncInterval.D() != 50*time.Millisecond || r.Timeout.D() != time.Second ||
		r.OnFailure != "open" || r.Instances != 1 || r.KeyPrefix != "sluice:" {
		t.Fatalf("settings %+v, redis %+v", s, r)
	}
	if r == c.Redis {
		t.Fatal("settings share the config's redis block rather than copy it")
	}
}

// Two filters built from one config (two gateway instances) key a client
// alike and share its budget through Redis; a filter of another name does
// not. Close stops the syncer.
func TestClusterFiltersShareKeys(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "cluster-test-password")
	t.Setenv("RL_TEST_REDIS_PASSWORD", "cluster-test-password")
	text := "redis: {addresses: [\"" + srv.Addr + "\"], password_env: RL_TEST_REDIS_PASSWORD, sync_interval: 10ms}\n" + base +
		"  lim: {type: rate_limit, rate: 1, per: 1h, burst: 3, scope: cluster}\n"
	build := func() *Filter {
		c, err := config.Parse("rl.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		f, err := filter.Build(c.Middleware["lim"])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.(*Filter).Close() })
		return f.(*Filter)
	}
	a, b := build(), build()
	var x filter.Exchange
	exchange(&x, nil, "192.0.2.1", 0)
	if a.key(&x) != b.key(&x) {
		t.Fatal("two instances key the same client differently")
	}
	for _, f := range []*Filter{a, b} {
		deadline := time.Now().Add(5 * time.Second)
		for !f.sync.Status().OK {
			if time.Now().After(deadline) {
				t.Fatalf("not synchronised: %+v", f.sync.Status())
			}
			<-time.After(5 * time.Millisecond)
		}
	}
	// a spends the whole burst of 3, then is refused.
	for range 3 {
		if v, _ := run(a, exchange(&x, nil, "192.0.2.1", 0)); v != filter.Continue {
			t.Fatal("a refused within the burst")
		}
	}
	if v, hdr := run(a, exchange(&x, nil, "192.0.2.1", 0)); v == filter.Continue || !strings.Contains(hdr, "Retry-After") {
		t.Fatalf("a admitted past its burst: %v %q", v, hdr)
	}
	// b has not seen this client: its bucket is full until its first round
	// after the client shows up (the documented bound: a key new to an
	// instance may get up to that instance's burst before the next round).
	waitRounds(t, a, a.sync.Status().Rounds+2) // a has pushed its 3
	r0 := b.sync.Status().Rounds
	if v, _ := run(b, exchange(&x, nil, "192.0.2.1", 0)); v != filter.Continue {
		t.Fatal("b refused a client it had never seen")
	}
	waitRounds(t, b, r0+2)
	// b's own bucket still holds 2 tokens; it refuses because it has
	// learned of a's 3.
	if v, _ := run(b, exchange(&x, nil, "192.0.2.1", 0)); v == filter.Continue {
		t.Fatal("b admitted the client after a spent the shared burst")
	}
	// Another client still has its budget.
	x.ClientIP = netip.MustParseAddr("192.0.2.2")
	if v, _ := run(b, exchange(&x, nil, "192.0.2.2", 0)); v != filter.Continue {
		t.Fatal("another client refused")
	}
}

// waitRounds waits until f's syncer has completed n rounds.
func waitRounds(t *testing.T, f *Filter, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.sync.Status().Rounds < n {
		if time.Now().After(deadline) {
			t.Fatalf("the syncer is stuck: %+v", f.sync.Status())
		}
		<-time.After(5 * time.Millisecond)
	}
}

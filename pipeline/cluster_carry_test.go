package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/internal/redistest"
)

// A reload that leaves a cluster rate limit and the redis block alone
// keeps the filter, its syncer and its connection; a changed redis block
// builds a new one, and the old one deregisters from Redis when its last
// snapshot is retired.
func TestReloadCarriesClusterLimit(t *testing.T) {
	srv := redistest.Start(t)
	policy := func(interval string) string {
		return "redis: {addresses: [\"" + srv.Addr + "\"], sync_interval: " + interval + "}\n" +
			"clusters: {a: {targets: [\"http://127.0.0.1:9001\"]}}\n" +
			"middleware: {lim: {type: rate_limit, rate: 10, scope: cluster}}\n" +
			"routes: [{name: r, match: {path: /*}, cluster: a, middleware: [lim]}]\n"
	}
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rc.Close()
	live := func() int64 {
		n, _ := rc.ZCard(context.Background(), "sluice:rl:lim:instances").Result()
		return n
	}
	waitLive := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); live() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%d instances registered, want %d", live(), want)
			}
			<-time.After(5 * time.Millisecond)
		}
	}

	first, err := BuildFrom(mustParse(t, policy("50ms")), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitLive(1)
	same, err := BuildFrom(mustParse(t, policy("50ms")), first)
	if err != nil {
		t.Fatal(err)
	}
	if same.Middleware("lim") != first.Middleware("lim") {
		t.Fatal("an unchanged cluster limit was rebuilt")
	}
	first.Close() // retired: the carried filter lives on in same
	changed := mustBuildFrom(t, policy("100ms"), same)
	if changed.Middleware("lim") == same.Middleware("lim") {
		t.Fatal("a changed redis block kept the old filter")
	}
	waitLive(2) // old and new side by side until the old snapshot retires
	same.Close()
	waitLive(1)
}

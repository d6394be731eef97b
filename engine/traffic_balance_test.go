package engine

// End-to-end traffic-control tests: the balancers. Helpers are in traffic_test.go.

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBalancers: consistent_hash keeps a user on one target and spreads
// users; least_request starves a slow target; round_robin alternates
// (by weight); random reaches every target.
func TestBalancers(t *testing.T) {
	// consistent_hash on a header, and on a cookie spelt differently
	// each round (quoted, among others, with whitespace): the quotes are
	// not part of the key (http1.Cookie), so a user stays on one target.
	spellings := []string{"sid=%s", `a=1; sid="%s"; b=2`, " theme=dark;sid=%s "}
	for _, hc := range []struct {
		name, hashOn string
		header       func(user string, round int) (string, string)
	}{
		{"consistent_hash", "header:X-User", func(user string, _ int) (string, string) { return "X-User", user }},
		{"consistent_hash on a cookie", "cookie:sid", func(user string, round int) (string, string) {
			return "Cookie", fmt.Sprintf(spellings[round%len(spellings)], user)
		}},
	} {
		t.Run(hc.name, func(t *testing.T) {
			a, b := startTCTarget(t, "a", 0, 0), startTCTarget(t, "b", 0, 0)
			g := startGateway(t, tcConfig("", "    balancer: consistent_hash\n    hash_on: "+hc.hashOn+"\n", "", a.host, b.host), 2)
			c := tcClient(t, nil)
			const users, rounds = 16, 3
			where := map[string]map[string]int{} // user -> target -> requests
			for round := range rounds {
				for u := range users {
					user := fmt.Sprintf("user-%d", u)
					k, v := hc.header(user, round)
					r := tcDo(t, c, "GET", g.url("/x"), "", "", k, v)
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
	}

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
			if _, ok := waitUntil(2*time.Second, func() bool { return slow.hits.Load() > 0 || fast.hits.Load() > before }); !ok {
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

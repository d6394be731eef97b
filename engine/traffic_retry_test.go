package engine

// End-to-end traffic-control tests: retries and the retry budget. Helpers are in traffic_test.go.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/breaker"
)

// TestRetryConnectFailureReachesLiveTarget: with one target refusing
// connections, every request succeeds on the other; the dead one stops
// being tried once its breaker opens.
func TestRetryConnectFailureReachesLiveTarget(t *testing.T) {
	checkGoroutineLeaks(t)
	cases := []struct {
		name string
		dead func(t *testing.T) string
	}{
		// A closed port, most likely as long as the live target's address
		// (the retry rewrites the Host header in place).
		{"closed ephemeral port", func(t *testing.T) string { return freeAddr(t) }},
		// Port 1 (nothing listens there): a shorter Host to rewrite.
		{"closed port 1", func(*testing.T) string { return "127.0.0.1:1" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			live := startTCTarget(t, "live", 0, 0)
			g := startGateway(t, tcConfig("", "    retries: {attempts: 2, on: [connect_failure]}\n", "", tc.dead(t), live.host), 1)
			cl := g.e.Snapshot().Clusters["up"]
			c := tcClient(t, nil)
			for i := range 40 {
				id := fmt.Sprintf("cf-%d", i)
				r := tcDo(t, c, "GET", g.url("/x"), id, "")
				if r.status != 200 || r.body != "live" || live.saw(id) != 1 {
					t.Fatalf("request %d: %d %q (live saw it %d times), want 200 from live", i, r.status, r.body, live.saw(id))
				}
			}
			if n := live.badHost.Load(); n != 0 {
				t.Errorf("%d retried requests reached the live target with another target's Host", n)
			}
			allowed, denied := cl.RetryStats()
			if allowed == 0 || allowed > 5 || denied != 0 {
				t.Errorf("retries allowed %d, denied %d; want 1..5 allowed (the breaker opens after 5 failures), none denied", allowed, denied)
			}
			if brk := cl.Targets[0].Breaker(); brk.State() != breaker.Open {
				t.Errorf("the refusing target's breaker is %s, want open", brk.State())
			}
			tcExpectIdle(t, g)
		})
	}
}

// TestRetryOn502OnlyIdempotent: with `on: [502]` a GET answered 502 by one
// target is served by the other; a POST with a body is never replayed and
// its 502 reaches the client.
func TestRetryOn502OnlyIdempotent(t *testing.T) {
	checkGoroutineLeaks(t)
	bad := startTCTarget(t, "bad", 502, 0)
	good := startTCTarget(t, "good", 0, 0)
	g := startGateway(t, tcConfig("", `    retries: {attempts: 2, on: [502], budget: 1, min_per_second: 100}
    breaker: {enabled: false}
    health: {eject_after: 0}
`, "", bad.host, good.host), 1)
	c := tcClient(t, nil)

	for i := range 10 {
		id := fmt.Sprintf("get-%d", i)
		r := tcDo(t, c, "GET", g.url("/x"), id, "")
		if r.status != 200 || r.body != "good" || good.saw(id) != 1 || bad.saw(id) > 1 {
			t.Fatalf("GET %d: %d %q (bad saw it %d times, good %d), want 200 from good", i, r.status, r.body, bad.saw(id), good.saw(id))
		}
	}
	if bad.hits.Load() == 0 {
		t.Fatal("no GET reached the target answering 502: nothing was retried")
	}

	onBad := 0
	for i := range 4 { // round robin: at least one of these lands on bad first
		id := fmt.Sprintf("post-%d", i)
		r := tcDo(t, c, "POST", g.url("/x"), id, "payload")
		b, gd := bad.saw(id), good.saw(id)
		switch {
		case b+gd != 1:
			t.Errorf("POST %d reached bad %d and good %d times, want once in all", i, b, gd)
		case b == 1 && (r.status != 502 || r.body != "bad"):
			t.Errorf("POST %d answered 502 by bad: client got %d %q, want bad's 502", i, r.status, r.body)
		case gd == 1 && r.status != 200:
			t.Errorf("POST %d on good: %d %q", i, r.status, r.body)
		}
		onBad += int(b)
	}
	if onBad == 0 {
		t.Error("no POST went to the bad target: the test proves nothing")
	}
	if n := good.badHost.Load(); n != 0 {
		t.Errorf("%d retried requests reached the good target with another target's Host", n)
	}
	tcExpectIdle(t, g)
}

// TestRetryOnTimeout: with `on: [timeout]` a GET the first target sits on
// past the response timeout is served by the other; a POST with a body is
// not replayed and gets 504.
func TestRetryOnTimeout(t *testing.T) {
	checkGoroutineLeaks(t)
	slow := startTCTarget(t, "slow", 0, 600*time.Millisecond)
	fast := startTCTarget(t, "fast", 0, 0)
	g := startGateway(t, strings.Replace(tcConfig("", `    retries: {attempts: 2, on: [timeout], budget: 1, min_per_second: 100}
    breaker: {enabled: false}
    health: {eject_after: 0}
`, "", slow.host, fast.host), "response: 2s", "response: 150ms", 1), 1)
	c := tcClient(t, nil)
	for i := range 2 {
		id := fmt.Sprintf("to-get-%d", i)
		start := time.Now()
		r := tcDo(t, c, "GET", g.url("/x"), id, "")
		if r.status != 200 || r.body != "fast" || fast.saw(id) != 1 {
			t.Fatalf("GET %d: %d %q (slow saw it %d times, fast %d), want 200 from fast", i, r.status, r.body, slow.saw(id), fast.saw(id))
		}
		if slow.saw(id) == 1 && time.Since(start) > 500*time.Millisecond {
			t.Errorf("GET %d took %v: the retry should follow the 150ms response timeout", i, time.Since(start))
		}
	}
	if slow.hits.Load() == 0 {
		t.Fatal("no GET reached the slow target: nothing was retried")
	}
	onSlow := 0
	for i := range 2 { // round robin: one of them lands on slow
		id := fmt.Sprintf("to-post-%d", i)
		r := tcDo(t, c, "POST", g.url("/x"), id, "payload")
		s, f := slow.saw(id), fast.saw(id)
		switch {
		case s+f != 1:
			t.Errorf("POST %d reached slow %d and fast %d times, want once in all", i, s, f)
		case s == 1:
			msg, p := tcGatewayError(r)
			if r.status != 504 || msg != "upstream timeout" || p != "" {
				t.Errorf("POST %d timed out on slow: client got %d %q %s, want 504 upstream timeout", i, r.status, r.body, p)
			}
		case r.status != 200:
			t.Errorf("POST %d on fast: %d %q", i, r.status, r.body)
		}
		onSlow += int(s)
	}
	if onSlow == 0 {
		t.Error("no POST went to the slow target: the test proves nothing")
	}
	tcExpectIdle(t, g)
}

// TestRetryBudgetLimitsRetries: with budget 0.1 and no floor, retries may
// add at most a tenth of the requests: one target answering 502 to every
// request gets a few of them retried, and the rest reach the client as 502.
func TestRetryBudgetLimitsRetries(t *testing.T) {
	checkGoroutineLeaks(t)
	bad := startTCTarget(t, "bad", 502, 0)
	good := startTCTarget(t, "good", 0, 0)
	g := startGateway(t, tcConfig("", `    retries: {attempts: 2, on: [502], budget: 0.1, min_per_second: 0}
    breaker: {enabled: false}
    health: {eject_after: 0}
`, "", bad.host, good.host), 1)
	cl := g.e.Snapshot().Clusters["up"]
	c := tcClient(t, nil)
	const n = 40
	var failed, retried, direct int
	for i := range n {
		id := fmt.Sprintf("b-%d", i)
		r := tcDo(t, c, "GET", g.url("/x"), id, "")
		switch {
		case r.status == 502 && r.body == "bad" && bad.saw(id) == 1 && good.saw(id) == 0:
			failed++
		case r.status == 200 && bad.saw(id) == 1 && good.saw(id) == 1:
			retried++
		case r.status == 200 && bad.saw(id) == 0 && good.saw(id) == 1:
			direct++
		default:
			t.Fatalf("request %d: %d %q, bad saw it %d times, good %d", i, r.status, r.body, bad.saw(id), good.saw(id))
		}
	}
	allowed, denied := cl.RetryStats()
	t.Logf("%d failed, %d retried, %d direct; budget allowed %d, denied %d", failed, retried, direct, allowed, denied)
	// Retries over the window <= 0.1 × requests over it: at most n/10.
	if retried == 0 || retried > n/10 {
		t.Errorf("%d requests were retried, want 1..%d (budget 0.1 of %d requests)", retried, n/10, n)
	}
	if failed < n/4 {
		t.Errorf("only %d requests failed with 502: the budget did not stop retries", failed)
	}
	if int(allowed) != retried || int(denied) != failed {
		t.Errorf("budget stats: allowed %d, denied %d; want %d, %d", allowed, denied, retried, failed)
	}
	tcExpectIdle(t, g)
}

// ---- balancers ----

package upstream

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/breaker"
)

// t0 is the injected clock's start, in unix nanoseconds.
const t0 = int64(1_700_000_000) * int64(time.Second)

const sec = int64(time.Second)

func TestPickFollowsWeights(t *testing.T) {
	a := &Target{Addr: "a", Weight: 3}
	b := &Target{Addr: "b", Weight: 1}
	c := NewCluster("x", []*Target{a, b})
	counts := map[string]int{}
	seq := ""
	for range 8 {
		t := c.Pick()
		counts[t.Addr]++
		seq += t.Addr
	}
	if counts["a"] != 6 || counts["b"] != 2 {
		t.Fatalf("counts %v, want a=6 b=2", counts)
	}
	// Smooth interleaving: never "bb", never four a's in a row.
	if strings.Contains(seq+seq, "bb") || strings.Contains(seq+seq, "aaaa") {
		t.Fatalf("sequence %s is not interleaved", seq)
	}
	if a.Cluster != c || b.Cluster != c {
		t.Fatal("targets must point back to their cluster")
	}
}

// targets builds targets named a, b, c, … with the given weights.
func targets(weights ...int) []*Target {
	ts := make([]*Target, len(weights))
	for i, w := range weights {
		ts[i] = &Target{Addr: fmt.Sprintf("10.0.0.%d:80", i+1), Weight: w}
	}
	return ts
}

// spread runs n Select+Done(Success) with random keys and returns the share
// of each target, in Targets order.
func spread(c *Cluster, n int) []float64 {
	counts := make([]float64, len(c.Targets))
	for i := range n {
		key := HashKey([]byte(fmt.Sprint("user-", i)))
		tg, _ := c.Select(key, nil, t0)
		if tg == nil {
			panic("nil target")
		}
		counts[tg.index]++
		c.Done(tg, Success, t0)
	}
	for i := range counts {
		counts[i] /= float64(n)
	}
	return counts
}

func TestBalancersFollowWeights(t *testing.T) {
	cases := []struct {
		name    string
		bal     Balancer
		weights []int
		tol     float64 // allowed deviation of each share, absolute
	}{
		// Round robin is exact.
		{"round_robin equal", RoundRobin, []int{1, 1, 1}, 0.001},
		{"round_robin weighted", RoundRobin, []int{1, 2, 5}, 0.001},
		// The random ones are within sampling noise over 30000 picks.
		{"random equal", Random, []int{1, 1, 1, 1}, 0.02},
		{"random weighted", Random, []int{1, 3}, 0.02},
		// Idle least-request ties go to the first (weighted) draw.
		{"least_request equal", LeastRequest, []int{1, 1, 1}, 0.02},
		{"least_request weighted", LeastRequest, []int{1, 3}, 0.02},
		// The ring's shares are within a few percent of the weights.
		{"consistent_hash equal", ConsistentHash, []int{1, 1, 1}, 0.05},
		{"consistent_hash weighted", ConsistentHash, []int{1, 2}, 0.05},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New("x", targets(tc.weights...), Config{Balancer: tc.bal, HashOn: HashOn{Kind: HashHeader, Name: "X-User"}})
			got := spread(c, 30000)
			total := 0
			for _, w := range tc.weights {
				total += w
			}
			for i, w := range tc.weights {
				if want := float64(w) / float64(total); math.Abs(got[i]-want) > tc.tol {
					t.Errorf("target %d: share %.3f, want %.3f±%.3f", i, got[i], want, tc.tol)
				}
			}
			for _, tg := range c.Targets {
				if tg.InFlight() != 0 {
					t.Errorf("%s: %d in flight after every Done", tg.Addr, tg.InFlight())
				}
			}
		})
	}
}

func TestLeastRequestAvoidsBusyTargets(t *testing.T) {
	c := New("x", targets(1, 1), Config{Balancer: LeastRequest})
	busy := c.Targets[0]
	busy.inFlight.Store(50)
	for range 1000 {
		tg, _ := c.Select(0, nil, t0)
		if tg == busy {
			t.Fatal("picked the target with 50 requests in flight over an idle one")
		}
		c.Done(tg, Success, t0)
	}
}

func TestConsistentHashIsSticky(t *testing.T) {
	c := New("x", targets(1, 1, 1, 1), Config{Balancer: ConsistentHash})
	for i := range 100 {
		key := HashKey([]byte(fmt.Sprint("session-", i)))
		first, _ := c.Select(key, nil, t0)
		c.Done(first, Success, t0)
		for range 5 {
			again, _ := c.Select(key, nil, t0)
			c.Done(again, Success, t0)
			if again != first {
				t.Fatalf("key %d moved from %s to %s", i, first.Addr, again.Addr)
			}
		}
	}
}

// owners maps n keys to the address of the target each lands on.
func owners(c *Cluster, n int) []string {
	out := make([]string, n)
	for i := range n {
		tg, _ := c.Select(HashKey([]byte(fmt.Sprint("k", i))), nil, t0)
		c.Done(tg, Cancelled, t0)
		out[i] = tg.Addr
	}
	return out
}

func TestConsistentHashRemapsAboutOneNth(t *testing.T) {
	const keys = 20000
	four := targets(1, 1, 1, 1)
	before := owners(New("x", targets(1, 1, 1), Config{Balancer: ConsistentHash}), keys)
	after := owners(New("x", four, Config{Balancer: ConsistentHash}), keys)
	moved := 0
	for i := range keys {
		if before[i] != after[i] {
			moved++
			if after[i] != four[3].Addr {
				t.Fatalf("key %d moved between old targets (%s -> %s)", i, before[i], after[i])
			}
		}
	}
	// Adding a 4th target should move about 1/4 of the keys, all to it.
	if f := float64(moved) / keys; f < 0.18 || f > 0.32 {
		t.Errorf("adding 1 target to 3 moved %.3f of the keys, want ≈0.25", f)
	}
	// Removing one moves only the keys it had; the order of the list does
	// not matter.
	three := targets(1, 1, 1, 1)[1:]
	removed := owners(New("x", []*Target{three[2], three[0], three[1]}, Config{Balancer: ConsistentHash}), keys)
	for i := range keys {
		if after[i] != four[0].Addr && removed[i] != after[i] {
			t.Fatalf("key %d moved although its target %s stayed", i, after[i])
		}
	}
}

func TestSelectSkipsOpenBreakers(t *testing.T) {
	for _, bal := range []Balancer{RoundRobin, LeastRequest, ConsistentHash, Random} {
		t.Run(bal.String(), func(t *testing.T) {
			c := New("x", targets(1, 1, 1), Config{Balancer: bal, Breaker: &breaker.Config{ConsecutiveFailures: 1, RecoveryTimeout: 10 * time.Second}})
			bad := c.Targets[1]
			if !c.admit(bad, t0) {
				t.Fatal("admit")
			}
			c.Done(bad, Failure, t0)
			if bad.Breaker().State() != breaker.Open {
				t.Fatal("breaker not open")
			}
			for i := range 300 {
				tg, _ := c.Select(uint64(i+1)*0x9e3779b97f4a7c15, nil, t0+sec)
				if tg == nil || tg == bad {
					t.Fatalf("pick %d: %v", i, tg)
				}
				c.Done(tg, Success, t0+sec)
			}
			// After the recovery timeout the target gets its probe.
			seen := false
			for i := range 300 {
				tg, _ := c.Select(uint64(i+1)*0x9e3779b97f4a7c15, nil, t0+11*sec)
				seen = seen || tg == bad
				c.Done(tg, Success, t0+11*sec)
			}
			if !seen || bad.Breaker().State() != breaker.Closed {
				t.Fatalf("recovered target not used (state %v)", bad.Breaker().State())
			}
		})
	}
}

func TestSelectSkipsEjectedTargets(t *testing.T) {
	c := New("x", targets(1, 1), Config{Health: Health{EjectAfter: 3, EjectFor: 5 * time.Second}})
	bad := c.Targets[0]
	for range 3 {
		c.admit(bad, t0)
		c.Done(bad, Failure, t0)
	}
	if bad.HealthyAt(t0) || bad.Ejections() != 1 {
		t.Fatal("not ejected after 3 failures in a row")
	}
	for range 50 {
		tg, _ := c.Select(0, nil, t0+4*sec)
		if tg == bad {
			t.Fatal("picked an ejected target")
		}
		c.Done(tg, Success, t0+4*sec)
	}
	if !bad.HealthyAt(t0 + 5*sec) {
		t.Fatal("still ejected after eject_for")
	}
	// A success in between resets the run.
	for _, r := range []Result{Failure, Failure, Success, Failure, Failure} {
		c.admit(bad, t0+6*sec)
		c.Done(bad, r, t0+6*sec)
	}
	if !bad.HealthyAt(t0+6*sec) || bad.Ejections() != 1 {
		t.Fatal("ejected without 3 failures in a row")
	}
}

func TestSelectNothingAvailable(t *testing.T) {
	c := New("x", targets(1, 1), Config{
		Breaker: &breaker.Config{ConsecutiveFailures: 1, RecoveryTimeout: 10 * time.Second},
		Health:  Health{EjectAfter: 1, EjectFor: 30 * time.Second},
	})
	a, b := c.Targets[0], c.Targets[1]
	c.admit(a, t0)
	c.Done(a, Failure, t0) // breaker open for 10s, ejected for 30s
	c.admit(b, t0+2*sec)
	c.Done(b, Failure, t0+2*sec) // open until t0+12s, ejected until t0+32s
	tg, wait := c.Select(0, nil, t0+5*sec)
	if tg != nil || wait != 25*time.Second {
		t.Fatalf("got %v, wait %v; want nil and 25s (a's ejection ends first)", tg, wait)
	}
	// Without ejection, the breaker decides.
	c2 := New("y", targets(1), Config{Breaker: &breaker.Config{ConsecutiveFailures: 1, RecoveryTimeout: 10 * time.Second}})
	only := c2.Targets[0]
	c2.admit(only, t0)
	c2.Done(only, Failure, t0)
	if tg, wait := c2.Select(0, nil, t0+3*sec); tg != nil || wait != 7*time.Second {
		t.Fatalf("got %v, wait %v; want nil and 7s", tg, wait)
	}
	// A half-open target with every probe slot taken is busy.
	probe, _ := c2.Select(0, nil, t0+10*sec)
	if probe != only {
		t.Fatal("no probe")
	}
	if tg, wait := c2.Select(0, nil, t0+10*sec); tg != nil || wait != busyWait {
		t.Fatalf("got %v, wait %v; want nil and %v", tg, wait, busyWait)
	}
}

func TestSelectAvoid(t *testing.T) {
	for _, bal := range []Balancer{RoundRobin, LeastRequest, ConsistentHash, Random} {
		t.Run(bal.String(), func(t *testing.T) {
			c := New("x", targets(1, 1, 1), Config{Balancer: bal, Health: Health{EjectAfter: 1, EjectFor: time.Minute}})
			a, b, d := c.Targets[0], c.Targets[1], c.Targets[2]
			// A retry never goes back to the target it leaves while others
			// are up.
			for i := range 200 {
				tg, _ := c.Select(uint64(i+1)*0x9e3779b97f4a7c15, a, t0)
				if tg == nil || tg == a {
					t.Fatalf("retry went back to the avoided target")
				}
				c.Done(tg, Success, t0)
			}
			// When the others are out, it does.
			for _, x := range []*Target{b, d} {
				c.admit(x, t0)
				c.Done(x, Failure, t0)
			}
			if tg, _ := c.Select(12345, a, t0); tg != a {
				t.Fatalf("got %v, want the avoided target as the last resort", tg)
			}
		})
	}
}

func TestIsFailureStatus(t *testing.T) {
	c := New("x", targets(1), Config{FailureStatuses: []int{502, 503, 504, 429}})
	for s, want := range map[int]bool{502: true, 503: true, 504: true, 429: true, 500: false, 200: false, -1: false, 1000: false} {
		if c.IsFailureStatus(s) != want {
			t.Errorf("IsFailureStatus(%d) = %v", s, !want)
		}
	}
}

func TestParsers(t *testing.T) {
	for s, want := range map[string]HashOn{
		"header:X-User": {HashHeader, "X-User"},
		"cookie:sid":    {HashCookie, "sid"},
		"ip":            {HashIP, ""},
	} {
		got, err := ParseHashOn(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseHashOn(%q) = %+v, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "header:", "body:x", "IP"} {
		if _, err := ParseHashOn(bad); err == nil {
			t.Errorf("ParseHashOn(%q) accepted", bad)
		}
	}
	for _, name := range []string{"round_robin", "least_request", "consistent_hash", "random"} {
		if b, ok := ParseBalancer(name); !ok || b.String() != name {
			t.Errorf("ParseBalancer(%q) = %v %v", name, b, ok)
		}
	}
	if _, ok := ParseBalancer("fastest"); ok {
		t.Error("ParseBalancer accepted fastest")
	}
	for name, want := range map[string]RetryCause{"connect_failure": RetryConnectFailure, "timeout": RetryTimeout, "502": Retry502, "503": Retry503} {
		if got, err := ParseRetryCause(name); err != nil || got != want {
			t.Errorf("ParseRetryCause(%q) = %v %v", name, got, err)
		}
	}
	if _, err := ParseRetryCause("504"); err == nil {
		t.Error("ParseRetryCause accepted 504")
	}
}

// TestHashOnIgnoredByOtherBalancers: the engine reads c.HashOn to decide
// whether to compute a key; only consistent_hash clusters need one.
func TestHashOnIgnoredByOtherBalancers(t *testing.T) {
	c := New("x", targets(1), Config{Balancer: Random, HashOn: HashOn{Kind: HashIP}})
	if c.HashOn.Kind != HashNone || c.Balancer() != Random {
		t.Fatalf("HashOn %+v on a random cluster", c.HashOn)
	}
}

func TestSelectDoneDoNotAllocate(t *testing.T) {
	for _, bal := range []Balancer{RoundRobin, LeastRequest, ConsistentHash, Random} {
		c := New("x", targets(1, 2, 3), Config{
			Balancer: bal,
			Breaker:  &breaker.Config{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20},
			Health:   Health{EjectAfter: 5, EjectFor: time.Second},
			Retry:    Retry{Attempts: 2, Budget: 0.2, MinPerSecond: 3, On: RetryConnectFailure},
		})
		key := uint64(1)
		allocs := testing.AllocsPerRun(1000, func() {
			key = key*6364136223846793005 + 1442695040888963407
			tg, _ := c.Select(key, nil, t0)
			c.Done(tg, Success, t0)
			if c.AllowRetry(t0) {
				tg, _ = c.Select(key, tg, t0)
				c.Done(tg, Success, t0)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocs per Select+Done", bal, allocs)
		}
	}
}

package breaker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is an arbitrary, realistic start time for the injected clock.
const t0 = int64(1_700_000_000) * int64(time.Second)

const (
	ms  = int64(time.Millisecond)
	sec = int64(time.Second)
)

// recorder collects OnTransition calls.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) hook(from, to State) {
	r.mu.Lock()
	r.got = append(r.got, from.String()+">"+to.String())
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.got
	r.got = nil
	return g
}

func newTest(cfg Config) (*Breaker, *recorder) {
	r := &recorder{}
	cfg.OnTransition = r.hook
	return New(cfg), r
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConsecutiveFailuresOpen(t *testing.T) {
	b, r := newTest(Config{ConsecutiveFailures: 3, RecoveryTimeout: 10 * time.Second, HalfOpenProbes: 1})
	now := t0
	// Two failures, then a success: the streak resets.
	for _, o := range []Outcome{Failure, Failure, Success, Failure, Failure} {
		if !b.Allow(now) {
			t.Fatal("closed breaker refused")
		}
		b.Record(o, now)
	}
	if b.State() != Closed {
		t.Fatalf("state %v after a broken streak, want closed", b.State())
	}
	b.Allow(now)
	b.Record(Failure, now) // third in a row
	if b.State() != Open || !eq(r.take(), []string{"closed>open"}) {
		t.Fatalf("state %v, want open after 3 consecutive failures", b.State())
	}
	if b.Allow(now + 9*sec) {
		t.Fatal("open breaker admitted a request before the recovery timeout")
	}
	if got := b.RetryIn(now + 4*sec); got != 6*time.Second {
		t.Fatalf("RetryIn = %v, want 6s", got)
	}
	if b.Counts() != (Counts{Opened: 1}) {
		t.Fatalf("counts %+v", b.Counts())
	}
}

func TestRatioOpensOnlyAfterMinRequests(t *testing.T) {
	cfg := Config{FailureRatio: 0.5, MinRequests: 10, Window: 10 * time.Second}
	b, r := newTest(cfg)
	now := t0
	// 4 failures out of 4: a high ratio, but too few requests to trust.
	for range 4 {
		b.Allow(now)
		b.Record(Failure, now)
	}
	if b.State() != Closed {
		t.Fatal("opened before min_requests")
	}
	// 5 successes: 4/9 failed.
	for range 5 {
		b.Allow(now)
		b.Record(Success, now)
	}
	// One more failure: 5/10 = 0.5 reaches the ratio.
	b.Allow(now)
	b.Record(Failure, now)
	if b.State() != Open || !eq(r.take(), []string{"closed>open"}) {
		t.Fatalf("state %v, want open at 5/10 failed", b.State())
	}
}

func TestRatioWindowSlides(t *testing.T) {
	b, _ := newTest(Config{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second})
	now := t0
	// Three failures early on ...
	for range 3 {
		b.Record(Failure, now)
	}
	// ... and 11s later they have left the window: 1 failure out of 4 now.
	now += 11 * sec
	for range 3 {
		b.Record(Success, now)
	}
	b.Record(Failure, now)
	if b.State() != Closed {
		t.Fatal("old failures still counted after the window slid past them")
	}
	// Newer failures do count: 2/5, then 3/6 reaches the ratio.
	b.Record(Failure, now+sec)
	if b.State() != Closed {
		t.Fatal("opened at 2/5")
	}
	b.Record(Failure, now+sec)
	if b.State() != Open {
		t.Fatalf("state %v, want open at 3/6", b.State())
	}
}

func TestHalfOpenCycle(t *testing.T) {
	cases := []struct {
		name  string
		probe []Outcome // outcomes of the admitted probes, in order
		want  State
		hooks []string
	}{
		// Every probe succeeds: the breaker closes after the third.
		{"all succeed", []Outcome{Success, Success, Success}, Closed, []string{"open>half-open", "half-open>closed"}},
		// One failure re-opens at once.
		{"one fails", []Outcome{Success, Failure}, Open, []string{"open>half-open", "half-open>open"}},
		// A cancelled probe is neither: the round goes on.
		{"cancelled", []Outcome{Success, Cancelled, Success}, HalfOpen, []string{"open>half-open"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, r := newTest(Config{ConsecutiveFailures: 1, RecoveryTimeout: 5 * time.Second, HalfOpenProbes: 3})
			b.Record(Failure, t0)
			r.take()
			now := t0 + 5*sec
			if b.RetryIn(now) != 0 {
				t.Fatalf("RetryIn at the recovery time = %v", b.RetryIn(now))
			}
			for i, o := range tc.probe {
				if !b.Allow(now) {
					t.Fatalf("probe %d refused", i)
				}
				b.Record(o, now)
			}
			if b.State() != tc.want || !eq(r.take(), tc.hooks) {
				t.Fatalf("state %v, want %v", b.State(), tc.want)
			}
		})
	}
}

func TestHalfOpenLimitsConcurrentProbes(t *testing.T) {
	b, _ := newTest(Config{ConsecutiveFailures: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 2})
	b.Record(Failure, t0)
	now := t0 + sec
	for i := range 2 {
		if !b.Allow(now) {
			t.Fatalf("probe %d refused", i)
		}
	}
	if b.Allow(now) {
		t.Fatal("a third concurrent probe was admitted")
	}
	b.Record(Cancelled, now) // frees a slot
	if !b.Allow(now) {
		t.Fatal("the freed slot was not reused")
	}
	// A late success with no probe outstanding cannot over-count.
	b.Record(Success, now)
	b.Record(Success, now)
	if b.State() != Closed {
		t.Fatalf("state %v after two probe successes", b.State())
	}
}

// TestHalfOpenRoundRestarts: if no probe reports back for a recovery
// timeout, the breaker starts a new round instead of refusing forever.
func TestHalfOpenRoundRestarts(t *testing.T) {
	b, r := newTest(Config{ConsecutiveFailures: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 1})
	b.Record(Failure, t0)
	now := t0 + sec
	if !b.Allow(now) || b.Allow(now+999*ms) {
		t.Fatal("want one probe, then refusals")
	}
	if !b.Allow(now + sec) {
		t.Fatal("round not restarted after a silent recovery timeout")
	}
	if got := r.take(); !eq(got, []string{"closed>open", "open>half-open"}) {
		t.Fatalf("hooks %v: a restarted round is not a transition", got)
	}
}

// TestClosingResetsTheWindow: failures from before the breaker opened do not
// re-open it right after it closes.
func TestClosingResetsTheWindow(t *testing.T) {
	b, _ := newTest(Config{FailureRatio: 0.5, MinRequests: 4, RecoveryTimeout: time.Second, HalfOpenProbes: 1})
	for range 4 {
		b.Record(Failure, t0)
	}
	if b.State() != Open {
		t.Fatal("not open")
	}
	now := t0 + sec
	b.Allow(now)
	b.Record(Success, now)
	if b.State() != Closed {
		t.Fatal("not closed")
	}
	b.Record(Failure, now+sec)
	if b.State() != Closed {
		t.Fatal("one failure after closing re-opened: the old window still counts")
	}
}

func TestLateResultsWhileOpenAreIgnored(t *testing.T) {
	b, r := newTest(Config{ConsecutiveFailures: 1, RecoveryTimeout: time.Second})
	b.Record(Failure, t0)
	b.Record(Failure, t0)
	b.Record(Success, t0)
	b.Record(Cancelled, t0)
	if b.State() != Open || len(r.take()) != 1 {
		t.Fatal("late results changed an open breaker")
	}
}

func TestNilTriggersNeverOpen(t *testing.T) {
	b := New(Config{})
	for range 1000 {
		b.Record(Failure, t0)
	}
	if b.State() != Closed {
		t.Fatal("a breaker with no trigger opened")
	}
}

// TestTransitionHookOncePerTransition: many goroutines failing at once make
// exactly one closed>open transition.
func TestTransitionHookOncePerTransition(t *testing.T) {
	var opened atomic.Int32
	b := New(Config{ConsecutiveFailures: 5, FailureRatio: 0.1, MinRequests: 5, OnTransition: func(from, to State) {
		if to == Open {
			opened.Add(1)
		}
	}})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 200 {
				if b.Allow(t0) {
					b.Record(Failure, t0)
				}
			}
		})
	}
	wg.Wait()
	if opened.Load() != 1 || b.Counts().Opened != 1 {
		t.Fatalf("hook ran %d times, counts %+v; want exactly 1", opened.Load(), b.Counts())
	}
}

// TestHalfOpenProbeRace: with many goroutines hammering a half-open breaker,
// never more than HalfOpenProbes requests are in flight.
func TestHalfOpenProbeRace(t *testing.T) {
	const probes = 3
	b := New(Config{ConsecutiveFailures: 1, RecoveryTimeout: time.Second, HalfOpenProbes: probes})
	b.Record(Failure, t0)
	now := t0 + sec
	var inFlight, peak, admitted atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 2000 {
				if !b.Allow(now) {
					continue
				}
				admitted.Add(1)
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				inFlight.Add(-1)
				b.Record(Cancelled, now) // keep the breaker half-open
			}
		})
	}
	wg.Wait()
	if peak.Load() > probes {
		t.Fatalf("%d probes in flight at once, limit %d", peak.Load(), probes)
	}
	if admitted.Load() < probes || b.State() != HalfOpen {
		t.Fatalf("admitted %d, state %v", admitted.Load(), b.State())
	}
}

func TestAllowRecordDoNotAllocate(t *testing.T) {
	b := New(Config{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20})
	now := t0
	allocs := testing.AllocsPerRun(1000, func() {
		now += ms
		if b.Allow(now) {
			b.Record(Success, now)
		}
		if b.Allow(now) {
			b.Record(Failure, now)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per Allow+Record", allocs)
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half-open", 7: "unknown"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

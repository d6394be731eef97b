package limiter

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hammer runs f on g goroutines at once and waits for them.
func hammer(g int, f func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range g {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

func TestConcurrentHotKey(t *testing.T) {
	t.Run("frozen clock: the burst", func(t *testing.T) {
		l := mustNew(t, Config{Rate: 1, Per: time.Second, Burst: 1000})
		var admitted atomic.Int64
		hammer(8, func(int) {
			for range 1000 {
				if l.Allow(99, t0).Allowed {
					admitted.Add(1)
				}
			}
		})
		// Goroutines that insert the same new key at once may each admit
		// one request before the copies merge (doc.go: at most one extra
		// per racing goroutine); after that, nothing but the burst. Seen in
		// CI: 1001.
		if n := admitted.Load(); n < 1000 || n > 1000+7 {
			t.Fatalf("admitted %d of 8000, want the burst of 1000 (+ at most 7 racing inserts)", n)
		}
	})

	t.Run("shared ticking clock", func(t *testing.T) {
		// 1000/s, burst 10; every call moves the clock 1µs, so 160,000
		// calls span 160ms: 10 + 160 tokens.
		l := mustNew(t, Config{Rate: 1000, Per: time.Second, Burst: 10})
		var clock, admitted atomic.Int64
		clock.Store(t0)
		hammer(8, func(int) {
			for range 20_000 {
				if l.Allow(99, clock.Add(1000)).Allowed {
					admitted.Add(1)
				}
			}
		})
		// Callers' clocks interleave out of order, which can only make the
		// limiter stricter, and only by a token or two.
		if n := admitted.Load(); n > 171 || n < 168 {
			t.Fatalf("admitted %d, want 170 (+1/-2)", n)
		}
	})
}

func TestConcurrentManyKeys(t *testing.T) {
	// 8 goroutines with 200 keys each, sharing the table's sets: every key
	// gets exactly its burst.
	l := mustNew(t, Config{Rate: 1, Per: time.Second, Burst: 5})
	var perKey [8][200]atomic.Int64
	hammer(8, func(g int) {
		for round := range 7 {
			for k := range 200 {
				if l.Allow(uint64(g*1000+k+1)*0xff51afd7ed558ccd, t0+int64(round)).Allowed {
					perKey[g][k].Add(1)
				}
			}
		}
	})
	for g := range perKey {
		for k := range perKey[g] {
			if n := perKey[g][k].Load(); n != 5 {
				t.Fatalf("goroutine %d key %d: admitted %d, want 5", g, k, n)
			}
		}
	}
}

// TestRealTimeConcurrent runs the limiter on the real clock from four
// goroutines for 300ms: the total admitted must match the rate over the
// span of the clock readings used. The burst covers 100ms, so a goroutine
// descheduled by a busy machine loses no tokens.
func TestRealTimeConcurrent(t *testing.T) {
	const rate, burst = 2000, 200
	l := mustNew(t, Config{Rate: rate, Per: time.Second, Burst: burst})
	var admitted, first, last atomic.Int64
	first.Store(math.MaxInt64)
	deadline := time.Now().Add(300 * time.Millisecond).UnixNano()
	hammer(4, func(int) {
		lo, hi := int64(math.MaxInt64), int64(0)
		for {
			now := time.Now().UnixNano()
			if now > deadline {
				break
			}
			lo, hi = min(lo, now), max(hi, now)
			if l.Allow(5, now).Allowed {
				admitted.Add(1)
			}
		}
		for f := first.Load(); lo < f && !first.CompareAndSwap(f, lo); f = first.Load() {
		}
		for h := last.Load(); hi > h && !last.CompareAndSwap(h, hi); h = last.Load() {
		}
	})
	span := time.Duration(last.Load() - first.Load())
	want := burst + rate*span.Seconds()
	n := float64(admitted.Load())
	if n > want+1 || n < want*0.97 {
		t.Fatalf("admitted %.0f over %s, want %.0f (-3%%, +1)", n, span, want)
	}
}

func TestDuplicateCopiesKeepTheMoreDrained(t *testing.T) {
	// The aftermath of two racing inserts, laid out by hand: the copy in
	// way 0 became visible last with one token spent, the copy in way 2
	// has served 8 of 10.
	l := mustNew(t, Config{Rate: 10, Per: time.Second, Burst: 10, MaxKeys: 8})
	const key = 77
	st := &l.sets[0]
	st.keys[0].Store(key)
	st.states[0].Store(pack(0, t0+int64(100*time.Millisecond)))
	st.keys[2].Store(key)
	st.states[2].Store(pack(0, t0+int64(800*time.Millisecond)))
	if d := l.Allow(key, t0); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("got %+v, want the drained copy's last-but-one token", d)
	}
	if n := resident(l); n != 1 || st.keys[2].Load() != key {
		t.Fatalf("%d copies left, way 2 holds %#x; want only way 2", n, st.keys[2].Load())
	}
}

func TestConcurrentNewKeyRace(t *testing.T) {
	// 8 goroutines meet 300 brand-new keys at the same instant: each
	// racing insert may cost one extra request, never a second bucket.
	const g, burst = 8, 10
	l := mustNew(t, Config{Rate: 1, Per: time.Second, Burst: burst})
	var perKey [300]atomic.Int64
	hammer(g, func(int) {
		for k := range perKey {
			for range 2 * burst {
				if l.Allow(uint64(k+1)*0xc4ceb9fe1a85ec53, t0).Allowed {
					perKey[k].Add(1)
				}
			}
		}
	})
	for k := range perKey {
		if n := perKey[k].Load(); n < burst || n > burst+g-1 {
			t.Fatalf("key %d: admitted %d, want %d..%d", k, n, burst, burst+g-1)
		}
	}
}

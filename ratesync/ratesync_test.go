package ratesync

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/internal/redistest"
	"github.com/sluicehq/sluice/limiter"
)

// waitFor polls cond until it holds or d has passed.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-time.After(5 * time.Millisecond)
	}
}

func redisBlock(addr, onFailure string) config.Redis {
	return config.Redis{
		Addresses:    []string{addr},
		SyncInterval: config.Duration(20 * time.Millisecond),
		Timeout:      config.Duration(time.Second),
		OnFailure:    onFailure,
		Instances:    1,
		KeyPrefix:    "test:",
	}
}

// instance is one simulated gateway instance's limit.
func instance(t *testing.T, r config.Redis, lc limiter.Config) *Syncer {
	t.Helper()
	lim, err := limiter.New(lc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Name: "shared", Redis: r, Limiter: lim, Limit: lc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// offer sends requests for key to the syncers in turn at rate per second
// for d and returns how many each admitted, how many were refused for
// unavailability, and how many one bucket of lc would have admitted at the
// same instants: the reference, which a stalled test process (a loaded
// machine, -race) shifts exactly as it shifts the instances.
func offer(ss []*Syncer, lc limiter.Config, key uint64, rate int, d time.Duration) (admitted []int64, unavailable, ref int64) {
	admitted = make([]int64, len(ss))
	one, _ := limiter.New(lc)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
		<-tick.C
		now := time.Now().UnixNano()
		if one.Allow(key, now).Allowed {
			ref++
		}
		dec, down := ss[i%len(ss)].Allow(key, now)
		if down {
			unavailable++
		} else if dec.Allowed {
			admitted[i%len(ss)]++
		}
	}
	return admitted, unavailable, ref
}

func sum(xs []int64) (n int64) {
	for _, x := range xs {
		n += x
	}
	return n
}

func synced(ss ...*Syncer) func() bool {
	return func() bool {
		for _, s := range ss {
			if !s.Status().OK || s.instances.Load() != int64(len(ss)) {
				return false
			}
		}
		return true
	}
}

// Two instances, one key, requests alternating between them at four times
// the rate: together they admit the burst plus the rate, not twice that.
func TestTwoInstancesShareOneLimit(t *testing.T) {
	srv := redistest.Start(t)
	lc := limiter.Config{Rate: 100, Per: time.Second, Burst: 20}
	a, b := instance(t, redisBlock(srv.Addr, "open"), lc), instance(t, redisBlock(srv.Addr, "open"), lc)
	waitFor(t, 5*time.Second, "both instances synchronised", synced(a, b))

	const window = 2 * time.Second
	got, _, want := offer([]*Syncer{a, b}, lc, 42, 400, window)
	// Local limits would admit about 2×want. The cluster may overshoot by
	// what one instance admits before the other hears of it (one sync
	// interval plus a round trip at the rate, ~3 here, per change of
	// pace); a loaded machine delays rounds, so allow 10%.
	if n := sum(got); n < want*9/10 || n > want*11/10 {
		t.Fatalf("admitted %d (%v) in %v; one bucket: %d; want that ±10%%", n, got, window, want)
	}
	if got[0] == 0 || got[1] == 0 {
		t.Fatalf("admitted %v: both instances should have taken a share", got)
	}
}

// Redis goes away: each instance falls back to its share (1/2 of the rate),
// says so in its status, and synchronises again once Redis is back.
func TestFailOpenOnShareAndRecover(t *testing.T) {
	srv := redistest.Start(t)
	lc := limiter.Config{Rate: 100, Per: time.Second, Burst: 10}
	a, b := instance(t, redisBlock(srv.Addr, "open"), lc), instance(t, redisBlock(srv.Addr, "open"), lc)
	waitFor(t, 5*time.Second, "both instances synchronised", synced(a, b))

	srv.Kill()
	waitFor(t, 5*time.Second, "the failure noticed", func() bool { return !a.Status().OK && !b.Status().OK })
	if m := a.mode.Load(); m != 2 {
		t.Fatalf("mode while Redis is down = %d, want a cost of 2 tokens (one of two instances)", m)
	}
	// Only a offers, at 4× the rate: it alone enforces half the rate
	// (plus half its burst).
	const window = 2 * time.Second
	half := lc
	half.Rate, half.Burst = lc.Rate/2, lc.Burst/2
	got, down, want := offer([]*Syncer{a}, half, 7, 400, window)
	if down != 0 || got[0] < want*85/100 || got[0] > want*115/100 {
		t.Fatalf("failing open admitted %d (%d unavailable) in %v, want %d ±15%%", got[0], down, window, want)
	}
	if st := a.Status(); st.OK || st.Detail == "" {
		t.Fatalf("status while down = %+v", st)
	}

	srv.Restart(t)
	waitFor(t, 10*time.Second, "synchronisation resumed", synced(a, b))
	// Synchronised again: alternating traffic shares the full rate.
	got, _, want = offer([]*Syncer{a, b}, lc, 8, 400, window)
	// Never over; under by more than 10% only when a round timed out on
	// this loaded machine and the instances spent a moment on their shares.
	if n := sum(got); n < want*85/100 || n > want*11/10 {
		t.Fatalf("after recovery admitted %d (%v), want %d -15%%..+10%%", n, got, want)
	}
}

func TestFailClosed(t *testing.T) {
	srv := redistest.Start(t)
	lc := limiter.Config{Rate: 100, Per: time.Second}
	a := instance(t, redisBlock(srv.Addr, "closed"), lc)
	waitFor(t, 5*time.Second, "synchronised", synced(a))
	if _, down := a.Allow(1, time.Now().UnixNano()); down {
		t.Fatal("unavailable while Redis is up")
	}
	srv.Kill()
	waitFor(t, 5*time.Second, "the failure noticed", func() bool { return !a.Status().OK })
	if _, down := a.Allow(1, time.Now().UnixNano()); !down {
		t.Fatal("on_failure closed admitted a request while Redis is down")
	}
	srv.Restart(t)
	waitFor(t, 10*time.Second, "recovered", synced(a))
	if d, down := a.Allow(1, time.Now().UnixNano()); down || !d.Allowed {
		t.Fatalf("after recovery: %+v, unavailable %v", d, down)
	}
}

// Close deregisters the instance, so the others' shares grow back, and
// leaves no goroutine behind.
func TestCloseDeregistersAndStops(t *testing.T) {
	srv := redistest.Start(t)
	before := runtime.NumGoroutine()
	lc := limiter.Config{Rate: 10, Per: time.Second}
	r := redisBlock(srv.Addr, "open")
	a := instance(t, r, lc)
	b := instance(t, r, lc)
	waitFor(t, 5*time.Second, "both counted", synced(a, b))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a alone counted", synced(a))
	a.Close()
	waitFor(t, 5*time.Second, "goroutines gone", func() bool { return runtime.NumGoroutine() <= before })

	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	if n, err := c.ZCard(context.Background(), "test:rl:shared:instances").Result(); err != nil || n != 0 {
		t.Fatalf("instances left registered: %d, %v", n, err)
	}
}

// The pending table loses and invents nothing under concurrent adds and
// drains.
func TestPendingCountsExactly(t *testing.T) {
	p := newPending(64)
	const workers, per, keys = 4, 5000, 40
	var wg sync.WaitGroup
	var dropped atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				key := uint64((w*per+i)%keys+1) * 0x9e3779b97f4a7c15 // spread like real hashed keys
				if !p.add(key, true) {
					dropped.Add(1)
				}
			}
		}()
	}
	var total uint64
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		p.drain(func(_, n uint64, _ bool) { total += n })
	}
	p.drain(func(_, n uint64, _ bool) { total += n })
	if total+uint64(dropped.Load()) != workers*per {
		t.Fatalf("counted %d + dropped %d, want %d", total, dropped.Load(), workers*per)
	}
	if dropped.Load() != 0 {
		t.Fatalf("dropped %d with room for every key", dropped.Load())
	}
}

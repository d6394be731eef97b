package limiter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// t0 is an arbitrary unix-nanosecond start for the injected clock.
const t0 = int64(1_700_000_000_000_000_000)

func mustNew(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // "" = valid; else the error's prefix
	}{
		{"minimal, defaults fill burst and max keys", Config{Rate: 1, Per: time.Second}, ""},
		{"fastest allowed: one per microsecond", Config{Rate: 1_000_000, Per: time.Second}, ""},
		{"too fast for nanosecond rounding", Config{Rate: 1_000_001, Per: time.Second}, "Rate: 1000001 per 1s is more than one per 1µs"},
		{"no rate", Config{Per: time.Second}, "Rate: must be > 0"},
		{"negative rate", Config{Rate: -1, Per: time.Second}, "Rate: must be > 0"},
		{"no period", Config{Rate: 1}, "Per: must be > 0"},
		{"negative burst", Config{Rate: 1, Per: time.Second, Burst: -2}, "Burst: must be > 0"},
		{"window over the bound", Config{Rate: 1, Per: 24 * time.Hour, Burst: 1000}, "Burst: 1000 tokens at one per 24h0m0s"},
		{"window just under the bound", Config{Rate: 1, Per: 24 * time.Hour, Burst: 400}, ""},
		{"negative max keys", Config{Rate: 1, Per: time.Second, MaxKeys: -1}, "MaxKeys: must be between 1"},
		{"max keys over the bound", Config{Rate: 1, Per: time.Second, MaxKeys: MaxMaxKeys + 1}, "MaxKeys: must be between 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ce *ConfigError
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, ErrConfig) || !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConfigError %q… wrapping ErrConfig", err, tc.want)
			}
			if _, err := New(tc.cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("New: got %v", err)
			}
		})
	}
}

func TestBurstThenRefill(t *testing.T) {
	// 10 per second, bucket of 5: T = 100ms, τ = 500ms.
	l := mustNew(t, Config{Rate: 10, Per: time.Second, Burst: 5})
	const key = 42
	for i := range 5 {
		d := l.Allow(key, t0)
		want := Decision{Allowed: true, Limit: 5, Remaining: int64(4 - i), Reset: time.Duration(i+1) * 100 * time.Millisecond}
		if d != want {
			t.Fatalf("request %d: got %+v, want %+v", i, d, want)
		}
	}
	// The bucket is empty: rejected, full again in 500ms, next token in 100ms.
	d := l.Allow(key, t0)
	if want := (Decision{Limit: 5, Reset: 500 * time.Millisecond, RetryAfter: 100 * time.Millisecond}); d != want {
		t.Fatalf("over the burst: got %+v, want %+v", d, want)
	}
	// A rejection costs nothing: 250ms later two tokens are back.
	for i, want := range []bool{true, true, false} {
		if d := l.Allow(key, t0+int64(250*time.Millisecond)); d.Allowed != want {
			t.Fatalf("after 250ms, request %d: got %+v", i, d)
		}
	}
	// After a quiet spell longer than τ the bucket is full, not fuller.
	now := t0 + int64(time.Hour)
	for i := range 6 {
		if d := l.Allow(key, now); d.Allowed != (i < 5) {
			t.Fatalf("after an hour, request %d: got %+v", i, d)
		}
	}
}

func TestExactRefillTiming(t *testing.T) {
	// 3 per second: T = ⌈1e9/3⌉ = 333,333,334ns, not a whole millisecond.
	l := mustNew(t, Config{Rate: 3, Per: time.Second, Burst: 1})
	const key = 7
	const T = 333_333_334
	if !l.Allow(key, t0).Allowed {
		t.Fatal("first request rejected")
	}
	now := t0
	for i := range 5 {
		// One nanosecond early: rejected, and told to wait exactly 1ns.
		d := l.Allow(key, now+T-1)
		if d.Allowed || d.RetryAfter != 1 || d.Reset != 1 {
			t.Fatalf("round %d, 1ns early: got %+v", i, d)
		}
		// On time: admitted, bucket empty again for exactly T.
		now += T
		d = l.Allow(key, now)
		if !d.Allowed || d.Remaining != 0 || d.Reset != T {
			t.Fatalf("round %d, on time: got %+v", i, d)
		}
	}
}

func TestAccuracyOverTenSeconds(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		every time.Duration // gap between requests of the steady load
	}{
		// 10x over a small per-second limit.
		{"100/s, burst 50, 1000 req/s", Config{Rate: 100, Per: time.Second, Burst: 50}, time.Millisecond},
		// An interval that is not a whole number of nanoseconds.
		{"70 per 3s, burst 2, 100 req/s", Config{Rate: 70, Per: 3 * time.Second, Burst: 2}, 10 * time.Millisecond},
		// Just over the limit: most requests land right after a refill.
		{"1000/s, burst 10, 1100 req/s", Config{Rate: 1000, Per: time.Second, Burst: 10}, time.Second / 1100},
		// A high rate, twice over.
		{"20000/s, default burst, 40000 req/s", Config{Rate: 20000, Per: time.Second}, 25 * time.Microsecond},
		// A per-minute limit, arrivals off any round number.
		{"600/min, burst 100, ~40 req/s", Config{Rate: 600, Per: time.Minute, Burst: 100}, 25*time.Millisecond + 13},
	}
	const span = 10 * time.Second
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := mustNew(t, tc.cfg)
			cfg := tc.cfg.withDefaults()
			var admitted int64
			for now := t0; now < t0+int64(span); now += int64(tc.every) {
				if l.Allow(1, now).Allowed {
					admitted++
				}
			}
			want := float64(cfg.Rate)*float64(span)/float64(cfg.Per) + float64(cfg.Burst)
			if diff := float64(admitted) - want; diff > want/100 || diff < -want/100 {
				t.Fatalf("admitted %d, want %.1f ± 1%%", admitted, want)
			}
		})
	}
}

func TestEviction(t *testing.T) {
	// MaxKeys 8: a single set, so every key competes for the same slots.
	cfg := Config{Rate: 10, Per: time.Second, Burst: 10, MaxKeys: 8}

	t.Run("fullest bucket goes first", func(t *testing.T) {
		l := mustNew(t, cfg)
		// Keys 1..8 spend 1..8 tokens: key 1's bucket is the fullest.
		for k := uint64(1); k <= 8; k++ {
			for range k {
				l.Allow(k, t0)
			}
		}
		l.Allow(100, t0) // a ninth key takes key 1's slot
		// Key 1 comes back with a fresh bucket (the accepted relaxation);
		// to get a slot it evicts the now fullest bucket, key 100's.
		if d := l.Allow(1, t0); d.Remaining != 9 {
			t.Fatalf("evicted key 1: got %+v, want a fresh bucket", d)
		}
		// Key 8 kept its state: two tokens left.
		if d := l.Allow(8, t0); d.Remaining != 1 {
			t.Fatalf("key 8: got %+v, want 1 token left", d)
		}
	})

	t.Run("idle full bucket before a drained one", func(t *testing.T) {
		l := mustNew(t, cfg)
		// Key 1 is drained at t0+2s; keys 2..8 were used at t0 and are full
		// again by then.
		for k := uint64(2); k <= 8; k++ {
			l.Allow(k, t0)
		}
		late := t0 + int64(2*time.Second)
		for range 10 {
			l.Allow(1, late)
		}
		// Seven newcomers take the seven idle slots, never key 1's.
		for k := uint64(200); k < 207; k++ {
			l.Allow(k, late)
		}
		if d := l.Allow(1, late); d.Allowed {
			t.Fatalf("drained key 1 was evicted: %+v", d)
		}
	})

	t.Run("a flood cannot evict a limited client", func(t *testing.T) {
		l := mustNew(t, Config{Rate: 10, Per: time.Second, Burst: 10, MaxKeys: 1024})
		const honest = 0xdecaf
		for range 10 {
			l.Allow(honest, t0)
		}
		// 100,000 made-up keys, one request each, all at the same instant:
		// each of their buckets is fuller than the honest one.
		for k := uint64(1); k <= 100_000; k++ {
			l.Allow(k*0x9e3779b97f4a7c15, t0)
		}
		if d := l.Allow(honest, t0); d.Allowed || d.RetryAfter != 100*time.Millisecond {
			t.Fatalf("honest key after the flood: got %+v, want still limited", d)
		}
	})
}

// TestFloodCannotResetALimitedKeyAtAnyBurst pins issue 12: with burst 1 a
// made-up key's bucket, drained a moment ago, needs longer to refill than
// the bucket of a client refused earlier, so ranking slots by refill time
// alone evicted the limited client and 100,000 one-off keys reset it.
func TestFloodCannotResetALimitedKeyAtAnyBurst(t *testing.T) {
	for _, burst := range []int64{1, 2, 3, 10} {
		t.Run(fmt.Sprintf("burst %d", burst), func(t *testing.T) {
			// The config: one request per hour, 1024 keys.
			l := mustNew(t, Config{Rate: 1, Per: time.Hour, Burst: burst, MaxKeys: 1024})
			const victim = 0xdecaf
			now := t0
			for range burst {
				if d := l.Allow(victim, now); !d.Allowed {
					t.Fatalf("victim's first requests: got %+v", d)
				}
			}
			if d := l.Allow(victim, now); d.Allowed {
				t.Fatalf("victim past its burst: got %+v, want refused", d)
			}
			// The flood arrives later and keeps arriving, so each made-up
			// bucket is more recently drained than the victim's.
			for k := uint64(1); k <= 100_000; k++ {
				now += int64(time.Millisecond)
				if d := l.Allow(k*0x9e3779b97f4a7c15, now); !d.Allowed {
					t.Fatalf("made-up key %d refused: %+v", k, d)
				}
			}
			if d := l.Allow(victim, now); d.Allowed {
				t.Fatalf("victim after the flood: got %+v, want still refused", d)
			}
		})
	}
}

func TestKeySeenOnceGoesBeforeAKeyThatCameBack(t *testing.T) {
	// MaxKeys 8: one set. Burst 1, so every bucket in it is empty and only
	// whether its key came back tells the slots apart.
	l := mustNew(t, Config{Rate: 1, Per: time.Hour, Burst: 1, MaxKeys: 8})
	for k := uint64(1); k <= 8; k++ {
		l.Allow(k, t0+int64(k)) // key 1 drained first: the fullest bucket
	}
	l.Allow(1, t0+10) // key 1 comes back, refused
	l.Allow(2, t0+10) // key 2 too
	// Two newcomers take the slots of keys 3 and 4, the fullest of those
	// seen once, not key 1's or 2's, though theirs are fuller.
	l.Allow(100, t0+20)
	l.Allow(101, t0+20)
	for k, want := range map[uint64]bool{1: true, 2: true, 3: false, 4: false, 5: true, 100: true, 101: true} {
		if got := holds(l, k); got != want {
			t.Errorf("key %d resident: %v, want %v", k, got, want)
		}
	}
}

// holds reports whether some slot of l holds key.
func holds(l *Limiter, key uint64) bool {
	for i := range l.sets {
		for w := range ways {
			if l.sets[i].keys[w].Load() == key {
				return true
			}
		}
	}
	return false
}

func TestManyKeys(t *testing.T) {
	// 2,000 keys in a default-size table each get a bucket of their own:
	// exactly Burst admitted per key.
	l := mustNew(t, Config{Rate: 1, Per: time.Second, Burst: 3})
	for round := range 4 {
		for k := uint64(1); k <= 2000; k++ {
			d := l.Allow(k*0xff51afd7ed558ccd, t0)
			if d.Allowed != (round < 3) || d.Remaining != int64(max(2-round, 0)) {
				t.Fatalf("key %d round %d: got %+v", k, round, d)
			}
		}
	}
}

func TestZeroKeyIsUsable(t *testing.T) {
	l := mustNew(t, Config{Rate: 1, Per: time.Second, Burst: 2})
	for i, want := range []bool{true, true, false} {
		if d := l.Allow(0, t0); d.Allowed != want {
			t.Fatalf("request %d: got %+v", i, d)
		}
	}
}

func TestClockWrapAndSkew(t *testing.T) {
	cfg := Config{Rate: 10, Per: time.Second, Burst: 2}

	t.Run("across a 2^59 boundary", func(t *testing.T) {
		l := mustNew(t, cfg)
		now := int64(5<<59) - int64(50*time.Millisecond)
		l.Allow(1, now)
		l.Allow(1, now)
		if l.Allow(1, now+int64(99*time.Millisecond)).Allowed {
			t.Fatal("admitted before the refill")
		}
		if d := l.Allow(1, now+int64(100*time.Millisecond)); !d.Allowed || d.Reset != 200*time.Millisecond {
			t.Fatalf("after the refill: got %+v", d)
		}
	})

	t.Run("a caller whose clock lags is limited, not refilled", func(t *testing.T) {
		l := mustNew(t, cfg)
		l.Allow(1, t0)
		l.Allow(1, t0)
		// A loop whose coarse clock is 5ms behind sees more debt than τ.
		if d := l.Allow(1, t0-int64(5*time.Millisecond)); d.Allowed || d.RetryAfter != 105*time.Millisecond {
			t.Fatalf("lagging clock: got %+v", d)
		}
	})

	t.Run("a state from before a wrap-around reads as full", func(t *testing.T) {
		l := mustNew(t, cfg)
		l.Allow(1, t0)
		l.Allow(1, t0)
		// 2^59 ns later (18 years) the 59-bit TAT looks 200ms ahead; 2^59
		// minus one hour later it looks an hour ahead, which no clock skew
		// explains: full.
		if d := l.Allow(1, t0+1<<59-int64(time.Hour)); !d.Allowed || d.Remaining != 1 {
			t.Fatalf("ancient state: got %+v", d)
		}
	})
}

func TestAllowDoesNotAllocate(t *testing.T) {
	l := mustNew(t, Config{Rate: 100, Per: time.Second, MaxKeys: 64})
	var now, k int64 = t0, 0
	allocs := testing.AllocsPerRun(10_000, func() {
		k++
		now += 1000
		l.Allow(uint64(k%1000), now) // hits, misses and evictions
	})
	if allocs != 0 {
		t.Fatalf("Allow allocates %.1f times per call", allocs)
	}
}

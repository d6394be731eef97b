package limiter

import (
	"testing"
	"time"
)

// AllowN takes n tokens per request: a bucket of 10 at 100/s admits 3
// requests of cost 3 at once, then one per 30 ms.
func TestAllowN(t *testing.T) {
	l := mustNew(t, Config{Rate: 100, Per: time.Second, Burst: 10})
	for i := range 3 {
		if d := l.AllowN(1, t0, 3); !d.Allowed || d.Remaining != int64(10-3*(i+1)) {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.AllowN(1, t0, 3)
	if d.Allowed || d.RetryAfter != 20*time.Millisecond {
		t.Fatalf("fourth: %+v, want refused with 20ms to wait (1 token left of 3)", d)
	}
	if d := l.AllowN(1, t0+int64(20*time.Millisecond), 3); !d.Allowed {
		t.Fatalf("after 20ms: %+v", d)
	}
	// A cost beyond the bucket is refused without taking a slot.
	if d := l.AllowN(2, t0, 11); d.Allowed {
		t.Fatalf("cost 11 of a bucket of 10 admitted: %+v", d)
	}
	if d := l.Allow(2, t0); !d.Allowed || d.Remaining != 9 {
		t.Fatalf("key 2 after a refused oversize request: %+v", d)
	}
}

// Raise only ever empties a bucket, gives an unknown key a slot in
// arrears, and may push a bucket past its window (the cluster went over),
// which is then paid back before anything is admitted.
func TestRaise(t *testing.T) {
	l := mustNew(t, Config{Rate: 100, Per: time.Second, Burst: 10}) // T = 10ms, window 100ms
	l.Raise(1, t0, int64(95*time.Millisecond))
	if d := l.Allow(1, t0); d.Allowed || d.RetryAfter != 5*time.Millisecond {
		t.Fatalf("after Raise to 95ms of debt: %+v", d)
	}
	l.Raise(1, t0, int64(10*time.Millisecond)) // less than it owes: no change
	if d := l.Allow(1, t0); d.Allowed {
		t.Fatalf("a smaller Raise refilled the bucket: %+v", d)
	}
	l.Raise(1, t0, int64(150*time.Millisecond)) // over the window
	if d := l.Allow(1, t0+int64(55*time.Millisecond)); d.Allowed {
		t.Fatalf("admitted while 95ms over the window: %+v", d)
	}
	if d := l.Allow(1, t0+int64(60*time.Millisecond)); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after paying the excess back: %+v", d)
	}
	// An existing key with a full bucket, and a key never seen.
	l.Allow(2, t0)
	l.Raise(2, t0, int64(50*time.Millisecond))
	l.Raise(3, t0, int64(50*time.Millisecond))
	for _, k := range []uint64{2, 3} {
		if d := l.Allow(k, t0); !d.Allowed || d.Remaining != 4 {
			t.Fatalf("key %d after Raise to 50ms: %+v, want 4 left", k, d)
		}
	}
	l.Raise(4, t0, 0) // nothing owed: no slot taken
	if d := l.Allow(4, t0); d.Remaining != 9 {
		t.Fatalf("key 4: %+v", d)
	}
}

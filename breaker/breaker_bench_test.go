package breaker

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAllowRecord is the steady state: a closed breaker, successes.
func BenchmarkAllowRecord(b *testing.B) {
	br := New(Config{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second})
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now += 10 * int64(time.Microsecond) // 100k requests/s: slices never fill up
		if br.Allow(now) {
			br.Record(Success, now)
		}
	}
}

// BenchmarkAllowRecordParallel shares one breaker between goroutines, as
// event loops share a target's breaker; 1 request in 100 fails.
func BenchmarkAllowRecordParallel(b *testing.B) {
	br := New(Config{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second})
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		// Each goroutine's clock runs at 100k requests/s, from the same start.
		now := t0 + seq.Add(1)
		for pb.Next() {
			i++
			now += 10 * int64(time.Microsecond)
			if br.Allow(now) {
				o := Success
				if i%100 == 0 {
					o = Failure
				}
				br.Record(o, now)
			}
		}
	})
	if br.State() != Closed {
		b.Fatalf("breaker %v: the benchmark measured refusals", br.State())
	}
}

package limiter

import (
	"sync/atomic"
	"testing"
	"time"
)

// benchConfig admits about half of the calls below, so both the admit
// (CAS) and the reject path are measured.
var benchConfig = Config{Rate: 1_000_000, Per: time.Second, Burst: 100, MaxKeys: 1 << 16}

// BenchmarkAllow is one goroutine on one key.
func BenchmarkAllow(b *testing.B) {
	l := mustNew(b, benchConfig)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now += 500
		l.Allow(12345, now)
	}
}

// BenchmarkAllowParallelHotKey is every P on the same key: the CAS under
// contention.
func BenchmarkAllowParallelHotKey(b *testing.B) {
	l := mustNew(b, benchConfig)
	var clock atomic.Int64
	clock.Store(t0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow(12345, clock.Add(100))
		}
	})
}

// BenchmarkAllowParallelManyKeys is every P cycling over its own 10,000
// keys in a table of 65,536: hits spread over the table.
func BenchmarkAllowParallelManyKeys(b *testing.B) {
	l := mustNew(b, benchConfig)
	var id atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		base := id.Add(1) << 32
		now, k := t0, uint64(0)
		for pb.Next() {
			now += 50
			k = (k + 1) % 10_000
			l.Allow((base+k)*0x9e3779b97f4a7c15, now)
		}
	})
}

// BenchmarkAllowParallelFlood is every P making up a new key per call: the
// eviction path of a key-cardinality attack.
func BenchmarkAllowParallelFlood(b *testing.B) {
	l := mustNew(b, benchConfig)
	var id atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		base := id.Add(1) << 40
		now, k := t0, uint64(0)
		for pb.Next() {
			now += 50
			k++
			l.Allow((base+k)*0x9e3779b97f4a7c15, now)
		}
	})
}

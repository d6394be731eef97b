package upstream

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sluicehq/sluice/breaker"
)

func BenchmarkPick(b *testing.B) {
	c := NewCluster("x", []*Target{{Addr: "a", Weight: 2}, {Addr: "b", Weight: 1}})
	b.ReportAllocs()
	for b.Loop() {
		c.Pick()
	}
}

// benchCluster has everything on, as the default config does: breakers
// with both triggers, passive health and a retry budget.
func benchCluster(bal Balancer) *Cluster {
	return New("x", targets(1, 1, 2, 1), Config{
		Balancer:        bal,
		Breaker:         &breaker.Config{ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second, RecoveryTimeout: 10 * time.Second, HalfOpenProbes: 3},
		FailureStatuses: []int{502, 503, 504},
		Health:          Health{EjectAfter: 10, EjectFor: 30 * time.Second},
		Retry:           Retry{Attempts: 2, Budget: 0.2, MinPerSecond: 3, On: RetryConnectFailure},
	})
}

// BenchmarkSelectDone is one request's traffic-control cost on one loop.
func BenchmarkSelectDone(b *testing.B) {
	for _, bal := range []Balancer{RoundRobin, LeastRequest, ConsistentHash, Random} {
		b.Run(bal.String(), func(b *testing.B) {
			c := benchCluster(bal)
			now, key := t0, uint64(1)
			b.ReportAllocs()
			for b.Loop() {
				now += 10 * int64(time.Microsecond)
				key = key*6364136223846793005 + 1442695040888963407
				t, _ := c.Select(key, nil, now)
				c.Done(t, Success, now)
			}
		})
	}
}

// BenchmarkSelectDoneParallel shares a cluster between goroutines, as the
// event loops do.
func BenchmarkSelectDoneParallel(b *testing.B) {
	for _, bal := range []Balancer{RoundRobin, LeastRequest, ConsistentHash, Random} {
		b.Run(bal.String(), func(b *testing.B) {
			c := benchCluster(bal)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				now, key := t0, uint64(1)
				for pb.Next() {
					now += 10 * int64(time.Microsecond)
					key = key*6364136223846793005 + 1442695040888963407
					t, _ := c.Select(key, nil, now)
					c.Done(t, Success, now)
				}
			})
		})
	}
}

func BenchmarkHashKey(b *testing.B) {
	v := []byte("session-3f2a9c1e-77d0-4e55-9a0b-0c1d2e3f4a5b")
	ip := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for b.Loop() {
		_ = HashKey(v) ^ HashAddr(ip)
	}
}

// Package upstream holds clusters of upstream targets and picks one per
// request. It knows nothing about connections: the engine keeps one
// keep-alive pool per target on each event loop.
package upstream

import (
	"sync/atomic"
	"time"
)

// Target is one upstream address of a cluster. It is immutable once built.
type Target struct {
	Addr    string // host:port to dial
	Host    []byte // Host header sent upstream unless the route preserves the client's
	Weight  int    // relative share of requests; at least 1
	Cluster *Cluster
}

// Cluster is a named group of targets with the timeouts and pool limits the
// engine applies to them. It is immutable once built, except for the
// round-robin cursor, which any goroutine may advance.
type Cluster struct {
	Name            string
	Targets         []*Target
	ConnectTimeout  time.Duration // dial timeout; failure -> 502
	ResponseTimeout time.Duration // max silence while waiting for the upstream; -> 504
	MaxIdle         int           // idle keep-alive conns per target per loop; 0 disables reuse
	IdleTimeout     time.Duration // idle conns older than this are closed

	slots []*Target // targets repeated by weight, interleaved
	next  atomic.Uint64
}

// NewCluster builds a cluster and its weighted round-robin table.
func NewCluster(name string, targets []*Target) *Cluster {
	c := &Cluster{Name: name, Targets: targets}
	for _, t := range targets {
		t.Cluster = c
	}
	c.slots = interleave(targets)
	return c
}

// interleave spreads each target over the table in proportion to its weight,
// so consecutive picks alternate (a,b,a,b,a) rather than bunch up (a,a,a,b,b).
func interleave(targets []*Target) []*Target {
	total := 0
	for _, t := range targets {
		total += max(t.Weight, 1)
	}
	out := make([]*Target, 0, total)
	current := make([]int, len(targets))
	for range total {
		best := 0
		for i, t := range targets {
			current[i] += max(t.Weight, 1)
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, targets[best])
	}
	return out
}

// Pick returns the next target in weighted round-robin order. Any goroutine.
func (c *Cluster) Pick() *Target {
	n := c.next.Add(1) - 1
	return c.slots[n%uint64(len(c.slots))]
}

package upstream

import (
	"math/rand/v2"
	"time"

	"github.com/sluicehq/sluice/breaker"
)

// Select picks a target for one request. It skips targets that are
// unhealthy or whose breaker refuses; avoid (the target a retry is leaving)
// is skipped when another target is available. key is the consistent-hash
// key (see HashKey; 0 = none, which picks at random); other balancers
// ignore it. now is unix nanoseconds.
//
// Every non-nil result must be paired with exactly one Done: it holds an
// in-flight slot (and, on a half-open breaker, a probe slot). When nothing
// is available it returns nil and how long until a target may be tried
// (always > 0; round it up to whole seconds for Retry-After).
//
// A call with avoid == nil counts as a new request for the retry budget;
// a call with avoid set is taken to be a retry and does not. Any goroutine;
// lock-free, no allocation.
func (c *Cluster) Select(key uint64, avoid *Target, now int64) (*Target, time.Duration) {
	if avoid == nil && c.Retry.Attempts > 1 {
		c.budget.requests.add(now)
	}
	n := len(c.Targets)
	if n == 0 {
		return nil, time.Second
	}
	var first, second *Target
	var spin uint64 // where the fallback scan starts
	switch c.balancer {
	case ConsistentHash:
		if key != 0 {
			return c.selectHashed(key, avoid, now)
		}
		spin = rand.Uint64()
		first = c.slots[spin%uint64(len(c.slots))]
	case LeastRequest:
		// Power of two choices, each drawn by weight; on a tie the first
		// draw wins, so an idle cluster still splits by weight.
		spin = rand.Uint64()
		first = c.slots[spin%uint64(len(c.slots))]
		second = c.slots[rand.Uint64N(uint64(len(c.slots)))]
		if second == first && n > 1 {
			// Two draws of one target are no choice: take any other.
			second = c.Targets[(first.index+1+rand.IntN(n-1))%n]
		}
		if second.inFlight.Load() < first.inFlight.Load() {
			first, second = second, first
		}
	case Random:
		spin = rand.Uint64()
		first = c.slots[spin%uint64(len(c.slots))]
	default:
		spin = c.next.Add(1) - 1
		first = c.slots[spin%uint64(len(c.slots))]
	}
	if first != avoid && c.admit(first, now) {
		return first, 0
	}
	if second != nil && second != first && second != avoid && c.admit(second, now) {
		return second, 0
	}
	// The balancer's choice is out: try every other target once, starting
	// at a spot that moves with each request so the load of a target that
	// is down spreads over the rest instead of landing on its neighbour.
	for j := range n {
		t := c.Targets[(spin+uint64(j))%uint64(n)]
		if t != first && t != second && t != avoid && c.admit(t, now) {
			return t, 0
		}
	}
	return c.lastResort(avoid, now)
}

// selectHashed walks the ring from key's point to the first target that is
// available, so a key sticks to its target and, while that one is out,
// to the same stand-in.
func (c *Cluster) selectHashed(key uint64, avoid *Target, now int64) (*Target, time.Duration) {
	n := len(c.Targets)
	r := &c.ring
	i := r.find(key)
	// seen keeps the walk to one try per target (for up to 256 targets;
	// bigger clusters may try one twice, and stop after 4n points).
	var seen [4]uint64
	tried := 0
	for step := 0; step < len(r.points) && tried < n && step < 4*n+len(seen)*64; step++ {
		o := r.owners[(i+step)%len(r.points)]
		if o < 256 {
			if seen[o/64]&(1<<(o%64)) != 0 {
				continue
			}
			seen[o/64] |= 1 << (o % 64)
		}
		tried++
		if t := c.Targets[o]; t != avoid && c.admit(t, now) {
			return t, 0
		}
	}
	if tried < n { // a big cluster whose walk gave up: try everyone
		for _, t := range c.Targets {
			if t != avoid && c.admit(t, now) {
				return t, 0
			}
		}
	}
	return c.lastResort(avoid, now)
}

// lastResort gives the retry its old target back when nothing else is
// available, or reports how long until something may be.
func (c *Cluster) lastResort(avoid *Target, now int64) (*Target, time.Duration) {
	if avoid != nil && avoid.Cluster == c && c.admit(avoid, now) {
		return avoid, 0
	}
	return nil, c.waitTime(now)
}

// admit takes t for one request if it is healthy and its breaker allows.
func (c *Cluster) admit(t *Target, now int64) bool {
	if now < t.downUntil.Load() {
		return false
	}
	if t.brk != nil && !t.brk.Allow(now) {
		return false
	}
	t.inFlight.Add(1)
	return true
}

// busyWait is the wait reported for a target whose half-open probe slots
// are all taken: a probe usually answers within a second or so.
const busyWait = time.Second

// waitTime estimates how long until some target may take a request again.
func (c *Cluster) waitTime(now int64) time.Duration {
	best := time.Duration(1<<63 - 1)
	for _, t := range c.Targets {
		var d time.Duration
		switch until := t.downUntil.Load(); {
		case until == forever:
			d = max(c.health.Interval, time.Second) // the next passing check at the soonest
		case now < until:
			d = time.Duration(until - now)
		case t.brk == nil:
			d = 0
		case t.brk.State() == breaker.Open:
			d = t.brk.RetryIn(now)
		default:
			d = busyWait
		}
		best = min(best, d)
	}
	return max(best, time.Millisecond)
}

// outcomes maps a Result to what the breaker records.
var outcomes = [3]breaker.Outcome{Success: breaker.Success, Failure: breaker.Failure, Cancelled: breaker.Cancelled}

// Done reports how a request Select gave t ended: it frees t's in-flight
// slot and feeds t's breaker and passive health. now is unix nanoseconds.
// Any goroutine; lock-free, no allocation.
func (c *Cluster) Done(t *Target, r Result, now int64) {
	t.inFlight.Add(-1)
	if t.brk != nil {
		t.brk.Record(outcomes[r%3], now)
	}
	switch r {
	case Success:
		if t.fails.Load() != 0 {
			t.fails.Store(0)
		}
	case Failure:
		c.passiveFailure(t, now)
	}
}

package upstream

import (
	"fmt"
	"sync/atomic"
	"time"
)

// RetryCause is a kind of failure a retry may follow; a set of them is a
// bit mask.
type RetryCause uint8

const (
	// RetryConnectFailure: the connection to the target could not be made
	// (refused, unreachable, connect timeout), so nothing was sent.
	RetryConnectFailure RetryCause = 1 << iota
	// RetryTimeout: the target took longer than the response timeout.
	RetryTimeout
	// Retry502: the target answered 502.
	Retry502
	// Retry503: the target answered 503.
	Retry503
)

// ParseRetryCause maps a config name (connect_failure, timeout, 502, 503)
// to its RetryCause.
func ParseRetryCause(s string) (RetryCause, error) {
	switch s {
	case "connect_failure":
		return RetryConnectFailure, nil
	case "timeout":
		return RetryTimeout, nil
	case "502":
		return Retry502, nil
	case "503":
		return Retry503, nil
	}
	return 0, fmt.Errorf("upstream: unknown retry cause %q (use connect_failure, timeout, 502 or 503)", s)
}

// Retry is a cluster's retry policy. The zero value never retries.
type Retry struct {
	// Attempts is the number of tries per request, the first included:
	// 1 = no retries. New raises values below 1 to 1.
	Attempts int
	// Budget caps retries at this fraction of the requests Select saw over
	// the last RetryWindow (0.2 = at most 20% extra load).
	Budget float64
	// MinPerSecond is a floor under the budget, so a quiet cluster can
	// still retry: this many retries per second (averaged over the window)
	// are allowed whatever the ratio says.
	MinPerSecond float64
	// On is the set of causes that may be retried.
	On RetryCause
}

// RetryWindow is the span the retry budget is measured over.
const RetryWindow = 10 * time.Second

// RetryOn reports whether a failure of this cause may be retried at all
// (attempts and budget permitting). Any goroutine.
func (c *Cluster) RetryOn(cause RetryCause) bool { return c.Retry.On&cause != 0 }

// AllowRetry asks the retry budget for one retry and, if granted, spends it.
// The engine calls it before each retry, after checking RetryOn and the
// attempt count. Retries within the budget: retries over the last
// RetryWindow <= Budget × requests over it + MinPerSecond × 10. Any
// goroutine; lock-free, no allocation. Racing callers may overshoot the
// budget by one retry each.
func (c *Cluster) AllowRetry(now int64) bool {
	b := &c.budget
	if c.Retry.Attempts <= 1 {
		return false
	}
	req := b.requests.sum(now)
	ret := b.retries.sum(now)
	if (ret+1)*ppm > b.ratioPPM*req+b.floorPPM {
		b.denied.Add(1)
		return false
	}
	b.retries.add(now)
	b.allowed.Add(1)
	return true
}

// RetryStats returns how many retries AllowRetry granted and refused since
// the cluster was built, for metrics. Any goroutine.
func (c *Cluster) RetryStats() (allowed, denied uint64) {
	return c.budget.allowed.Load(), c.budget.denied.Load()
}

const ppm = 1_000_000

// budget is the retry budget's state: requests and retries per second over
// the last RetryWindow.
type budget struct {
	ratioPPM uint64 // Budget in parts per million
	floorPPM uint64 // MinPerSecond × window seconds, in millionths
	requests counterRing
	retries  counterRing
	allowed  atomic.Uint64
	denied   atomic.Uint64
}

func (b *budget) init(r Retry) {
	b.ratioPPM = uint64(max(r.Budget, 0)*ppm + 0.5)
	b.floorPPM = uint64(max(r.MinPerSecond, 0)*RetryWindow.Seconds()*ppm + 0.5)
}

// counterRing counts events per second over the last RetryWindow without
// locks: one packed word per second,
//
//	bits 40..63  second (unix time, modulo 2^24)
//	bits  0..39  count
type counterRing struct {
	slots [ringSlots]atomic.Uint64
}

const (
	ringSlots    = int64(RetryWindow / time.Second)
	ringTagShift = 40
	ringTagMask  = 1<<24 - 1
	ringCountMax = 1<<40 - 1
)

func (r *counterRing) add(now int64) {
	s := max(now, 0) / int64(time.Second)
	slot := &r.slots[s%ringSlots]
	tag := uint64(s) & ringTagMask
	for {
		old := slot.Load()
		oldTag := old >> ringTagShift
		if oldTag == tag {
			// One atomic add, no retry loop; 2^40 per second cannot fill up.
			slot.Add(1)
			return
		}
		if (tag-oldTag)&ringTagMask >= 1<<23 {
			return // the slot holds a newer second: this caller's clock lags
		}
		if slot.CompareAndSwap(old, tag<<ringTagShift|1) {
			return
		}
	}
}

func (r *counterRing) sum(now int64) uint64 {
	s := max(now, 0) / int64(time.Second)
	tag := uint64(s) & ringTagMask
	var n uint64
	for i := range r.slots {
		v := r.slots[i].Load()
		if (tag-v>>ringTagShift)&ringTagMask < uint64(ringSlots) {
			n += v & ringCountMax
		}
	}
	return n
}

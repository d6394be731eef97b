// Package breaker is a per-target circuit breaker: a lock-free state machine
// the event loops consult before each request (Allow) and feed after it
// (Record).
//
//	CLOSED ──N consecutive failures, or failure ratio ≥ R over the window──▶ OPEN
//	OPEN ──recovery timeout elapsed (next Allow)──▶ HALF_OPEN
//	HALF_OPEN ──P probe successes──▶ CLOSED
//	HALF_OPEN ──any failure──▶ OPEN
//
// All state lives in one packed atomic word (plus a ring of packed counters
// for the failure-ratio window), so Allow and Record never lock and never
// allocate; the common case, a closed breaker and a successful request, is
// a single atomic load each. Time is passed in by the caller as unix
// nanoseconds, so the gateway's coarse clock and the tests' fake clocks
// drive it alike.
//
// The package imports only the standard library and knows nothing about
// targets, HTTP or configuration files.
package breaker

import (
	"sync/atomic"
	"time"
)

// State is where a breaker is in its cycle.
type State uint8

// The three states. The zero value is Closed.
const (
	// Closed lets every request through and counts failures.
	Closed State = iota
	// Open refuses every request until the recovery timeout has passed.
	Open
	// HalfOpen lets a few probe requests through to test the target.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Outcome is what became of one request Allow admitted.
type Outcome uint8

const (
	// Success: the target answered and the answer counts as healthy.
	Success Outcome = iota
	// Failure: the target failed (connect error, timeout, failure status).
	Failure
	// Cancelled: the request ended without a verdict on the target (the
	// client went away). It frees a half-open probe slot and counts nothing.
	Cancelled
)

// MaxCount caps ConsecutiveFailures and HalfOpenProbes (the packed word
// gives each 10 bits).
const MaxCount = 1<<countBits - 1

// Config sets a breaker's thresholds. The zero value of each field is
// documented; New clamps out-of-range values rather than failing, since the
// config package has already validated what operators write.
type Config struct {
	// ConsecutiveFailures opens the breaker after this many failures in a
	// row while closed. 0 turns this trigger off; at most MaxCount.
	ConsecutiveFailures int
	// FailureRatio opens the breaker when failures/requests over Window
	// reaches it, once MinRequests requests are in the window. 0 turns this
	// trigger off; at most 1.
	FailureRatio float64
	// MinRequests is how many requests the window must hold before the
	// ratio is trusted. Values below 1 mean 1.
	MinRequests int
	// Window is the span the ratio is measured over; it slides in tenths.
	// 0 means 10s.
	Window time.Duration
	// RecoveryTimeout is how long the breaker stays open before it lets
	// probes through. 0 means 10s.
	RecoveryTimeout time.Duration
	// HalfOpenProbes is both how many probes may be in flight at once while
	// half-open and how many must succeed to close. Values below 1 mean 1;
	// at most MaxCount.
	HalfOpenProbes int
	// OnTransition, if set, is called exactly once per state change, by the
	// goroutine whose Allow or Record made it, after the change is visible.
	// It runs on that goroutine (often an event loop): keep it short and
	// never block in it.
	OnTransition func(from, to State)
}

// Counts are the transitions a breaker has made since New, for metrics.
type Counts struct {
	Opened     uint64 // transitions into Open (from Closed or HalfOpen)
	HalfOpened uint64 // transitions into HalfOpen
	Closed     uint64 // transitions from HalfOpen back to Closed
}

// Breaker is one circuit breaker. Build it with New; every method may be
// called from any goroutine.
type Breaker struct {
	// word packs the state and its fields; see pack.
	word atomic.Uint64
	// transitions[to] counts transitions into each state.
	transitions [3]atomic.Uint64

	consecutive uint64 // 0 = off
	ratioPPM    uint64 // failure ratio in parts per million; 0 = off
	minRequests uint64
	probes      uint64
	recovery    int64 // ns
	onChange    func(from, to State)
	win         window
}

// New returns a closed breaker with cfg's thresholds.
func New(cfg Config) *Breaker {
	b := &Breaker{
		consecutive: uint64(min(max(cfg.ConsecutiveFailures, 0), MaxCount)),
		minRequests: uint64(max(cfg.MinRequests, 1)),
		probes:      uint64(min(max(cfg.HalfOpenProbes, 1), MaxCount)),
		recovery:    int64(cfg.RecoveryTimeout),
		onChange:    cfg.OnTransition,
	}
	if r := min(cfg.FailureRatio, 1); r > 0 {
		b.ratioPPM = max(uint64(r*1e6+0.5), 1)
	}
	if b.recovery <= 0 {
		b.recovery = int64(10 * time.Second)
	}
	w := cfg.Window
	if w <= 0 {
		w = 10 * time.Second
	}
	b.win.width = max(int64(w)/buckets, 1)
	return b
}

// Allow reports whether a request may go to the target now. While open it
// refuses until the recovery timeout has passed; the first call after that
// moves the breaker to half-open and is the first probe. While half-open it
// admits at most HalfOpenProbes requests at a time. Every true must be
// followed by exactly one Record. Any goroutine; no allocation.
func (b *Breaker) Allow(now int64) bool {
	for {
		w := b.word.Load()
		switch stateOf(w) {
		case Closed:
			return true
		case Open:
			if now < fromMS(timeOf(w)) {
				return false
			}
			if b.word.CompareAndSwap(w, pack(HalfOpen, 1, 0, toMS(now))) {
				b.transition(Open, HalfOpen)
				return true
			}
		default: // HalfOpen
			admitted := fieldA(w)
			if admitted < b.probes {
				if b.word.CompareAndSwap(w, w+1<<aShift) {
					return true
				}
				continue
			}
			// Every slot is taken. If no verdict came back for a whole
			// recovery timeout, a probe's Record was lost (or the target
			// hangs): start a fresh round rather than stay stuck.
			if now < fromMS(timeOf(w))+b.recovery {
				return false
			}
			if b.word.CompareAndSwap(w, pack(HalfOpen, 1, 0, toMS(now))) {
				return true
			}
		}
	}
}

// Record reports the outcome of a request Allow admitted. A result that
// arrives while the breaker is open (the request started before it opened)
// is ignored. Any goroutine; no allocation.
func (b *Breaker) Record(o Outcome, now int64) {
	switch o {
	case Success:
		b.success(now)
	case Failure:
		b.failure(now)
	default:
		b.cancel()
	}
}

func (b *Breaker) success(now int64) {
	w := b.word.Load()
	if stateOf(w) == Closed {
		if b.ratioPPM != 0 {
			b.win.add(now, false)
		}
		// Reset the failure streak; the common case (no streak) writes
		// nothing, so successes do not bounce the cache line between loops.
		for stateOf(w) == Closed && fieldA(w) != 0 {
			if b.word.CompareAndSwap(w, pack(Closed, 0, 0, 0)) {
				return
			}
			w = b.word.Load()
		}
		return
	}
	for stateOf(w) == HalfOpen {
		admitted, ok := fieldA(w), fieldB(w)
		if ok >= admitted {
			return // no probe outstanding: a late result from before the breaker opened
		}
		if ok+1 >= b.probes {
			if b.word.CompareAndSwap(w, pack(Closed, 0, 0, 0)) {
				// Failures from before the breaker opened must not count
				// against the target's fresh start.
				b.win.reset(now)
				b.transition(HalfOpen, Closed)
				return
			}
		} else if b.word.CompareAndSwap(w, w+1<<bShift) {
			return
		}
		w = b.word.Load()
	}
}

func (b *Breaker) failure(now int64) {
	w := b.word.Load()
	switch stateOf(w) {
	case Open:
		return
	case HalfOpen:
		for stateOf(w) == HalfOpen {
			if b.word.CompareAndSwap(w, b.openWord(now)) {
				b.transition(HalfOpen, Open)
				return
			}
			w = b.word.Load()
		}
		return
	}
	if b.consecutive != 0 {
		for stateOf(w) == Closed {
			n := fieldA(w) + 1
			nw := pack(Closed, min(n, MaxCount), 0, 0)
			if n >= b.consecutive {
				nw = b.openWord(now)
			}
			if b.word.CompareAndSwap(w, nw) {
				if stateOf(nw) == Open {
					b.transition(Closed, Open)
					return
				}
				break
			}
			w = b.word.Load()
		}
	}
	if b.ratioPPM == 0 {
		return
	}
	b.win.add(now, true)
	req, failed := b.win.sum(now)
	if req < b.minRequests || failed*1e6 < b.ratioPPM*req {
		return
	}
	for w = b.word.Load(); stateOf(w) == Closed; w = b.word.Load() {
		if b.word.CompareAndSwap(w, b.openWord(now)) {
			b.transition(Closed, Open)
			return
		}
	}
}

// cancel frees the probe slot of a half-open request that ended without a
// verdict. A request admitted before the breaker opened and cancelled while
// it is half-open is indistinguishable from a probe, so in that rare case
// one extra probe may run.
func (b *Breaker) cancel() {
	for {
		w := b.word.Load()
		if stateOf(w) != HalfOpen || fieldA(w) <= fieldB(w) {
			return
		}
		if b.word.CompareAndSwap(w, w-1<<aShift) {
			return
		}
	}
}

// openWord is the word of a breaker that opens at now.
func (b *Breaker) openWord(now int64) uint64 {
	// Round the retry time up so a probe never goes out early.
	at := now + b.recovery
	return pack(Open, 0, 0, toMS(at+int64(time.Millisecond)-1))
}

func (b *Breaker) transition(from, to State) {
	b.transitions[to].Add(1)
	if b.onChange != nil {
		b.onChange(from, to)
	}
}

// State returns the current state. Any goroutine. An open breaker whose
// recovery timeout has passed still reads Open until the next Allow.
func (b *Breaker) State() State { return stateOf(b.word.Load()) }

// RetryIn returns how long until an open breaker lets a probe through: 0
// when it is not open or its recovery timeout has passed. Any goroutine.
func (b *Breaker) RetryIn(now int64) time.Duration {
	w := b.word.Load()
	if stateOf(w) != Open {
		return 0
	}
	return time.Duration(max(fromMS(timeOf(w))-now, 0))
}

// Counts returns the transitions made so far. Any goroutine.
func (b *Breaker) Counts() Counts {
	return Counts{
		Opened:     b.transitions[Open].Load(),
		HalfOpened: b.transitions[HalfOpen].Load(),
		Closed:     b.transitions[Closed].Load(),
	}
}

package limiter

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
)

// ways is the number of slots per set. 8 keeps a set's tags in one cache
// line and gives eviction enough choice that a flood of new keys cannot
// push out a bucket that is being drained (see the package doc).
const ways = 8

// maxSkew is how far apart the clocks of concurrent callers may be. A
// bucket further in debt than its window plus this cannot have been
// written by a caller with a sane clock (it is a state from before a 2^59 ns
// wrap-around), and reads as full.
const maxSkew = int64(time.Minute)

// spins bounds how often Allow retries while a slot it needs is being
// handed to a new key (a window of two atomic stores) before it stops
// waiting and works around the slot.
const spins = 64

// zeroKey stands in for the key 0, which marks an empty slot.
const zeroKey = 0x9e3779b97f4a7c15

// sizeofSet is the size of a set in bytes (checked by a test).
const sizeofSet = 2 * ways * 8

// set is one group of slots. Tags and states are kept apart so a look-up
// scans one cache line of tags and touches one state word.
type set struct {
	keys   [ways]atomic.Uint64 // 0: empty
	states [ways]atomic.Uint64 // see state.go
}

// Limiter is a fixed-size table of token buckets keyed by uint64. Create it
// with New; the zero value is not usable. All methods are safe for
// concurrent use from any goroutine.
type Limiter struct {
	sets     []set
	nsets    uint64
	interval int64 // T: nanoseconds per token
	window   int64 // τ = Burst·T: nanoseconds for an empty bucket to fill
	burst    int64
}

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed reports whether the request may go on.
	Allowed bool
	// Limit is the bucket size (Config.Burst): the quota that Remaining
	// counts down from and that Reset refers to. It is what belongs in
	// RateLimit-Limit.
	Limit int64
	// Remaining is the number of whole tokens left after this decision
	// (0 when rejected).
	Remaining int64
	// Reset is the time until the bucket is full again, so Remaining is
	// back to Limit if no request comes in meanwhile. Positive.
	Reset time.Duration
	// RetryAfter is the time until the next request would be admitted; 0
	// when Allowed.
	RetryAfter time.Duration
}

// New allocates a limiter for cfg (see Config for defaults). Its memory,
// Bytes(), is fixed from here on.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("limiter: %w", err)
	}
	cfg = cfg.withDefaults()
	nsets := (cfg.MaxKeys + ways - 1) / ways
	l := &Limiter{
		sets:     make([]set, nsets),
		nsets:    uint64(nsets),
		interval: int64(cfg.Interval()),
		burst:    cfg.Burst,
	}
	l.window = l.burst * l.interval
	return l, nil
}

// Capacity returns the number of buckets the table holds: MaxKeys rounded
// up to a multiple of 8.
func (l *Limiter) Capacity() int { return len(l.sets) * ways }

// Bytes returns the memory held by the table: Capacity() × BytesPerKey.
func (l *Limiter) Bytes() int { return len(l.sets) * int(sizeofSet) }

// Allow takes one token from key's bucket at time now (unix nanoseconds, or
// any monotonic nanosecond clock shared by all callers; concurrent callers'
// clocks may disagree by up to a minute). It never blocks and never
// allocates; it looks at one set of 8 slots, and under contention retries
// a failed compare-and-swap. Any goroutine.
func (l *Limiter) Allow(key uint64, now int64) Decision {
	return l.allow(key, now, l.interval)
}

// AllowN is Allow for a request that costs n tokens (n >= 1): it is
// admitted only when n tokens are left, and takes them all. A bucket of
// Burst tokens then admits Burst/n requests at once and Rate/n per Per,
// which is how a cluster limit enforces one instance's share while its
// peers are out of reach. Remaining counts tokens. Any goroutine.
func (l *Limiter) AllowN(key uint64, now, n int64) Decision {
	return l.allow(key, now, max(n, 1)*l.interval)
}

func (l *Limiter) allow(key uint64, now, cost int64) Decision {
	st, key := l.set(key)
	var d Decision
	for try := 0; !l.attempt(st, key, now, cost, try >= spins, &d); try++ {
	}
	return d
}

// set returns the set that holds key, and key with 0 folded away.
func (l *Limiter) set(key uint64) (*set, uint64) {
	if key == 0 {
		key = zeroKey
	}
	hi, _ := bits.Mul64(key, l.nsets)
	return &l.sets[hi], key
}

// attempt makes one pass at Allow, filling d. It returns false when a slot
// it relied on changed under it, and the caller should look again. (The
// decision is written through a pointer rather than returned: copying a
// struct the callee has just stored field by field defeats store
// forwarding and cost a third of Allow's time.) stubborn
// means it has waited long enough for slots being handed over: it then
// treats them as someone else's.
func (l *Limiter) attempt(st *set, key uint64, now, cost int64, stubborn bool, d *Decision) bool {
	at := -1
	var s uint64
	for i := range ways {
		if st.keys[i].Load() != key {
			continue
		}
		si := st.states[i].Load()
		if si&lockBit != 0 {
			if stubborn {
				continue
			}
			return false
		}
		if at >= 0 {
			// Two copies of key, from a race between two inserts (see
			// insert): keep the one that has seen more requests.
			l.dropFuller(st, at, i, key, now)
			return false
		}
		at, s = i, si
	}
	if at < 0 {
		return l.insert(st, key, now, cost, stubborn, d)
	}
	return l.take(&st.keys[at], &st.states[at], s, key, now, cost, d)
}

// take admits or rejects a request against the slot whose state was s.
func (l *Limiter) take(k, state *atomic.Uint64, s, key uint64, now, cost int64, out *Decision) bool {
	for {
		// The key is stored only while the state is locked, so reading it
		// after an unlocked s proves s was key's state (up to a full
		// hand-over and back within this window, which the CAS's
		// generation check catches for the admit path).
		if k.Load() != key {
			return false
		}
		d := l.debt(s, now)
		nd := d + cost
		if nd > l.window {
			// A refusal consumes nothing, but it is the clearest sign that
			// key is a client being limited: mark the slot, once.
			if s&backBit == 0 && !state.CompareAndSwap(s, s|backBit) {
				if s = state.Load(); s&lockBit != 0 {
					return false
				}
				continue
			}
			*out = Decision{Limit: l.burst, Reset: time.Duration(d), RetryAfter: time.Duration(nd - l.window)}
			return true
		}
		if state.CompareAndSwap(s, pack(hdrOf(s)|backBit, now+nd)) {
			l.admitted(nd, out)
			return true
		}
		if s = state.Load(); s&lockBit != 0 {
			return false
		}
	}
}

// insert hands key the least useful slot of its set and takes one token
// from the fresh bucket.
//
// The least useful slot is an empty one, else the one whose eviction gives
// away least: a full bucket (nothing: its key would get a full bucket
// anyway), then a key seen only once, then a key that came back, each
// class fullest first. The order between the last two is what makes a flood
// of made-up keys harmless. A key seen once has spent one token, so
// evicting it gives away at most that token, as little as evicting any
// partly drained bucket can; but its TAT alone cannot say so: with Burst 1
// that one token is the whole bucket, and a made-up key's bucket, drained a
// moment ago, needs longer to refill than that of a client refused minutes
// ago. Ranking by refill time alone then evicts the limited client first,
// and a flood of one-off keys resets it. The back bit (state.go) keeps the
// flood among its own kind: it evicts a key that has come back only when
// all eight slots hold such keys.
func (l *Limiter) insert(st *set, key uint64, now, cost int64, stubborn bool, d *Decision) bool {
	if cost > l.window {
		// More than a full bucket holds (AllowN): refuse without a slot.
		*d = Decision{Limit: l.burst, RetryAfter: time.Duration(cost - l.window)}
		return true
	}
	victim, vs := l.victim(st, now)
	if victim < 0 {
		if !stubborn {
			return false
		}
		// Every slot is being handed over and their owners are stalled:
		// answer as a fresh bucket would rather than wait on them.
		l.admitted(cost, d)
		return true
	}
	if !l.claim(st, victim, vs, key, pack(0, now+cost)) {
		return false
	}
	l.admitted(cost, d)
	return true
}

// claim hands slot i of st, whose state was vs, to key with the state
// next (its TAT and back bit; claim sets the generation). It returns false
// when the slot changed under it.
func (l *Limiter) claim(st *set, i int, vs, key, next uint64) bool {
	locked := lockBit | nextGen(vs)
	if !st.states[i].CompareAndSwap(vs, locked) {
		return false
	}
	st.keys[i].Store(key)
	st.states[i].Store(genOf(locked) | next)
	return true
}

// victim returns the least useful slot of st (see insert) and its state,
// or -1 when every slot is being handed over.
func (l *Limiter) victim(st *set, now int64) (int, uint64) {
	victim, rank, best := -1, 0, int64(0)
	var vs uint64
	for i := range ways {
		s := st.states[i].Load()
		if s&lockBit != 0 {
			continue
		}
		if st.keys[i].Load() == 0 {
			victim, vs = i, s
			break
		}
		d := l.debt(s, now)
		r := evictRank(s, d)
		if victim < 0 || r < rank || r == rank && d < best {
			victim, rank, best, vs = i, r, d, s
			if r == 0 {
				break // full already: nothing better to find
			}
		}
	}
	return victim, vs
}

// evictRank orders slots for eviction, lowest first (see insert): 0 for a
// full bucket (debt d is 0), 1 for a key seen once, 2 for a key that came
// back.
func evictRank(s uint64, d int64) int {
	switch {
	case d == 0:
		return 0
	case s&backBit == 0:
		return 1
	}
	return 2
}

// dropFuller empties whichever of slots a and b, both holding key, has the
// fuller bucket. Two goroutines that miss the same new key at the same
// instant each give it a slot; the copy that becomes visible later may sit
// in an earlier way, so look-ups would switch to it. Keeping the more
// drained copy bounds the cost of such a race to the one request the other
// copy admitted.
func (l *Limiter) dropFuller(st *set, a, b int, key uint64, now int64) {
	sa, sb := st.states[a].Load(), st.states[b].Load()
	if (sa|sb)&lockBit != 0 || st.keys[a].Load() != key || st.keys[b].Load() != key {
		return // changed under us: the caller looks again
	}
	drop, s := b, sb
	if l.debt(sa, now) < l.debt(sb, now) {
		drop, s = a, sa
	}
	locked := lockBit | nextGen(s)
	if !st.states[drop].CompareAndSwap(s, locked) {
		return
	}
	st.keys[drop].Store(0)
	st.states[drop].Store(genOf(locked))
}

// debt returns how long the bucket in state s needs to be full again at
// now: 0 when it is full, and 0 for a state too far in the future to be
// real (see maxSkew).
func (l *Limiter) debt(s uint64, now int64) int64 {
	d := debt(s, now)
	if d < 0 || d > l.window+maxSkew {
		return 0
	}
	return d
}

// admitted fills d for an admitted request that left the bucket needing nd
// to be full again.
func (l *Limiter) admitted(nd int64, d *Decision) {
	*d = Decision{
		Allowed:   true,
		Limit:     l.burst,
		Remaining: (l.window - nd) / l.interval,
		Reset:     time.Duration(nd),
	}
}

package ratesync

import (
	"math/bits"
	"sync/atomic"
)

// pending counts, per key, the requests this instance admitted since the
// last synchronisation round, for the syncer to push. The event loops add
// to it with compare-and-swap and never wait; the syncer drains it once
// per round. Its memory is fixed at construction, like the limiter's.
//
// A slot's state word:
//
//	bit 63      lock: the slot is being handed to a new key or freed
//	bits 60-62  generation, bumped at every hand-over (defeats ABA)
//	bit 59      interest: a request for the key was refused here
//	bits 56-58  rounds the key has been idle here (see keepRounds)
//	bits 0-55   requests admitted since the last round
//
// The key word is stored only while the state is locked, so a caller
// that loads an unlocked state, then the key, then swaps the state with
// its generation unchanged, knows the slot held that key throughout.
// Two loops that miss the same new key at once may each give it a slot;
// drain sums them, so nothing is counted twice or lost.
type pending struct {
	sets  []pset
	nsets uint64
}

const (
	pways       = 8
	pCountMask  = 1<<56 - 1
	pIdleShift  = 56
	pIdleMask   = 7 << pIdleShift
	pInterest   = 1 << 59
	pGenShift   = 60
	pGenMask    = 7 << pGenShift
	pLock       = 1 << 63
	pSpins      = 64
	pZeroKeyAlt = 0x9e3779b97f4a7c15 // stands in for key 0, which marks an empty slot

	// keepRounds is how many rounds a key stays in the table, pulled, after
	// its last request here: an instance that served a client a moment ago
	// keeps its bucket in step with the cluster, so the client's next
	// request here is decided on fresh numbers rather than on a bucket
	// that missed the others' consumption.
	keepRounds = 7
)

type pset struct {
	keys   [pways]atomic.Uint64
	states [pways]atomic.Uint64
}

// newPending makes a table with room for at least n keys.
func newPending(n int) *pending {
	nsets := max((n+pways-1)/pways, 1)
	return &pending{sets: make([]pset, nsets), nsets: uint64(nsets)}
}

func (p *pending) set(key uint64) (*pset, uint64) {
	if key == 0 {
		key = pZeroKeyAlt
	}
	hi, _ := bits.Mul64(key, p.nsets)
	return &p.sets[hi], key
}

// add counts one request for key: admitted adds one to its count, a
// refusal marks interest (the key is being limited here, so its standing
// is pulled even while nothing is pushed). It returns false when the key
// found no slot (the table is full of keys active this round); the
// request then goes unreported. Any goroutine; lock-free, no allocation.
func (p *pending) add(key uint64, admitted bool) bool {
	inc := uint64(pInterest)
	if admitted {
		inc = 1
	}
	st, key := p.set(key)
	for try := 0; ; try++ {
		switch p.tryAdd(st, key, inc, try >= pSpins) {
		case addDone:
			return true
		case addFull:
			return false
		}
	}
}

type addResult uint8

const (
	addRetry addResult = iota
	addDone
	addFull
)

// tryAdd makes one pass at add. A slot being handed over makes it look
// again, unless stubborn (it has waited long enough: the syncer may be
// descheduled mid-hand-over), when it takes another slot instead.
func (p *pending) tryAdd(st *pset, key, inc uint64, stubborn bool) addResult {
	for i := range pways {
		if st.keys[i].Load() != key {
			continue
		}
		s := st.states[i].Load()
		if s&pLock != 0 && stubborn {
			continue
		}
		if s&pLock != 0 || st.keys[i].Load() != key {
			return addRetry
		}
		if inc == pInterest && s&(pInterest|pIdleMask) == pInterest {
			return addDone
		}
		next := s&^pIdleMask | pInterest
		if inc == 1 {
			next = s&^pIdleMask + 1
		}
		if st.states[i].CompareAndSwap(s, next) {
			return addDone
		}
		return addRetry
	}
	for i := range pways {
		s := st.states[i].Load()
		if s&pLock != 0 || st.keys[i].Load() != 0 {
			continue
		}
		locked := pLock | (s+1<<pGenShift)&pGenMask
		if !st.states[i].CompareAndSwap(s, locked) {
			return addRetry
		}
		st.keys[i].Store(key)
		st.states[i].Store(locked&pGenMask | inc)
		return addDone
	}
	return addFull
}

// since returns the requests admitted for key since the last drain.
// Syncer only.
func (p *pending) since(key uint64) uint64 {
	st, key := p.set(key)
	var n uint64
	for i := range pways {
		if st.keys[i].Load() == key {
			n += st.states[i].Load() & pCountMask
		}
	}
	return n
}

// drain calls fn for every key with admissions or interest since the
// last drain, or idle for fewer than keepRounds rounds, and resets them; a
// slot idle for keepRounds rounds is freed.
// A key may be reported more than once (two slots after an insert race);
// fn sums. Syncer only: one goroutine.
func (p *pending) drain(fn func(key, admitted uint64, interest bool)) {
	for si := range p.sets {
		st := &p.sets[si]
		for i := range pways {
			for range pSpins {
				if p.drainSlot(st, i, fn) {
					break
				}
			}
		}
	}
}

// drainSlot handles one slot; false means it changed under us.
func (p *pending) drainSlot(st *pset, i int, fn func(key, admitted uint64, interest bool)) bool {
	s := st.states[i].Load()
	if s&pLock != 0 {
		return false
	}
	key := st.keys[i].Load()
	if key == 0 {
		return true
	}
	gen := s & pGenMask
	count, interest, idle := s&pCountMask, s&pInterest != 0, (s&pIdleMask)>>pIdleShift
	switch {
	case count > 0 || interest:
		if !st.states[i].CompareAndSwap(s, gen) {
			return false
		}
	case idle+1 < keepRounds:
		// Idle this round: keep pulling for a while.
		if !st.states[i].CompareAndSwap(s, gen|(idle+1)<<pIdleShift) {
			return false
		}
	default:
		// Idle long enough: free the slot for other keys.
		locked := pLock | (s+1<<pGenShift)&pGenMask
		if !st.states[i].CompareAndSwap(s, locked) {
			return false
		}
		st.keys[i].Store(0)
		st.states[i].Store(locked & pGenMask)
		return true
	}
	fn(key, count, interest)
	return true
}

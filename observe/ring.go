package observe

import (
	"math/bits"
	"sync/atomic"
)

// ring is a bounded multi-producer, single-consumer queue of line slots:
// Dmitry Vyukov's array-with-sequence-numbers queue, cut down to one
// consumer. A producer claims a position with a CAS on tail, fills the
// slot's buffer and publishes it by storing the slot's sequence number; the
// consumer owns head. No locks, no allocation (slots keep their buffers from
// lap to lap), and a full ring fails the claim instead of waiting.
//
// Closing sets closedBit in tail, so a claim either wins its position
// before the close (and the consumer waits for it to be published) or
// fails: nothing slips in after the consumer's last drain.
type ring struct {
	tail atomic.Uint64 // next position to claim | closedBit once closed
	_    [56]byte      // keep the producers' CAS line apart from the rest

	// Read-only after init.
	mask uint64
	// wakeMask is a quarter of the capacity minus one: the producer of
	// every position p with p&wakeMask == 0 wakes a sleeping consumer.
	wakeMask uint64
	slots    []slot
	_        [64]byte

	head uint64 // next position to take; consumer only
}

// closedBit is set in ring.tail by close.
const closedBit = uint64(1) << 63

// minRing keeps wakeMask meaningful.
const minRing = 8

// slot is one queued line. Between a claim and its publication it belongs
// to the claiming producer, between publication and release to the
// consumer.
type slot struct {
	// seq is the position this slot can be claimed at (== position) or
	// taken at (== position+1).
	seq atomic.Uint64
	// buf is the line; its capacity is kept for the next lap when it is at
	// most Options.LineBytes.
	buf []byte
	// held is the capacity counted against Options.QueueBytes (buffers
	// larger than LineBytes), 0 otherwise.
	held int64
}

// init sizes the ring to n slots rounded up to a power of two.
func (r *ring) init(n int) {
	size := uint64(minRing)
	if n > minRing {
		size = 1 << bits.Len64(uint64(n-1))
	}
	r.slots = make([]slot, size)
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	r.mask = size - 1
	r.wakeMask = size/4 - 1
}

// claim reserves the next position for the caller, who must fill the slot
// and publish it without blocking. It returns nil when the ring is full or
// closed. Any goroutine; lock-free.
func (r *ring) claim() (s *slot, pos uint64) {
	pos = r.tail.Load()
	for {
		if pos&closedBit != 0 {
			return nil, 0
		}
		s = &r.slots[pos&r.mask]
		switch seq := s.seq.Load(); {
		case seq == pos:
			// Free for this position: take it.
			if r.tail.CompareAndSwap(pos, pos+1) {
				return s, pos
			}
			pos = r.tail.Load()
		case seq < pos:
			// Still holds the line from one lap ago: full.
			return nil, 0
		default:
			// Another producer took pos first; try the next one.
			pos = r.tail.Load()
		}
	}
}

// publish hands a claimed slot to the consumer. Claiming producer only.
func (s *slot) publish(pos uint64) { s.seq.Store(pos + 1) }

// peek returns the oldest published slot, or nil when there is none (or
// the oldest claimed one is not published yet). Consumer only.
func (r *ring) peek() *slot {
	s := &r.slots[r.head&r.mask]
	if s.seq.Load() != r.head+1 {
		return nil
	}
	return s
}

// release frees the slot peek returned for the next lap. Consumer only.
func (r *ring) release(s *slot) {
	s.seq.Store(r.head + r.mask + 1)
	r.head++
}

// close makes every later claim fail. Any goroutine.
func (r *ring) close() { r.tail.Or(closedBit) }

// end is the position after the last one claimed. Once the ring is closed
// it no longer moves.
func (r *ring) end() uint64 { return r.tail.Load() &^ closedBit }

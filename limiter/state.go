package limiter

// A slot's state word:
//
//	bit 63      lock: the slot is being handed to a new key
//	bits 60-62  generation, bumped at every hand-over (defeats ABA on the CAS)
//	bit 59      back: the slot's key has come back since it got the slot
//	bits 0-58   TAT in unix nanoseconds modulo 2^59
//
// The TAT is only ever compared with a current time, as the signed 59-bit
// difference TAT - now, which is exact while |TAT - now| < 2^58 ns (about 9
// years): ample, since TAT - now never exceeds the bucket's window τ
// (MaxWindow at most) while the bucket matters.
//
// The back bit is the one piece of history eviction needs beyond the TAT: a
// key seen once has spent one token and nothing else tells it apart, when
// Burst is 1, from a client that has been refused (see insert).
const (
	tatBits  = 59
	tatMask  = 1<<tatBits - 1
	backBit  = 1 << tatBits
	genShift = 60
	genMask  = 7 << genShift
	lockBit  = 1 << 63
)

// pack builds an unlocked state from hdr (generation bits as returned by
// genOf, optionally with backBit) and the given TAT.
func pack(hdr uint64, tat int64) uint64 { return hdr | uint64(tat)&tatMask }

// genOf returns s's generation bits, in place.
func genOf(s uint64) uint64 { return s & genMask }

// hdrOf returns s's generation and back bits, in place: what a token taken
// from s's bucket keeps.
func hdrOf(s uint64) uint64 { return s & (genMask | backBit) }

// nextGen returns the generation bits after gen's, in place.
func nextGen(s uint64) uint64 { return (s + 1<<genShift) & genMask }

// debt returns TAT - now for state s: how long the bucket needs to be full
// again, negative when it already is.
func debt(s uint64, now int64) int64 {
	return int64((s-uint64(now))<<(64-tatBits)) >> (64 - tatBits)
}

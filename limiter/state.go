package limiter

// A slot's state word:
//
//	bit 63      lock: the slot is being handed to a new key
//	bits 60-62  generation, bumped at every hand-over (defeats ABA on the CAS)
//	bits 0-59   TAT in unix nanoseconds modulo 2^60
//
// The TAT is only ever compared with a current time, as the signed 60-bit
// difference TAT - now, which is exact while |TAT - now| < 2^59 ns (about 18
// years): ample, since TAT - now never exceeds the bucket's window τ
// (MaxWindow at most) while the bucket matters.
const (
	tatBits  = 60
	tatMask  = 1<<tatBits - 1
	genShift = tatBits
	genMask  = 7 << genShift
	lockBit  = 1 << 63
)

// pack builds an unlocked state of generation gen (already shifted, as
// returned by genOf) with the given TAT.
func pack(gen uint64, tat int64) uint64 { return gen | uint64(tat)&tatMask }

// genOf returns s's generation bits, in place.
func genOf(s uint64) uint64 { return s & genMask }

// nextGen returns the generation bits after gen's, in place.
func nextGen(s uint64) uint64 { return (s + 1<<genShift) & genMask }

// debt returns TAT - now for state s: how long the bucket needs to be full
// again, negative when it already is.
func debt(s uint64, now int64) int64 {
	return int64((s-uint64(now))<<(64-tatBits)) >> (64 - tatBits)
}

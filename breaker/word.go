package breaker

import "time"

// The breaker's whole state is one uint64, so every transition is a single
// compare-and-swap and no reader ever sees half an update:
//
//	bits  0..1   state
//	bits  2..11  field A: consecutive failures (Closed), probes admitted (HalfOpen)
//	bits 12..21  field B: probe successes (HalfOpen)
//	bits 22..63  time in unix milliseconds: retry time (Open), round start (HalfOpen)
//
// 42 bits of milliseconds last until the year 2109.
const (
	countBits = 10
	aShift    = 2
	bShift    = aShift + countBits
	tShift    = bShift + countBits
	countMask = 1<<countBits - 1
	timeMask  = 1<<(64-tShift) - 1
)

func pack(s State, a, b, ms uint64) uint64 {
	return uint64(s) | a<<aShift | b<<bShift | (ms&timeMask)<<tShift
}

func stateOf(w uint64) State { return State(w & 3) }
func fieldA(w uint64) uint64 { return w >> aShift & countMask }
func fieldB(w uint64) uint64 { return w >> bShift & countMask }
func timeOf(w uint64) uint64 { return w >> tShift }

// toMS converts unix nanoseconds to the word's milliseconds (rounding down;
// times before 1970 count as 1970).
func toMS(ns int64) uint64 { return uint64(max(ns, 0) / int64(time.Millisecond)) }

// fromMS converts the word's milliseconds back to unix nanoseconds.
func fromMS(ms uint64) int64 { return int64(ms) * int64(time.Millisecond) }

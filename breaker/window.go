package breaker

import "sync/atomic"

// buckets is how many slices the ratio window is cut into: the window
// slides in steps of a tenth of its length.
const buckets = 10

// Each bucket is one packed word, so a count and the slice it belongs to
// change together in one compare-and-swap:
//
//	bits 40..63  slice number (unix time / width), modulo 2^24
//	bits 20..39  requests (saturating)
//	bits  0..19  failures (saturating)
//
// 20 bits hold a million requests per slice per target; a busier slice
// stops counting once full, which keeps its ratio.
const (
	tagShift  = 40
	tagMask   = 1<<24 - 1
	reqShift  = 20
	countMax  = 1<<20 - 1 // failures <= requests, so only requests can fill up
	halfRange = 1 << 23
	// addSlack is how far below full a slice must be for the unchecked
	// atomic add: more concurrent adders than this cannot overflow it.
	addSlack = 1 << 16
)

// window counts requests and failures over the last `buckets` slices of
// `width` nanoseconds, without locks.
type window struct {
	width int64 // ns per slice; > 0
	slots [buckets]atomic.Uint64
	// start is the first slice that counts; reset moves it past the present
	// so a breaker that closes starts from a clean window.
	start atomic.Int64
}

func (w *window) slice(now int64) int64 { return max(now, 0) / w.width }

// add counts one request (and one failure if failed) in now's slice.
func (w *window) add(now int64, failed bool) {
	s := w.slice(now)
	slot := &w.slots[s%buckets]
	tag := uint64(s) & tagMask
	var f uint64
	if failed {
		f = 1
	}
	for {
		old := slot.Load()
		if old>>tagShift == tag && old>>reqShift&countMax < countMax-addSlack {
			// Fast path: one atomic add, which unlike a compare-and-swap
			// never has to retry when loops count at the same moment. If the
			// slot rolls over in between, one sample lands in the new slice.
			slot.Add(1<<reqShift + f)
			return
		}
		var nw uint64
		switch oldTag := old >> tagShift; {
		case oldTag == tag:
			req := old >> reqShift & countMax
			if req == countMax {
				return // full: stop counting both, which keeps the ratio
			}
			nw = old + 1<<reqShift + f
		case (tag-oldTag)&tagMask < halfRange:
			// The slot holds an older slice: start this one.
			nw = tag<<tagShift | 1<<reqShift | f
		default:
			// The slot already holds a newer slice (this caller's clock lags
			// another loop's by a whole window): drop the sample.
			return
		}
		if slot.CompareAndSwap(old, nw) {
			return
		}
	}
}

// sum returns the requests and failures counted in the window ending at now.
func (w *window) sum(now int64) (req, failed uint64) {
	s := w.slice(now)
	tag := uint64(s) & tagMask
	start := w.start.Load()
	for i := range w.slots {
		v := w.slots[i].Load()
		age := int64((tag - v>>tagShift) & tagMask)
		if age >= buckets || s-age < start {
			continue
		}
		req += v >> reqShift & countMax
		failed += v & countMax
	}
	return req, failed
}

// reset makes the window forget everything up to and including now's slice.
func (w *window) reset(now int64) { w.start.Store(w.slice(now) + 1) }

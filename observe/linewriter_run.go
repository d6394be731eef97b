package observe

import (
	"runtime"
	"time"
)

// run is the writer goroutine: it gathers queued lines into the batch
// buffer and writes the batch when it is full, every FlushInterval, and
// when the writer closes. With nothing queued it sleeps until the next
// tick, a wake-up from a producer (see commit) or Close.
func (w *LineWriter) run() {
	defer close(w.finished)
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	for {
		if w.drain() {
			// Still busy: look at the ticker and Close without waiting.
			select {
			case <-tick.C:
				w.flush()
			case <-w.stop:
				w.final()
				return
			default:
			}
			continue
		}
		w.sleeping.Store(true)
		select {
		case <-w.wake:
		case <-tick.C:
			w.flush()
		case <-w.stop:
			w.sleeping.Store(false)
			w.final()
			return
		}
		w.sleeping.Store(false)
	}
}

// drainBurst is how many lines drain takes before run looks at the ticker
// and the stop channel again.
const drainBurst = 1024

// drain takes up to drainBurst published lines and reports whether it
// stopped because of that limit (more may be waiting). Writer goroutine
// only.
func (w *LineWriter) drain() (more bool) {
	for range drainBurst {
		s := w.q.peek()
		if s == nil {
			return false
		}
		w.take(s)
	}
	return true
}

// final takes every line claimed before Close and writes them out. A slot
// claimed but not yet published is being filled right now by a producer
// that cannot block, so final waits for it. Writer goroutine only.
func (w *LineWriter) final() {
	for end := w.q.end(); w.q.head != end; {
		if s := w.q.peek(); s != nil {
			w.take(s)
		} else {
			runtime.Gosched()
		}
	}
	w.flush()
}

// take moves one published line into the batch and releases its slot.
// Writer goroutine only.
func (w *LineWriter) take(s *slot) {
	line := s.buf
	if len(line) > 0 {
		nl := line[len(line)-1] != '\n'
		size := len(line)
		if nl {
			size++
		}
		if len(w.batch)+size > cap(w.batch) {
			w.flush()
		}
		if size > cap(w.batch) {
			// Larger than the whole batch: write it on its own (still in
			// one Write) rather than growing the batch for good.
			if nl {
				s.buf = append(s.buf, '\n')
			}
			w.write(s.buf, 1)
		} else {
			w.batch = append(w.batch, line...)
			if nl {
				w.batch = append(w.batch, '\n')
			}
			w.pending++
		}
	}
	// Keep the buffer for the next lap unless it is a long line's.
	if s.held > 0 {
		w.big.Add(-s.held)
		s.held = 0
	}
	if cap(s.buf) > w.lineBytes {
		s.buf = nil
	}
	w.q.release(s)
}

// flush writes the batch to the sink and empties it. Writer goroutine only.
func (w *LineWriter) flush() {
	if len(w.batch) == 0 {
		return
	}
	w.write(w.batch, w.pending)
	w.batch = w.batch[:0]
	w.pending = 0
}

// write hands p, holding n whole lines, to the sink in one Write. A failed
// write loses them all: they count as dropped, though part of p may have
// reached the sink. Writer goroutine only.
func (w *LineWriter) write(p []byte, n uint64) {
	if _, err := w.out.Write(p); err != nil {
		w.dropped.Add(n)
		w.lastErr.Store(&errBox{err})
		w.finalErr = err
		return
	}
	w.written.Add(n)
	w.finalErr = nil
}

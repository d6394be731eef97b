// Package observe is the gateway's window for operators: metrics, the access
// log and the audit log. Everything here is fed from event loops, which must
// never block on I/O (DESIGN §3), so the writers hand work to background
// goroutines and drop rather than wait when those fall behind.
package observe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Options tunes a LineWriter. The zero value gives the defaults below; a
// field <= 0 takes its default.
type Options struct {
	// QueueLines is how many lines may wait for the writer goroutine,
	// rounded up to a power of two. Default 4096.
	QueueLines int
	// LineBytes is the buffer each queue slot keeps for reuse. Lines up to
	// this size are queued without allocating once the slot has been used;
	// longer ones get a buffer of their own, counted against QueueBytes and
	// freed once written. Default 1 KiB.
	LineBytes int
	// QueueBytes caps the memory of queued lines longer than LineBytes. A
	// long line that would exceed it is dropped. Default 4 MiB.
	QueueBytes int64
	// BatchBytes is the buffer lines are gathered in before one write to
	// the sink. Default 64 KiB.
	BatchBytes int
	// FlushInterval is the longest a line waits before it is written.
	// Default 200ms.
	FlushInterval time.Duration
	// CloseTimeout bounds how long Close waits for the sink to take the
	// last lines. Default 5s.
	CloseTimeout time.Duration
}

const (
	defaultQueueLines    = 4096
	defaultLineBytes     = 1 << 10
	defaultQueueBytes    = 4 << 20
	defaultBatchBytes    = 64 << 10
	defaultFlushInterval = 200 * time.Millisecond
	defaultCloseTimeout  = 5 * time.Second
)

func (o Options) withDefaults() Options {
	if o.QueueLines <= 0 {
		o.QueueLines = defaultQueueLines
	}
	if o.LineBytes <= 0 {
		o.LineBytes = defaultLineBytes
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = defaultQueueBytes
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = defaultBatchBytes
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = defaultFlushInterval
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = defaultCloseTimeout
	}
	return o
}

// ErrCloseTimeout is returned by Close when the sink did not take the last
// lines within Options.CloseTimeout; those lines are lost.
var ErrCloseTimeout = errors.New("observe: log sink did not drain before the close timeout")

// LineWriter writes lines to a file (or stdout, or any io.Writer) from a
// background goroutine. Event loops hand it lines with Write, or format
// them in place with Append; neither blocks nor allocates in the steady
// state, and both are lock-free (a claim is one CAS; once per QueueLines/4
// lines, if the writer goroutine sleeps, a non-blocking channel send wakes
// it). When the sink falls behind and the queue is full, lines are dropped
// and counted (Dropped) instead of blocking the caller or growing memory.
//
// Memory is bounded by QueueLines × (LineBytes + 40 bytes of slot) for the
// queue, plus QueueBytes for queued lines longer than LineBytes, plus
// BatchBytes for the batch buffer (with the defaults: 4.2 MiB + 4 MiB +
// 64 KiB). Slot buffers are allocated when first used, so a quiet writer
// holds only the slots (160 KiB).
//
// Every line ends with exactly the newline it was given or one added;
// empty lines are skipped. Each batch is written with one Write call on the
// sink and holds only whole lines, so several writers appending to the same
// file (O_APPEND; e.g. the old and new snapshot during a reload) interleave
// whole lines.
//
// Reopening the file on rotation (SIGHUP-style) is not built in: a new
// LineWriter opens the path again, which is what a config reload does when
// it rebuilds the filters that own writers.
//
// All methods may be called from any goroutine.
type LineWriter struct {
	q ring
	_ [64]byte
	// big is the capacity of queued buffers larger than LineBytes.
	big     atomic.Int64
	_       [56]byte
	dropped atomic.Uint64
	_       [56]byte
	// sleeping is set while the writer goroutine waits for work, so that
	// producers know a wake-up is worth sending.
	sleeping atomic.Bool

	written   atomic.Uint64
	lastErr   atomic.Pointer[errBox]
	lineBytes int
	maxBig    int64
	wakeBig   int64 // big bytes past which producers wake the writer
	wake      chan struct{}

	out  io.Writer
	file *os.File // closed by Close; nil when the writer does not own out

	// Owned by the writer goroutine.
	batch   []byte
	pending uint64 // lines in batch
	opts    Options

	stop      chan struct{}
	finished  chan struct{}
	finalErr  error // set by the goroutine before finished closes
	closeOnce sync.Once
	closeErr  error
}

type errBox struct{ err error }

// OpenLineWriter opens path for appending (created with mode 0640 when
// missing) and starts its writer goroutine. path "" or "-" writes to
// standard output, which Close leaves open.
func OpenLineWriter(path string, opts Options) (*LineWriter, error) {
	if path == "" || path == "-" {
		return NewLineWriter(os.Stdout, opts), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("observe: open log: %w", err)
	}
	w := NewLineWriter(f, opts)
	w.file = f
	return w, nil
}

// NewLineWriter starts a writer goroutine that writes to out. Close stops it
// but does not close out.
func NewLineWriter(out io.Writer, opts Options) *LineWriter {
	opts = opts.withDefaults()
	w := &LineWriter{
		lineBytes: opts.LineBytes,
		maxBig:    opts.QueueBytes,
		wakeBig:   opts.QueueBytes / 4,
		wake:      make(chan struct{}, 1),
		out:       out,
		batch:     make([]byte, 0, opts.BatchBytes),
		opts:      opts,
		stop:      make(chan struct{}),
		finished:  make(chan struct{}),
	}
	w.q.init(opts.QueueLines)
	go w.run()
	return w
}

// Write queues a copy of line (a missing trailing newline is added when it
// is written). It reports false when the line was dropped: queue full, too
// long for QueueBytes, or the writer closed. Never blocks. Any goroutine.
func (w *LineWriter) Write(line []byte) bool {
	s, pos := w.q.claim()
	if s == nil {
		return w.refuse()
	}
	if cap(s.buf) < len(line) {
		s.buf = make([]byte, 0, max(len(line), w.lineBytes))
	}
	s.buf = append(s.buf[:0], line...)
	return w.commit(s, pos)
}

// Append queues the line format appends to the buffer it is given (which
// starts empty), formatting it in place instead of copying it. format runs
// on the caller's goroutine at most once, not at all when the line is
// dropped before it (queue full, writer closed); it must not block, call
// back into w or keep the buffer. Append reports false when the line was
// dropped. Never blocks. Any goroutine.
func (w *LineWriter) Append(format func(buf []byte) []byte) bool {
	s, pos := w.q.claim()
	if s == nil {
		return w.refuse()
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, w.lineBytes)
	}
	s.buf = format(s.buf[:0])
	return w.commit(s, pos)
}

// commit publishes a filled slot, first charging a buffer longer than
// LineBytes to QueueBytes (an over-budget line is published empty, which
// the writer skips, and reported dropped).
func (w *LineWriter) commit(s *slot, pos uint64) bool {
	ok, wake := true, pos&w.q.wakeMask == 0
	s.held = 0
	if c := int64(cap(s.buf)); c > int64(w.lineBytes) {
		if n := w.big.Add(c); n > w.maxBig {
			w.big.Add(-c)
			s.buf = nil
			w.dropped.Add(1)
			ok = false
		} else {
			s.held = c
			wake = wake || n > w.wakeBig
		}
	}
	s.publish(pos)
	// The writer goroutine sleeps until its next flush tick when it finds
	// the queue empty. Wake it when a quarter of the queue (by slots, or by
	// long-line bytes) has filled since, so that a burst does not overflow
	// the queue while it sleeps.
	if wake && w.sleeping.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return ok
}

// refuse counts a line that found no free slot.
func (w *LineWriter) refuse() bool {
	w.dropped.Add(1)
	return false
}

// Dropped is the number of lines lost so far: refused by Write or Append
// (queue full, over QueueBytes, writer closed) or lost in a failed write to
// the sink. Any goroutine.
func (w *LineWriter) Dropped() uint64 { return w.dropped.Load() }

// Written is the number of lines the sink accepted so far. Any goroutine.
func (w *LineWriter) Written() uint64 { return w.written.Load() }

// Err returns the last error the sink returned, or nil. Any goroutine.
func (w *LineWriter) Err() error {
	if e := w.lastErr.Load(); e != nil {
		return e.err
	}
	return nil
}

// Close stops accepting lines, writes the queued ones, and closes the file
// OpenLineWriter opened. It waits at most Options.CloseTimeout for the sink;
// past it, it closes the file anyway (which unblocks a pipe or FIFO) and
// returns ErrCloseTimeout. Otherwise it returns the error of the last write
// or of closing the file. Idempotent: later calls return the first result.
// Write and Append after Close drop. Any goroutine.
func (w *LineWriter) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.close() })
	return w.closeErr
}

func (w *LineWriter) close() error {
	// From here on every claim fails; the goroutine takes what was claimed
	// before, waiting for slots not yet published.
	w.q.close()
	close(w.stop)
	t := time.NewTimer(w.opts.CloseTimeout)
	defer t.Stop()
	var err error
	select {
	case <-w.finished:
		err = w.finalErr
	case <-t.C:
		err = fmt.Errorf("%w (%v)", ErrCloseTimeout, w.opts.CloseTimeout)
	}
	if w.file != nil {
		if cerr := w.file.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("observe: close log: %w", cerr))
		}
	}
	return err
}

package compress

import (
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// encoder is what the three codings' stream writers have in common.
type encoder interface {
	io.WriteCloser
	Flush() error
	Reset(w io.Writer)
}

// encoders recycles one coding's body transforms, each an encoder with
// its output buffer, so a response in the steady state allocates none
// (encoders are the costly part: brotli's and zstd's hold their window).
// A sync.Pool rather than a per-loop free list: a transform is released
// by whoever relayed the body, a loop or a stream goroutine.
type encoders struct {
	coding coding
	pool   sync.Pool
}

func newEncoders(c coding, level int) *encoders {
	e := &encoders{coding: c}
	e.pool.New = func() any {
		t := &transform{home: e}
		t.enc = newEncoder(c, level, t)
		return t
	}
	return e
}

// newEncoder makes a stream encoder writing to w. The levels were checked
// by decode, so the constructors cannot fail.
func newEncoder(c coding, level int, w io.Writer) encoder {
	switch c {
	case gzipCoding:
		z, _ := gzip.NewWriterLevel(w, level)
		return z
	case brCoding:
		// A 1 MiB window (lgwin 20) rather than brotli's 4 MiB: API bodies
		// are rarely larger, and every pooled encoder holds its window.
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: level, LGWin: 20})
	default:
		z, _ := zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), // encode in the caller: no goroutine per block
			zstd.WithWindowSize(1<<20),     // as brotli's, for memory per encoder
			zstd.WithLowerEncoderMem(true))
		return z
	}
}

// get returns a transform ready for a new body.
func (e *encoders) get() *transform { return e.pool.Get().(*transform) }

// maxKeptOut bounds the output buffer a pooled transform keeps: a body
// that arrived in one huge run does not pin that much per idle encoder.
const maxKeptOut = 256 << 10

// transform is one response body being encoded: a filter.BodyTransform.
// It is the encoder's io.Writer, collecting what each Transform call
// encodes into out.
type transform struct {
	home *encoders
	enc  encoder
	out  []byte
}

// Write collects encoded bytes (the encoder's io.Writer).
func (t *transform) Write(p []byte) (int, error) {
	t.out = append(t.out, p...)
	return len(p), nil
}

// Transform encodes chunk and flushes, so every run of body reaches the
// client as soon as it came (a streamed response must not wait for the
// next run); at end it closes the stream (gzip's trailer, zstd's last
// block). The output is bounded by the run plus the coding's framing.
// Called by the body's relayer.
func (t *transform) Transform(chunk []byte, end bool) ([]byte, error) {
	t.out = t.out[:0]
	if len(chunk) > 0 {
		if _, err := t.enc.Write(chunk); err != nil {
			return nil, err
		}
	}
	var err error
	if end {
		err = t.enc.Close()
	} else {
		err = t.enc.Flush()
	}
	return t.out, err
}

// Release resets the encoder for the next body and pools the transform:
// after a finished body and after an abandoned one alike, since Reset
// starts a fresh stream. Called once by the body's relayer.
func (t *transform) Release() {
	t.enc.Reset(t)
	if cap(t.out) > maxKeptOut {
		t.out = nil
	}
	t.out = t.out[:0]
	t.home.pool.Put(t)
}

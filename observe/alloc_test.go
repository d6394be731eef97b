//go:build !race

// The race detector allocates on its own, so allocation counts only mean
// something without it.

package observe

import (
	"io"
	"testing"
)

func TestLineWriterWriteDoesNotAllocate(t *testing.T) {
	w := NewLineWriter(io.Discard, Options{})
	defer w.Close()
	line := make([]byte, 200)
	// Until every queue slot has been used once and has its buffer.
	for n := 0; n < 2*defaultQueueLines; {
		if w.Write(line) {
			n++
		}
	}
	if n := testing.AllocsPerRun(10_000, func() { w.Write(line) }); n != 0 {
		t.Errorf("Write allocates %.2f times per line", n)
	}
	format := func(b []byte) []byte { return append(b, line...) }
	if n := testing.AllocsPerRun(10_000, func() { w.Append(format) }); n != 0 {
		t.Errorf("Append allocates %.2f times per line", n)
	}
}

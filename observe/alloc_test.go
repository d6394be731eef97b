//go:build !race

// The race detector allocates on its own, so allocation counts only mean
// something without it.

package observe

import (
	"io"
	"testing"
	"time"
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

// TestRouteMetricsRequestDoesNotAllocate: once a (method, status class)
// pair has its series, counting it again allocates nothing.
func TestRouteMetricsRequestDoesNotAllocate(t *testing.T) {
	r := NewRouteMetrics("alloc-free")
	get := []byte("GET")
	r.Request(get, 200, time.Millisecond, time.Millisecond, time.Microsecond, 100, 200)
	if n := testing.AllocsPerRun(10_000, func() {
		r.Request(get, 200, time.Millisecond, time.Millisecond, time.Microsecond, 100, 200)
	}); n != 0 {
		t.Errorf("Request allocates %.2f times per request", n)
	}
	Unrouted(400)
	if n := testing.AllocsPerRun(10_000, func() { Unrouted(400) }); n != 0 {
		t.Errorf("Unrouted allocates %.2f times per request", n)
	}
}

func TestAppendLogQueryDoesNotAllocate(t *testing.T) {
	q := []byte("q=1&access_token=abc&page=2")
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(10_000, func() { buf = AppendLogQuery(buf[:0], q) }); n != 0 {
		t.Errorf("AppendLogQuery allocates %.2f times", n)
	}
}

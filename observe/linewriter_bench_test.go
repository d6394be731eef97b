package observe

import (
	"io"
	"testing"
)

// The producer side is a few atomics and a copy, much cheaper than the
// writer goroutine's side, so a loop that only writes outruns any sink and
// mostly measures the drop path. The benchmarks below therefore come in two
// kinds: "Delivered" ones retry a refused line until it is queued, which
// gives the sustained cost per line that reaches the sink (producer and
// writer goroutine together, on the machine's cores); the others report the
// raw producer cost with drops/op alongside.

const benchLine = 200

// BenchmarkLineWriterWriteDelivered is the cost per 200-byte line written
// to a sink that keeps up (io.Discard), retries included.
func BenchmarkLineWriterWriteDelivered(b *testing.B) {
	w := NewLineWriter(io.Discard, Options{})
	line := make([]byte, benchLine)
	b.ReportAllocs()
	b.SetBytes(benchLine)
	for b.Loop() {
		for !w.Write(line) {
		}
	}
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "retries/op")
}

// BenchmarkLineWriterAppendDelivered formats in place, without Write's copy.
func BenchmarkLineWriterAppendDelivered(b *testing.B) {
	w := NewLineWriter(io.Discard, Options{})
	line := make([]byte, benchLine)
	format := func(buf []byte) []byte { return append(buf, line...) }
	b.ReportAllocs()
	b.SetBytes(benchLine)
	for b.Loop() {
		for !w.Append(format) {
		}
	}
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "retries/op")
}

// BenchmarkLineWriterWrite is one loop writing as fast as it can: the
// producer's cost, accepted and dropped lines mixed (see drops/op).
func BenchmarkLineWriterWrite(b *testing.B) {
	w := NewLineWriter(io.Discard, Options{})
	line := make([]byte, benchLine)
	b.ReportAllocs()
	for b.Loop() {
		w.Write(line)
	}
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "drops/op")
}

// BenchmarkLineWriterWriteParallel is every P writing at once, as the
// event loops do.
func BenchmarkLineWriterWriteParallel(b *testing.B) {
	w := NewLineWriter(io.Discard, Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		line := make([]byte, benchLine)
		for pb.Next() {
			w.Write(line)
		}
	})
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "drops/op")
}

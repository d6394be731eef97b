package auditlog

import (
	"io"
	"testing"

	"github.com/sluicehq/sluice/observe"
)

// BenchmarkAppendLine is formatting one typical audit line.
func BenchmarkAppendLine(b *testing.B) {
	x := exchange()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendLine(buf[:0], x, x.Now)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkFinish is the loop's whole cost per request: formatting in
// place into a queue slot, with the writer goroutine writing to io.Discard.
// A refused line is retried, so this is the sustained cost per line that
// reaches the sink (see retries/op).
func BenchmarkFinish(b *testing.B) {
	w := observe.NewLineWriter(io.Discard, observe.Options{})
	f := &Filter{w: w}
	x := exchange()
	b.ReportAllocs()
	for b.Loop() {
		d := w.Dropped()
		for f.Finish(x); w.Dropped() != d; d = w.Dropped() {
			f.Finish(x)
		}
	}
	b.StopTimer()
	f.Close()
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "retries/op")
}

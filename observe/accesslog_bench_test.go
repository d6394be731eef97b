package observe

import (
	"io"
	"net/netip"
	"testing"
	"time"
)

func benchRecord() *Record {
	return &Record{
		Start: time.Now().UnixNano(), RequestID: []byte("0123456789abcdef01234567"), ClientIP: netip.MustParseAddr("127.0.0.1"),
		Method: []byte("GET"), Path: []byte("/api/users/123"), Minor: 1, Status: 200, BytesIn: 80, BytesOut: 512,
		Total: 750 * time.Microsecond, Upstream: 500 * time.Microsecond, Route: "users", Target: "127.0.0.1:9001",
	}
}

// BenchmarkFormatJSON is the loop's share of an access-log line: formatting.
func BenchmarkFormatJSON(b *testing.B) {
	r := benchRecord()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for range b.N {
		buf = appendJSONRecord(buf[:0], r)
	}
}

// BenchmarkAccessLog is formatting plus queueing, with the writer goroutine
// draining to io.Discard.
func BenchmarkAccessLog(b *testing.B) {
	a := &AccessLog{w: NewLineWriter(io.Discard, Options{}), sample: 1}
	defer a.Close()
	r := benchRecord()
	b.ReportAllocs()
	for range b.N {
		a.Log(r)
	}
}

// BenchmarkRouteMetrics is one request's metric updates.
func BenchmarkRouteMetrics(b *testing.B) {
	m := NewRouteMetrics("bench")
	method := []byte("GET")
	b.ReportAllocs()
	for range b.N {
		m.Request(method, 200, 750*time.Microsecond, 500*time.Microsecond, 100*time.Microsecond, 80, 512)
	}
}

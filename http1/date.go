package http1

import (
	"sync/atomic"
	"time"
)

// TimeFormat is the IMF-fixdate layout of the Date header (RFC 9110
// §5.6.7), always in GMT.
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// DateCache holds the Date header value, formatted at most once per
// second. The zero value is ready. Safe for concurrent use (any goroutine):
// a formatted value is published through an atomic pointer and never
// modified afterwards.
type DateCache struct {
	p atomic.Pointer[dateEntry]
}

type dateEntry struct {
	sec int64
	b   []byte
}

// Get returns the IMF-fixdate for now, such as "Sun, 06 Nov 1994 08:49:37
// GMT". The slice is shared: callers must not modify it (appending it to
// another buffer is fine). Within one second Get does not allocate; the
// first call in a new second formats once (racing callers may each format;
// all results are equal).
func (d *DateCache) Get(now time.Time) []byte {
	sec := now.Unix()
	if e := d.p.Load(); e != nil && e.sec == sec {
		return e.b
	}
	e := &dateEntry{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, len(TimeFormat)), TimeFormat)}
	d.p.Store(e)
	return e.b
}

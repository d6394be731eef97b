package observe

import (
	"sync/atomic"
	"time"
)

// stamp is one second's formatted prefix. Log lines of the same second
// (thousands of them under load) share it instead of formatting the date
// again: that was a third of a line's formatting time.
type stamp struct {
	sec    int64
	prefix []byte
}

// secondCache holds the last second formatted in one layout. Any goroutine.
type secondCache struct {
	layout string
	last   atomic.Pointer[stamp]
}

// get returns the formatted second of unix nanoseconds ns.
func (c *secondCache) get(ns int64) []byte {
	sec := ns / 1e9
	if s := c.last.Load(); s != nil && s.sec == sec {
		return s.prefix
	}
	s := &stamp{sec: sec, prefix: time.Unix(sec, 0).UTC().AppendFormat(nil, c.layout)}
	c.last.Store(s)
	return s.prefix
}

var (
	isoSeconds = secondCache{layout: "2006-01-02T15:04:05"}
	clfSeconds = secondCache{layout: "02/Jan/2006:15:04:05 -0700"}
)

// AppendISOTime writes ns as RFC 3339 UTC with microseconds, the time format
// of every log line Sluice writes:
// 2026-11-27T08:51:53.123456Z.
func AppendISOTime(b []byte, ns int64) []byte {
	b = append(b, isoSeconds.get(ns)...)
	us := (ns % 1e9) / 1e3
	if us < 0 { // before 1970: not a request time; keep the format anyway
		us = 0
	}
	var d [7]byte
	d[0] = '.'
	for i := 6; i >= 1; i-- {
		d[i] = byte('0' + us%10)
		us /= 10
	}
	b = append(b, d[:]...)
	return append(b, 'Z')
}

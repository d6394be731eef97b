package observe

import (
	"errors"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Record is one finished request, as the engine hands it to the access
// log. Its slices are only read during Log.
type Record struct {
	Start     int64 // unix nanoseconds
	RequestID []byte
	ClientIP  netip.Addr
	Method    []byte
	Path      []byte // normalised path; nil for a request refused before its target parsed
	// Query is the query string without '?', secrets already redacted
	// (AppendLogQuery); nil when the target had no '?'.
	Query    []byte
	Minor    int   // HTTP/1.x minor version of the request
	Status   int   // 0: the client got no response
	BytesIn  int64 // request head and body read from the client
	BytesOut int64 // response head and body written to the client
	Total    time.Duration
	Upstream time.Duration // to the upstream's response head; 0 without one
	Route    string
	Target   string // upstream address, "" if none was reached
	Consumer []byte
	User     []byte
}

// AccessLog writes one line per request (JSON, or the common log format
// with extras) through a LineWriter: the event loop formats into the
// writer's queue and never waits; under overload lines are dropped and
// counted (sluice_access_log_dropped_total).
type AccessLog struct {
	w      *LineWriter
	clf    bool
	sample float64 // share logged, 0..1
	seen   atomic.Uint64
}

// ErrFormat is returned for an access-log format other than json or clf.
var ErrFormat = errors.New("observe: access log format must be json or clf")

var accessDropped = metrics.GetOrCreateCounter(`sluice_access_log_dropped_total`)

// OpenAccessLog opens path ("-" or "" = standard output) for format "json"
// or "clf", logging the share sample (0..1) of requests; 5xx responses are
// always logged.
func OpenAccessLog(path, format string, sample float64) (*AccessLog, error) {
	if format != "json" && format != "clf" {
		return nil, ErrFormat
	}
	w, err := OpenLineWriter(path, Options{})
	if err != nil {
		return nil, err
	}
	return &AccessLog{w: w, clf: format == "clf", sample: sample}, nil
}

// Log writes r unless sampling skips it. Any goroutine; no allocation, no
// blocking.
func (a *AccessLog) Log(r *Record) {
	if a.sample < 1 && r.Status < 500 {
		// Deterministic sampling: log the n-th request when n*sample
		// crosses an integer, so a share of 0.25 logs every fourth.
		n := a.seen.Add(1)
		if uint64(float64(n)*a.sample) == uint64(float64(n-1)*a.sample) {
			return
		}
	}
	var ok bool
	if a.clf {
		ok = a.w.Append(func(b []byte) []byte { return appendCLF(b, r) })
	} else {
		ok = a.w.Append(func(b []byte) []byte { return appendJSONRecord(b, r) })
	}
	if !ok {
		accessDropped.Inc()
	}
}

// Dropped is the number of lines lost to overload or a failing sink.
func (a *AccessLog) Dropped() uint64 { return a.w.Dropped() }

// Close flushes what is queued and closes the file.
func (a *AccessLog) Close() error { return a.w.Close() }

// appendJSONRecord writes r as one JSON object with a fixed key order.
// The query is its own field ("" without one), so paths aggregate cleanly.
// Durations are milliseconds with microsecond precision.
func appendJSONRecord(b []byte, r *Record) []byte {
	b = append(b, `{"time":"`...)
	b = AppendISOTime(b, r.Start)
	b = append(b, `","request_id":"`...)
	b = AppendJSONEscaped(b, r.RequestID)
	b = append(b, `","client_ip":"`...)
	if r.ClientIP.IsValid() {
		b = r.ClientIP.AppendTo(b)
	}
	b = append(b, `","method":"`...)
	b = AppendJSONEscaped(b, r.Method)
	b = append(b, `","path":"`...)
	b = AppendJSONEscaped(b, r.Path)
	b = append(b, `","query":"`...)
	b = AppendJSONEscaped(b, r.Query)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, r.BytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, r.BytesOut, 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, r.Total)
	b = append(b, `,"upstream_ms":`...)
	b = appendMillis(b, r.Upstream)
	b = append(b, `,"route":"`...)
	b = AppendJSONEscaped(b, r.Route)
	b = append(b, `","target":"`...)
	b = AppendJSONEscaped(b, r.Target)
	b = append(b, `","consumer":"`...)
	b = AppendJSONEscaped(b, r.Consumer)
	b = append(b, `","user":"`...)
	b = AppendJSONEscaped(b, r.User)
	return append(b, `"}`...)
}

// appendCLF writes r in the common log format (host ident user [time]
// "request" status bytes; the request line's target is path?query, as
// nginx's $request), followed by the request ID, the total and
// upstream milliseconds, the route and the target:
//
//	127.0.0.1 - alice [27/Nov/2026:08:00:00 +0000] "GET /a HTTP/1.1" 200 512 "req-1" 1.204 0.981 users 127.0.0.1:9001
func appendCLF(b []byte, r *Record) []byte {
	if r.ClientIP.IsValid() {
		b = r.ClientIP.AppendTo(b)
	} else {
		b = append(b, '-')
	}
	b = append(b, " - "...)
	b = appendCLFField(b, r.User)
	b = append(b, " ["...)
	b = append(b, clfSeconds.get(r.Start)...)
	b = append(b, `] "`...)
	if len(r.Method) == 0 && len(r.Path) == 0 {
		// Refused before a request line parsed (a 408 for a head that
		// never finished): "-", as Apache writes it.
		b = append(b, `-" `...)
	} else {
		b = appendCLFRequest(b, r)
	}
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.BytesOut, 10)
	b = append(b, ` "`...)
	b = appendCLFQuoted(b, r.RequestID)
	b = append(b, `" `...)
	b = appendMillis(b, r.Total)
	b = append(b, ' ')
	b = appendMillis(b, r.Upstream)
	b = append(b, ' ')
	b = appendCLFField(b, r.Route)
	b = append(b, ' ')
	return appendCLFField(b, r.Target)
}

// appendCLFRequest writes the request line's method, target and version,
// closing the quote.
func appendCLFRequest(b []byte, r *Record) []byte {
	b = appendCLFQuoted(b, r.Method)
	b = append(b, ' ')
	if len(r.Path) == 0 {
		b = append(b, '-') // a 414: the target was not kept
	}
	b = appendCLFQuoted(b, r.Path)
	if r.Query != nil {
		b = append(b, '?')
		b = appendCLFQuoted(b, r.Query)
	}
	if r.Minor == 0 {
		b = append(b, ` HTTP/1.0" `...)
	} else {
		b = append(b, ` HTTP/1.1" `...)
	}
	return b
}

// appendCLFField writes a space-free field, "-" when empty.
func appendCLFField[S ~string | ~[]byte](b []byte, s S) []byte {
	if len(s) == 0 {
		return append(b, '-')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// appendCLFQuoted writes s for a quoted field: controls, quotes, non-ASCII
// and backslashes as \xHH, as nginx does, so a line stays one line.
func appendCLFQuoted(b, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}

// appendMillis writes d in milliseconds with three decimals (0.488),
// with integer arithmetic: strconv.AppendFloat was a fifth of a line.
func appendMillis(b []byte, d time.Duration) []byte {
	us := max(d.Microseconds(), 0)
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

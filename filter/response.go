package filter

import (
	"bytes"

	"github.com/sluicehq/sluice/http1"
)

// ResponseHeadFilter is implemented by filters that shape the response
// head. ResponseHead runs in reverse route order, once the final response
// head is known and before it is written to the client, for every filter
// whose Request ran to Continue: on an upstream's response, and on the
// gateway's own answers (a later filter's Reply or Reject, a 502, a 504),
// as Envoy runs its encoder filters for local replies. A filter that
// answered itself is not run on its own answer, nor are the filters after
// it, which never saw the request.
//
// It may add, set and remove headers through resp, and, on an upstream's
// response only, replace the response: returning x.Reply or x.Reject
// drops the upstream's (its connection is closed, its body unread), and
// the filters before it in route order then see the local answer; header
// changes made by the filters that ran before it (later in route order)
// stay on that answer, as they do on any local answer. On a
// local answer the verdict is ignored (Continue is expected). It must not
// Pause. x.Req is nil by then (its views are gone); Method and Path stay
// valid, and x.State keeps what Request learnt. Any loop; must not block.
type ResponseHeadFilter interface {
	ResponseHead(x *Exchange, resp *Response) Verdict
}

// Response is the response head a ResponseHeadFilter shapes. The engine
// owns it (one per exchange); it is valid only during ResponseHead.
type Response struct {
	// Status is the status the client will get. Read-only: to answer with
	// another status, Reply.
	Status int
	// Local is true for an answer the gateway writes itself (a Reply, the
	// JSON error of a Reject or of a gateway failure).
	Local bool
	// Headers are the upstream's header fields, views into its read
	// buffer; nil on a local answer. Read-only: use Set and Remove.
	Headers []http1.Header

	x *Exchange
}

// Header returns the first value of the upstream's header name, nil if
// absent or on a local answer.
func (r *Response) Header(name string) []byte {
	for i := range r.Headers {
		if http1.EqualFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// Add adds a header line to the response (as Exchange.AddResponseHeader).
// value is copied.
func (r *Response) Add(name string, value []byte) { r.x.AddResponseHeader(name, value) }

// Set replaces every header called name with one line name: value.
func (r *Response) Set(name string, value []byte) {
	r.Remove(name)
	r.Add(name, value)
}

// Remove drops every header called name (case-insensitive): the
// upstream's, a Reply's, and those filters added. It cannot drop the
// headers the gateway writes itself (Content-Length, Transfer-Encoding,
// Connection, Date on local answers, Via, X-Request-ID). name should be a
// constant or config string: it is kept until the head is written.
func (r *Response) Remove(name string) {
	x := r.x
	x.respRemove = append(x.respRemove, name)
	x.respHeaders = dropLines(x.respHeaders, name)
}

// ResponseRemoved reports whether a ResponseHead filter removed the
// header name. Engine only.
func (x *Exchange) ResponseRemoved(name []byte) bool {
	for _, s := range x.respRemove {
		if http1.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// RemovesResponseHeaders reports whether ResponseRemoved can be true, so
// the engine checks each header only when it may. Engine only.
func (x *Exchange) RemovesResponseHeaders() bool { return len(x.respRemove) > 0 }

// AppendLinesExcept appends the header lines of lines ("Name: value\r\n"
// each) that no ResponseHead filter removed. Engine only.
func (x *Exchange) AppendLinesExcept(b, lines []byte) []byte {
	if len(x.respRemove) == 0 {
		return append(b, lines...)
	}
	for len(lines) > 0 {
		var name, line []byte
		name, line, lines = cutLine(lines)
		if name != nil && x.ResponseRemoved(name) {
			continue
		}
		b = append(b, line...)
	}
	return b
}

// dropLines removes the lines called name from b in place.
func dropLines(b []byte, name string) []byte {
	out := b[:0]
	for rest := b; len(rest) > 0; {
		var n, line []byte
		n, line, rest = cutLine(rest)
		if n != nil && http1.EqualFold(n, name) {
			continue
		}
		out = append(out, line...) // never ahead of rest: copy within b is safe
	}
	return out
}

// cutLine splits the first header line ("Name: value\r\n") off lines:
// its name (nil if it has none), the whole line, and the lines after it.
func cutLine(lines []byte) (name, line, rest []byte) {
	end := bytes.IndexByte(lines, '\n') + 1
	if end == 0 {
		end = len(lines)
	}
	line, rest = lines[:end], lines[end:]
	if c := bytes.IndexByte(line, ':'); c > 0 {
		name = line[:c]
	}
	return name, line, rest
}

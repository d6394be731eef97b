// Package filter is the contract between the engine and the middleware a
// route runs: the Filter interface, the per-request Exchange the filters
// share, and the Chain that runs them in the route's order.
//
// A filter is built once per config snapshot from a named middleware
// instance (see Register) and shared by every event loop, so its methods run
// concurrently and must use atomics or immutable state. They run on an event
// loop and must never block: a filter that needs I/O (a JWKS fetch) parks
// the request with Exchange.Park and resumes it from another goroutine.
package filter

import (
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/router"
)

// Verdict is what a filter decides about a request.
type Verdict uint8

const (
	// Continue passes the request to the next filter, then upstream.
	Continue Verdict = iota
	// Respond ends the request with a local answer: the gateway's JSON
	// error (Exchange.Reject: Status and Message) or the filter's own reply
	// (Exchange.Reply), plus any response headers the filters added.
	Respond
	// Pause stops the chain until the filter calls the function Park gave
	// it; the chain then runs again from the same filter.
	Pause
)

// Filter is one compiled middleware instance.
type Filter interface {
	// Request inspects (and may annotate) a routed request before an
	// upstream target is picked. Any loop, concurrently; must not block.
	Request(x *Exchange) Verdict
}

// Finisher is implemented by filters that want the outcome of each request
// they saw (audit and access logs): Finish runs once the response has been
// written or the request failed, with Exchange.Status set to what the
// client got. Request views (Exchange.Req) are gone by then; copy what
// Finish needs in Request. Any loop; must not block.
type Finisher interface {
	Finish(x *Exchange)
}

// Parker suspends a request; the engine implements it.
type Parker interface {
	// Park returns the function that resumes the request. It may be called
	// from any goroutine, at most once; calling it after the client left is
	// harmless. Unresumed after timeout (the engine's default when 0), the
	// request is answered 503 with msg (a default when "").
	Park(timeout time.Duration, msg string) (resume func())
}

// Exchange is the per-request state filters read and write. The engine owns
// it (one per request in flight, recycled) and touches it only on the
// request's loop; filters see it only inside their methods.
type Exchange struct {
	// Req is the parsed request. Its views point into the loop's read
	// buffer and die when Request returns.
	Req *http1.Request
	// Method is the request method, valid until Finish.
	Method []byte
	// Path is the normalised path the router matched (before strip_prefix),
	// valid until Finish.
	Path []byte
	// Params are the route's path parameters.
	Params *router.Params
	// ClientIP is the peer address of the client connection.
	ClientIP netip.Addr
	// Route is the configured name of the matched route.
	Route string
	// Now is the request's start, in unix nanoseconds (coarse clock).
	Now int64
	// RequestID is the request's ID (ours or the client's well-formed one).
	RequestID []byte

	// Identity, set by authentication filters for the filters after them.
	// The slices are owned by the filter that set them and must not be
	// modified; they stay valid until Finish.
	Consumer []byte         // API-key consumer ID
	Subject  []byte         // authenticated user (JWT sub)
	Claims   map[string]any // verified JWT claims; read-only

	// Outcome, for Respond and Finish.
	Status  int    // response status (set by the filter on Respond; by the engine before Finish)
	Message string // JSON error message on Respond

	// Upstream is the target address the request went to, "" if none.
	Upstream string
	// BytesOut counts response bytes written to the client (head + body).
	BytesOut int64

	RateLimit RateLimit

	upHeaders   []byte
	respHeaders []byte
	strip       []string
	parker      Parker

	// A Reply (reply false: a Reject, rendered as the JSON error).
	reply        bool
	replyHeaders []byte
	replyBody    []byte

	// Per-filter state (see State): slots[i] is filter i's; cur is the
	// filter the chain is running.
	slots []Slot
	cur   int

	// Response phase (response.go, response_body.go).
	resp       Response
	respRemove []string
	body       BodyChain
	listBuf    []byte // AddListToken's scratch

	// Body phase (body.go): the smallest limit asked for (0: none) and
	// the filters that asked, in route order.
	bodyLimit int64
	bodyAt    []int

	detailBody []byte  // RejectDetail's document (detail.go)
	rw         rewrite // path, query and Host edits (rewrite.go)
}

// RateLimit is the most restrictive limit applied to the request, which the
// chain renders as RateLimit-* and X-RateLimit-* response headers.
type RateLimit struct {
	Set       bool
	Headers   bool  // render the headers (the policy did not turn them off)
	Limit     int64 // requests per window
	Remaining int64
	Reset     int64 // seconds until the bucket is full again
}

// Offer records a limiter's decision, keeping the most restrictive one.
func (r *RateLimit) Offer(limit, remaining, reset int64, headers bool) {
	if r.Set && remaining >= r.Remaining {
		return
	}
	*r = RateLimit{Set: true, Headers: headers, Limit: limit, Remaining: remaining, Reset: reset}
}

// Reset clears x for the next request, keeping buffer capacity. Engine only.
func (x *Exchange) Reset(p Parker) {
	x.body.Release()              // a body abandoned midway: its transforms still recycle
	clear(x.slots[:cap(x.slots)]) // drop what filters kept; zero slots for the next request
	*x = Exchange{
		slots:       x.slots[:0],
		upHeaders:   x.upHeaders[:0],
		respHeaders: x.respHeaders[:0],
		strip:       x.strip[:0],
		respRemove:  x.respRemove[:0],
		listBuf:     x.listBuf[:0],
		bodyAt:      x.bodyAt[:0],
		detailBody:  x.detailBody[:0],
		rw:          x.rw.reset(),
		parker:      p,
	}
}

// Reject sets the status and message of a Respond verdict answered with
// the gateway's JSON error ({"error":msg,"request_id":...}) and returns it.
func (x *Exchange) Reject(status int, msg string) Verdict {
	x.Status, x.Message = status, msg
	x.reply, x.replyHeaders, x.replyBody = false, nil, nil
	return Respond
}

// Reply answers the request locally with status, header lines and body,
// and returns the Respond verdict to give. headers are complete lines
// ("Name: value\r\n", see AppendHeader), Content-Type included when
// there is a body; the gateway writes Date, Content-Length, X-Request-ID
// and Connection itself, so headers must not carry them. A 204 or 304
// reply, and any reply to HEAD, goes without its body (Content-Length
// still describes it for HEAD). status must be a final status (200-599);
// anything else is a filter bug and answers 500.
//
// headers and body are read until the reply is written, later than the
// filter method returns, and never modified: a filter that precomputes
// them once (at Build) replies without allocating.
func (x *Exchange) Reply(status int, headers, body []byte) Verdict {
	x.Status, x.Message = status, ""
	x.reply, x.replyHeaders, x.replyBody = true, headers, body
	return Respond
}

// LocalReply returns what Reply was given; ok is false when the Respond
// verdict came from Reject (the JSON error). Engine only.
func (x *Exchange) LocalReply() (headers, body []byte, ok bool) {
	return x.replyHeaders, x.replyBody, x.reply
}

// AppendHeader appends the header line "name: value\r\n" to b, the form
// Reply takes its headers in.
func AppendHeader(b []byte, name string, value []byte) []byte {
	return appendHeader(b, name, value)
}

// Park suspends the request (see Parker); the filter must return Pause.
// timeout is how long the filter's work may take (0: the engine's default,
// 10 s), msg the error message the client gets with a 503 if the request
// is not resumed in time (a constant; "": a generic one). The filter's
// State survives the pause; Request runs again, from this filter, on
// resume.
func (x *Exchange) Park(timeout time.Duration, msg string) (resume func()) {
	return x.parker.Park(timeout, msg)
}

// Slot is a filter's per-request state (see Exchange.State). Both fields
// are zero at the start of every request.
type Slot struct {
	N uint64 // a counter or flags, without allocating
	V any    // anything else; a pointer the filter pools avoids an allocation
}

// State returns the calling filter's slot for this request: what it
// learnt in Request (before a Pause, say) for its later calls (Request
// again on resume, ResponseHead, Finish), without a map keyed by request.
// Only inside the filter's own methods: the slot is found by the filter
// the chain is running. Cleared when the request ends.
func (x *Exchange) State() *Slot {
	if x.cur >= len(x.slots) {
		if x.cur < cap(x.slots) {
			x.slots = x.slots[:x.cur+1] // zeroed by Reset
		} else {
			x.slots = append(x.slots, make([]Slot, x.cur+1-len(x.slots))...)
		}
	}
	return &x.slots[x.cur]
}

// AddUpstreamHeader adds a header to the request sent upstream.
func (x *Exchange) AddUpstreamHeader(name string, value []byte) {
	x.upHeaders = appendHeader(x.upHeaders, name, value)
}

// AddResponseHeader adds a header to the response sent to the client,
// including error responses.
func (x *Exchange) AddResponseHeader(name string, value []byte) {
	x.respHeaders = appendHeader(x.respHeaders, name, value)
}

// AddResponseHeaderInt adds a header with a decimal value.
func (x *Exchange) AddResponseHeaderInt(name string, v int64) {
	x.respHeaders = append(x.respHeaders, name...)
	x.respHeaders = append(x.respHeaders, ": "...)
	x.respHeaders = strconv.AppendInt(x.respHeaders, v, 10)
	x.respHeaders = append(x.respHeaders, "\r\n"...)
}

// StripUpstream drops every client header called name (case-insensitive)
// from the request sent upstream. name should be a constant or config
// string: it is kept until the head is written.
func (x *Exchange) StripUpstream(name string) { x.strip = append(x.strip, name) }

// UpstreamHeaders returns the header lines ("Name: value\r\n") to add
// upstream. Engine only.
func (x *Exchange) UpstreamHeaders() []byte { return x.upHeaders }

// ResponseHeaders returns the header lines to add to the response.
// Engine only.
func (x *Exchange) ResponseHeaders() []byte { return x.respHeaders }

// Stripped reports whether the client header name was dropped by a filter.
// Engine only.
func (x *Exchange) Stripped(name []byte) bool {
	for _, s := range x.strip {
		if http1.EqualFold(name, s) {
			return true
		}
	}
	return false
}

func appendHeader(b []byte, name string, value []byte) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// Closer is implemented by filters that own goroutines or files (JWKS
// refresh, log writers). The pipeline closes them when their snapshot is
// retired.
type Closer = io.Closer

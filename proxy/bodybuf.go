package proxy

import "github.com/sluicehq/sluice/http1"

// Request buffering (limits.request_buffer_bytes, like nginx's
// proxy_request_buffering): a small request body is read whole on the client
// connection before an upstream connection is taken. Streaming it instead
// lets every slow sender hold an upstream connection for as long as it
// trickles a byte per response timeout, and an upstream with a fixed worker
// pool is starved by as many slow clients as it has workers (issue 12: 1,000
// attackers held 1,000 upstream connections).
//
// The body is not copied: it waits in the client's gnet input buffer behind
// its head, exactly as a filter's Park leaves it, and once it is whole the
// request resumes where dispatch stopped and pumpRequestBody forwards head and
// body from that buffer as it does for any request. So a buffered body is
// framed upstream the way every body is (one body pump), and the memory it
// takes is bounded by request_buffer_bytes per connection.

// bodyState is what the client's buffer holds of a body being buffered.
type bodyState uint8

const (
	bodyWhole   bodyState = iota // every byte is buffered
	bodyPartial                  // more to come, within the bound
	bodyStream                   // past the bound (chunked), or not a body to buffer: stream it
)

// continue100 answers "Expect: 100-continue" for the upstream while the
// gateway reads the body itself.
var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// bufferable reports whether the request's body is one to read whole first:
// buffering is on and the body is chunked (bounded as it arrives) or has a
// Content-Length within the bound. Loop only.
func (ex *exchange) bufferable() bool {
	limit := ex.snap.RequestBuffer
	switch {
	case ex.bodyFilterLimit() > 0:
		return true // a body filter reads it whole (bodyfilter.go)
	case limit <= 0:
		return false
	case ex.reqFraming == http1.FramingChunked:
		return true
	case ex.reqFraming == http1.FramingLength:
		return ex.reqFr.Committed() <= limit
	}
	return false
}

// bodyBuffered reports how much of the body behind the head (the first n
// buffered bytes) has arrived. A Content-Length body is only counted; a
// chunked one is scanned once, incrementally, across calls (gnet's Peek may
// copy what it holds to make it contiguous: at most the head plus
// request_buffer_bytes per read event, as for a head arriving in pieces).
// Loop only.
func (ex *exchange) bodyBuffered(n int) bodyState {
	in := ex.cl.c.InboundBuffered()
	if ex.reqFraming == http1.FramingLength {
		if ex.overFilterLimit(ex.reqFr.Committed()) {
			return ex.stopBuffering(errBodyTooLarge) // before a byte of it is read
		}
		if int64(in-n) >= ex.reqFr.Committed() {
			return bodyWhole
		}
		return bodyPartial
	}
	if in-n <= ex.bufAt {
		return bodyPartial
	}
	buf, _ := ex.cl.c.Peek(-1)
	p := buf[n+ex.bufAt:]
	for len(p) > 0 {
		k, data, done, err := ex.bufScan.Step(p)
		ex.bufAt += k
		ex.bufData += int64(len(data))
		switch {
		case err != nil:
			return ex.stopBuffering(errBadChunkedBody) // the body pump (or filterBody) answers the framing error
		case ex.overFilterLimit(ex.bufData + ex.bufScan.Pending()):
			return ex.stopBuffering(errBodyTooLarge)
		case int64(ex.bufAt)+ex.bufScan.Pending() > ex.bufLimit(n):
			// Past the bound once the announced chunk is in: stream it, and
			// let the body pump refuse it (413) if it is past max_body_bytes,
			// without waiting for data that may never come (a body filter's
			// request is refused at once: filterBody).
			return ex.stopBuffering(errBodyTooLarge)
		case done:
			return bodyWhole
		}
		p = p[k:]
	}
	return bodyPartial
}

// bufLimit is the most of a chunked body (raw bytes) that is buffered:
// request_buffer_bytes, or max_body_bytes when that is smaller; for a body
// filter, its own bound (rawFilterLimit). n is the head's length. Loop only.
func (ex *exchange) bufLimit(n int) int64 {
	if ex.bodyFilterLimit() > 0 {
		return ex.rawFilterLimit(n)
	}
	if m := ex.snap.MaxBodyBytes; m > 0 && m < ex.snap.RequestBuffer {
		return m
	}
	return ex.snap.RequestBuffer
}

// awaitBody parks the exchange, head unread, until its body is whole (see
// bodyArrived) or timeouts.client_body passes (sweepBody). A client that sent
// "Expect: 100-continue" waits for a 100 before sending its body: the gateway
// sends it, as the reader of the body, and drops the expectation from the
// head it forwards. Loop only.
func (ex *exchange) awaitBody(n int, expect100 bool) {
	cl := ex.cl
	ex.bufWait, ex.bufHead = true, n
	ex.deadline = cl.lp.e.clock() + int64(ex.snap.BodyTimeout)
	if expect100 && cl.c.InboundBuffered() == n && ex.clientMinor == 1 {
		_, _ = cl.c.Write(continue100)
	}
}

// bodyArrived runs on the client's traffic while the exchange waits for its
// body: once the body is whole (or turns out too long to buffer), the request
// goes on to its upstream. Loop only.
func (ex *exchange) bodyArrived() {
	switch ex.bodyBuffered(ex.bufHead) {
	case bodyPartial:
		return
	case bodyWhole:
		ex.bufWhole = true
	}
	ex.bufWait = false
	// The head is re-read as a parked filter's resume does (same bytes, same
	// snapshot); the middleware ran before the wait.
	if n, ok := ex.reread(); ok {
		ex.forward(n)
	}
}

// sweepBody answers 408 to a client that did not send its buffered body in
// time; its stream is then at an unknown point, so the connection closes.
// Loop only.
func (ex *exchange) sweepBody(now int64) {
	if now >= ex.deadline {
		ex.bufWait = false
		ex.fail(errBodyTimeout, nil, true)
	}
}

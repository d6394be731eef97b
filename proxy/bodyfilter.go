package proxy

import (
	"github.com/valyala/bytebufferpool"

	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// The body phase (filter.RequestBodyFilter): a filter that asked for the
// body (Exchange.BufferBody) gets it whole before an upstream connection is
// taken. It reuses request buffering (bodybuf.go) with the filter's limit
// instead of request_buffer_bytes: the body waits in the client's gnet
// input buffer behind its head, the gateway answers "Expect: 100-continue"
// while it does, and once the body is whole the filters run on a view of
// it (a Content-Length body) or on a de-chunked copy (a chunked one). The
// buffer itself is left as it is, so when the filters continue the body
// pump forwards exactly what it would have without them.
//
// A body the buffering gives up on is refused, never streamed: a filter
// that asked to see the body must see all of it before any goes upstream.

// rawFilterSlack is what chunk framing may add to a body filter's limit
// before the raw bytes buffered count as too large: size lines and CRLFs of
// chunks of a few bytes, and a trailer section.
const rawFilterSlack = 16 << 10

// bodyFilterLimit is the most content (de-chunked) buffered for the body
// phase: the smallest limit a filter asked for, or max_body_bytes when that
// is smaller; 0 when no filter asked or the request has no body. Loop only.
func (ex *exchange) bodyFilterLimit() int64 {
	limit := ex.fx.BodyLimit()
	if limit <= 0 || ex.reqFraming == http1.FramingNone {
		return 0
	}
	if m := ex.snap.MaxBodyBytes; m > 0 && m < limit {
		return m
	}
	return limit
}

// rawFilterLimit bounds the raw bytes of a chunked body buffered for the
// body phase: twice the content limit plus rawFilterSlack, and never so much
// that head and body pass holdHighWater, where onTraffic would close the
// connection before the 413. n is the head's length. Loop only.
func (ex *exchange) rawFilterLimit(n int) int64 {
	return min(2*ex.bodyFilterLimit()+rawFilterSlack, holdHighWater-int64(n))
}

// overFilterLimit reports whether a body that committed to size bytes of
// content is past the body phase's limit. Loop only.
func (ex *exchange) overFilterLimit(size int64) bool {
	limit := ex.bodyFilterLimit()
	return limit > 0 && size > limit
}

// stopBuffering ends a buffering that cannot finish (a bad chunk, a body
// past its bound). Without a body filter the body streams, and the body
// pump answers what is wrong with it as it goes; with one, why is kept so
// forward refuses the request (filterBody). Loop only.
func (ex *exchange) stopBuffering(why *replyError) bodyState {
	if ex.bodyFilterLimit() > 0 {
		ex.bufStop = why
	}
	return bodyStream
}

// filterBody runs the body phase on the whole body behind the head (n
// bytes) and reports whether the request goes on upstream; if not, it was
// answered. Loop only.
func (ex *exchange) filterBody(n int) bool {
	cl := ex.cl
	if ex.bufStop != nil || !ex.bufWhole {
		why := ex.bufStop
		if why == nil {
			why = errInternal // bufferable said yes, so a body not whole is our bug
		}
		_, _ = cl.c.Discard(n)
		ex.fail(why, nil, true) // the body was not read: the stream is lost
		return false
	}
	buf, _ := cl.c.Peek(-1)
	raw := buf[n:]
	var scratch *bytebufferpool.ByteBuffer
	var body []byte
	used := int(ex.reqFr.Committed()) // a Content-Length body: a view of it
	if ex.reqFraming == http1.FramingChunked {
		scratch = bytebufferpool.Get()
		scratch.B = dechunk(scratch.B[:0], raw[:ex.bufAt])
		body, used = scratch.B, ex.bufAt
	} else {
		body = raw[:used]
	}
	lp := cl.lp
	x := &ex.fx
	method, path := x.Method, x.Path
	x.Req, x.Method, x.Path = &lp.req, lp.req.Method, lp.norm // the head, parsed again by reread or still from begin
	from := 0
	if ex.bodyPark { // resumed: on from the filter that paused
		ex.bodyPark, from = false, ex.chainAt
	}
	v, at := ex.chain.RequestBody(x, body, from)
	x.Req, x.Method, x.Path = nil, method, path
	if scratch != nil {
		bytebufferpool.Put(scratch)
	}
	switch v {
	case filter.Continue:
		return true
	case filter.Pause:
		// Head and body stay buffered; resume comes back here (filters.go).
		ex.bodyPark = true
		ex.park(at)
		return false
	}
	// The body was read whole: drop it with the head, and the connection
	// serves the next request.
	ex.ranTo = at
	ex.reqBody = int64(len(body))
	_, _ = cl.c.Discard(n + used)
	ex.respondFiltered(false)
	return false
}

// dechunk appends the content of the chunked body raw (whole, scanned once
// already by bodyBuffered, so it decodes) to dst.
func dechunk(dst, raw []byte) []byte {
	var c http1.Chunked
	for len(raw) > 0 {
		k, data, done, err := c.Step(raw)
		dst = append(dst, data...)
		if done || err != nil {
			break
		}
		raw = raw[k:]
	}
	return dst
}

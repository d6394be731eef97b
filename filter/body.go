package filter

import "slices"

// RequestBodyFilter is implemented by filters that read a request's body
// before it goes upstream: validation today (`validate`), a body
// transform or a WAF later. The body phase is opt-in per request: a filter
// asks for it from Request with x.BufferBody(limit), so a route pays for
// buffering only on the requests that need it (a GET passes untouched).
//
// RequestBody runs in route order, once per request, for each filter that
// asked, after every filter's Request ran to Continue and before an
// upstream connection is taken. body is the whole content, de-chunked
// (chunk framing and trailers removed), at most the smallest limit any
// filter asked for: a larger body never reaches the phase, the client gets
// 413. body is the gateway's buffer, valid only during the call (copy what
// a goroutine needs) and read-only: what goes upstream is the body as the
// client sent it, framed by the body pump as any body is (a chunked one
// re-chunked), whatever the filter saw. x.Req is the request head again (views valid during the
// call); x.Method and x.Path as in Request; x.Params is nil; x.State keeps
// what Request learnt.
//
// It returns Continue, or answers with x.Reject, x.RejectDetail or
// x.Reply: the body has been read whole, so the connection stays usable
// for the next request. The response phase then runs over the filters
// before this one in route order, as for an answer from Request. Work
// too long for the loop (a large document to check) goes to a goroutine:
// the filter copies what it needs of body, calls x.Park and returns Pause;
// on resume RequestBody runs again from this filter with the same body,
// and finds the goroutine's result itself (in x.State(), as a parked
// Request does). Any loop; must not block.
//
// A streamed variant (called per data run as the body pump forwards it,
// for transforms of bodies larger than memory, or a scanner that stops at
// the first match) would be a second optional interface beside this one,
// RequestBodyChunk(x, chunk, end), fed by the same framer; BufferBody stays
// the way a filter that needs the whole document asks for it.
type RequestBodyFilter interface {
	RequestBody(x *Exchange, body []byte) Verdict
}

// BufferBody asks the gateway to read the request's body whole before it
// goes upstream, and to call the filter's RequestBody with it (see
// RequestBodyFilter). limit bounds the content (de-chunked) the filter
// accepts; the smallest limit asked for on a request wins, and a body
// over it is answered 413 {"error":"request body too large"} (a
// Content-Length over it before any byte is read, a chunked body as soon
// as its chunk sizes pass it). The body is read within
// timeouts.client_body, whatever limits.request_buffer_bytes says, and an
// "Expect: 100-continue" is then answered by the gateway. A request with
// no body (no Transfer-Encoding, no or a zero Content-Length) has nothing
// to buffer: RequestBody is not called. limit <= 0 is ignored. Request
// only (of a filter implementing RequestBodyFilter); asking twice (again
// after a Pause) counts once.
func (x *Exchange) BufferBody(limit int64) {
	if limit <= 0 {
		return
	}
	if x.bodyLimit == 0 || limit < x.bodyLimit {
		x.bodyLimit = limit
	}
	if i, found := slices.BinarySearch(x.bodyAt, x.cur); !found {
		x.bodyAt = slices.Insert(x.bodyAt, i, x.cur) // kept in route order
	}
}

// BodyLimit returns the limit the request's body is buffered under for
// the body phase; 0 when no filter asked for it. Engine only.
func (x *Exchange) BodyLimit() int64 { return x.bodyLimit }

// RequestBody runs the body phase (see RequestBodyFilter) over the filters
// that asked for the body, in route order, from filter index from on (0,
// or the filter that paused), and returns the verdict and the filter that
// gave it (Len() when all continued). Respond means the request was
// answered, and the response phase runs over the filters before at; Pause
// means filter at parked it, and the phase resumes with from = at. Any
// loop.
func (c *Chain) RequestBody(x *Exchange, body []byte, from int) (v Verdict, at int) {
	if c == nil {
		return Continue, 0
	}
	for _, i := range x.bodyAt {
		bf, ok := c.filters[i].(RequestBodyFilter)
		if !ok || i < from {
			continue // asked without implementing the phase, or already ran
		}
		x.cur = i
		if v = bf.RequestBody(x, body); v == Continue {
			continue
		}
		if v == Respond && x.counted() {
			c.labels[i].count(x.Status, x.Message)
		}
		return v, i
	}
	return Continue, len(c.filters)
}

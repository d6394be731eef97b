package filter

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
// 413. body is the gateway's buffer, valid only during the call and
// read-only: what goes upstream is the body as the client sent it, framed
// by the body pump as any body is (a chunked one re-chunked), whatever the
// filter saw. x.Req is the request head again (views valid during the
// call); x.Method and x.Path as in Request; x.Params is nil; x.State keeps
// what Request learnt.
//
// It returns Continue, or answers with x.Reject or x.Reply: the body has
// been read whole, so the connection stays usable for the next request.
// The response phase then runs over the filters before this one in route
// order, as for an answer from Request. It must not Pause (the gateway
// answers 500): a filter that needs slow work on the body hands it to a
// goroutine in a later version of the contract. Any loop; must not block.
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
	if n := len(x.bodyAt); n == 0 || x.bodyAt[n-1] != x.cur {
		x.bodyAt = append(x.bodyAt, x.cur) // Request runs in route order: bodyAt stays sorted
	}
}

// BodyLimit returns the limit the request's body is buffered under for
// the body phase; 0 when no filter asked for it. Engine only.
func (x *Exchange) BodyLimit() int64 { return x.bodyLimit }

// bodyPaused is the message of the 500 answered when a filter paused in
// the body phase, which the contract does not allow.
const bodyPaused = "middleware paused on the request body"

// RequestBody runs the body phase (see RequestBodyFilter) over the filters
// that asked for the body, in route order, and returns the verdict and
// the filter that gave it (Len() when all continued). Respond means the
// request was answered; the response phase then runs over the filters
// before at. Any loop.
func (c *Chain) RequestBody(x *Exchange, body []byte) (v Verdict, at int) {
	if c == nil {
		return Continue, 0
	}
	for _, i := range x.bodyAt {
		bf, ok := c.filters[i].(RequestBodyFilter)
		if !ok {
			continue // asked without implementing the phase: nothing to call
		}
		x.cur = i
		switch v = bf.RequestBody(x, body); v {
		case Continue:
			continue
		case Pause:
			v = x.Reject(500, bodyPaused)
		}
		if x.counted() {
			c.labels[i].count(x.Status, x.Message)
		}
		return v, i
	}
	return Continue, len(c.filters)
}

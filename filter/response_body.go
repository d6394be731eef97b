package filter

// The response body phase (DESIGN §2a's ResponseBody, shaped as an object):
// a ResponseHeadFilter that wants to see or change the body attaches a
// BodyTransform for this one response, and the engine runs every attached
// transform over each run of body bytes, streamed, in the order they were
// attached (reverse route order, the order ResponseHead runs in).
//
// Why an object per response rather than a filter method called with x:
// whoever relays the body owns its transforms, the loop or, for a client
// that reads slower than the upstream sends, the stream goroutine the rest
// of the body moves to (proxy/stream_response.go). A BodyChain is a value
// that moves with the body; a method reaching the transform through x.State
// would share the Exchange with the loop, which recycles it when the
// client leaves. The transform carries what it learnt in ResponseHead (an
// encoder, a cache key) and is released exactly once by its owner.

// BodyTransform changes or watches one response's body. Compression
// returns the encoded bytes; a cache fill (a tee) copies the run and
// returns it unchanged.
type BodyTransform interface {
	// Transform takes the next run of body bytes (payload, without
	// framing; valid only during the call, never kept) and returns what
	// to pass on, which may be empty. The returned slice is the
	// transform's own and must stay unchanged until its next call or
	// Release. end is true once, on the last call (chunk may be empty
	// then): the transform flushes what it holds. It must pass each run
	// on promptly, never hold a run back for more input (a streamed
	// response would stall), and keep its memory bounded whatever the
	// body's length. An error cuts the client off mid-body. Called by the
	// body's relayer: on the loop or on a stream goroutine, never both at
	// once; must not block.
	Transform(chunk []byte, end bool) ([]byte, error)
	// Release ends the transform, after the last Transform or when the
	// response was abandoned midway (client gone, upstream broken): it may
	// recycle its buffers, which nothing reads again. Called exactly once,
	// by the body's relayer.
	Release()
}

// maxBodyTransforms bounds the transforms on one response, so a BodyChain
// is a fixed-size value that moves between owners without allocating.
const maxBodyTransforms = 4

// BodyChain is the body phase of one response: the transforms attached by
// ResponseHead filters, in the order they run. The zero value has none.
// It is a value owned by whoever relays the body: the Exchange until the
// engine takes it (TakeBody) for a stream goroutine.
type BodyChain struct {
	ts      [maxBodyTransforms]BodyTransform
	n       int
	resizes bool // some transform changes the body's length
}

// Active reports whether a transform is attached. Any owner.
func (b *BodyChain) Active() bool { return b.n > 0 }

// Resizes reports whether the body's length changes on the way, so the
// upstream's Content-Length no longer holds: the engine sends the body
// chunked to an HTTP/1.1 client and close-delimited to an HTTP/1.0 one.
// Any owner.
func (b *BodyChain) Resizes() bool { return b.resizes }

// Transform runs chunk through every transform in order (each one's output
// is the next one's input) and returns the last output, valid until the
// next call or Release. end is passed to each. Owner only.
func (b *BodyChain) Transform(chunk []byte, end bool) ([]byte, error) {
	for i := range b.n {
		var err error
		if chunk, err = b.ts[i].Transform(chunk, end); err != nil {
			return nil, err
		}
	}
	return chunk, nil
}

// Release releases every transform once and empties the chain. Owner only.
func (b *BodyChain) Release() {
	for i := range b.n {
		b.ts[i].Release()
	}
	*b = BodyChain{}
}

// TransformBody attaches t to this response's body, which t may change in
// length (compression): the upstream's Content-Length is dropped. It
// reports whether t was attached: never on a local answer (the gateway
// writes those whole) nor past four transforms on one response; a filter
// sets its headers (Content-Encoding) only when it was, and otherwise
// releases t itself. ResponseHead only.
func (r *Response) TransformBody(t BodyTransform) bool { return r.attach(t, true) }

// WatchBody attaches t to see this response's body without changing it
// (a cache fill): t must return each run unchanged, and the upstream's
// framing is kept. Otherwise as TransformBody. ResponseHead only.
func (r *Response) WatchBody(t BodyTransform) bool { return r.attach(t, false) }

func (r *Response) attach(t BodyTransform, resizes bool) bool {
	b := &r.x.body
	if r.Local || b.n == maxBodyTransforms {
		return false
	}
	b.ts[b.n] = t
	b.n++
	b.resizes = b.resizes || resizes
	return true
}

// dropBodyPhase forgets the transforms attached to an upstream response a
// later filter replaced with a local answer: that body is never relayed,
// and the Content-Encoding they announced would mislabel the answer.
func (x *Exchange) dropBodyPhase() {
	if x.body.Active() {
		x.body.Release()
		x.respHeaders = dropLines(x.respHeaders, "Content-Encoding")
	}
}

// Body is the response's body phase, for the engine to run while the loop
// relays the body. Engine only.
func (x *Exchange) Body() *BodyChain { return &x.body }

// TakeBody hands the body phase to a new owner (a stream goroutine), which
// must Release it; the Exchange keeps an empty chain. Engine only.
func (x *Exchange) TakeBody() BodyChain {
	b := x.body
	x.body = BodyChain{}
	return b
}

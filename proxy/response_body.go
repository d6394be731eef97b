package proxy

import (
	"strconv"

	"github.com/valyala/bytebufferpool"

	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// The response body phase (filter/response_body.go): when a ResponseHead
// filter attached a transform (compression, a cache fill), the body is
// relayed as payload through filter.BodyChain instead of frame by frame,
// and the gateway writes the framing of what comes out: chunked to an
// HTTP/1.1 client when the length changes or the upstream chunked,
// close-delimited to an HTTP/1.0 one, the upstream's Content-Length only
// when no transform resizes the body. Relaying is otherwise unchanged: the
// loop runs the chain in pumpResponse, a stream goroutine in copyResponse
// once the client falls behind (the chain moves to it with the framer).
// These hooks are kept to this file so the relay code stays as it was.

// respBody is how a transformed response body is framed for the client.
// The zero value is the plain relay. Loop only (copied to a stream).
type respBody struct {
	on      bool                       // a transform is attached: relay payload through it
	chunked bool                       // we chunk what comes out (HTTP/1.1 client)
	whole   bool                       // gathered whole and transformed off the loop (response_body_offload.go)
	pending bool                       // a worker has the whole body
	buf     *bytebufferpool.ByteBuffer // the body gathered so far
	size    [18]byte                   // a chunk's size line
}

// startBodyPhase sets the relay up for the transforms attached by
// ResponseHead, after relayHead picked the plain framing. A bodiless
// response (HEAD, 204, 304, Content-Length: 0) has nothing to transform:
// its chain is released. Loop only.
func (ex *exchange) startBodyPhase() {
	b := ex.fx.Body()
	if !b.Active() {
		return
	}
	if ex.respFrame == http1.FramingNone {
		b.Release()
		return
	}
	ex.rb.on = true
	ex.respFr.Reset(ex.respFrame, ex.resp.ContentLength, false) // payload only: transforms see no framing
	reframe := b.Resizes() || ex.respFrame == http1.FramingChunked
	ex.rb.chunked = reframe && ex.clientMinor == 1
	if reframe && !ex.rb.chunked {
		ex.keepAlive = false // an HTTP/1.0 client learns the end from our close
	}
	ex.rb.whole = ex.respFrame == http1.FramingLength && ex.resp.ContentLength <= offloadMax
}

// appendBodyFraming writes the framing header of a transformed body: none
// when it is close-delimited. Loop only.
func appendBodyFraming(b []byte, ex *exchange) []byte {
	switch {
	case ex.rb.chunked:
		return append(b, "Transfer-Encoding: chunked\r\n"...)
	case !ex.fx.Body().Resizes() && ex.respFrame == http1.FramingLength:
		return appendContentLength(b, ex.resp.ContentLength)
	}
	return b
}

// writeTransformed runs a run of payload (end: the last) through the body
// chain and writes head (may be empty) and what came out, framed, in one
// syscall. A transform's error cuts the client off after head. It reports
// whether the client is still there. Loop only.
func (ex *exchange) writeTransformed(head, data []byte, end bool) bool {
	cl := ex.cl
	var f http1.Frame
	if ex.rb.whole {
		ex.gather(data) // the rest comes with completeBody
	} else if len(data) > 0 || end {
		out, err := ex.fx.Body().Transform(data, end)
		if err != nil {
			cl.lp.writeFrame(cl.c, head, f)
			cl.close() // mid-body: a short response, never a wrong one
			return false
		}
		f = ex.rb.frame(out, end)
	}
	ex.bytesOut += int64(len(head) + f.Len())
	cl.lp.writeFrame(cl.c, head, f)
	return !cl.closed
}

// frame frames a transform's output for the client.
func (rb *respBody) frame(out []byte, end bool) http1.Frame {
	if !rb.chunked {
		return http1.Frame{Data: out}
	}
	f := http1.Frame{Data: out}
	if len(out) > 0 {
		f.Pre = append(strconv.AppendUint(rb.size[:0], uint64(len(out)), 16), '\r', '\n')
		f.Post = crlf
		if end {
			f.Post = crlfLastChunk
		}
	} else if end {
		f.Post = crlfLastChunk[2:]
	}
	return f
}

// Static tails of a chunked body we frame ourselves.
var (
	crlf          = []byte("\r\n")
	crlfLastChunk = []byte("\r\n0\r\n\r\n")
)

// streamBody is the body phase moved to a stream goroutine with the rest
// of a transformed response. Stream goroutine only.
type streamBody struct {
	rb    respBody
	chain filter.BodyChain
	buf   []byte // the framed output of one run
}

// takeBodyPhase moves the body chain from the exchange to s, which releases
// it when the stream ends. Loop only.
func (s *stream) takeBodyPhase(ex *exchange) {
	if ex.rb.on {
		s.body = streamBody{rb: ex.rb, chain: ex.fx.TakeBody()}
	}
}

// transform runs what one read delimited through the chain and returns the
// bytes to write (p itself when no transform is attached). Called by the
// stream goroutine.
func (s *stream) transform(p []byte, end bool) ([]byte, error) {
	sb := &s.body
	if !sb.rb.on || (len(p) == 0 && !end) {
		return p, nil
	}
	out, err := sb.chain.Transform(p, end)
	if err != nil {
		return nil, err
	}
	f := sb.rb.frame(out, end)
	if len(f.Pre)+len(f.Post) == 0 {
		return out, nil
	}
	sb.buf = f.AppendTo(sb.buf[:0])
	return sb.buf, nil
}

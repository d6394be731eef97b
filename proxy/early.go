package proxy

import "bytes"

// An upload streamed off the loop (stream.go) leaves the upstream's response
// in the upstream's gnet buffer until the client is back on the loop
// (pumpResponse does not relay while the client is detached). An upstream
// that answers and then closes (Connection: close, an HTTP/1.0 server, many
// error paths) before that would take its response with it: gnet frees the
// buffer right after OnClose (gnet v2.9.7 eventloop_unix.go, close: OnClose,
// then c.release()). So upConn.Closed keeps a copy on the exchange, bounded
// by inHighWater like everything that waits for a detached client, and the
// response is relayed from that copy once the client is back: the same
// pumpResponse and relayHead, reading ex.early instead of the gnet buffer
// (respBytes, respConsume), and then the upstream's close is applied as it
// would have been on the loop (upstreamClosed): the end of a close-delimited
// body, a cut (or a 502 before any byte reached the client) anywhere else.
//
// The client connection is kept alive after such a response when it is
// complete and length- or chunk-framed and the request body was read to its
// end: the client's stream is at a request boundary, and the next request
// gets a new upstream connection like any other; this is what the client
// gets from an upstream that answers with Connection: close while it is on
// the loop. A close-delimited response, a short one, or one that came before
// the body was through (the rest of the body is not read) closes it.
// (Regression: TestUploadResponseBeforeCloseWhileDetached.)

// keepEarly copies the response bytes a closing upstream leaves unread while
// its exchange's client is detached; it runs in Closed, the last moment
// they exist. One allocation, on a rare path. Loop only.
func (up *upConn) keepEarly() {
	ex := up.ex
	if ex == nil || ex.up != up || ex.cl == nil || !ex.cl.detached || up.c == nil {
		return
	}
	if buf, _ := up.c.Peek(-1); len(buf) > 0 {
		ex.early = bytes.Clone(buf)
	}
}

// respBytes is the response the upstream sent that is not relayed yet: the
// upstream conn's buffer, or with no upstream the copy keepEarly made.
// Loop only.
func (ex *exchange) respBytes() []byte {
	if up := ex.up; up != nil {
		buf, _ := up.c.Peek(-1)
		return buf
	}
	return ex.early
}

// respConsume drops the first n bytes of respBytes. Loop only.
func (ex *exchange) respConsume(n int) {
	if up := ex.up; up != nil {
		_, _ = up.c.Discard(n)
		return
	}
	ex.early = ex.early[n:]
}

// relayEarly relays the response kept by keepEarly to the client, back on
// the loop, then ends the exchange as the upstream's close does. Called by
// reattached with ex.up nil. Loop only.
func (ex *exchange) relayEarly() {
	gen, cl := ex.gen, ex.cl
	ex.pumpResponse() // all of it is here: it stops only at the end of what was kept
	if ex.gen != gen || cl.closed || ex.up != nil {
		return // complete, failed or (never for a streamed body) retried
	}
	ex.early = nil
	ex.upstreamClosed()
}

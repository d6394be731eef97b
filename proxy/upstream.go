package proxy

import (
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/upstream"
)

// upConn is one connection to an upstream target, enrolled on the loop of
// the client it was dialed for. All fields are loop only.
type upConn struct {
	lp        *Worker
	pool      *pool
	c         Conn      // nil until Opened
	sock      Socket    // nil until Opened
	ex        *exchange // exchange in flight; nil when idle
	closed    bool
	tornDown  bool // teardown ran (it may be reached twice: pool.get and the deferred list)
	reused    bool // served an exchange before: may have been closed by the peer meanwhile
	idleAt    int  // index in pool.idle, -1 when not idle
	idleSince int64
}

// attach binds ex to up. Loop only.
func (up *upConn) attach(ex *exchange) {
	up.ex = ex
	ex.up = up
	ex.headOnWire = false
	ex.lastReused = up.reused
}

// Opened: the dial finished and the conn is on our loop. Loop only.
func (up *upConn) Opened(c Conn, s Socket) {
	up.c, up.sock = c, s
	p := up.pool
	p.dialing--
	p.busy++
	ex := up.ex
	if ex == nil || ex.up != up || ex.cl == nil || ex.cl.closed {
		// The client left while we dialed: keep the fresh conn for the next one.
		up.ex = nil
		p.put(up)
		return
	}
	ex.send()
}

// DialFailed: the dial failed. Loop only.
func (up *upConn) DialFailed(error) {
	up.pool.dialing--
	up.closed = true
	up.tornDown = true
	up.lp.loop.CloseUpstream()
	ex := up.ex
	up.ex = nil
	if ex == nil || ex.up != up || ex.cl == nil || ex.cl.closed {
		return
	}
	ex.up = nil
	ex.report(upstream.Failure)
	if ex.canRetry(upstream.RetryConnectFailure) {
		ex.retry()
		return
	}
	ex.fail(errConnectFailed, nil, !ex.reqDone)
}

// Traffic relays response bytes. Loop only.
func (up *upConn) Traffic() {
	if up.closed {
		return
	}
	if up.ex == nil {
		// An idle upstream must not speak: whatever it sent would be read as
		// the response to the next request on this connection.
		up.discard()
		return
	}
	up.ex.pumpResponse()
}

// Closed is the transport's notice that the socket is gone; like
// client.Closed, the teardown waits for Teardown, after the current event.
// Loop only.
func (up *upConn) Closed() {
	if up.closed {
		return
	}
	up.closed = true
	up.keepEarly()
}

// Teardown runs after the event in which Closed ran. Loop only.
func (up *upConn) Teardown() { up.teardown() }

// teardown takes a closed connection out of its pool and tells its exchange.
// Loop only.
func (up *upConn) teardown() {
	if up.tornDown {
		return
	}
	up.tornDown = true
	up.lp.loop.CloseUpstream()
	if up.idleAt >= 0 {
		up.pool.remove(up)
		return
	}
	up.pool.busy--
	if ex := up.ex; ex != nil {
		up.ex = nil
		ex.upstreamClosed()
	}
}

// discard closes the connection and forgets it, whatever its state; the
// exchange (if any) must already have let go of it. Loop only.
func (up *upConn) discard() {
	if up.closed {
		return
	}
	if up.idleAt >= 0 {
		up.pool.remove(up)
	} else {
		up.pool.busy--
	}
	up.closed = true
	up.ex = nil
	// OnClose will see closed and skip teardown, so discard does its
	// accounting: the descriptor budget's count too, which, left out,
	// shrank the budget by one for every connection the pool ever closed
	// (idle timeout, surplus, max_idle 0, retired pools) until every new
	// upstream connection was refused with 503 (issue 12).
	up.tornDown = true
	up.lp.loop.CloseUpstream()
	if up.sock != nil {
		up.sock.Close()
	}
}

// pumpResponse parses and relays whatever the upstream has sent: from its
// gnet buffer, or with ex.up nil from ex.early (early.go). Loop only.
func (ex *exchange) pumpResponse() {
	up, cl := ex.up, ex.cl
	if cl.detached {
		// The response waits in the upstream's buffer until the client is
		// back; an upstream that answers at length before reading the body
		// is dropped (the stream then answers 502) rather than buffered.
		// What is left when it closes is kept by keepEarly: at most this.
		if up.c.InboundBuffered() > inHighWater {
			ex.up = nil
			up.ex = nil
			up.discard()
			return
		}
		if ex.tWaited == 0 {
			ex.tWaited = nanotime()
		}
		return
	}
	for !cl.closed && ex.up == up && (up == nil || !up.closed) {
		buf := ex.respBytes()
		if len(buf) == 0 {
			return
		}
		if ex.shouldStreamResponse(len(buf)) {
			// The client reads slower than the upstream sends: the rest of
			// the body moves off the loop (stream_response.go).
			ex.streamResponse()
			return
		}
		ex.gotByte = true
		if ex.respState == rsBody {
			// Body progress keeps the response alive; before the final head
			// nothing does (interim heads and a trickled head included):
			// the timeout runs from request sent to response head received.
			// (Regression: TestEndlessInterimStormIs504.)
			ex.deadline = ex.cl.lp.e.clock() + int64(ex.target.Cluster.ResponseTimeout)
		}
		if ex.respState == rsHead {
			if !ex.relayHead(buf) {
				return
			}
			continue
		}
		n, body, done, err := ex.respFr.Next(buf)
		if err != nil {
			ex.upstreamBroken(errBadChunkedResponse)
			return
		}
		if ex.rb.on {
			if !ex.writeTransformed(nil, body.Data, done) {
				return
			}
		} else if body.Len() > 0 {
			ex.bytesOut += int64(body.Len())
			cl.lp.writeFrame(cl.c, nil, body)
		}
		ex.respConsume(n)
		if done {
			ex.completeBody()
			return
		}
	}
}

// relayHead parses the response head at the start of buf and writes our
// rewritten head, plus whatever body bytes came with it, in one syscall.
// It returns false when it consumed nothing more can be done now.
func (ex *exchange) relayHead(buf []byte) bool {
	up, cl := ex.up, ex.cl
	ex.resp.Reset()
	n, err := http1.ParseResponse(buf, &ex.resp, 0)
	if err == http1.ErrIncomplete {
		return false
	}
	if err != nil {
		ex.upstreamBroken(errBadResponseHead)
		return false
	}
	if ex.resp.Status < 200 {
		if ex.resp.Status == 101 {
			ex.upstreamBroken(errSwitchedProtocols)
			return false
		}
		// Interim responses (100 Continue, 103 Early Hints) go to HTTP/1.1
		// clients less their hop-by-hop headers; HTTP/1.0 clients must not
		// see them (RFC 9110 §15.2). They are advisory: to a client not
		// reading them they are dropped, not buffered without bound.
		// (Regression: TestInterimStormToAStalledClientIsBounded.)
		if ex.clientMinor == 1 && !cl.closed && cl.c.OutboundBuffered() <= streamHighWater {
			cl.lp.out = appendInterimHead(cl.lp.out[:0], &ex.resp)
			ex.bytesOut += int64(len(cl.lp.out))
			_, _ = cl.c.Write(cl.lp.out)
		}
		ex.respConsume(n)
		return true
	}
	if ex.tHead = nanotime(); ex.tWaited != 0 {
		// The head waited for a detached client: the upstream's time ends
		// when it answered, not when we could relay (an interim head that
		// came first makes this a little early).
		ex.tHead = ex.tWaited
	}
	ex.deadline = cl.lp.e.clock() + int64(ex.target.Cluster.ResponseTimeout) // now a body-idle timeout
	ex.reportStatus(ex.resp.Status)
	if s := ex.resp.Status; (s == 502 && ex.canRetry(upstream.Retry502)) || (s == 503 && ex.canRetry(upstream.Retry503)) {
		ex.up, ex.early = nil, nil
		if up != nil {
			up.ex = nil
			up.discard() // its body is unread; a new try gets a clean conn
		}
		ex.retry()
		return false
	}
	ex.fx.Status = ex.resp.Status
	ex.respFrame = http1.ResponseFraming(ex.headReq, &ex.resp)
	if ex.respFrame == http1.FramingClose && ex.resp.Header("Transfer-Encoding") != nil {
		// Codings other than chunked (RFC 9112 §6.3): relaying them would need
		// the Transfer-Encoding header, which is hop-by-hop; refuse instead.
		ex.upstreamBroken(errBadTransferCoding)
		return false
	}
	if ex.chain.HasResponders() && ex.ranTo > 0 {
		v, at := ex.chain.ResponseHead(&ex.fx, ex.ranTo, ex.resp.Status, ex.resp.Headers, false)
		if v == filter.Respond {
			// A filter replaces the upstream's response: its body stays
			// unread, so its connection cannot be reused.
			ex.ranTo = at
			ex.up = nil
			up.ex = nil
			up.discard()
			ex.respondFiltered(!ex.reqDone)
			return false
		}
		ex.ranTo = 0 // the phase ran; a later failure must not run it again
	}
	ex.dechunk = ex.respFrame == http1.FramingChunked && ex.clientMinor == 0
	// A chunked body is re-chunked for HTTP/1.1 clients (our size lines, no
	// extensions, no trailers) and de-chunked for HTTP/1.0 ones.
	ex.respFr.Reset(ex.respFrame, ex.resp.ContentLength, !ex.dechunk)
	ex.startBodyPhase() // a ResponseHead filter may transform the body (response_body.go)
	if ex.respFrame == http1.FramingClose || ex.dechunk || !ex.reqDone {
		// Without a length the client learns the end only from our close;
		// and a request body the upstream did not wait for leaves the
		// client's stream at an unknown point.
		ex.keepAlive = false
	}
	if cl.lp.e.draining.Load() {
		ex.keepAlive = false
	}
	cl.lp.out = appendClientHead(cl.lp.out[:0], ex)
	ex.respState = rsBody
	rest := buf[n:]
	var done bool
	var body http1.Frame
	m := 0
	if ex.respFrame == http1.FramingNone {
		done = true
	} else if len(rest) > 0 {
		var err error
		m, body, done, err = ex.respFr.Next(rest)
		if err != nil {
			ex.upstreamBroken(errBadChunkedResponse)
			return false
		}
	}
	ex.wrote = true
	if ex.rb.on {
		ex.writeTransformed(cl.lp.out, body.Data, done)
	} else {
		ex.bytesOut += int64(len(cl.lp.out) + body.Len())
		cl.lp.writeFrame(cl.c, cl.lp.out, body)
	}
	if cl.closed {
		return false // the write failed and closed it; the teardown follows
	}
	ex.respConsume(n + m)
	if done {
		ex.completeBody()
		return false
	}
	return true
}

// complete finishes an exchange whose response has fully reached the client:
// the upstream goes back to its pool when it can carry another request.
// Loop only.
func (ex *exchange) complete() {
	cl := ex.cl
	ex.putUpstream()
	keepAlive := ex.keepAlive && ex.reqDone
	cl.lp.release(ex)
	cl.finished(keepAlive)
}

// putUpstream lets go of an upstream whose response is all in: back to its
// pool when it can carry another request. Loop only.
func (ex *exchange) putUpstream() {
	up := ex.up
	// Bytes after the end of the response would be read as the answer to the
	// next request on this connection: such an upstream is not reused.
	reusable := ex.reqDone && ex.resp.KeepAlive && ex.respFrame != http1.FramingClose &&
		up != nil && !up.closed && up.c.InboundBuffered() == 0
	ex.up = nil
	if up != nil {
		up.ex = nil
		up.reused = true
		if reusable {
			up.pool.put(up)
		} else {
			up.discard()
		}
	}
}

// upstreamClosed handles the upstream socket closing under an exchange.
// Loop only.
func (ex *exchange) upstreamClosed() {
	ex.up = nil
	switch {
	case ex.rb.pending:
		// The body is all in and with a worker (response_body_offload.go):
		// its result completes the exchange.
	case ex.cl.detached:
		// An upload stream owns the client; it sees the upstream gone at its
		// next step and answers the client itself.
	case ex.respState == rsBody && ex.respFrame == http1.FramingClose:
		if ex.rb.on && !ex.writeTransformed(nil, nil, true) {
			return // the transforms' last bytes could not go out
		}
		ex.complete() // a close-delimited body ends here
	case !ex.gotByte && ex.retryable():
		// Replay once on a new connection: another pooled one may have been
		// closed by the peer for the same reason this one was.
		ex.retried = true
		ex.cl.lp.pool(ex.target).dial(ex)
	case !ex.wrote:
		ex.report(upstream.Failure)
		if ex.canRetry(upstream.Retry502) {
			ex.retry()
			return
		}
		ex.fail(errUpstreamClosed, nil, !ex.reqDone)
	default:
		ex.cl.close() // mid-body: the client sees a short response, never a wrong one
	}
}

// retryable reports whether a request that got no response byte on a reused
// connection may be replayed once on a fresh one: the pooled connection may
// have been closed by the peer just as we wrote to it. Loop only.
func (ex *exchange) retryable() bool {
	return !ex.retried && ex.idempotent && ex.reqFraming == http1.FramingNone && ex.lastReused
}

// upstreamBroken fails an exchange whose upstream spoke garbage: 502 if the
// client has seen nothing yet, otherwise cut the client off. Loop only.
func (ex *exchange) upstreamBroken(err *replyError) {
	up := ex.up
	ex.up = nil
	if up != nil {
		up.ex = nil
		up.discard()
	}
	if !ex.wrote {
		ex.report(upstream.Failure)
		if ex.canRetry(upstream.Retry502) {
			ex.retry()
			return
		}
		ex.fail(err, nil, !ex.reqDone)
		return
	}
	ex.cl.close()
}

// clientGone is called when the client connection closed under the exchange.
// An upstream mid-response cannot be reused (its stream position is lost).
// Loop only.
func (ex *exchange) clientGone() {
	if up := ex.up; up != nil {
		ex.up = nil
		up.ex = nil
		if up.c == nil {
			// Still dialing: opened() will find ex detached and pool the conn.
		} else {
			up.discard()
		}
	}
	ex.cl.lp.release(ex)
}

// sweep enforces the upstream response timeout. Loop only.
func (ex *exchange) sweep(now int64) {
	if ex.paused {
		ex.sweepParked(now)
		return
	}
	if ex.bufWait {
		ex.sweepBody(now)
		return
	}
	if ex.up == nil || now < ex.deadline {
		return
	}
	up := ex.up
	if up.c == nil {
		// Dialing: the dialer's timeout answers, unless gnet lost the
		// enrolled conn (register failed after Enroll reported success).
		ex.up = nil
		up.ex = nil
		ex.report(upstream.Failure)
		ex.fail(errConnectFailed, nil, !ex.reqDone)
		return
	}
	ex.up = nil
	up.ex = nil
	up.discard()
	switch {
	case !ex.reqDone && !ex.wrote:
		// The deadline is refreshed by every body byte we forward: a body
		// that stopped is the client's stall, not the upstream's.
		ex.fail(errBodyTimeout, nil, true)
	case !ex.wrote:
		ex.report(upstream.Failure)
		if ex.canRetry(upstream.RetryTimeout) {
			ex.retry()
			return
		}
		ex.fail(errUpstreamTimeout, nil, false)
	default:
		ex.cl.close()
	}
}

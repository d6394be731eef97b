package proxy

import (
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/router"
)

// Sub-requests (filter.Call) are exchanges like any other, whose downstream
// is a subCall: an in-memory connection on the parent's loop instead of a
// socket. The request is written into it as an HTTP/1.0 request (so the
// response comes back de-chunked and the exchange closes after it), parsed
// by the same client state machine, routed straight to the cluster, and
// sent through its balancer, breaker, keep-alive pool, timeouts and
// retries; the response the exchange writes is collected up to the call's
// limit. When it ends the filter.Call is completed, and the parent, if it
// awaits its calls and this was the last, resumes like a parked request.
//
// A call starts in an Execute after the filter's Request returns: the
// Worker's parse scratch (req, norm, params) holds the parent's request
// until then. The parent's end (its client left, a timeout, its answer
// written) cancels the calls still running: their sub-client closes, which
// discards their upstream connection as any client's leaving does. A
// subCall has no descriptor, so nothing can write to a stale one.

// callHeadRoom is what a call's collected response may hold beyond its body
// limit: our head (the upstream's head bounded by the parser, plus ours).
const callHeadRoom = http1.DefaultMaxHeaderBytes + 1024

// subCall is one sub-request's downstream: its Conn and its Socket.
// Loop only.
type subCall struct {
	parent *exchange
	gen    uint32 // the parent's generation when the call began
	call   *filter.Call
	route  *pipeline.Route
	limit  int
	cl     *client // nil until started
	noFd
	inbuf        // the request, consumed by the exchange
	out   []byte // the response as the exchange wrote it
	over  bool   // out passed the limit: the call was cut
	whole bool   // the exchange ended and wrote its whole answer
	ended bool
}

var errNoDescriptor = errors.New("proxy: a sub-request has no descriptor")

// Call implements filter.Caller: r goes to cluster once the filter's
// Request has returned. Loop only.
func (ex *exchange) Call(cluster string, r *filter.CallRequest, limit int, c *filter.Call) {
	cu := ex.snap.Clusters[cluster]
	if cu == nil {
		c.Complete(nil, 0, filter.ErrNoCluster)
		return
	}
	sc := &subCall{parent: ex, gen: ex.gen, call: c, limit: max(limit, 0),
		route: &pipeline.Route{Name: ex.route.Name, Cluster: cu}}
	sc.inbuf = sc.appendRequest(nil, r, ex.requestID())
	ex.calls = append(ex.calls, sc)
	lp := ex.cl.lp
	_ = lp.loop.Execute(sc.start)
}

// Await implements filter.Caller: the filter returns Pause, the exchange
// parks (park), and the last call to end resumes it. Loop only.
func (ex *exchange) Await(timeout time.Duration, msg string) {
	ex.parkFor, ex.parkMsg = timeout, msg
	ex.awaiting = true
	if len(ex.calls) == 0 {
		ex.wake() // nothing running (every call failed at once)
	}
}

// wake resumes an exchange that awaits its calls, after the current event.
// Loop only.
func (ex *exchange) wake() {
	ex.awaiting = false
	gen := ex.gen
	_ = ex.cl.lp.loop.Execute(func() { ex.resume(gen) })
}

// appendRequest writes r as the HTTP/1.0 request the sub-client parses.
func (sc *subCall) appendRequest(b []byte, r *filter.CallRequest, id []byte) []byte {
	method := r.Method
	if method == "" {
		method = "GET"
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, r.Path...)
	b = append(b, " HTTP/1.0\r\nX-Request-ID: "...)
	b = append(b, id...)
	b = append(b, "\r\n"...)
	b = append(b, r.Header...)
	if len(r.Body) > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(r.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, r.Body...)
}

// start serves the call on a client of its own. Loop only (Execute).
func (sc *subCall) start() {
	p := sc.parent
	if p == nil || p.gen != sc.gen || sc.ended {
		sc.end(filter.ErrCallCancelled)
		return
	}
	pc := p.cl
	lp := pc.lp
	cl := &client{lp: lp, c: sc, sock: sc, state: csIdle, addr: pc.addr, ip: pc.ip, call: sc}
	cl.deadline = lp.e.clock() + int64(lp.e.Snapshot().IdleTimeout)
	sc.cl = cl
	lp.clients.push(cl)
	cl.serve()
}

// end completes the call once: with the collected response when err is
// nil, and tells the parent. Loop only.
func (sc *subCall) end(err error) {
	if sc.ended {
		return
	}
	sc.ended = true
	switch {
	case sc.over:
		err = filter.ErrCallTooLarge
	case err == nil && !sc.whole:
		err = filter.ErrCallCut // the exchange failed after its head went out
	}
	if err != nil {
		sc.out = nil
	}
	sc.call.Complete(sc.out, sc.limit, err)
	p := sc.parent
	if p == nil || p.gen != sc.gen {
		return // the parent is gone (and maybe recycled): it awaits nothing
	}
	for i, x := range p.calls {
		if x == sc {
			last := len(p.calls) - 1
			copy(p.calls[i:], p.calls[i+1:])
			p.calls[last] = nil // the free list keeps the array, not the call
			p.calls = p.calls[:last]
			break
		}
	}
	if len(p.calls) == 0 && p.awaiting {
		p.wake()
	}
}

// cancelCalls ends the calls an exchange still runs; it is being
// released. Loop only.
func (ex *exchange) cancelCalls() {
	for len(ex.calls) > 0 {
		sc := ex.calls[len(ex.calls)-1]
		ex.calls[len(ex.calls)-1] = nil
		ex.calls = ex.calls[:len(ex.calls)-1]
		sc.parent = nil
		sc.cancel()
	}
}

// cancel stops a call whose parent ended (parent already nil): a running
// one's sub-client closes (its upstream connection is discarded by
// clientGone, as for a client that leaves); one not started yet never
// starts. Loop only.
func (sc *subCall) cancel() {
	sc.end(filter.ErrCallCancelled)
	if sc.cl != nil {
		sc.cl.close()
	}
}

// finished ends a sub-client whose exchange wrote its whole answer (the
// response, or the gateway's error): the call completes with it.
// Loop only.
func (sc *subCall) finished() {
	sc.whole = true
	sc.cl.gone()
}

// inbuf is the input side of an in-memory Conn: bytes the peer sent that
// are not consumed yet.
type inbuf []byte

// Peek implements Conn.
func (b *inbuf) Peek(n int) ([]byte, error) {
	if n < 0 || n > len(*b) {
		return *b, nil
	}
	return (*b)[:n], nil
}

// Discard implements Conn.
func (b *inbuf) Discard(n int) (int, error) {
	if n < 0 || n > len(*b) {
		n = len(*b)
	}
	*b = (*b)[n:]
	return n, nil
}

// InboundBuffered implements Conn.
func (b *inbuf) InboundBuffered() int { return len(*b) }

// The subCall as the sub-client's Conn: input is the request (inbuf),
// output the collected response.

// Write collects a response up to the limit. Past it the call is cut the
// way a socket's failed write closes: Closed at once, Teardown after the
// event.
func (sc *subCall) Write(b []byte) (int, error) {
	if sc.over || sc.cl == nil || sc.cl.closed {
		return 0, errNoDescriptor
	}
	if len(sc.out)+len(b) > sc.limit+callHeadRoom {
		sc.over = true
		sc.cl.Closed()
		_ = sc.cl.lp.loop.Execute(sc.cl.Teardown)
		return 0, filter.ErrCallTooLarge
	}
	sc.out = append(sc.out, b...)
	return len(b), nil
}

func (sc *subCall) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		m, err := sc.Write(b)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// OutboundBuffered implements Conn: nothing waits, Write takes all or cuts.
func (sc *subCall) OutboundBuffered() int { return 0 }

// The subCall as the sub-client's Socket: closing it ends the call with
// what was collected; it has no descriptor to half-close, dup or detach.

// Close implements Socket.
func (sc *subCall) Close() { sc.end(nil) }

// ShutWrite implements Socket: nothing to half-close.
func (sc *subCall) ShutWrite() error { return nil }

// Refused implements Socket: never asked (a sub-client is not refused).
func (sc *subCall) Refused() bool { return true }

// noFd is what an in-memory connection has of a Socket's descriptor
// operations: none. Nothing is unread beyond its buffer.
type noFd struct{}

// Unread implements Socket.
func (noFd) Unread() bool { return false }

// Dup implements Socket.
func (noFd) Dup() (*os.File, error) { return nil, errNoDescriptor }

// Detach implements Socket.
func (noFd) Detach() (*os.File, error) { return nil, errNoDescriptor }

// Reattach implements Socket.
func (noFd) Reattach(*os.File) error { return errNoDescriptor }

// match routes the request a client parsed: a sub-request goes straight to
// its cluster (route nil: see route), any other through the router.
// Loop only.
func (cl *client) match(snap *pipeline.Snapshot, req *http1.Request, norm []byte) (int, router.Result, []byte) {
	if cl.call != nil {
		return -1, router.Found, nil
	}
	return snap.Router.Match(req.Host, req.Method, norm, req, &cl.lp.params)
}

// route is the route of match's answer idx. Loop only.
func (cl *client) route(snap *pipeline.Snapshot, idx int) *pipeline.Route {
	if cl.call != nil {
		return cl.call.route
	}
	return snap.Routes[idx]
}

package proxy

import (
	"net/netip"
	"time"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/observe"
)

// client states.
const (
	csIdle    uint8 = iota // waiting for the first byte of a request (idle timeout)
	csHead                 // part of a request head buffered (header timeout)
	csBusy                 // an exchange is in flight
	csClosing              // last response written; flushing, then lingering
)

// lingerTime bounds how long a closing connection keeps reading (and
// discarding) after its last response, so a client still sending is not hit
// by a reset that would destroy the response before it reads it.
const lingerTime = 2 * time.Second

// outHighWater stops reading further pipelined requests while this many
// response bytes wait for a client that does not read.
const outHighWater = 1 << 20

// client is one accepted connection. All fields are loop only.
type client struct {
	lp       *Worker
	c        Conn
	sock     Socket
	closed   bool // the connection is gone; never touch c again
	detached bool // a stream goroutine owns the socket; c is stale until reattached
	state    uint8
	shutWR   bool       // write side shut down while lingering
	serving  bool       // inside serve: finished must not recurse into it
	lastOut  int        // outbound bytes at the last linger check (progress = fewer)
	deadline int64      // unix nanos: idle, header or linger deadline by state
	ip       []byte     // peer address as text, for X-Forwarded-For
	addr     netip.Addr // peer address
	ex       *exchange  // the exchange in flight, nil when idle
	refused  bool       // refused by a connection cap or the drain; lingering after its 503
	late     bool       // accepted during the drain, or silent since before it: its first request gets a 503 (drainrefuse.go)
	used     bool       // a request has been parsed on it
	torn     bool       // teardown ran
	back     *stream    // the stream whose Reattach is under way
	call     *subCall   // a sub-request's downstream (call.go), nil for a socket

	prev, next *client
}

// inHighWater bounds what a client may have buffered with us that we are
// not consuming: pipelined requests queued behind a slow exchange, or sent by
// a client that does not read its responses. gnet reads without pause, so
// past this the connection is closed rather than left to grow.
const inHighWater = 1 << 20

// holdHighWater bounds a request body that arrives while its upstream
// connection is still being dialed (a dial is ~0.1-1 ms, a fast client on a
// LAN sends a few MB in that time); past it the body moves to a stream.
const holdHighWater = 8 << 20

// Traffic handles readable bytes. Loop only.
func (cl *client) Traffic() {
	switch {
	case cl.closed:
	case cl.state == csClosing:
		_, _ = cl.c.Discard(-1) // lingering: drain what the client still sends
	case cl.ex != nil:
		ex := cl.ex
		if ex.bufWait {
			ex.bodyArrived() // the request goes on once its body is whole
		} else {
			ex.pumpRequestBody()
		}
		if cl.closed || cl.ex != ex {
			return
		}
		// Input nobody consumes: pipelined requests behind this one, or a
		// body while the upstream is still being dialed; a body goes to a
		// stream goroutine, which leaves the rest in the client's TCP window.
		waiting := ex.up == nil || ex.up.c == nil
		switch in := cl.c.InboundBuffered(); {
		case ex.reqDone && in > inHighWater:
			cl.close()
		case waiting && in > holdHighWater && ex.up != nil && ex.canStreamRequest():
			ex.streamRequest()
		case waiting && in > holdHighWater:
			cl.close()
		}
	default:
		cl.serve()
		if !cl.closed && cl.ex == nil && cl.state == csIdle && cl.c.InboundBuffered() > inHighWater {
			cl.close() // paused by outHighWater and still flooding
		}
	}
}

// serve parses and starts buffered requests one at a time; pipelined requests
// wait in the inbound buffer until the exchange before them completes, which
// keeps responses in order. Loop only.
func (cl *client) serve() {
	if cl.serving {
		return // an exchange finished inside us; our loop takes the next request
	}
	cl.serving = true
	defer func() { cl.serving = false }()
	for !cl.closed && cl.ex == nil && cl.state != csClosing {
		if cl.late {
			cl.refuseLate()
			return
		}
		if cl.c.OutboundBuffered() > outHighWater {
			return // the client is not reading; resume when the sweep sees it drain
		}
		buf, _ := cl.c.Peek(-1)
		if len(buf) == 0 {
			cl.setIdle()
			return
		}
		snap := cl.lp.e.Snapshot()
		req := &cl.lp.req
		req.Reset()
		n, err := http1.ParseRequest(buf, req, &snap.Limits)
		if err == http1.ErrIncomplete {
			if cl.state != csHead {
				cl.state = csHead
				cl.deadline = cl.lp.e.clock() + int64(snap.HeaderTimeout)
			}
			return
		}
		if err != nil {
			cl.reject(err, req, int64(len(buf)))
			return
		}
		cl.used = true
		cl.begin(snap, n)
	}
}

// setIdle arms the keep-alive idle timeout. Loop only.
func (cl *client) setIdle() {
	if cl.state != csIdle {
		cl.state = csIdle
		cl.deadline = cl.lp.e.clock() + int64(cl.lp.e.Snapshot().IdleTimeout)
	}
	if cl.lp.e.draining.Load() && !cl.hasInput() {
		cl.close()
	}
}

// hasInput reports whether the client sent bytes not read yet, buffered by
// gnet or still in the socket. Consulted only while draining: a request
// sent before the client could learn of the drain (its previous response
// had no Connection: close) is served with Connection: close, not dropped.
// (Regression: TestDrainUnderLoad lost about 1 request in 100 runs.)
func (cl *client) hasInput() bool {
	return cl.c.InboundBuffered() > 0 || cl.sock.Unread()
}

// reject answers a request the gateway could not parse, then closes: after a
// framing error the rest of the stream cannot be trusted. req is what the
// parser made of it (nil for a header timeout), in the bytes received; both
// only go to the access log. Loop only.
func (cl *client) reject(err error, req *http1.Request, in int64) {
	var id [idLen]byte
	cl.lp.newRequestID(&id)
	ex := exchange{cl: cl, clientMinor: 1}
	ex.setID(id[:])
	observe.Unrouted(statusOf(err))
	ex.fail(err, nil, true)
	if !ex.wrote {
		return // the client was already gone: nothing was answered
	}
	var method, path, query []byte
	if req != nil {
		method, path, query = req.Method, req.Path, req.Query
	}
	cl.logRefused(&ex, method, path, query, in)
}

// finished is called when the exchange in flight has written its whole
// response. keepAlive says whether the connection may carry another request.
// Loop only.
func (cl *client) finished(keepAlive bool) {
	cl.ex = nil
	if cl.closed {
		return
	}
	if !keepAlive || (cl.lp.e.draining.Load() && !cl.hasInput()) {
		cl.closeAfterFlush()
		return
	}
	cl.state = csIdle
	cl.deadline = cl.lp.e.clock() + int64(cl.lp.e.Snapshot().IdleTimeout)
	cl.serve() // the next pipelined request may already be buffered
}

// closeAfterFlush closes once the last response has left, then lingers.
// Loop only.
func (cl *client) closeAfterFlush() {
	if cl.closed {
		return
	}
	if cl.call != nil {
		cl.call.finished() // nothing to flush, no peer to linger for
		return
	}
	cl.state = csClosing
	cl.deadline = cl.lp.e.clock() + int64(cl.sendTimeout())
	cl.lastOut = cl.c.OutboundBuffered()
	_, _ = cl.c.Discard(-1)
	cl.tryShutWrite()
}

// sendTimeout is how long a closing connection may go without taking any of
// its last response (like nginx's send_timeout): the keep-alive idle timeout,
// since a reader that slow is as good as idle.
func (cl *client) sendTimeout() time.Duration { return cl.lp.e.Snapshot().IdleTimeout }

// tryShutWrite half-closes once the outbound buffer is empty, so the client
// reads our last bytes and then EOF; we keep discarding its input until it
// closes or the linger deadline passes. Loop only.
func (cl *client) tryShutWrite() {
	if cl.closed || cl.shutWR || cl.c.OutboundBuffered() > 0 {
		return
	}
	cl.shutWR = true
	cl.deadline = cl.lp.e.clock() + int64(lingerTime) // linger from the last byte sent
	if err := cl.sock.ShutWrite(); err != nil {
		cl.close()
	}
}

// sweep enforces this client's deadlines. Loop only.
func (cl *client) sweep(now int64, draining bool) {
	if cl.closed || cl.detached {
		return // a detached client's stream keeps its own deadline
	}
	switch cl.state {
	case csIdle:
		if draining && cl.hasInput() {
			cl.serve() // a request that crossed the drain in flight
		} else if cl.late {
			cl.lateSweep(now)
		} else if draining && !cl.used {
			cl.silentAtDrain()
		} else if draining || now >= cl.deadline {
			cl.close()
		} else if cl.c.InboundBuffered() > 0 {
			cl.serve() // resumes a client paused by outHighWater
		}
	case csHead:
		if now >= cl.deadline {
			cl.reject(errHeaderTimeout, nil, int64(cl.c.InboundBuffered()))
		}
	case csBusy:
		if cl.ex != nil {
			cl.ex.sweep(now)
		}
	case csClosing:
		// A slow reader still taking its last response keeps the deadline
		// moving; only a client that stopped reading is cut off.
		if out := cl.c.OutboundBuffered(); out > 0 && out < cl.lastOut {
			cl.deadline = now + int64(cl.sendTimeout())
			cl.lastOut = out
		}
		cl.tryShutWrite()
		if now >= cl.deadline {
			cl.close()
		}
	}
}

// close closes the connection now and aborts the exchange in flight.
// Loop only.
func (cl *client) close() {
	if cl.closed {
		return
	}
	cl.gone()
}

// Closed is the transport's notice that the socket is gone. It can arrive
// in the middle of our own work (a failed Write closes the connection), so
// the teardown waits until the transport calls Teardown after the current
// event; from here on nothing writes to cl.c, whose fd number the kernel
// may already have handed to a new socket. Loop only.
func (cl *client) Closed() {
	if cl.detached || cl.closed {
		return
	}
	cl.closed = true
}

// Teardown runs after the event in which Closed ran. Loop only.
func (cl *client) Teardown() { cl.teardown() }

// gone marks the connection closed and tears it down now. Loop only.
func (cl *client) gone() {
	if cl.closed {
		return
	}
	cl.closed = true
	cl.teardown()
}

// teardown forgets a closed connection, aborts its exchange and lets the
// transport close the socket (or forget a detached one). Loop only.
func (cl *client) teardown() {
	if cl.torn {
		return
	}
	cl.torn = true
	cl.lp.clients.remove(cl)
	if ex := cl.ex; ex != nil {
		cl.ex = nil
		ex.clientGone()
	}
	cl.sock.Close()
}

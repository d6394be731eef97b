package proxy

import "time"

// Connections accepted during a drain. gnet v2.9.7 cannot close its
// listener and keep its loops (see Engine.Shutdown), so the kernel keeps
// completing handshakes until the loops stop. Closing such a connection
// unread resets it, and the client sees no answer at all (curl: "empty
// reply", exit 52). Instead its first request is answered 503 with
// Retry-After: 1 and Connection: close and the JSON error "draining:
// shutting down", then it lingers like every closing connection. The
// answer waits for the request's first bytes: a response on a connection
// that has sent nothing is one HTTP clients discard as unsolicited.
//
// A connection accepted just before the drain began that has sent nothing
// yet is in the same position (its client is about to send and knows
// nothing of the drain), so the drain treats it the same way rather than
// close it as an idle keep-alive connection.
//
// A late connection counts as refused from the start (Socket.Refused), so
// the drain never waits for it: when the last request in flight ends, the
// loops stop and any late connection still open is closed with them.

// lateGrace is how long a late connection may stay silent before it is
// closed: a client sends its request right after the handshake, and one
// that sends nothing gets nothing to read either way.
const lateGrace = time.Second

// The transport decides who is refused (connection caps, the drain) and
// how many refused connections may linger; the proxy answers them.

// refuse answers a new connection with a 503 JSON error saying err,
// Retry-After: 1 and Connection: close, then lingers (or, when the
// transport says too many linger already, closes). Loop only.
func (cl *client) refuse(err *replyError) {
	var id [idLen]byte
	cl.lp.newRequestID(&id)
	ex := exchange{cl: cl, clientMinor: 1}
	ex.setID(id[:])
	ex.fx.AddResponseHeader("Retry-After", []byte("1"))
	linger := cl.sock.Refused() // true for a late one, counted at accept
	cl.refused = true
	ex.fail(err, nil, true) // closes after the flush
	if !linger {
		cl.close()
	}
}

// acceptedLate adopts a connection accepted during the drain. When the
// transport says too many refused connections linger it is closed at once
// (a flood during the drain must not pin descriptors). Loop only.
func (cl *client) acceptedLate() {
	cl.refused = true
	if !cl.sock.Refused() {
		cl.close()
		return
	}
	cl.late = true
	cl.deadline = cl.lp.e.clock() + int64(lateGrace)
}

// refuseLate answers a late connection's first bytes. Loop only.
func (cl *client) refuseLate() {
	cl.late = false
	cl.refuse(errDraining)
}

// lateSweep closes a late connection that stayed silent past lateGrace.
// Loop only.
func (cl *client) lateSweep(now int64) {
	if now >= cl.deadline {
		cl.close()
	}
}

// silentAtDrain turns a connection that has carried no request and has no
// input when the drain begins into a late one. Loop only.
func (cl *client) silentAtDrain() {
	if cl.refused || !cl.sock.Refused() {
		cl.close()
		return
	}
	cl.refused = true
	cl.late = true
	cl.deadline = cl.lp.e.clock() + int64(lateGrace)
}

package proxy

import (
	"os"
	"time"
)

// The seam between the exchange and the sockets. The proxy declares what it
// needs of a transport here and nothing else: engine implements it over
// gnet, the tests over memory (fake_test.go). Every method is loop only
// unless its doc says otherwise.
//
// The data path (Conn) is the transport's own connection value: gnet.Conn
// satisfies Conn as it is, so a byte read or written costs one interface
// call, as it did before the split. The rare operations (half-close,
// detach, close) go through Socket, the transport's handle on the same
// connection.

// Conn is the data side of a connection: the bytes the transport has read
// and not yet consumed, and writes that the transport buffers when the
// socket cannot take them. gnet.Conn implements it.
type Conn interface {
	// Peek returns the first n buffered input bytes (all of them for n < 0)
	// without consuming them; the slice is valid until the next Discard.
	Peek(n int) ([]byte, error)
	// Discard consumes the first n buffered input bytes (all for n < 0).
	Discard(n int) (int, error)
	// Write sends b, buffering what the socket does not take. A failed
	// write may close the connection at once: Handler.Closed runs inside it.
	Write(b []byte) (int, error)
	// Writev is Write for several buffers, in one system call.
	Writev(bs [][]byte) (int, error)
	// InboundBuffered is how many input bytes are buffered.
	InboundBuffered() int
	// OutboundBuffered is how many written bytes wait for the socket.
	OutboundBuffered() int
}

// Socket is the transport's handle on one connection, for what the data
// side cannot say.
type Socket interface {
	// Close closes the connection, or, for one detached, lets the
	// transport forget it. The proxy calls it once it is done with the
	// connection, whichever way it ended; later calls do nothing.
	Close()
	// ShutWrite half-closes the connection (no more output; input goes on).
	ShutWrite() error
	// Unread reports whether input is waiting that the transport has not
	// read yet (in the kernel, say); InboundBuffered covers what it has.
	Unread() bool
	// Dup returns a blocking-I/O copy of the connection's descriptor; the
	// connection stays with the transport.
	Dup() (*os.File, error)
	// Detach is Dup, and the transport lets go of the connection without
	// telling its Handler: a goroutine owns the socket until Reattach.
	Detach() (*os.File, error)
	// Refused counts the connection among the refused ones that linger
	// after their 503 (the drain does not wait for those) and reports
	// whether it may linger: false when too many do already, and the proxy
	// closes it after the answer. A connection is counted once.
	Refused() bool
	// Reattach gives a detached socket back to the transport, which calls
	// the Handler's Reattached on the loop. Called by the goroutine that
	// owns f; f may be closed once it returns.
	Reattach(f *os.File) error
}

// Handler receives one connection's events from the transport, on the
// connection's loop.
type Handler interface {
	// Traffic: input arrived (Conn.InboundBuffered grew).
	Traffic()
	// Closed: the socket is gone. It may run inside the proxy's own Write;
	// from here on nothing may write to the connection.
	Closed()
	// Teardown runs after the event in which Closed ran, when no handler
	// of ours is mid-way on the loop.
	Teardown()
}

// Reattacher is a Handler whose socket can come back from a Detach.
type Reattacher interface {
	Handler
	// Reattached: the socket is on the loop again as c.
	Reattached(c Conn)
}

// Dialing is the upstream connection a Loop.Dial opens.
type Dialing interface {
	Handler
	// Opened: the connection is up and on the dialing loop.
	Opened(c Conn, s Socket)
	// DialFailed: it could not be opened.
	DialFailed(err error)
}

// Loop is the event loop a Worker runs on.
type Loop interface {
	// Execute runs fn on the loop. Any goroutine. It returns an error when
	// the loop is gone, and fn will not run.
	Execute(fn func()) error
	// Dial opens a connection to addr off the loop (within timeout) and
	// puts it on this loop: d.Opened or d.DialFailed follows on the loop,
	// never inside Dial.
	Dial(addr string, timeout time.Duration, d Dialing)
	// OpenUpstream counts an upstream connection about to be dialed
	// against the descriptor budget and reports whether it may be.
	// Any goroutine.
	OpenUpstream() bool
	// HoldUpstream counts an upstream descriptor already open (a dup kept
	// by a stream) past any budget. Any goroutine.
	HoldUpstream()
	// CloseUpstream forgets one OpenUpstream or HoldUpstream counted.
	// Any goroutine.
	CloseUpstream()
}

// Package engine runs Sluice's event loops: it accepts client connections on
// gnet loops, parses requests in place, routes them through the current
// pipeline snapshot and forwards them over keep-alive upstream connections
// that live on the same loop as the client. It is the only package that
// imports gnet.
//
// Every method whose doc says "loop only" must run on the loop that owns the
// connection; nothing in this package takes a lock on the request path.
//
// # A request's way through the loop
//
// client.onTraffic parses the buffered head (http1.ParseRequest, views into
// gnet's buffer, parse state in the loop, not the connection), routes it,
// writes the upstream head into the exchange's pooled buffer and discards the
// client's bytes; exchange.connect takes an idle connection from the loop's
// pool for the target or dials one (pool.dial). upConn.onTraffic relays the
// response head and body (exchange.pumpResponse) and exchange.complete returns
// the upstream to its pool and lets the client serve its next pipelined
// request. One request per client connection is in flight; later pipelined
// requests wait in gnet's inbound buffer, so responses stay in order.
//
// # What gnet v2.9.7 does that shaped this code
//
//   - EventLoop.Register dials with net.Dial in gnet's worker pool, with no
//     timeout. pool.dial dials with a net.Dialer timeout on its own goroutine
//     and Enrolls the connection; the upConn travels in the Enroll context and
//     the pairing finishes in OnOpen (never by waiting on Enroll's channel).
//   - Conn.Write closes the connection synchronously when the write fails, so
//     OnClose can run in the middle of our own handler. loop.enter/leave
//     bracket every entry from gnet; a close inside them is torn down at the
//     outermost leave (loop.afterEvent), never under a handler's feet.
//   - A closed gnet Conn keeps its fd number, which the kernel reuses: every
//     write is guarded by client.closed / upConn.closed, and a client detached
//     to a stream goroutine is never written through its old Conn.
//   - Closing a Conn flushes its outbound buffer once and drops what EAGAIN
//     leaves: a client that must close after its response is half-closed
//     (SHUT_WR) only when OutboundBuffered() is 0, then lingers discarding input.
//   - gnet reads without pause and has no "writable" event: a body whose reader
//     is slower than its sender moves off the loop (stream.go), and input a
//     client queues beyond inHighWater closes the connection.
//   - gnet frees a Conn's inbound buffer right after OnClose: a response an
//     upstream sent and then closed on while its client was detached for an
//     upload is copied in OnClose and relayed once the client is back (early.go).
//   - Engine.Stop cannot close the listeners first: during a drain, OnOpen
//     closes new connections before reading them; Stop itself polls every
//     500 ms, so Shutdown waits for Serve to return instead.
//
// # Timeouts
//
// OnTick advances a coarse clock every 50 ms and Executes loop.sweep on each
// loop, which checks each client's idle, header or linger deadline, each
// exchange's response deadline (from request sent to final response head,
// moved on by request body bytes forwarded; then a body-idle timeout moved on
// by response body bytes) and each pool's idle connections.
package engine

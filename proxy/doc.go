// Package proxy is Sluice's HTTP/1.1 exchange, with no sockets in it: the
// connection state machine (parse, pipelining, keep-alive, linger), the
// request's way through routing, middleware and balancing, the head
// rewriting both ways, retries, the response relay, local replies and the
// one error → status mapping, request IDs, client IPs and the access log.
//
// It reaches sockets only through the small interfaces of transport.go:
// Conn (the data side; gnet.Conn satisfies it as it is), Socket (half-close,
// detach, close), Handler (the transport's events), Loop (run on the loop,
// dial, the descriptor budget). engine implements them over gnet; the tests
// of this package implement them in memory (fake_test.go), so header,
// retry, timeout and error policy are table tests without sockets. proxy
// imports neither gnet nor golang.org/x/sys (internal/archtest checks it).
//
// The same seam carries sub-requests (filter.Exchange.Call, call.go): a
// call is an exchange whose downstream is an in-memory Conn and Socket on
// the parent's loop, so it is parsed, balanced, retried and timed out like
// any request, and its answer is collected instead of written to a socket.
//
// One Proxy holds what every loop shares (the snapshot, the coarse clock,
// the drain flag); one Worker per event loop holds that loop's clients,
// keep-alive pools and free lists. Every method whose doc says "loop only"
// must run on the loop that owns the Worker; nothing here takes a lock on
// the request path.
//
// # A request's way through the loop
//
// client.Traffic parses the buffered head (http1.ParseRequest, views into
// the transport's buffer, parse state in the Worker, not the connection),
// routes it, writes the upstream head into the exchange's pooled buffer and
// discards the client's bytes; exchange.connect takes an idle connection
// from the Worker's pool for the target or dials one (pool.dial through
// Loop.Dial). upConn.Traffic relays the response head and body
// (exchange.pumpResponse) and exchange.complete returns the upstream to its
// pool and lets the client serve its next pipelined request. One request
// per client connection is in flight; later pipelined requests wait in the
// transport's inbound buffer, so responses stay in order.
//
// # What the transport's behaviour shaped here
//
//   - A failed Conn.Write may close the connection synchronously, so
//     Handler.Closed can run in the middle of our own work: it only marks
//     the connection closed, and the transport calls Teardown after the
//     event. A closed connection's fd number may be reused by the kernel:
//     every write is guarded by client.closed / upConn.closed, and a client
//     detached to a stream goroutine is never written through its old Conn.
//   - Closing flushes the outbound buffer once and drops what EAGAIN
//     leaves: a client that must close after its response is half-closed
//     (Socket.ShutWrite) only when OutboundBuffered() is 0, then lingers
//     discarding input.
//   - The transport reads without pause and has no "writable" event: a body
//     whose reader is slower than its sender moves off the loop (stream.go,
//     through Socket.Detach and Reattach), and input a client queues beyond
//     inHighWater closes the connection.
//   - The transport frees a connection's inbound buffer right after Closed:
//     a response an upstream sent and then closed on while its client was
//     detached for an upload is copied in Closed and relayed once the client
//     is back (early.go).
//
// # Timeouts
//
// The transport advances the coarse clock (Proxy.Tick) and calls
// Worker.Sweep on each loop every tick; the sweep checks each client's idle,
// header or linger deadline, each exchange's response deadline (from
// request sent to final response head, moved on by request body bytes
// forwarded; then a body-idle timeout moved on by response body bytes) and
// each pool's idle connections.
package proxy

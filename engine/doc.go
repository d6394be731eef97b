// Package engine is Sluice's transport: it runs the gnet event loops,
// accepts client connections, dials and enrolls upstream connections, and
// drives the HTTP exchange of package proxy through proxy's interfaces
// (each gnet.Conn is a proxy.Conn as it is; a *sock beside it is the
// proxy.Socket and carries the proxy.Handler). It is the only package that
// imports gnet. It holds no HTTP policy: no status codes, no header rules;
// a connection the caps or the drain refuse is answered by the proxy.
//
// Every method whose doc says "loop only" must run on the loop that owns the
// connection; nothing in this package takes a lock on the request path.
//
// # What gnet v2.9.7 does that shaped this code
//
//   - EventLoop.Register dials with net.Dial in gnet's worker pool, with no
//     timeout. loop.Dial dials with a net.Dialer timeout on its own goroutine
//     and Enrolls the connection; the *sock travels in the Enroll context
//     and the pairing finishes in OnOpen (never by waiting on Enroll's
//     channel).
//   - Conn.Write closes the connection synchronously when the write fails, so
//     OnClose can run in the middle of the proxy's own handler. loop.enter
//     and leave bracket every entry from gnet; a close inside them is torn
//     down (Handler.Teardown) at the outermost leave, never under a
//     handler's feet.
//   - A closed gnet Conn keeps its fd number, which the kernel reuses: a
//     *sock closed or detached never passes another event to its handler.
//   - gnet reads without pause and has no "writable" event: the proxy moves
//     a body whose reader is slower than its sender off the loop, and the
//     transport's part is the detach (Socket.Detach: Dup the fd, close the
//     gnet Conn, whose OnClose the handler never sees) and the reattach
//     (Enroll the socket again; OnOpen hands it back).
//   - Engine.Stop cannot close the listeners first: during a drain, the
//     connections accepted are handed to the proxy as proxy.Late, which
//     answers their first request with a 503 and closes; Stop itself polls
//     every 500 ms, so Shutdown waits for Serve to return instead.
//   - gnet treats EMFILE in accept as fatal: the descriptor budget
//     (connlimit.go) refuses clients and upstream dials well before it.
//
// # Timeouts
//
// OnTick advances the proxy's coarse clock every 50 ms and Executes
// Worker.Sweep on each loop, which enforces every deadline of the exchange.
package engine

package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestUpstreamRefused: a target nobody listens on answers 502 JSON at once,
// then 503 once its breaker opens, and the client's keep-alive connection
// then serves a good request to another route.
func TestUpstreamRefused(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startUpstream(t, http.HandlerFunc(idHandler))
	dead := freeAddr(t) // closed port: connect is refused
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "ok")+ftRoute("dead", "/dead", "dead"),
		ftCluster{name: "ok", addr: up.addr}, ftCluster{name: "dead", addr: dead}), 1)
	c := dialRaw(t, g.addr)
	// Each request is tried twice (retries default to attempts: 2 on
	// connect_failure): two requests make four failures; the fifth, the
	// third request's first try, opens the target's breaker and ejects it
	// (passive health, 30s), and with no target left the retry answers 503
	// with Retry-After.
	for i := range 3 { // a refused target must not wedge anything: do it a few times
		id := fmt.Sprintf("refused-%d", i)
		start := time.Now()
		c.request("GET", "/dead/x", id, "")
		resp, body := c.readResponse("GET")
		if i < 2 {
			expectGatewayError(t, resp, body, 502, "upstream connect failed", id, false)
		} else {
			expectGatewayError(t, resp, body, 503, "no healthy upstream", id, false)
			if ra := resp.Header.Get("Retry-After"); ra != "30" {
				t.Errorf("Retry-After %q, want passive ejection's eject_for, 30", ra)
			}
		}
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Errorf("refused connect took %v; it should fail at once, not wait for the connect timeout", d)
		}
		c.request("GET", "/ok/x", fmt.Sprintf("after-refused-%d", i), "")
		c.expectOwn("GET", fmt.Sprintf("after-refused-%d", i))
	}
}

// TestUpstreamClosesBeforeResponse: an upstream that takes a POST and closes
// (FIN or RST) without a byte of response gets the client a 502; the POST is
// not replayed (not idempotent), and the client connection still works.
func TestUpstreamClosesBeforeResponse(t *testing.T) {
	checkGoroutineLeaks(t)
	var hits sync.Map // path -> *atomic.Int64
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if !strings.HasPrefix(r.URL.Path, "/bad/") {
			idHandler(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if r.URL.Path == "/bad/rst" {
			_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
		}
		conn.Close()
	}))
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "up")+ftRoute("bad", "/bad", "up"),
		ftCluster{name: "up", addr: up.addr}), 1)
	cases := []struct{ name, path string }{
		{"FIN before any response byte", "/bad/fin"},
		{"RST before any response byte", "/bad/rst"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			c.request("GET", "/ok/warm", "warm", "") // leave a pooled connection behind, as in production
			c.expectOwn("GET", "warm")
			id := "post" + strings.ReplaceAll(tc.path, "/", "-")
			c.request("POST", tc.path, id, `{"order":1}`)
			resp, body := c.readResponse("POST")
			expectGatewayError(t, resp, body, 502, "upstream closed the connection", id, false)
			if n, _ := hits.Load(tc.path); n.(*atomic.Int64).Load() != 1 {
				t.Fatalf("upstream saw the POST %d times; a POST must never be replayed", n.(*atomic.Int64).Load())
			}
			c.request("GET", "/ok/after", id+"-after", "")
			c.expectOwn("GET", id+"-after")
		})
	}
}

// TestUpstreamShortBody: an upstream that dies mid-body after promising more
// gets the client a short body and a closed connection, never a response
// that looks complete, and never a wait for a timeout.
func TestUpstreamShortBody(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startScriptedUpstream(t, func(c net.Conn) {
		rawLoop(c, func(_ int, req *http.Request) (string, bool) {
			switch req.URL.Path {
			case "/bad/length": // promises 100 bytes, sends 10
				return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", false
			case "/bad/chunked": // a chunk cut short, then no last-chunk
				return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n64\r\n0123", false
			}
			return rawOK(req), true
		})
	})
	// A long response timeout: the short body must be noticed from the close.
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("bad", "/bad", "up")+ftRoute("ok", "/ok", "up"),
		ftCluster{name: "up", addr: up.addr, timeouts: "{connect: 300ms, response: 3s}"}), 1)
	cases := []struct{ name, path, sent string }{ // sent: the body data the upstream got out
		{"Content-Length larger than what is sent", "/bad/length", "0123456789"},
		{"chunked body cut inside a chunk", "/bad/chunked", "01234567890123"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			start := time.Now()
			c.request("GET", tc.path, "short", "")
			resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatalf("read head: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Fatalf("short body read as complete: %d %q", resp.StatusCode, body)
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("client left hanging: %v after %v", err, time.Since(start))
			}
			if !strings.HasPrefix(tc.sent, string(body)) {
				t.Fatalf("body %q is not what the upstream sent", body)
			}
			c.expectEOF()
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("short body took %v to surface", d)
			}
		})
	}
	// The gateway is fine afterwards.
	c := dialRaw(t, g.addr)
	c.request("GET", "/ok/x", "after-short", "")
	c.expectOwn("GET", "after-short")
}

// idleKiller is an upstream whose connections are closed by the server while
// they sit idle in the gateway's pool.
func startIdleKiller(t *testing.T, how string) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	var wg sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(idHandler)}
	switch how {
	case "idle-timeout":
		srv.IdleTimeout = 100 * time.Millisecond
	}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			conns.Add(1)
		case http.StateIdle:
			switch how {
			case "close-after-response": // FIN right after the response: races the gateway's next use
				c.Close()
			case "reset-after-response": // RST shortly after the response
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(10 * time.Millisecond)
					_ = c.(*net.TCPConn).SetLinger(0)
					c.Close()
				}()
			}
		}
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	return ln.Addr().String(), conns
}

// TestPooledConnKilledByUpstream: an upstream that closes keep-alive
// connections while they are idle in the gateway's pool must never cost a
// request: the pool drops the closed connection (it is watched by the loop),
// or the GET that raced the close is replayed once on a fresh connection.
func TestPooledConnKilledByUpstream(t *testing.T) {
	cases := []struct {
		name, how string
		pause     time.Duration // between requests
		requests  int
	}{
		// net/http's IdleTimeout closes the pooled conn long before the next request.
		{"server idle timeout (FIN while idle)", "idle-timeout", 300 * time.Millisecond, 3},
		// The server closes each conn as soon as it has answered: the gateway
		// may pick the conn before it sees the FIN.
		{"server closes right after each response", "close-after-response", 0, 20},
		// As above with a reset a little later, which may hit a request in flight.
		{"server resets shortly after each response", "reset-after-response", 10 * time.Millisecond, 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutineLeaks(t)
			addr, conns := startIdleKiller(t, tc.how)
			g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "up"), ftCluster{name: "up", addr: addr}), 1)
			c := dialRaw(t, g.addr)
			for i := range tc.requests {
				id := fmt.Sprintf("%s-%d", tc.how, i)
				c.request("GET", "/ok/x", id, "")
				c.expectOwn("GET", id)
				time.Sleep(tc.pause)
			}
			if n := conns.Load(); n < int64(tc.requests) && tc.how != "reset-after-response" {
				t.Fatalf("upstream saw %d connections for %d requests; each conn should have been killed", n, tc.requests)
			}
		})
	}
}

// closeOnReuse is an upstream that serves the first request on every
// connection and closes the connection, unanswered, on the second: every
// pooled connection is a trap.
func startCloseOnReuse(t *testing.T) (addr string, hits *sync.Map, conns *atomic.Int64) {
	t.Helper()
	hits = new(sync.Map)
	conns = new(atomic.Int64)
	type count struct{ n atomic.Int64 }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	type key struct{}
	srv := &http.Server{
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			conns.Add(1)
			return context.WithValue(ctx, key{}, new(count))
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := hits.LoadOrStore(r.Header.Get("X-Request-ID"), new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			if strings.HasPrefix(r.URL.Path, "/slow/") {
				time.Sleep(200 * time.Millisecond)
			}
			if r.Context().Value(key{}).(*count).n.Add(1) >= 2 {
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			idHandler(w, r)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), hits, conns
}

func hitCount(hits *sync.Map, id string) int64 {
	if n, ok := hits.Load(id); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// TestIdempotentRetry: a request that meets a pooled connection the
// upstream closes without answering is replayed once on a fresh connection
// when it is idempotent and bodiless; otherwise the client gets 502 and the
// upstream saw the request exactly once.
func TestIdempotentRetry(t *testing.T) {
	checkGoroutineLeaks(t)
	addr, hits, _ := startCloseOnReuse(t)
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "up"), ftCluster{name: "up", addr: addr}), 1)
	c := dialRaw(t, g.addr)
	cases := []struct {
		name, method, body string
		status             int
		upstreamSaw        int64 // times the trapped request reached the upstream
	}{
		{"GET is replayed on a fresh connection", "GET", "", 200, 2},
		{"DELETE is idempotent too", "DELETE", "", 200, 2},
		{"POST with a body is not replayed", "POST", "a=1", 502, 1},
		{"POST without a body is not replayed either", "POST", "", 502, 1},
		// The body was consumed on the way to the dead conn; it cannot be replayed.
		{"PUT with a body is idempotent but not replayable", "PUT", "a=1", 502, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Leave exactly one pooled connection that has served one request.
			warm := fmt.Sprintf("warm-%d", i)
			c.request("GET", "/ok/warm", warm, "")
			c.expectOwn("GET", warm)
			id := fmt.Sprintf("trap-%d", i)
			c.request(tc.method, "/ok/x", id, tc.body)
			resp, body := c.readResponse(tc.method)
			if tc.status == 200 {
				if resp.StatusCode != 200 || body != "id="+id {
					t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, "id="+id)
				}
			} else {
				expectGatewayError(t, resp, body, tc.status, "upstream closed the connection", id, false)
			}
			if n := hitCount(hits, id); n != tc.upstreamSaw {
				t.Fatalf("upstream saw the request %d times, want %d", n, tc.upstreamSaw)
			}
		})
	}
}

// TestRetryUsesFreshConnectionNotAnotherPooledOne pins a bug: the replay of
// an idempotent request whose pooled connection died went through
// exchange.connect, which takes the next *pooled* connection when there is
// one. That connection may be just as dead (an upstream that restarted
// kills all of them at once), and as the one allowed retry is spent, a GET
// the gateway could have served got a 502. The replay must dial.
func TestRetryUsesFreshConnectionNotAnotherPooledOne(t *testing.T) {
	checkGoroutineLeaks(t)
	addr, hits, conns := startCloseOnReuse(t)
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "up")+ftRoute("slow", "/slow", "up"),
		ftCluster{name: "up", addr: addr}), 1)
	// Three requests at once leave three connections in the one loop's pool,
	// each having served one request.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("fill-%d", i)
			resp, err := http.DefaultClient.Do(func() *http.Request {
				req, _ := http.NewRequest("GET", g.url("/slow/x"), nil)
				req.Header.Set("X-Request-ID", id)
				req.Close = true // one connection per request
				return req
			}())
			if err != nil {
				t.Errorf("fill %d: %v", i, err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "id="+id {
				t.Errorf("fill %d: %d %q", i, resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	if n := conns.Load(); n != 3 {
		t.Fatalf("want 3 pooled upstream connections, upstream saw %d", n)
	}
	c := dialRaw(t, g.addr)
	c.request("GET", "/ok/x", "victim", "")
	resp, body := c.readResponse("GET")
	if resp.StatusCode != 200 || body != "id=victim" {
		t.Fatalf("GET after its pooled conn died: %d %q (upstream saw it %d times); the replay must go to a fresh connection",
			resp.StatusCode, body, hitCount(hits, "victim"))
	}
}

// TestUpstreamGarbage: whatever an upstream sends that is not an HTTP/1.x
// response head gets the client a 502 JSON, on a connection that stays
// usable, and fast: not after the response timeout.
func TestUpstreamGarbage(t *testing.T) {
	checkGoroutineLeaks(t)
	replies := map[string]struct {
		reply string
		close bool // the upstream closes after its reply; else it waits for the gateway to
	}{
		"/bad/ssh":       {"SSH-2.0-OpenSSH_9.6\r\n", true},
		"/bad/tls-alert": {"\x15\x03\x01\x00\x02\x02\x46", true},
		"/bad/status":    {"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", false},
		"/bad/version":   {"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
		"/bad/cl-cl":     {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", false},
		"/bad/cl-te":     {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
		"/bad/header":    {"HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n", false},
		"/bad/bare-lf":   {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", false},
		"/bad/101":       {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
	}
	up := startScriptedUpstream(t, func(c net.Conn) {
		rawLoop(c, func(_ int, req *http.Request) (string, bool) {
			if r, ok := replies[req.URL.Path]; ok {
				return r.reply, !r.close
			}
			return rawOK(req), true
		})
	})
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("bad", "/bad", "up")+ftRoute("ok", "/ok", "up"),
		ftCluster{name: "up", addr: up.addr, timeouts: "{connect: 300ms, response: 2s}"}), 1)
	cases := []struct{ name, path, msg string }{
		{"an SSH banner, then close", "/bad/ssh", "bad response head from upstream"},
		// Seen as garbage or as a close before any head: 502 either way.
		{"a TLS alert, then close", "/bad/tls-alert", ""},
		{"four-digit status", "/bad/status", "bad response head from upstream"},
		{"HTTP/2.0 status line", "/bad/version", "bad response head from upstream"},
		{"two different Content-Lengths", "/bad/cl-cl", "bad response head from upstream"},
		{"Content-Length and Transfer-Encoding", "/bad/cl-te", "bad response head from upstream"},
		{"space in a header name", "/bad/header", "bad response head from upstream"},
		{"bare LF line ends", "/bad/bare-lf", "bad response head from upstream"},
		{"101 nobody asked for", "/bad/101", "upstream switched protocols unasked"},
	}
	c := dialRaw(t, g.addr)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("garbage-%d", i)
			start := time.Now()
			c.request("GET", tc.path, id, "")
			resp, body := c.readResponse("GET")
			expectGatewayError(t, resp, body, 502, tc.msg, id, false)
			if d := time.Since(start); d > time.Second {
				t.Errorf("502 took %v: the gateway waited for a timeout instead of rejecting the reply", d)
			}
			c.request("GET", "/ok/x", id+"-after", "")
			c.expectOwn("GET", id+"-after")
		})
	}
}

// TestUpstreamJunkWithoutLineEndIs502NotTimeout pins a fixed bug: a response
// head used to be checked only once its status line had a '\n'
// (http1.parseStatusLine returned ErrIncomplete until then), so an upstream that answers with bytes
// that can never begin "HTTP/1." and then keeps the connection open (a
// non-HTTP service on the target port) holds the client for the whole
// response timeout (15 s by default) and gets it a 504 "upstream timeout"
// instead of an immediate 502 "bad response head from upstream".
func TestUpstreamJunkWithoutLineEndIs502NotTimeout(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startScriptedUpstream(t, func(c net.Conn) {
		rawLoop(c, func(_ int, req *http.Request) (string, bool) {
			if req.URL.Path == "/bad/junk" {
				return "\x00\x01\x02\x03 not http at all \xff\xfe", true // and wait
			}
			return rawOK(req), true
		})
	})
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("bad", "/bad", "up")+ftRoute("ok", "/ok", "up"),
		ftCluster{name: "up", addr: up.addr, timeouts: "{connect: 300ms, response: 2s}"}), 1)
	c := dialRaw(t, g.addr)
	start := time.Now()
	c.request("GET", "/bad/junk", "junk", "")
	resp, body := c.readResponse("GET")
	expectGatewayError(t, resp, body, 502, "bad response head from upstream", "junk", false)
	if d := time.Since(start); d > time.Second {
		t.Errorf("502 took %v: the gateway waited for a timeout instead of rejecting the reply", d)
	}
}

// TestUpstreamBytesAfterResponseNeverReachTheNextRequest pins a response
// desync bug: bytes an upstream sends beyond the end of a response (a body
// on a HEAD or 204 answer, more bytes than its Content-Length, a second
// response glued to the first) stayed in the upstream connection's inbound
// buffer when exchange.complete put the connection back in the pool, and
// were parsed as (the start of) the response to the next request sent on it,
// which may come from any other client: a wrong response or a 502 for it.
// A connection with unread bytes after its response must not be reused.
func TestUpstreamBytesAfterResponseNeverReachTheNextRequest(t *testing.T) {
	const stale = "HTTP/1.1 200 OK\r\nX-Request-ID: STALE\r\nContent-Length: 5\r\n\r\nSTALE"
	cases := []struct {
		name, method string
		reply        []string // written in order, 30 ms apart
		status       int
		body         string
	}{
		{"a second response glued to the first", "GET", []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst" + stale}, 200, "first"},
		{"HEAD answered with a body", "HEAD", []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"}, 200, ""},
		{"204 with a body", "GET", []string{"HTTP/1.1 204 No Content\r\n\r\nhello"}, 204, ""},
		{"more bytes than Content-Length", "GET", []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstEXTRA BYTES"}, 200, "first"},
		// Already handled before this test: an idle upstream that speaks is closed.
		{"bytes sent later, while the connection is idle", "GET", []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", stale}, 200, "first"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := startScriptedUpstream(t, func(c net.Conn) {
				rawLoop(c, func(_ int, req *http.Request) (string, bool) {
					if req.URL.Path != "/api/first" {
						return rawOK(req), true
					}
					for _, part := range tc.reply[:len(tc.reply)-1] {
						_, _ = io.WriteString(c, part)
						time.Sleep(30 * time.Millisecond)
					}
					return tc.reply[len(tc.reply)-1], true
				})
			})
			g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("api", "/api", "up"), ftCluster{name: "up", addr: up.addr}), 1)
			a := dialRaw(t, g.addr)
			a.request(tc.method, "/api/first", "a", "")
			resp, body := a.readResponse(tc.method)
			if resp.StatusCode != tc.status || body != tc.body {
				t.Fatalf("first client: %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			// Whatever the upstream sent beyond the response (at once, or
			// 30ms later while idle) makes the gateway drop the connection
			// rather than pool it for the next client.
			eventually(t, 3*time.Second, "the upstream connection that sent extra bytes dropped", func() bool { return idleUpstreams(t, g) == 0 })
			// Another client's request goes out on the same pooled upstream
			// connection (one loop, one target).
			b := dialRaw(t, g.addr)
			b.request("GET", "/api/second", "b", "")
			b.expectOwn("GET", "b")
			b.expectSilence(100 * time.Millisecond)
		})
	}
}

// TestClosedClientNeverLeaksIntoANewConnection is the regression test for
// DESIGN §3.3: a gnet.Conn is dead after OnClose and its fd number goes to
// the next accept. A client that leaves while its exchange waits on a slow
// upstream must not have that upstream's late response (or anything else)
// written to whichever client now holds its fd number. Each round: client A
// asks for a slow response and disconnects (at once, a little later, or
// with a reset); client B connects, probably on A's fd, asks for its own
// slow response, and must get exactly that, then nothing more.
func TestClosedClientNeverLeaksIntoANewConnection(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // not context-aware: it answers whatever happened
		idHandler(w, r)
	}))
	g := startGateway(t, ftConfig("", ftRoute("slow", "/slow", "up"),
		ftCluster{name: "up", addr: up.addr, timeouts: "{connect: 300ms, response: 2s}"}), 1)
	const workers, rounds = 5, 4 // 20 pairs, 5 at a time: ~2 s in all
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				n := w*rounds + r
				a, err := net.DialTimeout("tcp", g.addr, 2*time.Second)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				_, _ = fmt.Fprintf(a, "GET /slow/a HTTP/1.1\r\nHost: x\r\nX-Request-ID: A-%d\r\n\r\n", n)
				switch n % 3 {
				case 1:
					time.Sleep(50 * time.Millisecond) // the exchange is waiting on the upstream
				case 2:
					time.Sleep(20 * time.Millisecond)
					_ = a.(*net.TCPConn).SetLinger(0) // leave with a reset
				}
				a.Close()

				b, err := net.DialTimeout("tcp", g.addr, 2*time.Second)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				_ = b.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(b)
				id := fmt.Sprintf("B-%d", n)
				_, _ = fmt.Fprintf(b, "GET /slow/b HTTP/1.1\r\nHost: x\r\nX-Request-ID: %s\r\n\r\n", id)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Errorf("%s: %v", id, err)
					b.Close()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "id="+id || resp.Header.Get("X-Request-ID") != id {
					t.Errorf("%s got someone else's response: %d %q X-Request-ID %q", id, resp.StatusCode, body, resp.Header.Get("X-Request-ID"))
				}
				// A's upstream would have answered by now; nothing may follow.
				_ = b.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
				if extra, err := br.ReadByte(); err == nil {
					rest, _ := br.Peek(br.Buffered())
					t.Errorf("%s: stray bytes after its response: %q", id, append([]byte{extra}, rest...))
				} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					t.Errorf("%s: keep-alive connection closed: %v", id, err)
				}
				b.Close()
			}
		}()
	}
	wg.Wait()
}

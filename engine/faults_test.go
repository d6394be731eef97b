package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ---- helpers shared by the fault, timeout, drain and curl tests ----

// shortClientTimeouts are the client-side timeouts of the timeout and fault
// tests: short enough to watch them fire, far longer than any exchange here.
const shortClientTimeouts = "timeouts: {client_header: 300ms, client_idle: 500ms}"

// ftCluster is one cluster of a test config.
type ftCluster struct {
	name, addr string
	timeouts   string // flow map for the cluster's `timeouts:`; "" = {connect: 300ms, response: 400ms}
	pool       string // flow map for the cluster's `pool:`; "" = defaults
}

// ftConfig is oneCluster with any number of clusters and their timeouts;
// top holds extra top-level keys.
func ftConfig(top, routes string, cs ...ftCluster) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: \"{{listen}}\"\nadmin: \"\"\n%s\nclusters:\n", top)
	for _, c := range cs {
		to := c.timeouts
		if to == "" {
			to = "{connect: 300ms, response: 400ms}"
		}
		fmt.Fprintf(&b, "  %s:\n    targets:\n      - url: http://%s\n    timeouts: %s\n", c.name, c.addr, to)
		if c.pool != "" {
			fmt.Fprintf(&b, "    pool: %s\n", c.pool)
		}
	}
	b.WriteString("routes:\n")
	b.WriteString(routes)
	return b.String()
}

// ftRoute is one route of a test config: every path under prefix goes to cluster.
func ftRoute(name, prefix, cluster string) string {
	return fmt.Sprintf("  - name: %s\n    match: {path: %s/*}\n    cluster: %s\n", name, prefix, cluster)
}

// idHandler answers "id=<X-Request-ID>", so a client can tell its own
// response from anybody else's.
func idHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "id="+r.Header.Get("X-Request-ID"))
}

// shutdown stops g inside the test and waits for Serve to return; the
// harness's cleanup then finds it already stopped.
func (g *gateway) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.e.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-g.done:
		g.done <- err // gateway.stop reads it again
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}

// liveGoroutines counts goroutines, leaving out idle workers of gnet's ants
// pool (they park for ~10 s by design before they expire), and returns the
// stacks it counted.
func liveGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var kept []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.SplitN(g, "\n", 3)
		if len(lines) >= 2 && strings.Contains(lines[1], "panjf2000/ants") {
			continue // an idle pool worker: its top frame is the pool's own wait
		}
		kept = append(kept, g)
	}
	return len(kept), strings.Join(kept, "\n\n")
}

// checkGoroutineLeaks counts goroutines now and registers a cleanup that,
// after every later cleanup (gateway stop, upstream close, client close) has
// run, waits up to 3 s for the count to fall back to where it was. Call it
// first in a test.
func checkGoroutineLeaks(t *testing.T) {
	t.Helper()
	base, _ := liveGoroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n, stacks := liveGoroutines()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutine leak: %d goroutines, %d before the test:\n%s", n, base, stacks)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// scriptedUpstream is a TCP server whose connections are served by a function
// writing raw bytes: the upstream faults net/http will not commit.
type scriptedUpstream struct {
	addr     string
	accepted atomic.Int64
}

// startScriptedUpstream serves each accepted connection with serve on its own
// goroutine (closing it when serve returns). Cleanup closes the listener and
// every connection and waits for the goroutines.
func startScriptedUpstream(t *testing.T, serve func(c net.Conn)) *scriptedUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &scriptedUpstream{addr: ln.Addr().String()}
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.accepted.Add(1)
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return u
}

// rawLoop reads requests off c and writes what answer returns for each (n
// counts requests on this connection from 1); it returns when answer says
// stop or the connection ends.
func rawLoop(c net.Conn, answer func(n int, req *http.Request) (reply string, more bool)) {
	r := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		reply, more := answer(n, req)
		if _, err := io.WriteString(c, reply); err != nil || !more {
			return
		}
	}
}

// rawOK is a well-formed keep-alive response naming the request ID.
func rawOK(req *http.Request) string {
	body := "id=" + req.Header.Get("X-Request-ID")
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// request writes one request with the given request ID (and body, if any).
func (c *rawConn) request(method, path, id, body string) {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: %s\r\n", method, path, id)
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	c.send(b.String())
}

// expectOwn reads the response to an idHandler/rawOK request and checks it
// is 200 and carries exactly this request's ID, in header and body.
func (c *rawConn) expectOwn(method, id string) {
	c.t.Helper()
	resp, body := c.readResponse(method)
	if resp.StatusCode != 200 || body != "id="+id || resp.Header.Get("X-Request-ID") != id {
		c.t.Fatalf("request %s: got %d %q (X-Request-ID %q); want 200 %q", id, resp.StatusCode, body, resp.Header.Get("X-Request-ID"), "id="+id)
	}
}

// expectSilence asserts nothing arrives on c for d and the connection stays
// open: no stray bytes after the last response.
func (c *rawConn) expectSilence(d time.Duration) {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := c.r.ReadByte()
	if err == nil {
		rest, _ := c.r.Peek(c.r.Buffered())
		c.t.Fatalf("stray bytes on the connection: %q", append([]byte{b}, rest...))
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		c.t.Fatalf("connection ended while idle: %v", err)
	}
}

// expectGatewayError checks a response the gateway produced itself: the
// status, a JSON body {"error": msg, "request_id": id} with the ID also in
// X-Request-ID (id "" accepts any non-empty ID), and whether it announces
// Connection: close.
func expectGatewayError(t *testing.T, resp *http.Response, body string, status int, msg, id string, closing bool) {
	t.Helper()
	var e struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("status %d: body %q is not JSON: %v", resp.StatusCode, body, err)
	}
	if resp.StatusCode != status || e.Error != msg {
		t.Fatalf("got %d %q, want %d %q", resp.StatusCode, e.Error, status, msg)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if e.RequestID == "" || e.RequestID != resp.Header.Get("X-Request-ID") || (id != "" && e.RequestID != id) {
		t.Errorf("request_id %q, X-Request-ID %q, want %q", e.RequestID, resp.Header.Get("X-Request-ID"), id)
	}
	if resp.Close != closing {
		t.Errorf("Connection: close = %v, want %v", resp.Close, closing)
	}
}

// ---- fault tests ----

// TestUpstreamRefused: a target nobody listens on answers 502 JSON at once,
// and the client's keep-alive connection then serves a good request to
// another route.
func TestUpstreamRefused(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startUpstream(t, http.HandlerFunc(idHandler))
	dead := freeAddr(t) // closed port: connect is refused
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "ok")+ftRoute("dead", "/dead", "dead"),
		ftCluster{name: "ok", addr: up.addr}, ftCluster{name: "dead", addr: dead}), 1)
	c := dialRaw(t, g.addr)
	for i := range 3 { // a refused target must not wedge anything: do it a few times
		id := fmt.Sprintf("refused-%d", i)
		start := time.Now()
		c.request("GET", "/dead/x", id, "")
		resp, body := c.readResponse("GET")
		expectGatewayError(t, resp, body, 502, "upstream connect failed", id, false)
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
		{"a TLS alert, then close", "/bad/tls-alert", "upstream closed the connection"},
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

// TestUpstreamJunkWithoutLineEndIs502NotTimeout pins a bug: a response head
// is only checked once its status line has a '\n' (http1.parseStatusLine
// returns ErrIncomplete until then), so an upstream that answers with bytes
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
			time.Sleep(100 * time.Millisecond) // any late bytes have arrived
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

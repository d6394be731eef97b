package engine

import (
	"bufio"
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
		var n int
		var stacks string
		if _, ok := waitUntil(3*time.Second, func() bool {
			n, stacks = liveGoroutines()
			return n <= base
		}); !ok {
			t.Errorf("goroutine leak: %d goroutines, %d before the test:\n%s", n, base, stacks)
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
// X-Request-ID (msg or id "" accept any non-empty one), and whether it announces
// Connection: close.
func expectGatewayError(t testing.TB, resp *http.Response, body string, status int, msg, id string, closing bool) {
	t.Helper()
	var e struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("status %d: body %q is not JSON: %v", resp.StatusCode, body, err)
	}
	if resp.StatusCode != status || e.Error == "" || (msg != "" && e.Error != msg) {
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

package engine

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The configured client timeouts (shortClientTimeouts) and the slack allowed
// around them: deadlines run on a coarse clock swept every tick (50 ms), so
// one fires between about d-tick and d+tick, plus scheduling delay on a busy
// race-enabled runner.
const (
	headerTimeout = 300 * time.Millisecond
	idleTimeout   = 500 * time.Millisecond
	early         = 2 * tick
	late          = 700 * time.Millisecond
)

// closedAfter reads from c until the gateway closes it (or 3 s pass) and
// returns how long that took from start and every byte that arrived.
func (c *rawConn) closedAfter(start time.Time) (time.Duration, []byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	got, err := io.ReadAll(c.r)
	return time.Since(start), got, err
}

// inWindow fails t unless d is within [want-early, want+late].
func inWindow(t *testing.T, what string, d, want time.Duration) {
	t.Helper()
	if d < want-early || d > want+late {
		t.Fatalf("%s after %v; want about %v", what, d, want)
	}
}

// TestClientHeaderTimeout: a client that does not finish its request head
// within client_header gets 408 JSON with Connection: close, and then the
// connection ends. The clock runs from the first byte of the head, so a
// slowloris trickling bytes cannot keep restarting it.
func TestClientHeaderTimeout(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startUpstream(t, http.HandlerFunc(idHandler))
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "up"), ftCluster{name: "up", addr: up.addr}), 1)
	const head = "GET /ok/x HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: slow\r\nUser-Agent: slowloris\r\n"
	cases := []struct {
		name string
		run  func(c *rawConn) (start time.Time, stop func())
	}{
		{"half a head, then silence", func(c *rawConn) (time.Time, func()) {
			start := time.Now()
			c.send(head[:len(head)/2])
			return start, func() {}
		}},
		{"head trickled a byte every 40ms (slowloris)", func(c *rawConn) (time.Time, func()) {
			// Left alone the trickle would last len(head)*40ms > 2.5 s.
			done := make(chan struct{})
			stopped := make(chan struct{})
			start := time.Now()
			go func() {
				defer close(stopped)
				for i := 0; i < len(head); i++ {
					if _, err := c.Write([]byte{head[i]}); err != nil {
						return
					}
					select {
					case <-done:
						return
					case <-time.After(40 * time.Millisecond):
					}
				}
			}()
			return start, func() { close(done); <-stopped }
		}},
		{"second request on a keep-alive connection stalls", func(c *rawConn) (time.Time, func()) {
			c.request("GET", "/ok/first", "first", "")
			c.expectOwn("GET", "first")
			start := time.Now()
			c.send(head[:len(head)-10])
			return start, func() {}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			start, stop := tc.run(c)
			defer stop()
			resp, body := c.readResponse("GET")
			inWindow(t, "408", time.Since(start), headerTimeout)
			expectGatewayError(t, resp, body, 408, "request header timeout", "", true)
			d, rest, err := c.closedAfter(start)
			if err != nil || len(rest) != 0 {
				t.Fatalf("after the 408: %q, %v; want a clean close", rest, err)
			}
			if d > headerTimeout+late+time.Second {
				t.Fatalf("connection still open %v after the head began", d)
			}
		})
	}
}

// TestClientIdleTimeout: a connection with no request in progress is closed
// after client_idle, silently (no 408: nothing was asked), whether it never
// sent a byte or finished an exchange; every exchange restarts the clock.
func TestClientIdleTimeout(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startUpstream(t, http.HandlerFunc(idHandler))
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("ok", "/ok", "up"), ftCluster{name: "up", addr: up.addr}), 1)
	cases := []struct {
		name     string
		requests int           // done before going idle
		gap      time.Duration // between those requests
	}{
		{"never sent a byte", 0, 0},
		{"idle after one response", 1, 0},
		// 3 requests 300 ms apart span 600 ms > client_idle: only a clock
		// restarted by each exchange keeps the connection.
		{"each exchange restarts the clock", 3, 300 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			for i := range tc.requests {
				if i > 0 {
					time.Sleep(tc.gap)
				}
				id := fmt.Sprintf("idle-%d", i)
				c.request("GET", "/ok/x", id, "")
				c.expectOwn("GET", id)
			}
			d, got, err := c.closedAfter(time.Now())
			if err != nil || len(got) != 0 {
				t.Fatalf("idle close: got %q, %v; want a silent close", got, err)
			}
			inWindow(t, "idle close", d, idleTimeout)
		})
	}
}

// blackhole returns a loopback address whose SYNs go unanswered: a listener
// with backlog 0 that never accepts, its accept queue filled (Linux admits
// backlog+1 connections, then drops further SYNs). ok is false where the
// kernel answers anyway (e.g. a queue that never fills).
func blackhole(t *testing.T) (addr string, ok bool) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr = fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 150*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			continue // queued, never accepted
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return addr, true // the queue is full: this SYN was dropped
		}
		t.Fatalf("filling the backlog: %v", err)
	}
	return "", false
}

// TestUpstreamConnectTimeout: a target whose SYNs go unanswered answers 502
// JSON once the cluster's connect timeout has passed (not at once, not
// never), and the client's connection carries on.
func TestUpstreamConnectTimeout(t *testing.T) {
	checkGoroutineLeaks(t)
	hole, ok := blackhole(t)
	if !ok {
		// Without a silent target only a refused connect can be provoked;
		// TestUpstreamRefused covers that.
		t.Skip("this kernel answered every SYN to a full backlog-0 listener; no silent target available")
	}
	up := startUpstream(t, http.HandlerFunc(idHandler))
	const connect = 300 * time.Millisecond
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("hole", "/hole", "hole")+ftRoute("ok", "/ok", "ok"),
		// A response timeout far above connect: the connect timer must answer.
		ftCluster{name: "hole", addr: hole, timeouts: "{connect: 300ms, response: 3s}"},
		ftCluster{name: "ok", addr: up.addr}), 1)
	c := dialRaw(t, g.addr)
	for i := range 2 {
		id := fmt.Sprintf("hole-%d", i)
		start := time.Now()
		c.request("GET", "/hole/x", id, "")
		resp, body := c.readResponse("GET")
		expectGatewayError(t, resp, body, 502, "upstream connect failed", id, false)
		// The dial itself runs on the exact timeout; only the reply rides the loop.
		if d := time.Since(start); d < connect-20*time.Millisecond || d > connect+late {
			t.Fatalf("502 after %v; want about the %v connect timeout", d, connect)
		}
		c.request("GET", "/ok/x", id+"-after", "")
		c.expectOwn("GET", id+"-after")
	}
}

// TestUpstreamResponseTimeout: an upstream silent past the cluster's
// response timeout gets the client a 504 JSON; the client's keep-alive
// connection stays usable, and the late answer from the abandoned upstream
// connection never reaches anyone (that connection is not reused). Silence
// after the head has gone out cuts the client off instead.
func TestUpstreamResponseTimeout(t *testing.T) {
	checkGoroutineLeaks(t)
	late := make(chan struct{}, 1) // a late answer has been flushed
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/slow": // answers, too late, whatever happened meanwhile
			time.Sleep(700 * time.Millisecond)
			_, _ = io.WriteString(w, "LATE answer to "+r.Header.Get("X-Request-ID"))
			w.(http.Flusher).Flush()
			select {
			case late <- struct{}{}:
			default:
			}
		case "/api/stall-body": // head and some body, then silence
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, "0123456789")
			w.(http.Flusher).Flush()
			time.Sleep(900 * time.Millisecond)
		default:
			idHandler(w, r)
		}
	}))
	const response = 400 * time.Millisecond
	g := startGateway(t, ftConfig(shortClientTimeouts, ftRoute("api", "/api", "up"), ftCluster{name: "up", addr: up.addr}), 1)

	t.Run("silent before the head: 504, connection kept", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		start := time.Now()
		c.request("GET", "/api/slow", "slow-1", "")
		resp, body := c.readResponse("GET")
		inWindow(t, "504", time.Since(start), response)
		expectGatewayError(t, resp, body, 504, "upstream timeout", "slow-1", false)
		// Let the abandoned upstream write its late answer, then use the
		// same client connection (and the same loop's pool) again.
		select {
		case <-late:
		case <-time.After(5 * time.Second):
			t.Fatal("the slow upstream never wrote its late answer")
		}
		onTheLoop(t, g, func(*loop) {}) // and the loop has handled what arrived
		for i := range 3 {
			id := fmt.Sprintf("next-%d", i)
			c.request("GET", "/api/ok", id, "")
			c.expectOwn("GET", id)
		}
		c.expectSilence(100 * time.Millisecond)
	})
	t.Run("silent mid-body: the client is cut off, never told it is complete", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		start := time.Now()
		c.request("GET", "/api/stall-body", "stall", "")
		resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("head: %v %v", resp, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err == nil || string(body) != "0123456789" {
			t.Fatalf("stalled body read as %q, %v; want the 10 bytes sent and an error", body, err)
		}
		inWindow(t, "cut-off", time.Since(start), response)
		c.expectEOF()
	})
}

// TestClientBodyStallIs408: a client that stops in the middle of its request
// body gets 408 (its stall), not 504 (which would blame the upstream), and the
// connection is closed because the rest of its stream is unknown: a streamed
// body after the response timeout (400ms) without a byte forwarded, a
// buffered one (limits.request_buffer_bytes) after timeouts.client_body.
func TestClientBodyStallIs408(t *testing.T) {
	for _, top := range []string{
		shortClientTimeouts + "\nlimits: {request_buffer_bytes: 0}",                // streamed
		"timeouts: {client_header: 300ms, client_idle: 500ms, client_body: 400ms}", // buffered
	} {
		t.Run(top, func(t *testing.T) {
			up := startUpstream(t, echoHandler("a"))
			g := startGateway(t, ftConfig(top, ftRoute("echo", "/api/echo", "up"), ftCluster{name: "up", addr: up.addr}), 1)
			c := dialRaw(t, g.addr)
			start := time.Now()
			c.send("POST /api/echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
			resp, body := c.readResponse("POST")
			if resp.StatusCode != 408 || !strings.Contains(body, "request body timeout") || !resp.Close {
				t.Fatalf("got %d %q close=%v, want 408 request body timeout and close", resp.StatusCode, body, resp.Close)
			}
			if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
				t.Fatalf("408 after %v; the timeout is 400ms", d)
			}
			c.expectEOF()
		})
	}
}

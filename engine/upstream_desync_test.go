package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/proxy"
)

// Upstream replies that could desynchronise the gateway's view of a
// connection from the upstream's: floods of interim responses, replies that
// do not match their framing, answers that arrive before the request body is
// through. The rule each test checks: a client gets its own response or the
// gateway's own error, never a byte that belongs to another exchange, and
// the gateway stays bounded in time and memory. Cases already covered by
// faults_test.go (garbage heads, bytes after a response, short bodies closed
// by the upstream) are not repeated here.

// udConfig is one cluster "up" at addr with a deterministic failure policy
// (one try, no breaker, no passive ejection) and one route /api/*.
func udConfig(addr, timeouts string) string {
	return fmt.Sprintf(`listen: "{{listen}}"
admin: ""
%s
clusters:
  up:
    targets: [{url: "http://%s"}]
    timeouts: %s
    retries: {attempts: 1}
    breaker: {enabled: false}
    health: {eject_after: 0}
routes:
  - {name: api, match: {path: /api/*}, cluster: up}
`, shortClientTimeouts, addr, timeouts)
}

// udInterims reads interim (1xx) heads off r until the next final head and
// returns how many there were.
func udInterims(r *bufio.Reader) (int, error) {
	n := 0
	for {
		b, err := r.Peek(12)
		if err != nil {
			return n, err
		}
		if !strings.HasPrefix(string(b), "HTTP/1.1 1") {
			return n, nil
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return n, err
			}
			if line == "\r\n" {
				break
			}
		}
		n++
	}
}

// TestUpstreamInterimStormIsRelayedInOrder: 1,000 "100 Continue" and 1,000
// "103 Early Hints" before the final response: an HTTP/1.1 client gets at
// most those interim heads, then its own final response (or, should the
// gateway cap interim responses per exchange, its own 502), quickly; an
// HTTP/1.0 client sees no interim head; both connections stay in sync for
// the next request.
func TestUpstreamInterimStormIsRelayedInOrder(t *testing.T) {
	checkGoroutineLeaks(t)
	const storm = 1000
	interims := strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", storm) +
		strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", storm)
	up := startScriptedUpstream(t, func(c net.Conn) {
		rawLoop(c, func(_ int, req *http.Request) (string, bool) {
			if req.URL.Path == "/api/storm" {
				return interims + rawOK(req), true
			}
			return rawOK(req), true
		})
	})
	g := startGateway(t, udConfig(up.addr, "{connect: 300ms, response: 1s}"), 1)
	cases := []struct {
		name  string
		minor int // the client's HTTP/1.x
		want  int // interim heads it may see at most
	}{
		{"HTTP/1.1 client gets the interims", 1, 2 * storm},
		// RFC 9110 §15.2: never send a 1xx to an HTTP/1.0 client.
		{"HTTP/1.0 client gets none", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			for round := range 2 { // the second round shows the connection is in sync
				id := fmt.Sprintf("storm-%d-%d", tc.minor, round)
				start := time.Now()
				ka := ""
				if tc.minor == 0 {
					ka = "Connection: keep-alive\r\n"
				}
				c.send(fmt.Sprintf("GET /api/storm HTTP/1.%d\r\nHost: gw.test\r\nX-Request-ID: %s\r\n%s\r\n", tc.minor, id, ka))
				n, err := udInterims(c.r)
				if err != nil || n > tc.want {
					t.Fatalf("%d interim heads (%v), want at most %d", n, err, tc.want)
				}
				if n == tc.want {
					c.expectOwn("GET", id)
				} else {
					resp, body := c.readResponse("GET")
					expectGatewayError(t, resp, body, 502, "", id, false)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("storm took %v", d)
				}
				c.request("GET", "/api/x", id+"-next", "")
				c.expectOwn("GET", id+"-next")
			}
			c.expectSilence(50 * time.Millisecond)
		})
	}
}

// TestEndlessInterimStormIs504 pins a bug: the upstream response deadline
// is pushed back by every byte the upstream sends (pumpResponse sets
// ex.deadline on each read), interim 1xx heads included, so an upstream that
// sends "100 Continue" every 50 ms and never a final response holds the
// client forever instead of the 504 the response timeout promises
// (configs/reference.yaml: "response: from request sent to response head
// received; then 504"). An interim head is not the response head: only the
// final head (or a body byte) may move the deadline.
func TestEndlessInterimStormIs504(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startScriptedUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if req.URL.Path != "/api/endless" {
				if _, err := io.WriteString(c, rawOK(req)); err != nil {
					return
				}
				continue
			}
			for i := 0; i < 200; i++ { // 10 s at most, then give up
				if _, err := io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			return
		}
	})
	const response = 400 * time.Millisecond
	g := startGateway(t, udConfig(up.addr, "{connect: 300ms, response: 400ms}"), 1)
	c := dialRaw(t, g.addr)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	c.request("GET", "/api/endless", "endless", "")
	n, err := udInterims(c.r)
	if err != nil {
		t.Fatalf("after %v and %d interim heads: %v; want a 504 about %v after the request", time.Since(start).Round(time.Millisecond), n, err, response)
	}
	resp, body := c.readResponse("GET")
	expectGatewayError(t, resp, body, 504, "upstream timeout", "endless", false)
	if d := time.Since(start); d > response+late {
		t.Fatalf("504 after %v, want about %v", d, response)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	c.request("GET", "/api/x", "after", "")
	c.expectOwn("GET", "after")
}

// TestInterimStormToAStalledClientIsBounded pins a bug: interim heads are
// written to the client as they come (relayHead's 1xx branch), with no
// check of how much the client has not read yet, unlike body bytes, which
// move off the loop past streamHighWater. An upstream that floods 1xx heads
// at a client that does not read grows the gateway's outbound buffer for
// that client without bound (gnet buffers every write).
func TestInterimStormToAStalledClientIsBounded(t *testing.T) {
	checkGoroutineLeaks(t)
	hint := "HTTP/1.1 103 Early Hints\r\nLink: </" + strings.Repeat("a", 4000) + ">; rel=preload\r\n\r\n"
	flood := strings.Repeat(hint, 256) // ~1 MiB per write
	stop := make(chan struct{})
	up := startScriptedUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		if _, err := http.ReadRequest(r); err != nil {
			return
		}
		for range 32 { // 32 MiB at most
			select {
			case <-stop:
				return
			default:
			}
			if _, err := io.WriteString(c, flood); err != nil {
				return
			}
		}
	})
	defer close(stop)
	g := startGatewayOpts(t, udConfig(up.addr, "{connect: 300ms, response: 3s}"), Options{Loops: 1, WriteBuffer: 16 << 10})
	c := dialSmallRcv(t, g.addr)
	c.request("GET", "/api/flood", "flood", "")
	// The client reads nothing; give the upstream time to push.
	var out int
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		onTheLoop(t, g, func(lp *loop) { out = max(out, lp.w.Census().MaxOutbound) })
	}
	t.Logf("largest outbound buffer for the stalled client: %d KiB", out>>10)
	if out > 4*proxy.StreamHighWater {
		t.Fatalf("1xx flood buffered %d MiB for a client that reads nothing (body bytes stop at %d KiB)", out>>20, proxy.StreamHighWater>>10)
	}
}

// TestUpstreamAnswersBeforeRequestBodyFinished: an upstream that answers a
// POST after its head, before the body is through, gets its answer to the
// client; what the client sends after that is never parsed as a new request
// (the body here contains one), the upstream connection is not reused, and
// the client connection is closed once the answer is out. Request buffering
// is off: a body it buffers reaches the upstream whole, so no early answer
// can come before its end.
func TestUpstreamAnswersBeforeRequestBodyFinished(t *testing.T) {
	checkGoroutineLeaks(t)
	var hits sync.Map
	var smuggled atomic.Int64
	up := startScriptedUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(r)
			if err != nil {
				return
			}
			id := req.Header.Get("X-Request-ID")
			n, _ := hits.LoadOrStore(id, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			if strings.Contains(req.URL.Path, "smuggled") {
				smuggled.Add(1)
			}
			if req.URL.Path == "/api/early" {
				// Answer now, then read (and drop) the body, as servers that
				// reject uploads do.
				body := "early id=" + id
				if _, err := fmt.Fprintf(c, "HTTP/1.1 413 Content Too Large\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				continue
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if _, err := io.WriteString(c, rawOK(req)); err != nil {
				return
			}
		}
	})
	g := startGateway(t, udConfig(up.addr, "{connect: 300ms, response: 1s}")+"limits: {request_buffer_bytes: 0}\n", 1)
	// A body that is also a request: if the gateway ever took the rest of
	// the client's stream as a new request, the upstream would see it.
	inner := "GET /api/smuggled HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: smuggled\r\n\r\n"
	cases := []struct {
		name    string
		head    string
		first   string // body bytes sent before the early answer
		rest    string // sent after it
		chunked bool
	}{
		{"Content-Length body, second half sent after the answer", "Content-Length: %d\r\n",
			strings.Repeat("x", 1000), inner + strings.Repeat("y", 1000), false},
		{"chunked body, the smuggled request in a chunk after the answer", "Transfer-Encoding: chunked\r\n",
			"3e8\r\n" + strings.Repeat("x", 1000) + "\r\n", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(inner), inner), true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			c.request("GET", "/api/warm", fmt.Sprintf("warm-%d", i), "") // a pooled conn for the POST to take
			c.expectOwn("GET", fmt.Sprintf("warm-%d", i))
			id := fmt.Sprintf("early-%d", i)
			head := tc.head
			if !tc.chunked {
				head = fmt.Sprintf(head, len(tc.first)+len(tc.rest))
			}
			c.send(fmt.Sprintf("POST /api/early HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: %s\r\n%s\r\n%s", id, head, tc.first))
			resp, body := c.readResponse("POST")
			if resp.StatusCode != 413 || body != "early id="+id || resp.Header.Get("X-Request-ID") != id {
				t.Fatalf("early answer: %d %q (X-Request-ID %q)", resp.StatusCode, body, resp.Header.Get("X-Request-ID"))
			}
			if !resp.Close {
				t.Errorf("the early answer does not announce Connection: close, yet the client's stream position is unknown")
			}
			_, _ = io.WriteString(c.Conn, tc.rest) // may fail: the gateway may have closed already
			c.expectEOF()
			if n := smuggled.Load(); n != 0 {
				t.Fatalf("the upstream got %d request(s) smuggled in a request body", n)
			}
			// The gateway serves others normally; the abandoned upstream
			// connection (positioned mid-body) is not reused.
			d := dialRaw(t, g.addr)
			d.request("GET", "/api/x", id+"-next", "")
			d.expectOwn("GET", id+"-next")
		})
	}
}

// TestSloppyUpstreamFramingUnderConcurrency: upstreams whose replies do not
// match their framing (more bytes than Content-Length, a second response
// glued to the first, bytes after a chunked body's last chunk, a body on a
// 304), answering several clients at once over one loop's pool: every client
// gets exactly its own response and never a stale byte, round after round.
func TestSloppyUpstreamFramingUnderConcurrency(t *testing.T) {
	checkGoroutineLeaks(t)
	const stale = "HTTP/1.1 200 OK\r\nX-Request-ID: STALE\r\nContent-Length: 5\r\n\r\nSTALE"
	cases := []struct {
		name   string
		method string
		reply  func(id string) string
		status int
		body   func(id string) string // what the client must get
	}{
		{"more bytes than Content-Length", "GET",
			func(id string) string {
				b := "id=" + id
				return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%sEXTRA", len(b), b)
			}, 200, func(id string) string { return "id=" + id }},
		{"two responses to one request", "GET",
			func(id string) string {
				b := "id=" + id
				return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(b), b) + stale
			}, 200, func(id string) string { return "id=" + id }},
		{"bytes after the last chunk", "GET",
			func(id string) string {
				b := "id=" + id
				return fmt.Sprintf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(b), b) + stale
			}, 200, func(id string) string { return "id=" + id }},
		{"Content-Length: 0 with a body", "GET",
			func(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nSTALE BODY" },
			200, func(string) string { return "" }},
		{"304 with a body", "GET",
			func(string) string { return "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nSTALE" },
			304, func(string) string { return "" }},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := startScriptedUpstream(t, func(c net.Conn) {
				rawLoop(c, func(_ int, req *http.Request) (string, bool) {
					return tc.reply(req.Header.Get("X-Request-ID")), true
				})
			})
			g := startGateway(t, udConfig(up.addr, "{connect: 300ms, response: 1s}"), 1)
			const clients, rounds = 4, 10
			var wg sync.WaitGroup
			errs := make(chan error, clients*rounds)
			for k := range clients {
				c := dialRaw(t, g.addr)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := range rounds {
						id := fmt.Sprintf("c%d-%d-%d", ci, k, r)
						resp, body, err := txReq(c, tc.method, "/api/x", id, 0)
						if err != nil {
							errs <- fmt.Errorf("%s: %v", id, err)
							return
						}
						if resp.StatusCode != tc.status || string(body) != tc.body(id) || resp.Header.Get("X-Request-ID") != id {
							errs <- fmt.Errorf("%s got %d %q X-Request-ID %q; want %d %q", id, resp.StatusCode, body, resp.Header.Get("X-Request-ID"), tc.status, tc.body(id))
							return
						}
					}
					_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
					if b, err := c.r.ReadByte(); err == nil {
						errs <- fmt.Errorf("client %d: stray byte %q", k, b)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestUpstreamBadChunkMidBodyCutsTheClientAtOnce: a chunked body whose next
// chunk size is garbage, from an upstream that then keeps the connection
// open: the client, which already has the head, is cut off at once (not
// after the response timeout) with only the good bytes, and the gateway
// serves the next client normally.
func TestUpstreamBadChunkMidBodyCutsTheClientAtOnce(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startScriptedUpstream(t, func(c net.Conn) {
		rawLoop(c, func(_ int, req *http.Request) (string, bool) {
			switch req.URL.Path {
			case "/api/bad-size":
				return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\nmore\r\n", true
			case "/api/no-crlf": // chunk data longer than its size
				return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello, world\r\n0\r\n\r\n", true
			}
			return rawOK(req), true
		})
	})
	g := startGateway(t, udConfig(up.addr, "{connect: 300ms, response: 2s}"), 1)
	for _, path := range []string{"/api/bad-size", "/api/no-crlf"} {
		t.Run(path, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			start := time.Now()
			c.request("GET", path, "chunk", "")
			resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
			if err != nil {
				// Cut before the head went out is fine too, if it is a 502.
				t.Fatalf("head: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 502 {
				return
			}
			if err == nil || !strings.HasPrefix("hello", string(body)) {
				t.Fatalf("bad chunk relayed as %d %q, %v; want the good bytes and an error", resp.StatusCode, body, err)
			}
			c.expectEOF()
			if d := time.Since(start); d > time.Second {
				t.Fatalf("cut after %v: the gateway waited for a timeout", d)
			}
			d := dialRaw(t, g.addr)
			d.request("GET", "/api/x", "next", "")
			d.expectOwn("GET", "next")
		})
	}
}

// TestEndlessUpstreamHeadIs502: a response head that never ends (header
// lines forever, no blank line) is refused once it passes the head limit,
// without waiting for the response timeout and without buffering it all.
func TestEndlessUpstreamHeadIs502(t *testing.T) {
	checkGoroutineLeaks(t)
	up := startScriptedUpstream(t, func(c net.Conn) {
		rawLoop(c, func(_ int, req *http.Request) (string, bool) {
			if req.URL.Path != "/api/endless-head" {
				return rawOK(req), true
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			line := "X-Filler: " + strings.Repeat("f", 1000) + "\r\n"
			for range 1000 { // ~1 MiB of head, far past the 32 KiB limit
				if _, err := io.WriteString(c, line); err != nil {
					return "", false
				}
			}
			return "", true
		})
	})
	g := startGateway(t, udConfig(up.addr, "{connect: 300ms, response: 2s}"), 1)
	c := dialRaw(t, g.addr)
	start := time.Now()
	c.request("GET", "/api/endless-head", "head", "")
	resp, body := c.readResponse("GET")
	expectGatewayError(t, resp, body, 502, "", "head", false)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("502 after %v: the gateway waited for a timeout", d)
	}
	c.request("GET", "/api/x", "after", "")
	c.expectOwn("GET", "after")
}

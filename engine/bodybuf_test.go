package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bbUpstream echoes what it got: the body, its length and the framing the
// gateway used, and whether an Expect header reached it. started counts the
// request heads it received (net/http runs the handler before the body).
func bbUpstream(t *testing.T) (up *countingServer, started *atomic.Int64) {
	started = new(atomic.Int64)
	return startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "len=%d te=%v expect=%q body=%s", len(b), r.TransferEncoding, r.Header.Get("Expect"), b)
	})), started
}

// bbTrickle sends head, then body one piece every gap, on each of conns at
// once, and returns each connection's response (status and body). sent is
// closed as soon as the first client has sent its whole body.
func bbTrickle(t *testing.T, conns []*rawConn, head string, body []string, gap time.Duration, sent chan<- struct{}) []string {
	t.Helper()
	var once sync.Once
	var wg sync.WaitGroup
	out := make([]string, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := io.WriteString(c.Conn, head); err != nil {
				out[i] = "write: " + err.Error()
				return
			}
			for _, piece := range body {
				time.Sleep(gap) // the slow client under test, not synchronisation
				if _, err := io.WriteString(c.Conn, piece); err != nil {
					out[i] = "write: " + err.Error()
					return
				}
			}
			once.Do(func() { close(sent) })
			resp, err := http.ReadResponse(c.r, &http.Request{Method: "POST"})
			if err != nil {
				out[i] = "read: " + err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			out[i] = fmt.Sprintf("%d %s", resp.StatusCode, b)
		}()
	}
	wg.Wait()
	return out
}

// bytesOf splits s into one-byte pieces.
func bytesOf(s string) []string { return strings.Split(s, "") }

// TestSlowBodiesHoldNoUpstreamConnection (issue 12): 40 clients each send a
// small body one byte every 60 ms, far slower than the cluster's 1 s response
// timeout would notice. With request buffering (the default) the upstream
// sees no connection at all until the first body is whole, then gets each
// body intact; with request_buffer_bytes: 0 it sees one connection per slow
// client while they trickle (the behaviour the issue reported).
func TestSlowBodiesHoldNoUpstreamConnection(t *testing.T) {
	const n = 40
	body := "0123456789abcdefghij" // 20 bytes, 1.2 s at 60 ms a byte
	head := fmt.Sprintf("POST /x/slow HTTP/1.1\r\nHost: gw.test\r\nContent-Length: %d\r\n\r\n", len(body))
	chunked := "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
	chunkedHead := "POST /x/slow HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	routes := "  - name: r\n    match: {path: /x/*}\n    cluster: up\n"

	for _, tc := range []struct {
		name      string
		extra     string
		head      string
		body      string
		wantBody  string
		buffering bool
	}{
		{"buffered by default, Content-Length", "", head, body, "len=20 te=[] expect=\"\" body=" + body, true},
		{"buffered by default, chunked", "", chunkedHead, chunked, "len=11 te=[chunked] expect=\"\" body=hello world", true},
		{"buffering off: every slow body holds an upstream connection", "limits: {request_buffer_bytes: 0}", head, body, "len=20 te=[] expect=\"\" body=" + body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, _ := bbUpstream(t)
			g := startGateway(t, oneCluster(up.addr, tc.extra, routes), 1)
			conns := make([]*rawConn, n)
			for i := range conns {
				conns[i] = dialRaw(t, g.addr)
			}
			var most int64
			sent := make(chan struct{})
			watched := make(chan struct{})
			go func() { // the most upstream connections open at once before any body is whole
				defer close(watched)
				for {
					most = max(most, up.open.Load())
					select {
					case <-sent:
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			got := bbTrickle(t, conns, tc.head, bytesOf(tc.body), 60*time.Millisecond, sent)
			<-watched
			for i, r := range got {
				if r != "200 "+tc.wantBody {
					t.Fatalf("client %d got %q, want %q", i, r, "200 "+tc.wantBody)
				}
			}
			if tc.buffering && most > 0 {
				t.Fatalf("the upstream saw %d connections while %d bodies trickled in; buffering takes none before a body is whole", most, n)
			}
			if !tc.buffering && most < n/2 {
				t.Fatalf("with buffering off the upstream saw at most %d connections for %d slow bodies; the control did not reproduce the issue", most, n)
			}
		})
	}
}

// TestSlowBufferedBodyTimesOut: a buffered body that does not arrive within
// timeouts.client_body gets a 408 JSON error with a request ID and the
// connection closes; the upstream never hears of it.
func TestSlowBufferedBodyTimesOut(t *testing.T) {
	up, started := bbUpstream(t)
	g := startGateway(t, oneCluster(up.addr, "timeouts: {client_body: 300ms}", "  - name: r\n    match: {path: /x/*}\n    cluster: up\n"), 1)
	c := dialRaw(t, g.addr)
	start := time.Now()
	c.send("POST /x/slow HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10\r\n\r\nabc")
	resp, body := c.readResponse("POST")
	took := time.Since(start)
	if resp.StatusCode != 408 {
		t.Fatalf("status %d (%s), want 408", resp.StatusCode, body)
	}
	var e struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.RequestID == "" {
		t.Fatalf("408 body %q is not the JSON error shape (%v)", body, err)
	}
	if took < 250*time.Millisecond || took > 3*time.Second {
		t.Fatalf("408 after %v, want about client_body (300ms) plus a sweep tick", took)
	}
	c.expectEOF()
	if n := up.conns.Load() + started.Load(); n != 0 {
		t.Fatalf("the upstream saw %d connections or requests for a body that never completed", n)
	}
}

// TestRequestBufferingBounds: a body past request_buffer_bytes streams as
// before (the upstream has its connection before the body ends), whether
// its Content-Length says so up front or its chunks pass the bound on the
// way; Expect: 100-continue on a buffered body is answered by the gateway,
// which then forwards the whole body without the expectation.
func TestRequestBufferingBounds(t *testing.T) {
	up, started := bbUpstream(t)
	g := startGateway(t, oneCluster(up.addr, "limits: {request_buffer_bytes: 16}", "  - name: r\n    match: {path: /x/*}\n    cluster: up\n"), 1)

	t.Run("Content-Length past the bound streams", func(t *testing.T) {
		body := strings.Repeat("b", 40)
		c := dialRaw(t, g.addr)
		before := started.Load()
		c.send(fmt.Sprintf("POST /x/big HTTP/1.1\r\nHost: gw.test\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10]))
		if _, ok := waitUntil(3*time.Second, func() bool { return started.Load() > before }); !ok {
			t.Fatal("a body past request_buffer_bytes did not reach the upstream before it was whole")
		}
		c.send(body[10:])
		resp, got := c.readResponse("POST")
		if resp.StatusCode != 200 || got != "len=40 te=[] expect=\"\" body="+body {
			t.Fatalf("got %d %q", resp.StatusCode, got)
		}
	})
	t.Run("chunks past the bound stream", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		before := started.Load()
		c.send("POST /x/big HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n")
		if _, ok := waitUntil(3*time.Second, func() bool { return started.Load() > before }); !ok {
			t.Fatal("a chunked body past request_buffer_bytes did not reach the upstream before it was whole")
		}
		c.send("0\r\n\r\n")
		resp, got := c.readResponse("POST")
		if resp.StatusCode != 200 || got != "len=20 te=[chunked] expect=\"\" body=01234567890123456789" {
			t.Fatalf("got %d %q", resp.StatusCode, got)
		}
	})
	t.Run("Expect: 100-continue is answered by the gateway", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		before := started.Load()
		c.send("POST /x/e HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		resp, _ := c.readResponse("POST")
		if resp.StatusCode != 100 {
			t.Fatalf("status %d, want the gateway's 100 Continue", resp.StatusCode)
		}
		if started.Load() != before {
			t.Fatal("the upstream was reached before the body")
		}
		c.send("hello")
		resp, got := c.readResponse("POST")
		if resp.StatusCode != 200 || got != "len=5 te=[] expect=\"\" body=hello" {
			t.Fatalf("got %d %q", resp.StatusCode, got)
		}
	})
}

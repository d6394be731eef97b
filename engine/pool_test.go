package engine

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestIdleCapWithoutThrash: with more requests in flight than the idle cap,
// bursts reuse their connections instead of closing one per response and
// dialing again; once traffic stops, the pool shrinks to the cap.
func TestIdleCapWithoutThrash(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := serveUpstream(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // keep the burst's requests overlapping
		io.WriteString(w, "ok")
	}))
	g := startGateway(t, fmt.Sprintf(`listen: "{{listen}}"
admin: ""
clusters:
  up:
    targets: [{url: "http://%s"}]
    pool: {max_idle_per_target: 2}
routes:
  - {name: all, match: {path: /*}, cluster: up}
`, up.addr), 1)

	const burst, rounds = 8, 5
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: burst}}
	for range rounds {
		var wg sync.WaitGroup
		for range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Get(g.url("/x"))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	if n := up.conns.Load(); n > 2*burst {
		t.Fatalf("%d upstream connections for %d bursts of %d: the pool thrashed", n, rounds, burst)
	}
	waitUntil(2*time.Second, func() bool { return up.open.Load() <= 2 })
	if n := up.open.Load(); n > 2 {
		t.Fatalf("%d upstream connections still open after the burst; cap is 2", n)
	}
}

// TestDiscardedConnectionsLeaveTheBudget pins issue 12: a connection the pool
// closed itself (discard: idle timeout, surplus, max_idle_per_target 0, a
// retired pool) never left the descriptor budget's count, so every such
// close shrank the budget by one until each new upstream connection was
// refused with 503 "too many connections". With reuse off, every request
// dials and discards a connection; 40 in a row under a budget of 12 must
// all succeed, and the count must return to 0.
func TestDiscardedConnectionsLeaveTheBudget(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	g := startGatewayWith(t, fmt.Sprintf(`listen: "{{listen}}"
admin: ""
clusters:
  up:
    targets: [{url: "http://%s"}]
    pool: {max_idle_per_target: 0}
routes:
  - {name: all, match: {path: /*}, cluster: up}
`, up.addr), Options{Loops: 1}, func(e *Engine) { e.fdBudget = 12 })
	c := dialRaw(t, g.addr)
	for i := range 40 {
		c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
		if resp, body := c.readResponse("GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for g.e.caps.upstream.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling the loop's count
	}
	if n := g.e.caps.upstream.Load(); n != 0 {
		t.Fatalf("%d upstream connections counted with none open (%d open at the upstream)", n, up.open.Load())
	}
}

// TestResponseStreamKeepsItsDescriptorCounted: a response moved off the loop
// (stream.go) discards its upstream connection but keeps the socket as a
// dup until the stream ends, so the descriptor budget counts it until then,
// and not after.
func TestResponseStreamKeepsItsDescriptorCounted(t *testing.T) {
	const size = 4 << 20
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		chunk := make([]byte, 64<<10)
		for n := 0; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	g := startGatewayOpts(t, fmt.Sprintf(`listen: "{{listen}}"
admin: ""
clusters:
  up:
    targets: [{url: "http://%s"}]
    timeouts: {connect: 1s, response: 10s}
routes:
  - {name: all, match: {path: /*}, cluster: up}
`, up.addr), Options{Loops: 1, WriteBuffer: 16 << 10})
	c := dialRaw(t, g.addr)
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(32 << 10) // a slow reader: push back within kilobytes
	}
	c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for g.e.Streams() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling: the client reads nothing yet
	}
	if g.e.Streams() == 0 {
		t.Fatal("the response never moved off the loop")
	}
	if n := g.e.caps.upstream.Load(); n != 1 {
		t.Fatalf("%d upstream descriptors counted while a stream holds one", n)
	}
	if resp, body := c.readResponse("GET"); resp.StatusCode != 200 || len(body) != size {
		t.Fatalf("got %d with %d bytes", resp.StatusCode, len(body))
	}
	deadline = time.Now().Add(2 * time.Second)
	for g.e.caps.upstream.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling: the stream closes its dup after the last byte
	}
	if n := g.e.caps.upstream.Load(); n != 0 {
		t.Fatalf("%d upstream descriptors counted after the stream ended", n)
	}
}
